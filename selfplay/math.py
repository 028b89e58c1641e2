"""The search's arithmetic as small pure numpy functions.

Each function works on the arrays of ONE node (its children, i.e. its legal
actions) and is what the batched engine in :mod:`selfplay.search` computes in
vectorised form over many nodes at once; the tests check both against each
other. All values are from the point of view of the player to move at the node
and lie in ``[-1, 1]``.

References:
    AlphaZero: Silver et al. 2018, "A general reinforcement learning algorithm
    that masters chess, shogi and Go through self-play" (and its pseudocode).
    Gumbel: Danihelka et al. 2022, "Policy improvement by planning with Gumbel";
    the formulas follow DeepMind's mctx implementation of that paper.
"""

from __future__ import annotations

import math as _math

import numpy as np

# --------------------------------------------------------------------------- PUCT


def puct_constant(parent_visits: float | np.ndarray, c_base: float, c_init: float) -> float | np.ndarray:
    """AlphaZero's exploration rate ``c(s) = log((1 + N(s) + c_base) / c_base) + c_init``.

    It grows slowly with the parent's visit count ``N(s)``; the paper uses
    ``c_base = 19652`` and ``c_init = 1.25``.
    """
    return np.log((1.0 + parent_visits + c_base) / c_base) + c_init


def puct_scores(
    q: np.ndarray,
    prior: np.ndarray,
    child_visits: np.ndarray,
    parent_visits: float,
    *,
    c_base: float,
    c_init: float,
    fpu: float,
) -> np.ndarray:
    """PUCT score ``Q(s,a) + c(s) * P(s,a) * sqrt(N(s)) / (1 + N(s,a))`` per child.

    ``q`` is the children's mean value from the mover's view; unvisited children
    (``child_visits == 0``) use the first-play-urgency value ``fpu`` instead.
    """
    q_used = np.where(child_visits > 0, q, fpu)
    c = puct_constant(parent_visits, c_base, c_init)
    return q_used + c * prior * np.sqrt(parent_visits) / (1.0 + child_visits)


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


def mix_noise(prior: np.ndarray, noise: np.ndarray, fraction: float) -> np.ndarray:
    """``(1 - fraction) * prior + fraction * noise``; both sum to 1 over the legal moves."""
    return (1.0 - fraction) * prior + fraction * noise


def sample_dirichlet(rng: np.random.Generator, alpha: float, size: int) -> np.ndarray:
    """One Dirichlet(alpha, ..., alpha) draw of ``size`` components (uniform if it underflows)."""
    g = rng.standard_gamma(alpha, size)
    total = g.sum()
    if not total > 0 or not np.isfinite(total):
        return np.full(size, 1.0 / size)
    return g / total


# --------------------------------------------------------------------------- acting


def visit_policy(visits: np.ndarray, temperature: float) -> np.ndarray:
    """The policy ``N(a)^(1/T) / sum_b N(b)^(1/T)``; ``T == 0`` is the one-hot of the most visited.

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


def sigma_transform(q: np.ndarray, visits: np.ndarray, c_visit: float, c_scale: float) -> np.ndarray:
    """Gumbel MuZero's monotone transform ``sigma(q) = (c_visit + max_b N(b)) * c_scale * q``.

    ``q`` should be normalised to ``[0, 1]`` (see :func:`normalize_q`); the paper
    uses ``c_visit = 50`` and ``c_scale = 1``.
    """
    max_visits = float(np.max(visits)) if np.size(visits) else 0.0
    return (c_visit + max_visits) * c_scale * q


def normalize_q(q: np.ndarray, *, rescale: bool = False, epsilon: float = 1e-8) -> np.ndarray:
    """Map values to ``[0, 1]``: ``(q + 1) / 2`` (the fixed value range), or min-max over ``q`` if ``rescale``."""
    if rescale:
        lo, hi = float(np.min(q)), float(np.max(q))
        return (q - lo) / max(hi - lo, epsilon)
    return (q + 1.0) / 2.0


def mixed_value(raw_value: float, q: np.ndarray, visits: np.ndarray, prior: np.ndarray) -> float:
    """The paper's ``v_mix``: the network value mixed with the prior-weighted Q of visited children.

    ``v_mix = (v + sum_b N(b) * sum_{visited a} P(a) q(a) / sum_{visited a} P(a)) / (1 + sum_b N(b))``.
    """
    total = float(np.sum(visits))
    visited = visits > 0
    if total == 0 or not visited.any():
        return float(raw_value)
    p = np.maximum(prior, np.finfo(np.float64).tiny)
    weighted_q = float(np.sum(np.where(visited, p * q, 0.0)) / np.sum(np.where(visited, p, 0.0)))
    return (float(raw_value) + total * weighted_q) / (total + 1.0)


def completed_q(q: np.ndarray, visits: np.ndarray, value: float) -> np.ndarray:
    """Q-values with the unvisited children's filled in by ``value`` (usually :func:`mixed_value`)."""
    return np.where(visits > 0, q, value)


