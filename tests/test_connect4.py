"""Connect Four rules from known positions and the labelled benchmark positions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import games
from games import IllegalMoveError, NotationError

GAME = games.make("connect4")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "connect4"


def play(moves: str) -> games.State:
    return GAME.initial_state().apply_all(list(moves))


@pytest.mark.parametrize(
    "moves, winner",
    [
        ("1212121", 0),  # vertical in column 1
        ("1122334", 0),  # horizontal on the bottom row
        ("12233734444", 0),  # diagonal up-right: a1 b2 c3 d4
        ("76655154444", 0),  # diagonal up-left: g1 f2 e3 d4
        ("71122334", 1),  # second player wins horizontally
    ],
)
def test_four_in_a_row_wins_in_every_direction(moves: str, winner: int) -> None:
    state = play(moves)
    assert state.is_terminal(), str(state)
    assert state.returns() == ((1.0, -1.0) if winner == 0 else (-1.0, 1.0))
    assert not play(moves[:-1]).is_terminal()


def test_three_in_a_row_is_not_a_win() -> None:
    assert not play("112233").is_terminal()


def test_full_board_draw() -> None:
    # Columns filled in the order 1,2,3 / 5,6,7 / 4 with a pattern that never makes four.
    moves = "123123" "123123" "123123" "567567" "567567" "567567" "444444"
    moves = "".join(moves)
    state = GAME.initial_state()
    for i, m in enumerate(moves):
        assert not state.is_terminal(), f"ended after {i} moves:\n{state}"
        state = state.apply_text(m)
    assert state.is_terminal() and state.returns() == (0.0, 0.0)
    assert state.num_stones == 42


def test_full_column_is_illegal() -> None:
    state = play("444444")
    assert not state.legal_mask()[3]
    with pytest.raises(IllegalMoveError, match="'4'"):
        state.apply_text("4")


def test_notation_errors_name_the_input() -> None:
    state = GAME.initial_state()
    for bad in ("0", "8", "a", "", "12"):
        with pytest.raises(NotationError, match=repr(bad)):
            state.parse_action(bad)


def test_observation_rows_start_at_the_top() -> None:
    obs = play("4").observation()  # the second player to move
    assert obs[1, 5, 3] == 1 and obs[0].sum() == 0 and obs[2].sum() == 0


def test_mirror_symmetry() -> None:
    assert GAME.action_permutation(1).tolist() == [6, 5, 4, 3, 2, 1, 0]


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"labelled positions not found at {SHARED}")
@pytest.mark.parametrize("name", ["pons_end_easy.tsv", "pons_middle_medium.tsv", "pons_begin_hard.tsv"])
def test_labelled_positions_replay_with_the_labelled_legal_moves(name: str) -> None:
    """Every benchmark position replays legally, is not over, and its legal columns are the labelled ones."""
    with open(SHARED / name, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert rows
    for row in rows:
        state = play(row["moves"])
        assert not state.is_terminal()
        labelled = [row[f"score_col{c}"] != "" for c in range(1, 8)]
        assert state.legal_mask().tolist() == labelled, row["moves"]
        # A move scored as an immediate win ends the game with a win for the mover.
        best = max(int(row[f"score_col{c}"]) for c in range(1, 8) if labelled[c - 1])
        stones = len(row["moves"])
        for c in range(7):
            if labelled[c] and int(row[f"score_col{c + 1}"]) == (43 - stones) // 2:
                after = state.apply(c)
                if after.is_terminal():
                    assert after.returns()[state.to_play] == 1.0
        assert best == int(row["position_score"])
