"""Stopping a run by signal: the first Ctrl-C or SIGTERM stops at a checkpoint, a second one aborts."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from training_helpers import TINY_RUN, wait_for
from zeroplay_command import start_zeroplay

from cluster.runtime.stopping import stop_on_signal


def test_the_first_signal_asks_to_stop_and_the_second_aborts() -> None:
    out = io.StringIO()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signal(out, "writing a checkpoint") as stopping:
        assert not stopping()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs in the main thread at its next bytecode
        assert stopping()
        assert out.getvalue() == "stopping: writing a checkpoint (again to abort)\n"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert {sig: signal.getsignal(sig) for sig in before} == before


@pytest.mark.slow
def test_ctrl_c_stops_zeroplay_train_at_a_checkpoint_with_every_game_kept(tmp_path: Path) -> None:
    import games
    from learner import latest_checkpoint, load_checkpoint
    from learner.replay_store import ReplayService

    run_dir = tmp_path / "run"
    args = ["train", "--game", "tictactoe", "--run-dir", str(run_dir), "--minutes", "5", "--json"] + [
        x for item in TINY_RUN for x in ("--set", item)]
    process = start_zeroplay(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any((run_dir / "checkpoints").glob("ckpt-*.json")), 150, "a first checkpoint")
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole process group
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "stopping: finishing chunks in flight and writing a checkpoint (again to abort)" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert load_checkpoint(latest_checkpoint(run_dir)).step == summary["step"] > 0  # the last step is saved
    replay = ReplayService(games.make("tictactoe"), run_dir / "replay", capacity=100_000, min_positions=0,
                           max_samples_per_position=4.0)
    assert replay.buffer.games_added >= summary["games"] > 0  # every game the run counted is on disk
