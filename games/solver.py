"""Exact game values: what a game's solver offers, and memoised negamax for games small enough to solve.

Values are from the point of view of the player to move: 1 win, 0 draw, -1 loss.
States must be hashable and equal when they are the same position with the same
player to move. ``Game.exact_solver()`` gives a game's solver (tic-tac-toe: :class:`Solver`;
Connect Four: :class:`games.connect4_solver.Connect4Solver`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from games.base import State


class ExactSolver(Protocol):
    """A game's exact solver.

    Attributes:
        exhaustive: the whole game solves in seconds, from the start and along every
            optimal line (tic-tac-toe); False where only positions some way into the game
            do (Connect Four in pure Python: labelled middle-game positions).
    """

    exhaustive: bool

    def value(self, state: State) -> int:
        """The exact value of a position that is not over, for the player to move."""
        ...

    def reply_order(self, moves: Sequence[int]) -> list[int]:
        """Equally good moves in the order a perfect player prefers them (the first is played)."""
        ...


class Solver:
    """A memoised negamax solver; keep one per game to share its table."""

    exhaustive = True

    def __init__(self) -> None:
        self._values: dict[State, int] = {}

    def value(self, state: State) -> int:
        """The exact value of ``state`` for the player to move (for a finished game: its result)."""
        known = self._values.get(state)
        if known is not None:
            return known
        if state.is_terminal():
            mover = state.to_play
            result = int(state.returns()[mover])
        else:
            result = max(-self.value(state.apply_unchecked(a)) for a in state.legal_actions())
        self._values[state] = result
        return result

    def move_values(self, state: State) -> dict[int, int]:
        """The value, for the player to move, of each legal move."""
        return {a: -self.value(state.apply_unchecked(a)) for a in state.legal_actions()}

    def reply_order(self, moves: Sequence[int]) -> list[int]:
        """Equally good moves in action order."""
        return sorted(moves)

    def best_moves(self, state: State) -> list[int]:
        values = self.move_values(state)
        best = max(values.values())
        return [a for a, v in values.items() if v == best]


def reachable_states(initial: State) -> list[State]:
    """Every non-terminal position reachable from ``initial`` (each once), in breadth-first order."""
    seen = {initial}
    order = [initial]
    frontier = [initial]
    while frontier:
        nxt = []
        for state in frontier:
            for a in state.legal_actions():
                child = state.apply_unchecked(a)
                if child not in seen and not child.is_terminal():
                    seen.add(child)
                    order.append(child)
                    nxt.append(child)
        frontier = nxt
    return [s for s in order if not s.is_terminal()]
