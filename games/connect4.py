"""Connect Four: 7 columns x 6 rows; a move drops a stone into a column.

Actions: the column index 0..6 (left to right). Notation: the column number
``1``-``7``. Player 0 moves first.

Internally each player's stones are a bitboard with 7 bits per column (6 cells
from the bottom up plus one always-empty guard bit), bit ``col * 7 + row``.

Observation ``[3, 6, 7]``: the mover's stones, the opponent's stones, and a
plane of ones when the mover is player 0; row 0 of the planes is the top row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from games.base import Game, NotationError, State, winner_returns

if TYPE_CHECKING:
    from games.solver import ExactSolver

WIDTH = 7
HEIGHT = 6
_H1 = HEIGHT + 1
_BOTTOM = [1 << (c * _H1) for c in range(WIDTH)]
_TOP = [1 << (c * _H1 + HEIGHT - 1) for c in range(WIDTH)]
_COLUMN = [((1 << HEIGHT) - 1) << (c * _H1) for c in range(WIDTH)]
_TOP_ALL = sum(_TOP)
_CELLS = WIDTH * HEIGHT


def _has_four(bits: int) -> bool:
    """Whether ``bits`` holds four in a row (vertical, horizontal or either diagonal)."""
    for shift in (1, _H1, HEIGHT, HEIGHT + 2):
        pairs = bits & (bits >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def _mask_table() -> dict[int, np.ndarray]:
    """Legal mask ``[7]`` for every combination of full columns, keyed by ``occupied & _TOP_ALL``."""
    table = {}
    for full in range(1 << WIDTH):
        key = sum(_TOP[c] for c in range(WIDTH) if full >> c & 1)
        mask = np.array([not full >> c & 1 for c in range(WIDTH)], dtype=bool)
        mask.setflags(write=False)
        table[key] = mask
    return table


_LEGAL_MASKS = _mask_table()
_NO_MOVES = np.zeros(WIDTH, dtype=bool)
_NO_MOVES.setflags(write=False)
# Bit -> (observation row, column); row 0 is the top of the board.
_BIT_CELLS = [(HEIGHT - 1 - r, c) for c in range(WIDTH) for r in range(_H1)]
_MIRROR = np.arange(WIDTH - 1, -1, -1, dtype=np.int64)
_MIRROR.setflags(write=False)
_IDENTITY = np.arange(WIDTH, dtype=np.int64)
_IDENTITY.setflags(write=False)


class ConnectFour(Game):
    """Standard Connect Four (7x6). Takes no options."""

    name = "connect4"
    num_actions = WIDTH
    observation_shape = (3, HEIGHT, WIDTH)
    num_symmetries = 2
    player_names = ("X", "O")
    notation_hint = "a column 1-7, e.g. 4"
    max_game_length = _CELLS  # one stone per cell: 42

    def exact_solver(self) -> ExactSolver:
        from games.connect4_solver import Connect4Solver

        return Connect4Solver()

    def initial_state(self) -> ConnectFourState:
        return ConnectFourState(self, (0, 0), 0, 0, None)

    def options(self) -> dict[str, Any]:
        return {}

    def transform_observation(self, observation: np.ndarray, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return np.ascontiguousarray(observation[..., ::-1]) if k == 1 else observation

    def action_permutation(self, k: int) -> np.ndarray:
        self._check_symmetry(k)
        return _MIRROR if k == 1 else _IDENTITY


class ConnectFourState(State):
    """A Connect Four position.

    ``_bits[p]`` is player ``p``'s bitboard; ``_winner`` is None while the game
    runs, the winning player, or -1 for a full-board draw.
    """

    __slots__ = ("game", "_bits", "_to_play", "_num_stones", "_winner")

    def __init__(
        self, game: ConnectFour, bits: tuple[int, int], to_play: int, num_stones: int, winner: int | None
    ) -> None:
        self.game = game
        self._bits = bits
        self._to_play = to_play
        self._num_stones = num_stones
        self._winner = winner

    @property
    def to_play(self) -> int:
        return self._to_play

    @property
    def num_stones(self) -> int:
        return self._num_stones

    def legal_mask(self) -> np.ndarray:
        if self._winner is not None:
            return _NO_MOVES
        return _LEGAL_MASKS[(self._bits[0] | self._bits[1]) & _TOP_ALL]

    def apply_unchecked(self, action: int) -> ConnectFourState:
        p0, p1 = self._bits
        occupied = p0 | p1
        stone = (occupied + _BOTTOM[action]) & _COLUMN[action]
        mover = self._to_play
        if mover == 0:
            p0 |= stone
            won = _has_four(p0)
        else:
            p1 |= stone
            won = _has_four(p1)
        n = self._num_stones + 1
        winner = mover if won else (-1 if n == _CELLS else None)
        return ConnectFourState(self.game, (p0, p1), 1 - mover, n, winner)

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
        for plane, bits in ((0, own), (1, opp)):
            while bits:
                low = bits & -bits
                row, col = _BIT_CELLS[low.bit_length() - 1]
                obs[plane, row, col] = 1.0
                bits ^= low
        if self._to_play == 0:
            obs[2] = 1.0
        return obs

    def action_to_text(self, action: int) -> str:
        if not 0 <= action < WIDTH:
            raise NotationError(f"Connect Four action {action} out of range 0..6")
        return str(action + 1)

    def parse_action(self, text: str) -> int:
        t = text.strip()
        if len(t) != 1 or t not in "1234567":
            raise NotationError(f"{text!r} is not a Connect Four column (1..7)")
        return int(t) - 1

    def cell(self, row: int, col: int) -> int:
        """Owner (0/1) of the cell at ``row`` (0 = bottom) and ``col``, or -1 if empty."""
        bit = 1 << (col * _H1 + row)
        return 0 if self._bits[0] & bit else 1 if self._bits[1] & bit else -1

    def __str__(self) -> str:
        symbols = {0: "X", 1: "O", -1: "."}
        lines = [" ".join(symbols[self.cell(r, c)] for c in range(WIDTH)) for r in range(HEIGHT - 1, -1, -1)]
        lines.append(" ".join(str(c + 1) for c in range(WIDTH)))
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnectFourState) and self._bits == other._bits

    def __hash__(self) -> int:
        return hash(self._bits)
