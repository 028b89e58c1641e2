"""Tic-tac-toe on a 3x3 board.

Actions: ``row * 3 + col`` with row 0 at the top. Notation: a column letter
``a``-``c`` and a row number ``1``-``3`` counted from the bottom, so ``a1`` is
the bottom-left cell and ``b2`` the centre. Player 0 is X and moves first.

Observation ``[3, 3, 3]``: the mover's marks, the opponent's marks, and a plane
of ones when the mover is X.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from games.base import Game, NotationError, State, winner_returns
from games.symmetry import board_action_permutation, transform_planes

if TYPE_CHECKING:
    from games.solver import ExactSolver

_LINES = (
    0b000000111, 0b000111000, 0b111000000,  # rows
    0b001001001, 0b010010010, 0b100100100,  # columns
    0b100010001, 0b001010100,  # diagonals
)
_FULL = 0b111111111


def _has_line(bits: int) -> bool:
    return any(bits & line == line for line in _LINES)


def _mask_table() -> list[np.ndarray]:
    table = []
    for occupied in range(1 << 9):
        mask = np.array([not (occupied >> i) & 1 for i in range(9)], dtype=bool)
        mask.setflags(write=False)
        table.append(mask)
    return table


_LEGAL_MASKS = _mask_table()
_NO_MOVES = np.zeros(9, dtype=bool)
_NO_MOVES.setflags(write=False)


class TicTacToe(Game):
    """Tic-tac-toe. Takes no options."""

    name = "tictactoe"
    num_actions = 9
    observation_shape = (3, 3, 3)
    num_symmetries = 8
    player_names = ("X", "O")
    notation_hint = "a cell a1..c3, e.g. b2"
    max_game_length = 9  # one mark per cell

    def exact_solver(self) -> ExactSolver:
        from games.solver import Solver

        return Solver()

    def initial_state(self) -> TicTacToeState:
        return TicTacToeState(self, 0, 0, 0)

    def options(self) -> dict[str, Any]:
        return {}

    def transform_observation(self, observation: np.ndarray, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return transform_planes(observation, k)

    def action_permutation(self, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return board_action_permutation(3, 3, k)

    @staticmethod
    def cell_text(action: int) -> str:
        row, col = divmod(action, 3)
        return f"{'abc'[col]}{3 - row}"


class TicTacToeState(State):
    """A tic-tac-toe position: bitboards of X (player 0) and O (player 1) marks, bit = action."""

    __slots__ = ("game", "_bits", "_to_play", "_winner")

    def __init__(self, game: TicTacToe, x_bits: int, o_bits: int, to_play: int) -> None:
        self.game = game
        self._bits = (x_bits, o_bits)
        self._to_play = to_play
        last = 1 - to_play
        if _has_line(self._bits[last]):
            self._winner = last
        elif (x_bits | o_bits) == _FULL:
            self._winner = -1  # draw
        else:
            self._winner = None

    @property
    def to_play(self) -> int:
        return self._to_play

    def legal_mask(self) -> np.ndarray:
        if self._winner is not None:
            return _NO_MOVES
        return _LEGAL_MASKS[self._bits[0] | self._bits[1]]

    def apply_unchecked(self, action: int) -> TicTacToeState:
        x, o = self._bits
        if self._to_play == 0:
            x |= 1 << action
        else:
            o |= 1 << action
        return TicTacToeState(self.game, x, o, 1 - self._to_play)

    def is_terminal(self) -> bool:
        return self._winner is not None

    def end_description(self) -> str:
        self._require_terminal()
        return "board full" if self._winner == -1 else "line completed"

    def returns(self) -> tuple[float, float]:
        self._require_terminal()
        return winner_returns(self._winner)

    def observation(self) -> np.ndarray:
        obs = np.zeros(self.game.observation_shape, dtype=np.float32)
        own, opp = self._bits[self._to_play], self._bits[1 - self._to_play]
        for i in range(9):
            if own >> i & 1:
                obs[0, i // 3, i % 3] = 1.0
            elif opp >> i & 1:
                obs[1, i // 3, i % 3] = 1.0
        if self._to_play == 0:
            obs[2] = 1.0
        return obs

    def action_to_text(self, action: int) -> str:
        if not 0 <= action < 9:
            raise NotationError(f"tic-tac-toe action {action} out of range 0..8")
        return TicTacToe.cell_text(action)

    def parse_action(self, text: str) -> int:
        t = text.strip().lower()
        if len(t) != 2 or t[0] not in "abc" or t[1] not in "123":
            raise NotationError(f"{text!r} is not a tic-tac-toe cell (a1..c3, a1 bottom-left)")
        return (3 - int(t[1])) * 3 + "abc".index(t[0])

    def __str__(self) -> str:
        marks = []
        for i in range(9):
            marks.append("X" if self._bits[0] >> i & 1 else "O" if self._bits[1] >> i & 1 else ".")
        lines = [f"{3 - r} " + " ".join(marks[r * 3 : r * 3 + 3]) for r in range(3)]
        lines.append("  a b c")
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TicTacToeState) and self._bits == other._bits

    def __hash__(self) -> int:
        return hash(self._bits)


__all__ = ["TicTacToe", "TicTacToeState"]
