"""``zeroplay status``: a synthetic run directory (config, checkpoint, metrics, replay) and errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cluster.cli.main import main
from cluster.config.run import dump_toml, resolve
from cluster.observe.status import StatusError, render, run_status


def make_run(run_dir: Path, *, metrics_age: float | None = 1.0, step: int = 40) -> Path:
    from learner.checkpoint import save_checkpoint
    from learner.network import PolicyValueNet

    config = resolve("tictactoe", assignments=["network.blocks=1", "network.channels=8"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.toml").write_text(dump_toml(config), encoding="utf-8")
    game = config.make_game()
    net = PolicyValueNet(game, config.network)
    save_checkpoint(run_dir, game=game, network_config=config.network, weights=net.state_dict(), step=20,
                    weights_version=1)
    save_checkpoint(run_dir, game=game, network_config=config.network, weights=net.state_dict(), step=step,
                    weights_version=3)
    replay = run_dir / "replay"
    replay.mkdir()
    (replay / "segment-000000.zpseg").write_bytes(b"ZPSEG1\n" + b"\0" * 993)
    (replay / "segment-000001.zpseg").write_bytes(b"ZPSEG1\n" + b"\0" * 1993)
    if metrics_age is not None:
        now = time.time()
        records = [
            {"time": now - metrics_age - 10, "elapsed": 50.0, "step": 30, "weights_version": 2, "games": 400,
             "positions": 3600, "loss": 2.1},
            {"time": now - metrics_age, "elapsed": 60.0, "step": step, "weights_version": 3, "games": 500,
             "positions": 4500, "games_per_s": 8.0, "positions_per_s": 72.0, "simulations_per_s": 2300.0,
             "steps_per_s": 1.0, "loss": 2.0, "replay_size": 4500, "samples_per_position": 0.9,
             "actors": 1, "actor_restarts": 2},
        ]
        text = "".join(json.dumps(r) + "\n" for r in records) + '{"time": 1, "ste'  # torn last line
        (run_dir / "metrics.jsonl").write_text(text, encoding="utf-8")
    return run_dir


def test_status_of_a_running_run(tmp_path: Path) -> None:
    status = run_status(make_run(tmp_path / "run")).to_dict()
    assert status["game"] == {"name": "tictactoe"}
    assert status["config"]["network"] == "1x8" and status["config"]["simulations"] == 32
    assert status["state"] == "running"
    assert status["step"] == 40 and status["weights_version"] == 3
    assert status["checkpoint"].endswith("ckpt-000000040.json") and status["checkpoints"] == 2
    assert 0 <= status["checkpoint_age_s"] < 60
    assert status["games"] == 500 and status["positions"] == 4500 and status["replay_size"] == 4500
    assert status["replay_segments"] == 2 and status["replay_bytes"] == 3000
    assert status["actors"] == 1 and status["actor_restarts"] == 2
    assert status["rates"]["simulations_per_s"] == 2300.0
    text = render(status)
    assert "running" in text and "step 40" in text and "2 segment(s)" in text and "2 restarts" in text


def test_stale_metrics_mean_stopped(tmp_path: Path) -> None:
    status = run_status(make_run(tmp_path / "run", metrics_age=3600.0))
    assert status.state == "stopped" and status.last_metrics_age_s >= 3600


def test_run_without_metrics_or_replay(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run", metrics_age=None)
    status = run_status(run_dir)
    assert status.state == "not started" and status.step == 40 and status.games is None
    render(status.to_dict())  # renders with missing values


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path / "run")
    assert main(["status", str(run_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["step"] == 40 and data["state"] == "running"
    assert main(["status", str(run_dir)]) == 0
    assert "tictactoe" in capsys.readouterr().out


def test_errors_name_the_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StatusError, match="empty holds no zeroplay run"):
        run_status(empty)
    with pytest.raises(StatusError, match="missing-dir: no such directory"):
        run_status(tmp_path / "missing-dir")
    assert main(["status", str(empty)]) == 2
    assert str(empty) in capsys.readouterr().err
    (empty / "config.toml").write_text("[game]\nname = 'nosuchgame'\n")
    with pytest.raises(StatusError, match="config.toml"):
        run_status(empty)
