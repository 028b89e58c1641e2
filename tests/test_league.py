"""League math and the league file: PFSP weights, the payoff matrix, intervals, league.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cluster.arena.league import (
    PAYOFF_WINDOW,
    ExploiterState,
    LeagueError,
    LeagueState,
    LeagueWarning,
    Score,
    ladder_probability,
    load_league,
    payoff_matrix,
    pfsp_weights,
    read_league,
    wilson_interval,
    win_probability,
    write_league,
)
from cluster.config.run import ConfigError, resolve

# A ladder as the evaluator writes it: three checkpoints and the random anchor.
LADDER = {
    "players": {
        "step-100": {"kind": "checkpoint", "step": 100},
        "step-200": {"kind": "checkpoint", "step": 200},
        "step-300": {"kind": "checkpoint", "step": 300},
        "random": {"kind": "anchor", "spec": "random"},
    },
    "results": [
        {"a": "step-100", "b": "random", "wins": 6, "draws": 2, "losses": 2},
        {"a": "step-200", "b": "step-100", "wins": 7, "draws": 2, "losses": 1},
        {"a": "step-200", "b": "random", "wins": 10, "draws": 0, "losses": 0},
        {"a": "step-300", "b": "step-200", "wins": 3, "draws": 4, "losses": 3},
        {"a": "step-100", "b": "step-200", "wins": 1, "draws": 0, "losses": 9},  # the same pair, other order
    ],
    "ratings": {"random": 0.0, "step-100": 150.0, "step-200": 400.0, "step-300": 400.0},
    "checkpoints": [{"id": "step-100"}, {"id": "step-200"}, {"id": "step-300"}],
}


def test_pfsp_weights_of_a_known_payoff_row() -> None:
    p = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(pfsp_weights(p, "hard"), np.array([0.81, 0.25, 0.01]) / 1.07, rtol=1e-12)
    np.testing.assert_allclose(pfsp_weights(p, "var"), np.array([0.09, 0.25, 0.09]) / 0.43, rtol=1e-12)
    np.testing.assert_allclose(pfsp_weights(p, "uniform"), [1 / 3] * 3, rtol=1e-12)
    # Beating every snapshot for sure leaves f_hard = 0 everywhere: the draw falls back to uniform.
    np.testing.assert_allclose(pfsp_weights([1.0, 1.0], "hard"), [0.5, 0.5])
    assert len(pfsp_weights([], "hard")) == 0
    with pytest.raises(LeagueError, match="PFSP mode"):
        pfsp_weights([0.5], "greedy")
    with pytest.raises(LeagueError, match="probability"):
        pfsp_weights([1.5], "hard")


def test_pfsp_from_the_payoff_matrix_the_ladder_keeps() -> None:
    matrix = payoff_matrix(LADDER)
    assert matrix.names == ("step-100", "step-200", "step-300", "random")
    i = {name: k for k, name in enumerate(matrix.names)}
    # step-200 vs step-100: 7-2-1 and, the other way round, 9-0-1: 17 points of 20.
    assert matrix.score[i["step-200"], i["step-100"]] == pytest.approx(17 / 20)
    assert matrix.score[i["step-100"], i["step-200"]] == pytest.approx(3 / 20)
    assert matrix.games[i["step-100"], i["step-200"]] == 20
    assert matrix.score[i["step-100"], i["random"]] == pytest.approx(0.7)
    assert math.isnan(matrix.score[i["step-300"], i["step-100"]])  # never played
    # The newest checkpoint (step-300) against the snapshots: direct result, else Elo.
    assert ladder_probability(LADDER, "step-300", "step-200") == pytest.approx(0.5)
    elo_p = 1 / (1 + 10 ** (-(400 - 150) / 400))
    assert ladder_probability(LADDER, "step-300", "step-100") == pytest.approx(elo_p)
    assert ladder_probability(LADDER, "step-300", "exploiter-0-g1") is None
    state = LeagueState()
    for name, step in (("step-100", 100), ("step-200", 200)):
        state.add_snapshot(name, "main", step, step // 10)
    probabilities = state.probabilities(LADDER)
    assert probabilities == {"step-100": pytest.approx(elo_p), "step-200": pytest.approx(0.5)}
    weights = pfsp_weights(list(probabilities.values()), "hard")
    expected = np.array([(1 - elo_p) ** 2, 0.25])
    np.testing.assert_allclose(weights, expected / expected.sum(), rtol=1e-12)


def test_league_games_move_the_estimate_and_recent_games_weigh_most() -> None:
    assert win_probability(None, None) == 0.5
    assert win_probability({"wins": 8, "draws": 0, "losses": 0}, 0.5) == pytest.approx((8 + 2) / 12)
    state = LeagueState()
    state.add_snapshot("step-10", "main", 10, 1)
    for _ in range(300):
        state.record_game("step-10", -1)
    assert sum(state.payoff["step-10"].values()) == pytest.approx(PAYOFF_WINDOW)
    for _ in range(200):
        state.record_game("step-10", 1)
    counts = state.payoff["step-10"]
    assert counts["wins"] > counts["losses"]  # 200 new wins outweigh 300 old losses
    state.record_game("step-99", 1)  # not in the pool: ignored
    assert "step-99" not in state.payoff


def test_wilson_interval() -> None:
    lo, hi = wilson_interval(1.0, 100)
    assert lo == pytest.approx(0.963, abs=1e-3) and hi == 1.0
    lo, hi = wilson_interval(0.5, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0.3, 0) == (0.0, 1.0)
    score = Score(wins=8, draws=2, losses=0)
    assert score.score == 0.9 and score.to_dict()["interval"][1] <= 1.0
    assert Score.of("wwdl") == Score(2, 1, 1)


def test_league_file_round_trips_and_bounds_what_it_reads(tmp_path: Path) -> None:
    state = LeagueState(last_snapshot_step=200)
    state.add_snapshot("step-100", "main", 100, 5)
    state.add_snapshot("exploiter-0-g1", "exploiter", 40, 2)
    state.record_game("step-100", 1)
    exploiter = ExploiterState(index=0)
    exploiter.add("wwld", window=3)
    assert exploiter.recent == "wld" and exploiter.games == 4
    state.exploiters.append(exploiter)
    state.add_exploitability(300, Score(3, 1, 0))
    write_league(tmp_path, state)
    back = read_league(tmp_path)
    assert back is not None and back.to_dict() == state.to_dict()
    assert read_league(tmp_path / "none") is None

    data = json.loads((tmp_path / "league.json").read_text())
    for damage, message in (
        ({"format": "other"}, "not a zeroplay league"),
        ({"snapshots": [{"name": "../../etc", "kind": "main", "step": 1, "weights_version": 1}]}, "name"),
        ({"snapshots": [{"name": "step-1", "kind": "main", "step": -5, "weights_version": 1}]}, "step"),
        ({"payoff": {"step-100": {"wins": float("inf"), "draws": 0, "losses": 0}}}, "JSON|finite"),
        ({"exploiters": [{"index": 0, "recent": "wxyz"}]}, "recent"),
        ({"exploitability": [{"time": 1, "step": 1, "games": 1, "score": 2, "lower": 0, "upper": 1}]}, r"\[0, 1\]"),
    ):
        (tmp_path / "league.json").write_text(json.dumps({**data, **damage}, allow_nan=True))
        with pytest.raises(LeagueError, match=message):
            read_league(tmp_path)
    (tmp_path / "league.json").write_text("{not json")
    with pytest.warns(LeagueWarning, match="league.json"):
        assert load_league(tmp_path).snapshots == []
    (tmp_path / "league.json").unlink()
    (tmp_path / "league.json").mkdir()  # not a regular file
    with pytest.warns(LeagueWarning, match="cannot read"):
        assert load_league(tmp_path).snapshots == []


def test_league_keys_are_checked_and_off_by_default() -> None:
    config = resolve("tictactoe")
    assert config.league.enabled is False and config.league.exploiters == 0
    config = resolve("connect4", assignments=["league.enabled=true", "league.pfsp=var", "league.exploiters=1"])
    assert config.league.pfsp == "var" and config.league.exploiters == 1
    for bad, message in (
        ("league.pfsp=greedy", "league.pfsp"),
        ("league.share=1.5", "league.share"),
        ("league.max_snapshots=0", "league.max_snapshots"),
        ("league.exploiters=1", "league.enabled"),
        ("league.snapshott_every=5", "league.snapshott_every"),
    ):
        with pytest.raises(ConfigError, match=message):
            resolve("tictactoe", assignments=[bad])
