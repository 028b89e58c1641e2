"""An exact Connect Four solver: bitboard negamax with alpha-beta, a transposition table and null windows.

The algorithm is Pascal Pons' ("Solving Connect 4: how to build a perfect AI"):
positions as two bitboards (the mover's stones and all stones, the layout of
:mod:`games.connect4`: bit ``col * 7 + row``), moves that hand the opponent an
immediate win pruned before they are searched, moves ordered by the threats they
create (centre columns first on ties), a transposition table of upper bounds, and
the exact score found by null-window searches narrowing ``[min, max]``.

Scores follow Pons' convention (the labelled positions of ``../shared/connect4``
use it too), from the mover's view: 0 a draw; a win with the mover's k-th stone
scores ``22 - k`` (faster wins score higher), a loss minus the opponent's win score.
:meth:`Connect4Solver.value` only asks win / draw / loss, which is much cheaper.

Pure Python: middle and end-game positions solve in milliseconds to seconds; the
first few plies of the game take far longer (the empty board is a first-player win,
by the centre column).
"""

from __future__ import annotations

from collections.abc import Sequence

from games.connect4 import ConnectFourState

WIDTH, HEIGHT = 7, 6
_H1 = HEIGHT + 1
_CELLS = WIDTH * HEIGHT
MIN_SCORE = -(_CELLS // 2) + 3
MAX_SCORE = (_CELLS + 1) // 2 - 3
_BOTTOM = sum(1 << (c * _H1) for c in range(WIDTH))
_BOARD = _BOTTOM * ((1 << HEIGHT) - 1)
_TOP = [1 << (HEIGHT - 1 + c * _H1) for c in range(WIDTH)]
_COLUMN = [((1 << HEIGHT) - 1) << (c * _H1) for c in range(WIDTH)]
_ORDER = [WIDTH // 2 + (1 - 2 * (i % 2)) * (i + 1) // 2 for i in range(WIDTH)]  # 3, 2, 4, 1, 5, 0, 6


def _winning_spots(position: int, mask: int) -> int:
    """The empty cells where ``position``'s player would complete four in a row."""
    r = (position << 1) & (position << 2) & (position << 3)  # vertical
    for shift in (_H1, HEIGHT, HEIGHT + 2):  # horizontal and the two diagonals
        p = (position << shift) & (position << 2 * shift)
        r |= p & (position << 3 * shift)
        r |= p & (position >> shift)
        p = (position >> shift) & (position >> 2 * shift)
        r |= p & (position << shift)
        r |= p & (position >> 3 * shift)
    return r & (_BOARD ^ mask)


class Connect4Solver:
    """Solves Connect Four positions; keep one solver to share its transposition table across calls.

    Args:
        table_size: the most positions the transposition table keeps (it is cleared when full).
    """

    exhaustive = False  # the first plies take the pure-Python search minutes to hours

    def __init__(self, table_size: int = 4_000_000) -> None:
        self._table: dict[int, int] = {}
        self._table_size = table_size
        self.nodes = 0

    # ------------------------------------------------------------------ the search
    def _negamax(self, current: int, mask: int, moves: int, alpha: int, beta: int) -> int:
        self.nodes += 1
        possible = (mask + _BOTTOM) & _BOARD
        opponent_wins = _winning_spots(current ^ mask, mask)
        forced = possible & opponent_wins
        if forced:
            if forced & (forced - 1):
                return -((_CELLS - moves) // 2)  # two threats at once: lost
            possible = forced
        candidates = possible & ~(opponent_wins >> 1)  # never play just below an opponent's threat
        if not candidates:
            return -((_CELLS - moves) // 2)
        if moves >= _CELLS - 2:
            return 0
        low = -((_CELLS - 2 - moves) // 2)
        if alpha < low:
            alpha = low
            if alpha >= beta:
                return alpha
        high = (_CELLS - 1 - moves) // 2
        key = current + mask
        bound = self._table.get(key)
        if bound is not None:
            high = bound + MIN_SCORE - 1
        if beta > high:
            beta = high
            if alpha >= beta:
                return beta
        ordered = []
        for col in _ORDER:
            move = candidates & _COLUMN[col]
            if move:
                threats = bin(_winning_spots(current | move, mask)).count("1")
                ordered.append((-threats, len(ordered), move))
        ordered.sort()
        for _, _, move in ordered:
            score = -self._negamax(current ^ mask, mask | move, moves + 1, -beta, -alpha)
            if score >= beta:
                return score
            if score > alpha:
                alpha = score
        if len(self._table) >= self._table_size:
            self._table.clear()
        self._table[key] = alpha - MIN_SCORE + 1
        return alpha

    def _solve(self, current: int, mask: int, moves: int, weak: bool) -> int:
        if _winning_spots(current, mask) & (mask + _BOTTOM) & _BOARD:
            return (_CELLS + 1 - moves) // 2
        low, high = -((_CELLS - moves) // 2), (_CELLS + 1 - moves) // 2
        if weak:
            low, high = -1, 1
        while low < high:  # null-window searches narrow [low, high] to the exact score
            med = low + (high - low) // 2
            if med <= 0 and low // 2 < med:
                med = low // 2
            elif med >= 0 and high // 2 > med:
                med = high // 2
            r = self._negamax(current, mask, moves, med, med + 1)
            if r <= med:
                high = r
            else:
                low = r
        return low

    # ------------------------------------------------------------------ the interface
    @staticmethod
    def _bits(state: ConnectFourState) -> tuple[int, int, int]:
        if state.is_terminal():
            raise ValueError("the solver takes positions that are not over")
        first, second = state._bits  # noqa: SLF001 - the same bitboard layout, read only
        mask = first | second
        return (first if state.to_play == 0 else second), mask, state.num_stones

    def score(self, state: ConnectFourState) -> int:
        """The exact score of ``state`` for the player to move (Pons' convention, module docstring)."""
        return self._solve(*self._bits(state), weak=False)

    def value(self, state: ConnectFourState) -> int:
        """The game-theoretic value for the player to move: 1 a win, 0 a draw, -1 a loss (cheaper than ``score``)."""
        score = self._solve(*self._bits(state), weak=True)
        return (score > 0) - (score < 0)

    def reply_order(self, moves: Sequence[int]) -> list[int]:
        """Equally good columns nearest the centre first."""
        return sorted(moves, key=_ORDER.index)

    def move_values(self, state: ConnectFourState) -> dict[int, int]:
        """The value (1, 0, -1) of every legal move for the player to move."""
        out = {}
        for action in state.legal_actions():
            child = state.apply_unchecked(action)
            if child.is_terminal():
                out[action] = int(child.returns()[state.to_play])
            else:
                out[action] = -self.value(child)
        return out

    def move_scores(self, state: ConnectFourState) -> dict[int, int]:
        """The exact score of every legal move for the player to move (a winning move: its win score)."""
        out = {}
        for action in state.legal_actions():
            child = state.apply_unchecked(action)
            if child.is_terminal():
                won = child.returns()[state.to_play] > 0
                out[action] = (_CELLS + 1 - state.num_stones) // 2 if won else 0
            else:
                out[action] = -self.score(child)
        return out


__all__ = ["Connect4Solver", "MAX_SCORE", "MIN_SCORE"]
