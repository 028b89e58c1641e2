"""The exact solver against tic-tac-toe facts."""

from __future__ import annotations

import games
from games.solver import Solver, reachable_states

GAME = games.make("tictactoe")


def test_tictactoe_is_a_draw() -> None:
    assert Solver().value(GAME.initial_state()) == 0


def test_reachable_positions_count() -> None:
    # 5478 legal positions, of which 958 are terminal: 4520 positions with a move to make.
    assert len(reachable_states(GAME.initial_state())) == 4520


def test_win_in_one_and_forced_loss() -> None:
    solver = Solver()
    win = GAME.initial_state().apply_all(["a1", "b1", "a2", "b2"])  # X to move, a3 wins
    assert solver.value(win) == 1 and solver.best_moves(win) == [win.parse_action("a3")]
    # O facing two threats (fork) loses.
    fork = GAME.initial_state().apply_all(["a1", "b2", "c3", "a3", "c1", "b1"])
    assert solver.value(fork) == 1  # X to move completes a line
    after = GAME.initial_state().apply_all(["a1", "b2", "c3", "a3", "c1"])  # X threatens b1 and c2; O to move
    assert solver.value(after) == -1


def test_each_game_names_its_exact_solver() -> None:
    ttt = games.make("tictactoe")
    solver = ttt.exact_solver()
    assert solver is not None and solver.exhaustive and solver.value(ttt.initial_state()) == 0  # a draw
    c4 = games.make("connect4")
    solver4 = c4.exact_solver()
    assert solver4 is not None and not solver4.exhaustive
    assert solver4.value(c4.initial_state().apply_all(["4", "1", "4", "1", "4", "1"])) == 1  # column 4 wins
    assert solver4.reply_order([0, 6, 3, 2]) == [3, 2, 0, 6]  # nearest the centre first
    assert games.make("go", size=5).exact_solver() is None and games.make("chess").exact_solver() is None
