"""A tiny end-to-end training run on a local Ray instance (one per module), then a resume."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import ray

from cluster.config import resolve
from training_helpers import TINY_RUN
from cluster.train import RunDirError, run_training
from learner import load_checkpoint, load_network



@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def tiny_config(steps: int):
    return resolve("tictactoe", assignments=TINY_RUN, run__steps=steps, run__minutes=2.0)


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


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
    first = records(run_dir)
    assert first and all(r["step"] <= summary["step"] for r in first)
    assert "step" in out.getvalue()

    # A second run into the same directory is refused; --resume continues it.
    with pytest.raises(RunDirError, match="--resume"):
        run_training(tiny_config(40), run_dir, out=io.StringIO())
    resumed = run_training(tiny_config(80), run_dir, resume=True, out=io.StringIO())
    assert resumed["step"] >= 80 and resumed["weights_version"] > summary["weights_version"]
    assert resumed["games"] >= summary["games"]
    steps = [r["step"] for r in records(run_dir)]
    assert steps == sorted(steps), "metrics must not repeat or go back in steps"


def test_resume_of_a_directory_without_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="nothing to resume"):
        run_training(tiny_config(10), tmp_path, resume=True, out=io.StringIO())
