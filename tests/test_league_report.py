"""What the ladder and ``zeroplay report`` show of a league: the payoff heat map, exploitability over time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from league_helpers import lowest_square_checkpoint

pytest.importorskip("matplotlib")

from cluster.arena.league import LeagueState, Score, write_league  # noqa: E402
from cluster.cli.main import main  # noqa: E402
from cluster.observe.league_report import exploitability_series, payoff_text  # noqa: E402
from cluster.observe.report import PNG_SIGNATURE  # noqa: E402

LADDER = {
    "format": "zeroplay-ladder", "format_version": 1, "game": {"name": "tictactoe"}, "config": {},
    "last_seen_step": 200, "seen": 2,
    "players": {"random": {"kind": "anchor", "spec": "random"},
                "step-100": {"kind": "checkpoint", "step": 100}, "step-200": {"kind": "checkpoint", "step": 200}},
    "results": [{"a": "step-100", "b": "random", "wins": 8, "draws": 0, "losses": 2},
                {"a": "step-200", "b": "step-100", "wins": 6, "draws": 2, "losses": 2},
                {"a": "step-200", "b": "random", "wins": 10, "draws": 0, "losses": 0}],
    "ratings": {"random": 0.0, "step-100": 240.0, "step-200": 400.0},
    "checkpoints": [{"id": "step-100", "step": 100, "weights_version": 1, "elo": 240.0, "vs_previous": None},
                    {"id": "step-200", "step": 200, "weights_version": 2, "elo": 400.0,
                     "vs_previous": {"elo": 120.0, "lower": 30.0, "upper": 220.0}}],
    "skipped": [],
}


def league_run(run_dir: Path) -> None:
    (run_dir / "ladder.json").write_text(json.dumps(LADDER))
    records = [{"time": 1.7e9 + k, "elapsed": k, "step": 100 * k, "loss": 1.0, "games_per_s": 1.0} for k in range(3)]
    records.append({"kind": "evaluation", "step": 200, "weights_version": 2, "elo": 400.0, "exploitability": 0.25})
    (run_dir / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    state = LeagueState(last_snapshot_step=200)
    state.add_snapshot("step-100", "main", 100, 1)
    state.add_snapshot("step-200", "main", 200, 2)
    for result in (1, 1, 0, -1):
        state.record_game("step-100", result)
    state.add_exploitability(100, Score(3, 1, 6))
    state.add_exploitability(200, Score(1, 1, 8))
    write_league(run_dir, state)


@pytest.mark.slow
def test_report_draws_the_payoff_heat_map_and_exploitability_over_time(tmp_path: Path, capsys) -> None:
    league_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    written = {p.rsplit("/", 1)[-1] for p in capsys.readouterr().out.split()}
    assert {"payoff.png", "exploitability.png"} <= written
    for name in ("payoff.png", "exploitability.png"):
        assert (tmp_path / "report" / name).read_bytes().startswith(PNG_SIGNATURE)
    series = exploitability_series(tmp_path, [json.loads(line) for line in
                                              (tmp_path / "metrics.jsonl").read_text().splitlines()])
    assert [p[:2] for p in series["league"]] == [(100, 0.35), (200, 0.15)]
    assert series["exact"] == [(200, 0.25)] and series["exploit"] == []


def test_the_ladder_prints_its_payoff_matrix(tmp_path: Path, capsys) -> None:
    league_run(tmp_path)
    assert main(["evaluate", str(tmp_path), "--payoff"]) == 0
    text = capsys.readouterr().out
    assert "payoff" in text and "step-200" in text and "0.70" in text  # step-200 vs step-100: 6-2-2
    assert "league" in text and "step-100" in text
    assert payoff_text(None) == "no results on the ladder yet"


@pytest.mark.slow
def test_the_evaluator_measures_exact_exploitability_per_checkpoint(tmp_path: Path) -> None:
    from cluster.arena.evaluator import Evaluator, EvaluatorConfig
    from cluster.arena.ladder import read_ladder

    lowest_square_checkpoint(tmp_path)
    config = EvaluatorConfig(games_per_pairing=2, sims=1, opponents=1, anchors=("random",), exploitability=True)
    (record,) = Evaluator(tmp_path, config).evaluate_new()
    assert record["exploitability_games"] == 164 and record["exploitability"] > 0
    entry = read_ladder(tmp_path)["checkpoints"][-1]
    assert entry["exploitability"]["points_lost_per_game"] == record["exploitability"]