def softmax(logits: np.ndarray) -> np.ndarray:
    """A numerically stable softmax over the last axis."""
    z = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def gumbel_improved_policy(
    logits: np.ndarray,
    q: np.ndarray,
    visits: np.ndarray,
    raw_value: float,
    *,
    c_visit: float,
    c_scale: float,
    rescale: bool = False,
) -> np.ndarray:
    """The improved policy ``softmax(logits + sigma(completed_q))`` over a node's legal actions."""
    prior = softmax(logits)
    cq = completed_q(q, visits, mixed_value(raw_value, q, visits, prior))
    return softmax(logits + sigma_transform(normalize_q(cq, rescale=rescale), visits, c_visit, c_scale))


def sequential_halving_schedule(num_considered: int, num_simulations: int) -> tuple[int, ...]:
    """For each simulation, the visit count the root action visited next must have.

    Sequential Halving over ``num_considered`` actions: ``ceil(log2 m)`` phases;
    in each phase every remaining action gets ``max(1, floor(n / (log2m * remaining)))``
    more visits, then the better half survives (at least 2). The simulation with
    index ``i`` visits the best-scoring action whose visit count equals entry ``i``
    (mctx's ``get_sequence_of_considered_visits``). The schedule always has exactly
    ``num_simulations`` entries, so the whole budget is used.
    """
    if num_considered <= 1:
        return tuple(range(num_simulations))
    log2max = int(_math.ceil(_math.log2(num_considered)))
    sequence: list[int] = []
    visits = [0] * num_considered
    remaining = num_considered
    while len(sequence) < num_simulations:
        extra = max(1, int(num_simulations / (log2max * remaining)))
        for _ in range(extra):
            sequence.extend(visits[:remaining])
            for i in range(remaining):
                visits[i] += 1
        remaining = max(2, remaining // 2)
    return tuple(sequence[:num_simulations])


def gumbel_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``scores`` (``g + logits``), best first (Gumbel-Top-k sampling)."""
    k = min(k, len(scores))
    order = np.argsort(-np.asarray(scores), kind="stable")
    return order[:k]


# --------------------------------------------------------------------------- segments
# The engine keeps the children of many nodes in one flat array; a "segment" is one
# node's children. These helpers do per-segment reductions with ufunc.reduceat.


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


__all__ = [
    "completed_q",
    "dirichlet_alpha",
    "gumbel_improved_policy",
    "gumbel_top_k",
    "mix_noise",
    "mixed_value",
    "normalize_q",
    "puct_constant",
    "puct_scores",
    "sample_action",
    "sample_dirichlet",
    "segment_argmax",
    "segment_softmax",
    "segments",
    "sequential_halving_schedule",
    "sigma_transform",
    "softmax",
    "visit_policy",
]
