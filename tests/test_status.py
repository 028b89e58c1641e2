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


# ----------------------------------------------------------------------------- damaged run directories
DEEP = b"[" * 100_000 + b"]" * 100_000


def _status_command(run_dir: Path) -> tuple[int, str, str]:
    from zeroplay_command import run_zeroplay

    result = run_zeroplay("status", str(run_dir), timeout=60)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("damage", ["utf8", "nan", "deep", "directory", "fifo"])
def test_a_damaged_config_is_one_error_naming_it(tmp_path: Path, damage: str) -> None:
    import os

    run_dir = make_run(tmp_path / "run")
    config = run_dir / "config.toml"
    if damage in ("directory", "fifo"):
        config.unlink()
        config.mkdir() if damage == "directory" else os.mkfifo(config)
    else:
        config.write_bytes({"utf8": b"[game]\nname = '\xff'\n", "nan": b"[game]\nname = 'go'\nkomi = nan\n",
                            "deep": b"x = " + DEEP + b"\n"}[damage])
    with pytest.raises(StatusError, match=str(config)) as raised:
        run_status(run_dir)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("damage", ["utf8", "nan", "deep", "directory", "fifo", "huge"])
def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(tmp_path: Path, damage: str) -> None:
    import os

    run_dir = make_run(tmp_path / "run", metrics_age=None)
    newest = run_dir / "checkpoints" / "ckpt-000000040.json"
    text = newest.read_bytes()
    if damage in ("directory", "fifo"):
        newest.unlink()
        newest.mkdir() if damage == "directory" else os.mkfifo(newest)
    else:
        newest.write_bytes({"utf8": b"\xff" + text, "nan": text.replace(b'"step": 40', b'"step": NaN'),
                            "deep": b'{"a": ' + DEEP + b"}", "huge": b" " * (2 << 20) + text}[damage])
    status = run_status(run_dir)
    assert status.checkpoint.endswith("ckpt-000000020.json") and status.step == 20 and status.checkpoints == 2
    assert len(status.warnings) == 1 and str(newest) in status.warnings[0] and "\n" not in status.warnings[0]


@pytest.mark.parametrize("damage", ["lines", "directory", "fifo"])
def test_damaged_metrics_are_skipped_with_a_warning(tmp_path: Path, damage: str) -> None:
    import os

    run_dir = make_run(tmp_path / "run")
    metrics = run_dir / "metrics.jsonl"
    if damage == "lines":
        good = metrics.read_bytes().splitlines(keepends=True)
        metrics.write_bytes(b"".join(good[:2]) + b'{"step": \xff}\n{"step": 41, "loss": NaN}\n' + b"{" + DEEP + b"\n")
    else:
        metrics.unlink()
        metrics.mkdir() if damage == "directory" else os.mkfifo(metrics)
    status = run_status(run_dir)
    assert len(status.warnings) == 1 and str(metrics) in status.warnings[0]
    if damage == "lines":  # the newest good record is shown
        assert status.step == 40 and status.games == 500 and "skipped 3 damaged line(s)" in status.warnings[0]
    else:  # no metrics: the checkpoint still says where the run is
        assert status.state == "not started" and status.step == 40


@pytest.mark.slow
def test_the_command_warns_once_per_damaged_file_and_errs_in_one_line(tmp_path: Path) -> None:
    import os

    run_dir = make_run(tmp_path / "run")
    newest = run_dir / "checkpoints" / "ckpt-000000040.json"
    newest.unlink()
    os.mkfifo(newest)  # would block a reader that opened it
    metrics = run_dir / "metrics.jsonl"
    # The torn last line is followed by more lines now: it counts as damage too.
    metrics.write_bytes(metrics.read_bytes() + b"\n" + b'{"step": \xff}\n{"step": 41, "loss": NaN}\n')
    code, out, err = _status_command(run_dir)
    assert code == 0 and "step 40" in out and "ckpt-000000020.json" in out
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("zeroplay: warning: ") for line in lines), err
    assert f"{newest} is a FIFO" in lines[0] and f"{metrics}: skipped 3 damaged line(s)" in lines[1]

    (run_dir / "config.toml").write_bytes(b"x = " + DEEP + b"\n")
    code, out, err = _status_command(run_dir)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"zeroplay: error: {run_dir / 'config.toml'}: nested too deeply to be a "
                                        "zeroplay configuration"]


def test_status_shows_the_actors_that_wait_for_resources(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    metrics = run_dir / "metrics.jsonl"
    last = {"time": time.time(), "step": 41, "weights_version": 3, "actors": 2, "actors_running": 0,
            "actors_waiting": 2, "actors_waiting_for": "needs 1 CPU (0 free)", "actor_restarts": 1}
    metrics.write_text(metrics.read_text() + "\n" + json.dumps(last) + "\n")
    status = run_status(run_dir)
    assert status.actors == 2 and status.actors_waiting == 2 and status.actors_waiting_for == "needs 1 CPU (0 free)"
    assert "actors     2, 0 running, 2 waiting: needs 1 CPU (0 free) (1 restarts)" in render(status.to_dict())


def test_status_shows_what_the_replay_skipped_when_it_reloaded(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run")
    metrics = run_dir / "metrics.jsonl"
    last = {"time": time.time(), "step": 41, "weights_version": 3, "replay_load_skipped_records": 3,
            "replay_load_skipped_files": 1}
    metrics.write_text(metrics.read_text() + "\n" + json.dumps(last) + "\n")
    status = run_status(run_dir)
    assert status.replay_load_skipped_records == 3 and status.replay_load_skipped_files == 1
    assert "on reload 3 damaged record(s) and 1 file(s) skipped" in render(status.to_dict())
    assert "skipped" not in render(run_status(make_run(tmp_path / "clean")).to_dict())
