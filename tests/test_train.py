"""A tiny end-to-end training run on a local Ray instance (one per module), then a resume."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from training_helpers import TINY_RUN, metrics_records, running, training_steps, wait_for

from cluster.config.run import resolve
from cluster.runtime.driver import run_training
from cluster.runtime.rundir import RunDirError
from learner import load_checkpoint, load_network

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]


def tiny_config(steps: int):
    return resolve("tictactoe", assignments=TINY_RUN, run__steps=steps, run__minutes=2.0)


def test_train_publishes_weights_and_checkpoints_then_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    out = io.StringIO()
    summary = run_training(tiny_config(40), run_dir, out=out)
    assert summary["step"] >= 40
    assert summary["weights_version"] >= 2
    assert summary["games"] > 0
    checkpoint = load_checkpoint(summary["checkpoint"])
    assert checkpoint.step == summary["step"] and checkpoint.weights_version == summary["weights_version"]
    game, net, metadata = load_network(run_dir)
    assert game.name == "tictactoe"
    assert (run_dir / "config.toml").is_file()
    assert list((run_dir / "replay").glob("segment-*.zpseg"))
    first = metrics_records(run_dir)
    assert first and all(r["step"] <= summary["step"] for r in first)
    assert "step" in out.getvalue()

    # A second run into the same directory is refused; --resume continues it.
    with pytest.raises(RunDirError, match="--resume"):
        run_training(tiny_config(40), run_dir, out=io.StringIO())
    resumed = run_training(tiny_config(80), run_dir, resume=True, out=io.StringIO())
    assert resumed["step"] >= 80 and resumed["weights_version"] > summary["weights_version"]
    assert resumed["games"] >= summary["games"]
    steps = training_steps(run_dir)
    assert steps == sorted(steps), "metrics must not repeat or go back in steps"


def test_resume_of_a_directory_without_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="nothing to resume"):
        run_training(tiny_config(10), tmp_path, resume=True, out=io.StringIO())


def test_checkpoints_are_rated_on_a_ladder_during_training(tmp_path: Path) -> None:
    from cluster.runtime.driver import Trainer
    from cluster.runtime.rundir import prepare_run_dir

    run_dir = tmp_path / "run"
    evaluate = ["evaluate.games_per_pairing=2", "evaluate.sims=4", 'evaluate.anchors=["random"]']
    config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=TINY_RUN + evaluate, run__minutes=3.0),
                             resume=False)
    trainer = Trainer(config, run_dir, out=io.StringIO())
    with running(trainer):
        wait_for(lambda: any(r.get("kind") == "evaluation" for r in metrics_records(run_dir)), 150,
                 "an evaluation record in the metrics")
    ladder = json.loads((run_dir / "ladder.json").read_text())
    assert ladder["ratings"]["random"] == 0
    evaluation = next(r for r in metrics_records(run_dir) if r.get("kind") == "evaluation")
    assert evaluation["step"] >= 20 and "elo_vs_random" in evaluation
    assert list((run_dir / "games").glob("game-*.txt")), "sampled self-play records"


def test_playout_caps_and_resignation_run_through_the_real_actors(tmp_path: Path) -> None:
    """Cheap-search moves reach the replay without a policy target; playthrough games set the threshold."""
    from learner.replay_store import SegmentStore
    from selfplay.trajectory import parse

    run_dir = tmp_path / "run"
    recipe = ["selfplay.full_search_share=0.5", "selfplay.cheap_simulations=2", "selfplay.resign=true",
              "selfplay.resign_min_games=2", "selfplay.resign_playthrough_share=0.5"]
    summary = run_training(resolve("tictactoe", assignments=TINY_RUN + recipe, run__steps=20, run__minutes=2.0),
                           run_dir, out=io.StringIO())
    assert summary["games"] > 0
    config_text = (run_dir / "config.toml").read_text()
    assert "full_search_share = 0.5" in config_text and "resign = true" in config_text
    games_played = [parse(r.payload)[0] for r in SegmentStore(run_dir / "replay").records()]
    policies = [len(p) for t in games_played for p in t.policies]
    assert 0 in policies and any(n > 0 for n in policies), "both cheap and full searches"
    assert any(t.playthrough for t in games_played) and not all(t.playthrough for t in games_played)
    progress = [r for r in metrics_records(run_dir) if "playthrough_games" in r]
    assert progress and progress[-1]["playthrough_games"] > 0
