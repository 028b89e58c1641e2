"""MetricsSink: JSONL, TensorBoard scalars, live and plain progress; read_metrics."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from cluster.observe.metrics import TAGS, MetricsSink, plain_line, read_metrics


def record(step: int, **extra: object) -> dict:
    base = {
        "time": 1_700_000_000.0 + step, "elapsed": 12.5 * step, "step": step, "weights_version": step // 10,
        "games": 100 * step, "positions": 900 * step, "games_per_s": 10.0, "positions_per_s": 90.0,
        "simulations_per_s": 2880.0, "steps_per_s": 1.5, "loss": 2.0 - 0.01 * step, "policy_loss": 1.5,
        "value_loss": 0.5, "policy_entropy": 1.1, "value_accuracy": 0.6, "lr": 1e-3, "replay_size": 5000,
        "samples_per_position": 1.2, "mean_game_length": 9.0, "policy_lag_mean": 0.7, "rejected_games": 0,
        "actors": 1, "actor_restarts": 0, "ray_overhead": 0.02, "weights_broadcast": 0.001,
        "evaluate_fraction": 0.7,
    }
    base.update(extra)
    return base


def test_jsonl_written_and_read_back(tmp_path: Path) -> None:
    out = io.StringIO()
    with MetricsSink(tmp_path, tensorboard=False, out=out) as sink:
        sink.write(record(1))
        sink.write(record(2, loss=None))
        # flushed per line: readable while the sink is open
        assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2]
    records = read_metrics(tmp_path)
    assert records[1]["loss"] is None and records[0]["games"] == 100
    # append mode: a second sink (a resumed run) adds to the file
    with MetricsSink(tmp_path, tensorboard=False, out=out) as sink:
        sink.write(record(3))
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]


def test_read_metrics_tolerates_torn_last_line(tmp_path: Path) -> None:
    assert read_metrics(tmp_path) == []
    (tmp_path / "metrics.jsonl").write_text(json.dumps(record(1)) + "\n" + '{"step": 2, "ga')
    assert [r["step"] for r in read_metrics(tmp_path)] == [1]


def test_tensorboard_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsSink(tmp_path, out=io.StringIO()) as sink:
        assert sink.tensorboard_enabled
        sink.write(record(10))
        sink.write(record(20, loss=None, checkpoint="/x/ckpt.json", extra_metric=3))
    files = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert files and all(f.stat().st_size > 0 for f in files)
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for tag in ("loss/policy", "loss/value", "loss/total", "rates/simulations_per_s", "replay/size",
                "overhead/ray", "actors/restarts", "train/lr", "other/extra_metric"):
        assert tag in tags, tag
    assert "step" not in tags and "time" not in tags
    assert [(e.step, round(e.value, 4)) for e in acc.Scalars("loss/total")] == [(10, 1.9)]  # None skipped
    assert [e.step for e in acc.Scalars("rates/positions_per_s")] == [10, 20]
    assert set(TAGS.values()) >= {"loss/policy", "selfplay/policy_lag_mean", "overhead/weights_broadcast"}


def test_plain_lines_when_not_a_tty(tmp_path: Path) -> None:
    out = io.StringIO()  # isatty() is False
    with MetricsSink(tmp_path, tensorboard=False, out=out) as sink:
        assert not sink.live
        sink.write(record(1))
        sink.write(record(2))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\x1b" not in out.getvalue()
    assert lines[0] == plain_line(record(1))
    assert "step      1" in lines[0] and "loss 1.990" in lines[0] and "actors 1" in lines[0]


def test_live_display_redraws_in_place(tmp_path: Path) -> None:
    out = io.StringIO()
    with MetricsSink(tmp_path, tensorboard=False, live=True, out=out) as sink:
        sink.write(record(1, checkpoint="/runs/a/checkpoints/ckpt-000000001.json"))
        first = out.getvalue()
        sink.write(record(2))
    text = out.getvalue()
    n = first.count("\n")
    assert n >= 5 and not re.search(r"\x1b\[\d+A", first)  # nothing to move over yet
    assert f"\x1b[{n}A" in text[len(first):]  # cursor up over the previous display
    assert "\x1b[2K" in text
    assert "ckpt-000000001.json" in first and "weights v0" in first and "samples/position 1.20" in first


def test_live_auto_detects_tty(tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    with MetricsSink(tmp_path, tensorboard=False, out=Tty()) as sink:
        assert sink.live


def test_missing_run_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="nope"):
        MetricsSink(tmp_path / "nope")


def test_write_after_close_fails(tmp_path: Path) -> None:
    sink = MetricsSink(tmp_path, tensorboard=False, out=io.StringIO())
    sink.close()
    sink.close()
    with pytest.raises(ValueError, match="closed"):
        sink.write(record(1))


def test_without_tensorboard_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args, **kwargs):
        if name == "torch.utils.tensorboard":
            raise ImportError("no tensorboard here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with MetricsSink(tmp_path, out=io.StringIO()) as sink:
        assert not sink.tensorboard_enabled
        sink.write(record(1))
        sink.write(record(2))
    assert capsys.readouterr().err.count("TensorBoard unavailable") == 1
    assert len(read_metrics(tmp_path)) == 2


def test_purge_step_hides_the_abandoned_tail_on_resume(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsSink(tmp_path, out=io.StringIO()) as sink:
        sink.write(record(10))
        sink.write(record(20))
    with MetricsSink(tmp_path, out=io.StringIO(), purge_step=11) as sink:  # resumed from step 10
        sink.write(record(15))
    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss/total")] == [10, 15]


# ----------------------------------------------------------------------------- damaged metrics.jsonl
def _damaged_lines() -> list[bytes]:
    """Lines a crash, a disk error or another program can leave in metrics.jsonl, each ending in a newline."""
    from cluster.observe.metrics import MAX_LINE_BYTES

    return [
        b'{"step": 2, "loss": \xff\xfe}\n',  # not UTF-8
        b'{"step": 3, "loss": NaN}\n',
        b'{"step": 4, "loss": -Infinity}\n',
        b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"\n",  # nested too deeply for the parser
        b'{"step": 5, "pad": "' + b"x" * MAX_LINE_BYTES + b'"}\n',  # beyond the line bound
        b"[1, 2, 3]\n",
        b'{"step": "six"}\n',
        b'{"step": -7}\n',
        b'{"step": 1e400}\n',
        b"\n",  # blank: not damage
    ]


def test_damaged_lines_are_skipped_with_one_warning_naming_the_file(tmp_path: Path) -> None:
    text = json.dumps(record(1)).encode() + b"\n" + b"".join(_damaged_lines()) + json.dumps(record(8)).encode() + b"\n"
    (tmp_path / "metrics.jsonl").write_bytes(text)
    warnings: list[str] = []
    assert [r["step"] for r in read_metrics(tmp_path, warnings=warnings)] == [1, 8]
    assert len(warnings) == 1
    assert str(tmp_path / "metrics.jsonl") in warnings[0] and "skipped 9 damaged line(s)" in warnings[0]
    assert "not valid UTF-8" in warnings[0]  # the first one's reason


def test_trim_metrics_drops_damaged_lines_and_keeps_records_up_to_the_step(tmp_path: Path, caplog) -> None:
    from cluster.observe.metrics import trim_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"".join(json.dumps(record(s)).encode() + b"\n" + line
                              for s, line in zip(range(1, 20), _damaged_lines(), strict=False)))
    with caplog.at_level("WARNING"):
        trim_metrics(path, 5)
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4, 5]
    assert "skipped 9 damaged line(s)" in caplog.text and str(path) in caplog.text


def test_a_metrics_file_that_is_not_a_file_is_one_error_naming_it(tmp_path: Path) -> None:
    import os

    from cluster.observe.metrics import MetricsError, trim_metrics

    path = tmp_path / "metrics.jsonl"
    path.mkdir()
    with pytest.raises(MetricsError, match=rf"{path} is a directory"):
        read_metrics(tmp_path)
    with pytest.raises(MetricsError, match=rf"{path} is a directory"):
        trim_metrics(path, 5)
    path.rmdir()
    os.mkfifo(path)
    with pytest.raises(MetricsError, match=rf"{path} is a FIFO"):  # refused, never opened: no writer to wait for
        read_metrics(tmp_path)


def test_the_newest_records_are_read_from_the_end_of_a_large_file(tmp_path: Path) -> None:
    from cluster.observe.metrics import read_metrics

    lines = [json.dumps(record(step)) for step in range(1, 3001)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n" + '{"step": 3001, "ga')
    tail = read_metrics(tmp_path, tail_bytes=4096)
    assert 1 <= len(tail) < 10 and tail[-1]["step"] == 3000


def test_records_are_written_without_nan_or_infinity(tmp_path: Path) -> None:
    with MetricsSink(tmp_path, tensorboard=False, out=io.StringIO()) as sink:
        sink.write(record(1, loss=float("nan"), lr=float("inf"), nested={"x": float("-inf")}))
    text = (tmp_path / "metrics.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text
    (written,) = read_metrics(tmp_path)
    assert written["loss"] is None and written["lr"] is None and written["nested"] == {"x": None}


def test_the_progress_shows_how_many_actors_wait_and_why(tmp_path: Path) -> None:
    waiting = record(3, actors=2, actors_running=1, actors_waiting=1, actors_waiting_for="needs 1 CPU (0 free)")
    assert "actors 1 running, 1 waiting: needs 1 CPU (0 free)" in plain_line(waiting)
    assert plain_line(record(3, actors=2, actors_waiting=0)).endswith("actors 2")
    from cluster.observe.metrics import live_lines

    assert any("actors     1 running, 1 waiting: needs 1 CPU (0 free)" in line for line in live_lines(waiting))
    assert plain_line(record(3, actors=2, actors_starting=1)).endswith("actors 1 running, 1 starting")
