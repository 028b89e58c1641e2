"""Tic-tac-toe rules from known positions."""

from __future__ import annotations

import numpy as np
import pytest

import games
from games import IllegalMoveError, NotationError

GAME = games.make("tictactoe")


def play(*moves: str) -> games.State:
    return GAME.initial_state().apply_all(list(moves))


@pytest.mark.parametrize(
    "moves, winner",
    [
        (("a3", "a1", "b3", "b1", "c3"), 0),  # top row
        (("a1", "b1", "a2", "b2", "c3", "b3"), 1),  # middle column for O
        (("a1", "a2", "b2", "a3", "c3"), 0),  # main diagonal
        (("c1", "a1", "b2", "a2", "a3"), 0),  # anti-diagonal
    ],
)
def test_three_in_a_row_wins(moves: tuple[str, ...], winner: int) -> None:
    state = play(*moves)
    assert state.is_terminal()
    assert state.returns() == ((1.0, -1.0) if winner == 0 else (-1.0, 1.0))


def test_full_board_without_line_is_a_draw() -> None:
    state = play("b2", "a1", "c1", "a3", "a2", "c2", "b1", "b3", "c3")
    assert state.is_terminal() and state.returns() == (0.0, 0.0)


def test_occupied_cell_is_illegal_and_named() -> None:
    state = play("b2")
    with pytest.raises(IllegalMoveError, match="'b2'"):
        state.apply_text("b2")


def test_notation_is_bottom_left_origin() -> None:
    state = GAME.initial_state()
    assert state.parse_action("a1") == 6 and state.parse_action("C3") == 2 and state.action_to_text(4) == "b2"
    for bad in ("d1", "a4", "", "b22", "5"):
        with pytest.raises(NotationError):
            state.parse_action(bad)


def test_observation_is_from_the_movers_view() -> None:
    state = play("a3")  # X at action 0; O to move
    obs = state.observation()
    assert obs[1, 0, 0] == 1 and obs[0].sum() == 0 and obs[2].sum() == 0
    obs_x = state.apply_text("b2").observation()  # X to move
    assert obs_x[0, 0, 0] == 1 and obs_x[1, 1, 1] == 1 and obs_x[2].all()


def test_symmetry_rotates_cells() -> None:
    perm = GAME.action_permutation(1)  # rot90 counter-clockwise
    # Top-left corner goes to the bottom-left under a counter-clockwise rotation.
    assert perm[0] == 6 and perm[4] == 4
    assert np.array_equal(GAME.action_permutation(0), np.arange(9))
