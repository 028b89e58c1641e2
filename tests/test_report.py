"""``zeroplay report``: PNG plots from a synthetic metrics.jsonl and ladder.json; a clear error without metrics."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("matplotlib")

from cluster.cli.main import main  # noqa: E402
from cluster.observe.report import PNG_SIGNATURE, ReportError, make_report  # noqa: E402


def write_metrics(run_dir, n: int = 6) -> None:
    lines = []
    for k in range(n):
        lines.append({
            "time": 1_700_000_000 + 10 * k, "elapsed": 10.0 * k, "step": 100 * k, "weights_version": k,
            "loss": 3.0 - 0.3 * k if k else None, "policy_loss": 2.0 - 0.2 * k, "value_loss": 1.0 - 0.1 * k,
            "games_per_s": 5.0 + k, "positions_per_s": 50.0 + k, "simulations_per_s": 1000.0 + 10 * k,
            "replay_size": 200 * k, "samples_per_position": 0.5 * k, "checkpoint": None,
        })
    lines.append({"kind": "evaluation", "step": 300, "weights_version": 3, "elo": 120.0, "elo_vs_previous": 40.0,
                  "elo_vs_previous_lower": -10.0, "elo_vs_previous_upper": 95.0})
    text = "\n".join(json.dumps(r) for r in lines) + "\n{\"torn"  # a torn last line is ignored
    (run_dir / "metrics.jsonl").write_text(text)


def write_ladder(run_dir) -> None:
    ladder = {
        "format": "zeroplay-ladder", "format_version": 1, "game": {"name": "tictactoe"}, "config": {},
        "last_seen_step": 200, "seen": 3,
        "players": {"random": {"kind": "anchor", "spec": "random"},
                    "mcts-rollouts:64": {"kind": "anchor", "spec": "mcts-rollouts:64"},
                    "step-0": {"kind": "checkpoint"}, "step-100": {"kind": "checkpoint"},
                    "step-200": {"kind": "checkpoint"}},
        "results": [],
        "ratings": {"random": 0.0, "mcts-rollouts:64": 250.0, "step-0": -50.0, "step-100": 80.0, "step-200": 190.0},
        "checkpoints": [
            {"id": "step-0", "step": 0, "weights_version": 0, "elo": -50.0, "vs_previous": None},
            {"id": "step-100", "step": 100, "weights_version": 1, "elo": 80.0,
             "vs_previous": {"elo": 120.0, "lower": 30.0, "upper": 220.0}},
            {"id": "step-200", "step": 200, "weights_version": 2, "elo": 190.0,
             "vs_previous": {"elo": None, "lower": 5.0, "upper": None, "elo_infinite": "+inf"}},
        ],
        "skipped": [],
    }
    (run_dir / "ladder.json").write_text(json.dumps(ladder))


@pytest.mark.slow
def test_report_writes_pngs(tmp_path, capsys) -> None:
    write_metrics(tmp_path)
    write_ladder(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.rsplit("/", 1)[-1] for p in printed)
    assert names == ["elo.png", "losses.png", "replay.png", "throughput.png"]
    for name in names:
        data = (tmp_path / "report" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


@pytest.mark.slow
def test_report_without_ladder_uses_evaluation_records_and_out(tmp_path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_metrics(run)
    paths = make_report(run, tmp_path / "plots")
    assert sorted(p.name for p in paths) == ["elo.png", "losses.png", "replay.png", "throughput.png"]
    assert all(p.parent == tmp_path / "plots" and p.read_bytes().startswith(PNG_SIGNATURE) for p in paths)


def test_report_errors_name_the_directory(tmp_path, capsys) -> None:
    with pytest.raises(ReportError, match=str(tmp_path)):
        make_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    with pytest.raises(ReportError, match="does not exist"):
        make_report(tmp_path / "nope")
