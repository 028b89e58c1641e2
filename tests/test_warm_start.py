"""`zeroplay train --init CHECKPOINT [--init-records PATH]`: a warm start from pre-trained weights and record games."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_pretrain import teacher_records
from training_helpers import TINY_RUN
from zeroplay_command import run_zeroplay

import games
from cluster.config.run import resolve
from games.collections import write_collection
from learner.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from learner.network import PolicyValueNet


@pytest.mark.slow
def test_a_checkpoint_of_another_network_is_refused_before_ray_starts(tiny_checkpoint, tmp_path: Path) -> None:
    done = run_zeroplay("train", "--game", "tictactoe", "--init", str(tiny_checkpoint("tictactoe")),
                        "--run-dir", str(tmp_path / "run"), "--steps", "1", timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "network" in lines[0] and "channels" in lines[0], done.stderr
    assert not (tmp_path / "run").exists()  # nothing was started or written
    other_game = run_zeroplay("train", "--game", "connect4", "--init", str(tiny_checkpoint("tictactoe")),
                              "--run-dir", str(tmp_path / "run2"), "--steps", "1", timeout=120)
    assert other_game.returncode == 2 and "tictactoe" in other_game.stderr and "connect4" in other_game.stderr


@pytest.mark.slow
def test_missing_init_records_are_refused_before_ray_starts(tmp_path: Path) -> None:
    done = run_zeroplay("train", "--game", "tictactoe", "--init-records", str(tmp_path / "nowhere"),
                        "--run-dir", str(tmp_path / "run"), "--steps", "1", timeout=120)
    assert done.returncode == 2 and "nowhere" in done.stderr and "does not exist" in done.stderr


@pytest.mark.slow
def test_a_warm_started_run_begins_with_the_checkpoint_and_the_records(tmp_path: Path) -> None:
    config = resolve("tictactoe", assignments=TINY_RUN)
    game = games.make("tictactoe")
    torch.manual_seed(7)
    net = PolicyValueNet(game, config.network)
    init_dir = tmp_path / "pretrained"
    save_checkpoint(init_dir, game=game, network_config=config.network, weights=net.state_dict(), step=500,
                    weights_version=9)
    records = tmp_path / "records.txt"
    records.write_text(write_collection(teacher_records(50)))
    run_dir = tmp_path / "run"
    args = ["train", "--game", "tictactoe", "--init", str(init_dir), "--init-records", str(records),
            "--run-dir", str(run_dir), "--steps", "60", "--minutes", "3", "--set", "run.evaluate=false", "--json"]
    for setting in TINY_RUN:
        args += ["--set", setting]
    done = run_zeroplay(*args, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replay starts with 50 record games" in done.stdout
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["games"] > 50  # the records, then self-play's games (50 records feed ~47 steps at the cap)
    first = load_checkpoint(list_checkpoints(run_dir)[0])
    assert first.step == 0 and first.weights_version == 0  # the run's own counters start at 0
    for name, tensor in net.state_dict().items():
        assert torch.equal(first.weights[name], tensor), name
    assert "init = " in (run_dir / "config.toml").read_text()
    # The ladder rates the warm start as step 0, so self-play's gain is visible against it.
    rated = run_zeroplay("evaluate", str(run_dir), "--games", "2", "--sims", "2", timeout=300)
    assert rated.returncode == 0, rated.stderr[-2000:]
    ladder = json.loads((run_dir / "ladder.json").read_text())
    assert "step-0" in ladder["ratings"]
