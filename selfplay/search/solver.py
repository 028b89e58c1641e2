"""Proven values in the tree (MCTS-solver): exact wins, losses and draws found by the search itself.

A terminal node is solved by the rules. A node is then solved as a win for its mover
as soon as one child is a loss for the child's mover (a winning move), and solved
otherwise once every child is expanded and solved (its value is the best of theirs:
a draw, or a loss when every move loses). Values are kept from player 0's view in
``Arena.proof0`` (NaN: unknown), with ``Arena.plies``, the number of moves to the end
along the proof (the winner's fastest line, the loser's slowest).

With ``SearchConfig.solver`` on, the search uses them: a solved child's Q is its exact
value, a child that loses for sure is never chosen while another move remains, and a
solved root stops searching. So no simulation is spent where the outcome is known, and
a forced win the search has seen is never missed.
"""

from __future__ import annotations

import numpy as np

from selfplay.search.tree import Arena


def solve_terminals(arena: Arena, nodes: np.ndarray) -> None:
    """Mark the new terminal ``nodes`` solved by the rules, then solve their ancestors as far as it goes."""
    arena.proof0[nodes] = arena.raw0[nodes]
    arena.plies[nodes] = 0
    for node in np.asarray(nodes).tolist():
        solve_upwards(arena, int(arena.parent[node]))


def solve_upwards(arena: Arena, node: int) -> None:
    """Try to solve ``node`` from its children, and its ancestors in turn while each becomes solved."""
    while node != 0 and np.isnan(arena.proof0[node]):
        start, count = int(arena.estart[node]), int(arena.ecount[node])
        children = arena.child[start : start + count]
        values = arena.sgn[node] * arena.proof0[children]  # the mover's view; NaN unknown (node 0 included)
        plies = arena.plies[children]
        wins = values == 1.0
        if wins.any():
            value, length = 1.0, int(plies[wins].min()) + 1
        elif np.isnan(values).any():
            return  # a child is still open, so this node is too
        else:
            value = float(values.max())
            best = values == value
            # A loss is resisted longest; a draw reached by the shortest proof.
            length = int(plies[best].max() if value < 0 else plies[best].min()) + 1
        arena.proof0[node] = arena.sgn[node] * value
        arena.plies[node] = length
        node = int(arena.parent[node])


def solved_q(arena: Arena, idx: np.ndarray, sgn_seg: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(q with solved children's exact values, lost)`` per edge: ``lost`` marks children that lose for sure
    for the parent's mover."""
    exact = sgn_seg * arena.proof0[arena.child[idx]]
    solved = ~np.isnan(exact)
    return np.where(solved, exact, q), solved & (exact == -1.0)


def exclude_lost(score: np.ndarray, lost: np.ndarray, offsets: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """``score`` with sure losses at -inf, except at nodes where every move loses."""
    if not lost.any():
        return score
    hopeless = np.logical_and.reduceat(lost, offsets)[seg]
    return np.where(lost & ~hopeless, -np.inf, score)


__all__ = ["exclude_lost", "solve_terminals", "solve_upwards", "solved_q"]
