"""Selection rules inside the tree: PUCT, and Gumbel MuZero's deterministic interior selection.

Each rule scores the children of many nodes at once: ``nodes`` are arena node ids,
``idx``/``seg``/``offs`` their edges as :func:`~selfplay.search.formulas.segments`
lays them out, and the result is one chosen edge per node. The root uses the same
rules through :mod:`selfplay.search.policies`, with its own prior (noise) and, for
Gumbel, its own schedule.
"""

from __future__ import annotations

import numpy as np

from selfplay.search import formulas
from selfplay.search.config import SearchConfig
from selfplay.search.solver import exclude_lost, solved_q
from selfplay.search.tree import Arena


def child_stats(
    arena: Arena, idx: np.ndarray, sgn_seg: np.ndarray, solver: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(visits, value, lost)`` of the children behind edges ``idx``, values from the parent mover's view.

    ``sgn_seg`` is the parent's sign (+1: player 0 to move) per edge. An unvisited
    child (the null node) has 0 visits and value 0. With the ``solver``, a solved
    child's value is its exact one and ``lost`` marks the children that lose for sure
    (:mod:`selfplay.search.solver`); without it ``lost`` is None.
    """
    child = arena.child[idx]
    n = arena.n[child]
    q = sgn_seg * arena.w0[child] / np.maximum(n, 1.0)
    if not solver:
        return n, q, None
    q, lost = solved_q(arena, idx, sgn_seg, q)
    return n, q, lost


def puct_select(
    arena: Arena,
    nodes: np.ndarray,
    idx: np.ndarray,
    seg: np.ndarray,
    offs: np.ndarray,
    prior: np.ndarray,
    config: SearchConfig,
    *,
    fpu_reduction: float | np.ndarray | None = None,
    forced: np.ndarray | None = None,
) -> np.ndarray:
    """The edge of highest PUCT score under each node (``prior`` per edge).

    First play urgency: an unvisited child counts as the parent's mean value minus
    ``fpu_reduction`` (per node, or one for all; default ``config.fpu_reduction``), scaled by the square root of
    the prior mass of the children already visited (KataGo's rule, when
    ``config.fpu_visited_mass``): the more of the policy has been explored, the less an
    unexplored move is expected to be worth. ``config.fpu_absolute`` overrides all of it.
    ``forced`` (bool per edge) marks children that must be taken first (forced playouts).
    """
    sgn = arena.sgn[nodes]
    n, q, lost = child_stats(arena, idx, sgn[seg], config.solver)
    parent_n = arena.n[nodes]
    if config.fpu_absolute is None:
        reduction = config.fpu_reduction if fpu_reduction is None else fpu_reduction
        if config.fpu_visited_mass:
            reduction = reduction * np.sqrt(np.add.reduceat(np.where(n > 0, prior, 0.0), offs))
        fpu = sgn * arena.w0[nodes] / parent_n - reduction
    else:
        fpu = np.full(len(nodes), float(config.fpu_absolute))
    coefficient = formulas.puct_coefficient(parent_n, config.c_base, config.c_init)
    score = formulas.puct_scores(q, prior, n, coefficient[seg], fpu[seg])
    if forced is not None:
        score = np.where(forced, np.inf, score)
    if lost is not None:
        score = exclude_lost(score, lost, offs, seg)
    return idx[formulas.segment_argmax(score, seg, offs)]


def completed_sigma(
    arena: Arena,
    nodes: np.ndarray,
    n: np.ndarray,
    q: np.ndarray,
    prior: np.ndarray,
    seg: np.ndarray,
    offs: np.ndarray,
    config: SearchConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sigma(completed Q), completed Q)`` per edge (Gumbel MuZero), and the children's visit sum per node."""
    raw = arena.sgn[nodes] * arena.raw0[nodes]
    cq, sum_n = formulas.completed_q(q, n, prior, raw, seg, offs)
    normalized = formulas.normalized_q(cq, seg, offs, rescale=config.gumbel_rescale_values)
    return formulas.sigma(normalized, n, seg, offs, config.gumbel_c_visit, config.gumbel_c_scale), cq, sum_n


def gumbel_interior_select(
    arena: Arena, nodes: np.ndarray, idx: np.ndarray, seg: np.ndarray, offs: np.ndarray, config: SearchConfig
) -> np.ndarray:
    """Gumbel MuZero's deterministic selection: the child whose visit share most lags the improved policy."""
    sgn = arena.sgn[nodes]
    n, q, lost = child_stats(arena, idx, sgn[seg], config.solver)
    sig, _, sum_n = completed_sigma(arena, nodes, n, q, arena.prior[idx], seg, offs, config)
    pi = formulas.segment_softmax(arena.logp[idx] + sig, seg, offs)
    score = pi - n / (1.0 + sum_n[seg])
    if lost is not None:
        score = exclude_lost(score, lost, offs, seg)
    return idx[formulas.segment_argmax(score, seg, offs)]


def interior_select(arena: Arena, nodes: np.ndarray, config: SearchConfig) -> np.ndarray:
    """One child edge per node in ``nodes`` (below the root), by the configured algorithm."""
    idx, seg, offs = formulas.segments(arena.estart[nodes], arena.ecount[nodes])
    if config.algorithm == "gumbel":
        return gumbel_interior_select(arena, nodes, idx, seg, offs, config)
    return puct_select(arena, nodes, idx, seg, offs, arena.prior[idx], config)


__all__ = ["child_stats", "completed_sigma", "gumbel_interior_select", "interior_select", "puct_select"]
