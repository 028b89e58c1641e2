"""Shared pieces of the tests that run training on Ray: a tiny run configuration, a poller,
a background run, and the run's metrics records."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def running(trainer: Any) -> Iterator[dict]:
    """Run ``trainer`` (a ``cluster.train.Trainer``) in a background thread while the block runs.

    Yields the dict that receives the run's summary; on leaving the block the run is
    asked to stop, and the test fails if it has not stopped within 120 s.
    """
    stop = threading.Event()
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(trainer.run(stop.is_set)), daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not thread.is_alive(), "the run did not stop within 120 s of being asked"


def metrics_records(run_dir: Path) -> list[dict]:
    """The complete records of ``RUN_DIR/metrics.jsonl`` (none before the file exists; a line
    still being written is left out)."""
    try:
        text = (run_dir / "metrics.jsonl").read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1]]


def training_steps(run_dir: Path) -> list[int]:
    """The steps of the training records of ``RUN_DIR/metrics.jsonl``, in file order.

    Evaluation records are left out: they carry the step of the checkpoint they rated
    and arrive whenever the rating is done.
    """
    return [r["step"] for r in metrics_records(run_dir) if r.get("kind") != "evaluation"]
