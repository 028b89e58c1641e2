"""Shared pieces of the tests that run training on Ray: a tiny run configuration and a poller."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

# A run small enough for a 2-core CI machine: a one-block network, few simulations.
TINY_RUN = [
    "network.blocks=1",
    "network.channels=16",
    "search.num_simulations=8",
    "selfplay.games_per_actor=16",
    "selfplay.chunk_seconds=0.5",
    "replay.sample_games_every=10",
    "replay.min_positions=100",
    "train.batch_size=32",
    "train.publish_every=5",
    "train.checkpoint_every=20",
    "run.log_every_seconds=1.0",
]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.2 s; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def training_steps(run_dir: Path) -> list[int]:
    """The steps of the training records of ``RUN_DIR/metrics.jsonl``, in file order.

    Evaluation records are left out: they carry the step of the checkpoint they rated
    and arrive whenever the rating is done.
    """
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r["step"] for r in map(json.loads, lines) if r.get("kind") != "evaluation"]
