"""The exact Connect Four solver against the labelled Pons positions (per-move scores) and the rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import games
from games.connect4_solver import Connect4Solver

DATA = Path(__file__).resolve().parents[2] / "shared" / "connect4"
C4 = games.make("connect4")


def labelled(name: str, limit: int) -> list[dict[str, str]]:
    path = DATA / f"{name}.tsv"
    if not path.is_file():
        pytest.skip(f"no Connect Four benchmark data at {path}")
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))[:limit]


@pytest.mark.parametrize("name,limit", [
    ("pons_end_easy", 20), pytest.param("pons_middle_easy", 8, marks=pytest.mark.slow),
])
def test_scores_match_the_labels_move_by_move(name: str, limit: int) -> None:
    solver = Connect4Solver()
    for row in labelled(name, limit):
        state = C4.initial_state().apply_all(list(row["moves"]))
        assert solver.score(state) == int(row["position_score"]), row["moves"]
        scores = solver.move_scores(state)
        for col in range(7):
            label = row[f"score_col{col + 1}"]
            if label == "":
                assert col not in scores
            else:
                assert scores[col] == int(label), (row["moves"], col + 1)
        values = solver.move_values(state)
        assert values == {a: (s > 0) - (s < 0) for a, s in scores.items()}


def test_immediate_wins_and_the_value_sign() -> None:
    solver = Connect4Solver()
    win_now = C4.initial_state().apply_all(list("121212"))  # X wins in column 1 with its 4th stone
    assert solver.score(win_now) == 22 - 4 and solver.value(win_now) == 1  # no search: the win is in sight
    rows = labelled("pons_end_easy", 200)
    for sign in (-1, 0, 1):  # win, draw and loss positions: value is the sign of the exact score
        row = next(r for r in rows if (int(r["position_score"]) > 0) - (int(r["position_score"]) < 0) == sign)
        assert solver.value(C4.initial_state().apply_all(list(row["moves"]))) == sign
    with pytest.raises(ValueError, match="not over"):
        solver.score(C4.initial_state().apply_all(list("1212121")))
