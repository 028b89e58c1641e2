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
    # The metrics end with a record of the final counts, written after the last chunk landed.
    assert progress and progress[-1]["games"] == summary["games"] == len(games_played)
    assert progress[-1]["playthrough_games"] == sum(t.playthrough for t in games_played) > 0


def _chunk(node: str) -> dict:
    return {"actor": 9, "restarted": False, "weights_version": 0, "seconds": 0.5, "games": 3, "moves": 20,
            "simulations": 160, "positions_evaluated": 150, "evaluate_seconds": 0.2, "ray_seconds": 0.01,
            "weights_seconds": 0.0, "accepted": 3, "rejected": 0, "positions": 20, "node": node}


def test_chunks_that_fail_back_off_and_a_retired_actors_chunk_leaves_no_node(tmp_path: Path) -> None:
    import time

    import ray

    from cluster.runtime.driver import RETRY_BACKOFF_SECONDS, Trainer
    from cluster.runtime.rundir import prepare_run_dir

    run_dir = tmp_path / "run"
    config = prepare_run_dir(run_dir, resolve("tictactoe", assignments=TINY_RUN + ["run.evaluate=false"],
                                              run__minutes=2.0), resume=False)
    trainer = Trainer(config, run_dir, out=io.StringIO())
    assert list(trainer.actors) == [0]

    # A chunk of an actor already retired: its games count, its node is not recorded, nothing is resubmitted.
    pending: dict = {}
    trainer._selfplay_done(ray.put(_chunk("node-that-left")), 7, pending)
    assert trainer.totals.games == 3 and 7 not in trainer.actor_nodes and pending == {}

    # A failed chunk: no resubmission at once, one after the backoff; a second failure waits twice as long.
    @ray.remote(num_cpus=0)  # the learner and the actor hold both CPUs
    def fail() -> None:
        raise RuntimeError("actor gone")

    trainer._selfplay_done(fail.remote(), 0, pending)
    assert pending == {} and trainer.restarts == 1
    trainer._retry_due(pending)
    assert pending == {}
    time.sleep(RETRY_BACKOFF_SECONDS + 0.1)
    trainer._retry_due(pending)
    assert list(pending.values()) == [("selfplay", 0)]
    ray.cancel(next(iter(pending)))
    pending.clear()
    trainer._selfplay_done(fail.remote(), 0, pending)
    assert trainer.restarts == 1  # one failure in a row counts once
    time.sleep(RETRY_BACKOFF_SECONDS + 0.1)
    trainer._retry_due(pending)
    assert pending == {}  # 2 s now
    with running(trainer):
        pass


def test_the_metrics_say_what_the_replay_skipped_on_reload(tmp_path: Path) -> None:
    import time

    run_dir = tmp_path / "run"
    run_training(tiny_config(5), run_dir, out=io.StringIO())
    segment = sorted((run_dir / "replay").glob("segment-*.zpseg"))[0]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one damaged record, skipped when the replay reloads
    segment.write_bytes(bytes(data))
    resumed_at = time.time()
    # Some seconds, not some steps: the resumed run writes records (one a second) before it stops.
    run_training(resolve("tictactoe", run__minutes=0.15), run_dir, resume=True, out=io.StringIO())
    resumed = [r for r in metrics_records(run_dir) if r["time"] >= resumed_at]
    assert resumed and resumed[-1]["replay_load_skipped_records"] >= 1
    assert resumed[-1]["replay_load_skipped_files"] == 0


def test_a_slow_starting_actor_is_waited_for_with_reports_and_one_that_never_answers_is_named(caplog) -> None:
    """A busy machine can take minutes to start an actor's process: the run waits, saying so."""
    import logging
    import time

    import ray

    from cluster.runtime.actors import ActorStartError, first_answer

    @ray.remote(num_cpus=0)
    class Slow:
        def __init__(self, seconds: float) -> None:
            time.sleep(seconds)

        def position(self) -> dict:
            return {"step": 3}

    with caplog.at_level(logging.WARNING, logger="cluster.runtime.actors"):
        assert first_answer(Slow.remote(3.0).position, what="learner", report_every=1.0) == {"step": 3}
    assert any("the learner is still starting after" in r.getMessage() for r in caplog.records)
    stuck = Slow.remote(60.0)
    with pytest.raises(ActorStartError, match=r"the learner did not start within 2 s: .*ray status"):
        first_answer(stuck.position, what="learner", timeout=2.0, report_every=1.0)
    ray.kill(stuck)
