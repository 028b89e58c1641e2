"""The search's arithmetic, written once, as pure numpy functions over flat arrays.

The search keeps the children (edges) of many nodes in one flat array; a *segment*
is one node's children, ``seg[j]`` the node of edge ``j`` and ``offsets[i]`` where
node ``i``'s edges begin (see :func:`segments`). Per-node quantities are arrays over
nodes, per-edge ones arrays over edges, so one call serves one node or a thousand.
All values are from the point of view of the player to move at the node and lie in
``[-1, 1]``.

References:
    AlphaZero: Silver et al. 2018, "A general reinforcement learning algorithm
    that masters chess, shogi and Go through self-play" (and its pseudocode).
    Gumbel: Danihelka et al. 2022, "Policy improvement by planning with Gumbel";
    the formulas follow DeepMind's mctx implementation of that paper.
"""

from __future__ import annotations

import math

import numpy as np

_TINY = np.finfo(np.float64).tiny

# --------------------------------------------------------------------------- segments


def segments(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of the ranges ``[starts[i], starts[i] + counts[i])`` concatenated.

    Returns ``(index, segment_id, offsets)``: ``index[j]`` is the j-th element,
    ``segment_id[j]`` the range it came from, ``offsets[i]`` where range ``i``
    begins in the concatenation. Every count must be >= 1.
    """
    ends = np.cumsum(counts)
    offsets = ends - counts
    seg = np.repeat(np.arange(len(counts)), counts)
    index = np.arange(int(ends[-1]) if len(ends) else 0) + (starts - offsets)[seg]
    return index, seg, offsets


def segment_argmax(values: np.ndarray, seg: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Position (into ``values``) of the first maximum of each segment."""
    best = np.maximum.reduceat(values, offsets)
    pos = np.where(values == best[seg], np.arange(len(values)), len(values))
    return np.minimum.reduceat(pos, offsets)


def segment_softmax(logits: np.ndarray, seg: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Softmax within each segment of a flat array."""
    z = np.exp(logits - np.maximum.reduceat(logits, offsets)[seg])
    return z / np.add.reduceat(z, offsets)[seg]


# --------------------------------------------------------------------------- PUCT


def puct_coefficient(parent_visits: np.ndarray, c_base: float, c_init: float) -> np.ndarray:
    """``c(s) * sqrt(N(s))`` with AlphaZero's exploration rate ``c(s) = log((1 + N(s) + c_base) / c_base) + c_init``.

    ``c(s)`` grows slowly with the parent's visit count ``N(s)``; the paper uses
    ``c_base = 19652`` and ``c_init = 1.25``. Per node.
    """
    return (np.log((1.0 + parent_visits + c_base) / c_base) + c_init) * np.sqrt(parent_visits)


def puct_scores(
    q: np.ndarray, prior: np.ndarray, child_visits: np.ndarray, coefficient: np.ndarray, fpu: np.ndarray
) -> np.ndarray:
    """Per edge ``Q(s,a) + c(s) sqrt(N(s)) P(s,a) / (1 + N(s,a))``.

    ``q`` is the child's mean value from the mover's view; an unvisited child
    (``child_visits == 0``) counts as ``fpu`` (first-play urgency). ``coefficient``
    (:func:`puct_coefficient`) and ``fpu`` are per edge (index a per-node array by ``seg``).
    """
    return np.where(child_visits > 0, q, fpu) + coefficient * prior / (1.0 + child_visits)


def forced_playouts(prior: np.ndarray, total_visits: np.ndarray, k: float) -> np.ndarray:
    """KataGo's forced playouts of each root child: ``sqrt(k * P(c) * sum_b N(b))`` (``total_visits`` per edge)."""
    return np.sqrt(k * prior * total_visits)


def pruned_visits(
    visits: np.ndarray,
    q: np.ndarray,
    prior: np.ndarray,
    coefficient: np.ndarray,
    forced: np.ndarray,
    seg: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """KataGo's policy target pruning: the root visits with the forced exploration taken out.

    For every child but the most visited one (per node), up to ``forced`` of its visits
    are removed, as long as its PUCT score with the reduced count stays below the best
    child's; a child left with a single visit is removed entirely. ``coefficient`` is
    :func:`puct_coefficient` of the node, per edge.
    """
    best = segment_argmax(visits, seg, offsets)  # per node
    best_score = (q + coefficient * prior / (1.0 + visits))[best][seg]
    gap = best_score - q
    # PUCT(c; n) = q + coef * P / (1 + n) stays below best_score while 1 + n > coef * P / gap.
    with np.errstate(divide="ignore", invalid="ignore"):
        least = np.where(gap > 0, np.floor(coefficient * prior / gap), visits)  # the fewest visits allowed
    pruned = np.maximum(np.maximum(visits - np.floor(forced), least), 0.0)
    pruned = np.minimum(pruned, visits)
    pruned = np.where(pruned <= 1.0, 0.0, pruned)
    is_best = np.zeros(len(visits), dtype=bool)
    is_best[best] = True
    return np.where(is_best, visits, pruned)


# --------------------------------------------------------------------------- noise


def dirichlet_alpha(num_legal: int, alpha: float | None = None, scale: float = 10.0) -> float:
    """The Dirichlet concentration for a root with ``num_legal`` legal moves.

    An explicit ``alpha`` wins; otherwise ``scale / num_legal`` (KataGo's and other
    AlphaZero-derived systems' rule: AlphaZero's 0.3 for chess, 0.15 for shogi and
    0.03 for Go are all about 10 / typical number of legal moves).
    """
    if alpha is not None:
        return float(alpha)
    return scale / max(1, int(num_legal))


def segment_dirichlet(rng: np.random.Generator, alphas: np.ndarray, seg: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per segment (concentration ``alphas[i]`` for segment ``i``), flat per edge.

    A segment whose gamma draws all underflow to 0 gets uniform noise instead.
    """
    gam = rng.standard_gamma(alphas[seg])
    sums = np.add.reduceat(gam, offsets)
    bad = ~(sums > 0) | ~np.isfinite(sums)
    if bad.any():
        gam = np.where(bad[seg], 1.0, gam)
        sums = np.add.reduceat(gam, offsets)
    return gam / sums[seg]


def mix_noise(prior: np.ndarray, noise: np.ndarray, fraction: float) -> np.ndarray:
    """``(1 - fraction) * prior + fraction * noise``; both sum to 1 over each node's legal moves."""
    return (1.0 - fraction) * prior + fraction * noise


# --------------------------------------------------------------------------- acting


def visit_policy(visits: np.ndarray, temperature: float) -> np.ndarray:
    """One node's policy ``N(a)^(1/T) / sum_b N(b)^(1/T)``; ``T == 0`` is the one-hot of the most visited.

    Ties at ``T == 0`` go to the lowest index.
    """
    visits = np.asarray(visits, dtype=np.float64)
    total = visits.sum()
    if not total > 0:
        raise ValueError("visit_policy needs at least one visit")
    if temperature == 0:
        out = np.zeros_like(visits)
        out[int(np.argmax(visits))] = 1.0
        return out
    if temperature == 1:
        return visits / total
    # Work in log space so large exponents do not overflow.
    with np.errstate(divide="ignore"):
        logv = np.log(visits) / temperature
    logv -= logv.max()
    p = np.exp(logv)
    return p / p.sum()


def sample_action(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """An index drawn from :func:`visit_policy` (the argmax when ``temperature == 0``)."""
    if temperature == 0:
        return int(np.argmax(visits))
    p = visit_policy(visits, temperature)
    return int(min(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"), len(p) - 1))


# --------------------------------------------------------------------------- Gumbel


def completed_q(
    q: np.ndarray,
    visits: np.ndarray,
    prior: np.ndarray,
    raw_value: np.ndarray,
    seg: np.ndarray,
    offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gumbel MuZero's completed Q-values, and the visit sum of each node.

    A visited child keeps its ``q``; an unvisited one gets the node's ``v_mix``, the
    network value ``raw_value`` (per node) mixed with the prior-weighted Q of the
    visited children: ``v_mix = (v + sum_b N(b) * sum_{visited a} P(a) q(a) /
    sum_{visited a} P(a)) / (1 + sum_b N(b))``.

    Returns:
        ``(completed q per edge, sum of child visits per node)``.
    """
    visited = visits > 0
    sum_n = np.add.reduceat(visits, offsets)
    pv = np.where(visited, np.maximum(prior, _TINY), 0.0)
    sp = np.add.reduceat(pv, offsets)
    weighted_q = np.add.reduceat(pv * q, offsets) / np.where(sp > 0, sp, 1.0)
    v_mix = (raw_value + sum_n * weighted_q) / (sum_n + 1.0)
    return np.where(visited, q, v_mix[seg]), sum_n


def normalized_q(q: np.ndarray, seg: np.ndarray, offsets: np.ndarray, *, rescale: bool) -> np.ndarray:
    """Values mapped to ``[0, 1]``: ``(q + 1) / 2`` (the fixed range), or min-max per node if ``rescale``."""
    if not rescale:
        return (q + 1.0) * 0.5
    lo = np.minimum.reduceat(q, offsets)
    hi = np.maximum.reduceat(q, offsets)
    return (q - lo[seg]) / np.maximum(hi - lo, 1e-8)[seg]


def sigma(
    normalized: np.ndarray, visits: np.ndarray, seg: np.ndarray, offsets: np.ndarray, c_visit: float, c_scale: float
) -> np.ndarray:
    """The monotone transform ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q`` per edge (``q`` in [0, 1]).

    The paper uses ``c_visit = 50`` and ``c_scale = 1``.
    """
    return (c_visit + np.maximum.reduceat(visits, offsets)[seg]) * c_scale * normalized


def sequential_halving_schedule(num_considered: int, num_simulations: int) -> np.ndarray:
    """int64 ``[num_simulations]``: for each simulation, the visit count the root action visited next must have.

    Sequential Halving over ``num_considered`` actions: ``ceil(log2 m)`` phases;
    in each phase every remaining action gets ``max(1, floor(n / (log2m * remaining)))``
    more visits, then the better half survives (at least 2). The simulation with
    index ``i`` visits the best-scoring action whose visit count equals entry ``i``
    (mctx's ``get_sequence_of_considered_visits``). The schedule always has exactly
    ``num_simulations`` entries, so the whole budget is used. Within a phase the
    surviving actions all have the same count, so each phase is a block of
    ``extra`` rounds of that count repeated ``remaining`` times.
    """
    if num_considered <= 1:
        return np.arange(num_simulations, dtype=np.int64)
    log2max = int(math.ceil(math.log2(num_considered)))
    blocks: list[np.ndarray] = []
    length = 0
    visits = 0  # the common count of the surviving actions
    remaining = num_considered
    while length < num_simulations:
        extra = max(1, int(num_simulations / (log2max * remaining)))
        blocks.append(np.repeat(np.arange(visits, visits + extra, dtype=np.int64), remaining))
        length += extra * remaining
        visits += extra
        remaining = max(2, remaining // 2)
    return np.concatenate(blocks)[:num_simulations]


__all__ = [
    "completed_q",
    "dirichlet_alpha",
    "forced_playouts",
    "mix_noise",
    "normalized_q",
    "pruned_visits",
    "puct_coefficient",
    "puct_scores",
    "sample_action",
    "segment_argmax",
    "segment_dirichlet",
    "segment_softmax",
    "segments",
    "sequential_halving_schedule",
    "sigma",
    "visit_policy",
]
