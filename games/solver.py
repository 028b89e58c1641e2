"""Exact game values by memoised negamax, for games small enough to solve (tic-tac-toe).

Values are from the point of view of the player to move: 1 win, 0 draw, -1 loss.
States must be hashable and equal when they are the same position with the same
player to move.
"""

from __future__ import annotations

from games.base import State


class Solver:
    """A memoised negamax solver; keep one per game to share its table."""

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
