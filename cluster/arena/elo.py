"""Elo differences and the sequential probability ratio test (SPRT), as pure functions.

Everything here is about one match of player A against player B summarised as
``(wins, draws, losses)`` from A's point of view; a game scores 1, 1/2 or 0.

Elo (logistic model, as cutechess-cli and fishtest report it):

* the expected score of a player ``d`` Elo stronger is ``L(d) = 1 / (1 + 10^(-d/400))``;
* :func:`elo_from_score` is its inverse, ``-400 log10(1/s - 1)``;
* :func:`elo_estimate` takes the mean score ``mu = (W + D/2) / N``, the per-game
  variance from the trinomial W/D/L frequencies
  ``var = (W (1-mu)^2 + D (1/2-mu)^2 + L mu^2) / N``, the standard error
  ``sqrt(var / N)``, and maps ``mu +- 1.959964 * stderr`` (clipped to [0, 1])
  through :func:`elo_from_score` for a 95% interval. A score of exactly 0 or 1
  (all losses / all wins) has an infinite Elo: the bound is ``-inf``/``+inf``
  and reported as ``None`` in JSON (:meth:`EloEstimate.to_dict`).

SPRT (:func:`sprt`): the generalised SPRT (GSPRT) of fishtest's ``LLRcalc`` for
trinomial W/D/L results in the logistic Elo model, H0: ``elo = elo0`` against
H1: ``elo = elo1``, with ``mu0 = L(elo0)``, ``mu1 = L(elo1)``. Two ways to compute
the log-likelihood ratio (``SprtConfig.method``):

* ``"exact"`` (default; fishtest's ``LLR_logistic``/``MLE_expected``): for each
  hypothesis the maximum-likelihood W/D/L distribution with mean score ``mu_h``,
  ``p_h,i = f_i / (1 + x_h (a_i - mu_h))`` with ``a = (0, 1/2, 1)``, the observed
  frequencies ``f`` and ``x_h`` the root of ``sum_i f_i (a_i - mu_h) / (1 + x_h (a_i - mu_h)) = 0``
  (found by bisection); ``LLR = sum_i n_i log(p_1,i / p_0,i)``.
* ``"normal"`` (:func:`llr_logistic`): its normal approximation with the empirical
  mean ``mu`` and trinomial per-game variance ``var`` above::

      LLR = N * (mu1 - mu0) * (2 * mu - mu0 - mu1) / (2 * var)

  i.e. ``N/2 * ((mu - mu0)^2 - (mu - mu1)^2) / var``.

Both agree closely once every outcome has occurred a few times (e.g. 0.753 vs
0.758 for W/D/L 100/120/80 and [0, 10]). They differ for lopsided small samples:
after 1 win and nothing else the normal approximation's variance is ~0 and its
LLR for [0, 200] is 77 (it would accept H1 after ONE game), while the exact LLR is
0.42 (about ``log(mu1/mu0)`` per win), so the exact form is the default. As in
fishtest, W/D/L counts of zero are replaced by ``1e-3`` in both (regularisation).
The test stops for H1 when ``LLR >= log((1-beta)/alpha)`` and for H0 when
``LLR <= log(beta/(1-alpha))`` (Wald's bounds; +-2.944 for alpha = beta = 0.05).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from games.errors import ZeroplayError

Z95 = 1.959964  # two-sided 95% normal quantile
SPRT_EPSILON = 1e-3  # fishtest's regularisation of empty W/D/L cells


class EloError(ZeroplayError, ValueError):
    """Bad match counts or SPRT parameters; the message names the value."""


def score_from_elo(elo: float) -> float:
    """Expected score of a player ``elo`` points stronger: ``1 / (1 + 10^(-elo/400))``."""
    return 1.0 / (1.0 + 10.0 ** (-float(elo) / 400.0))


def elo_from_score(score: float) -> float:
    """Elo difference of a mean score in [0, 1]: ``-400 log10(1/score - 1)``; +-inf at 1 and 0."""
    score = float(score)
    if not 0.0 <= score <= 1.0 or math.isnan(score):
        raise EloError(f"a score must be in [0, 1], got {score!r}")
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0) + 0.0  # no -0.0


def _check_counts(wins: float, draws: float, losses: float) -> None:
    for name, value in (("wins", wins), ("draws", draws), ("losses", losses)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
            raise EloError(f"{name} must be a non-negative number, got {value!r}")


def score_stats(wins: float, draws: float, losses: float) -> tuple[float, float, float]:
    """``(N, mean score, per-game variance)`` of the trinomial W/D/L counts (N must be > 0)."""
    _check_counts(wins, draws, losses)
    n = wins + draws + losses
    if n <= 0:
        raise EloError("no games: wins + draws + losses is 0")
    mu = (wins + 0.5 * draws) / n
    var = (wins * (1.0 - mu) ** 2 + draws * (0.5 - mu) ** 2 + losses * mu**2) / n
    return n, mu, var


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def format_elo(x: float | None) -> str:
    """``+12.3``, ``-inf``, ``+inf`` or ``n/a``."""
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:+.1f}"


@dataclasses.dataclass(frozen=True)
class EloEstimate:
    """An Elo difference with its 95% interval (A's view).

    Attributes:
        wins, draws, losses: the counts.
        games: their sum.
        score: mean score per game (None without games).
        elo: Elo difference (+-inf for all wins / all losses; None without games).
        lower, upper: the 95% interval's bounds (possibly infinite; None without games).
        stderr: standard error of the mean score (None without games).
    """

    wins: int
    draws: int
    losses: int
    games: int
    score: float | None
    elo: float | None
    lower: float | None
    upper: float | None
    stderr: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: infinite Elo values become None, with ``*_infinite`` flags ("+inf"/"-inf")."""
        out: dict[str, Any] = {
            "wins": self.wins,
            "draws": self.draws,
            "losses": self.losses,
            "games": self.games,
            "score": self.score,
            "stderr": self.stderr,
        }
        for key in ("elo", "lower", "upper"):
            value = getattr(self, key)
            out[key] = _finite_or_none(value)
            if value is not None and math.isinf(value):
                out[f"{key}_infinite"] = "+inf" if value > 0 else "-inf"
        return out

    def __str__(self) -> str:
        if self.elo is None:
            return "no games"
        return f"Elo {format_elo(self.elo)} [{format_elo(self.lower)}, {format_elo(self.upper)}] (95%)"


def elo_estimate(wins: int, draws: int, losses: int, z: float = Z95) -> EloEstimate:
    """Elo difference and its ``z`` interval (95% by default) from A's W/D/L (see module docstring)."""
    _check_counts(wins, draws, losses)
    n = wins + draws + losses
    if n == 0:
        return EloEstimate(wins, draws, losses, 0, None, None, None, None, None)
    _, mu, var = score_stats(wins, draws, losses)
    stderr = math.sqrt(var / n)
    lo = min(max(mu - z * stderr, 0.0), 1.0)
    hi = min(max(mu + z * stderr, 0.0), 1.0)
    return EloEstimate(wins, draws, losses, n, mu, elo_from_score(mu), elo_from_score(lo), elo_from_score(hi), stderr)


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """Wald's bounds ``(log(beta/(1-alpha)), log((1-beta)/alpha))``."""
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0.0 < value < 0.5:
            raise EloError(f"SPRT {name} must be in (0, 0.5), got {value!r}")
    return math.log(beta / (1.0 - alpha)), math.log((1.0 - beta) / alpha)


def llr_logistic(wins: float, draws: float, losses: float, elo0: float, elo1: float) -> float:
    """The GSPRT log-likelihood ratio of H1 (``elo1``) against H0 (``elo0``); 0 without games.

    ``N (mu1 - mu0) (2 mu - mu0 - mu1) / (2 var)`` with zero counts regularised to 1e-3
    (see the module docstring).
    """
    _check_counts(wins, draws, losses)
    if wins + draws + losses == 0:
        return 0.0
    w, d, lost = _regularised(wins, draws, losses)
    n, mu, var = score_stats(w, d, lost)
    mu0, mu1 = score_from_elo(elo0), score_from_elo(elo1)
    return n * (mu1 - mu0) * (2.0 * mu - mu0 - mu1) / (2.0 * var)


def _regularised(wins: float, draws: float, losses: float) -> tuple[float, float, float]:
    return tuple(c if c > 0 else SPRT_EPSILON for c in (wins, draws, losses))  # type: ignore[return-value]


def _mle_x(freqs: tuple[float, float, float], mu: float) -> float:
    """Root ``x`` of ``sum_i f_i (a_i - mu) / (1 + x (a_i - mu)) = 0`` (a = 0, 1/2, 1), by bisection.

    The left side decreases in ``x`` on the interval where every ``1 + x (a_i - mu) > 0``,
    ``(-1 / (1 - mu), 1 / mu)``, going from +inf to -inf (all ``f_i > 0``).
    """
    values = (0.0, 0.5, 1.0)
    lo, hi = -1.0 / (1.0 - mu), 1.0 / mu

    def f(x: float) -> float:
        return sum(fi * (a - mu) / (1.0 + x * (a - mu)) for fi, a in zip(freqs, values, strict=True))

    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def llr_exact(wins: float, draws: float, losses: float, elo0: float, elo1: float) -> float:
    """The GSPRT log-likelihood ratio with the constrained maximum-likelihood W/D/L distributions.

    See the module docstring ("exact"); zero counts are regularised to 1e-3; 0 without games.
    """
    _check_counts(wins, draws, losses)
    if wins + draws + losses == 0:
        return 0.0
    w, d, lost = _regularised(wins, draws, losses)
    n = w + d + lost
    freqs = (lost / n, d / n, w / n)
    counts = (lost, d, w)
    values = (0.0, 0.5, 1.0)
    mu0, mu1 = score_from_elo(elo0), score_from_elo(elo1)
    x0, x1 = _mle_x(freqs, mu0), _mle_x(freqs, mu1)
    return sum(
        c * (math.log1p(x0 * (a - mu0)) - math.log1p(x1 * (a - mu1))) for c, a in zip(counts, values, strict=True)
    )


SPRT_METHODS = ("exact", "normal")


@dataclasses.dataclass(frozen=True)
class SprtConfig:
    """An SPRT of H0: ``elo = elo0`` against H1: ``elo = elo1`` with error rates alpha, beta.

    ``method``: "exact" (constrained MLE, default) or "normal" (the normal approximation).
    """

    elo0: float
    elo1: float
    alpha: float = 0.05
    beta: float = 0.05
    method: str = "exact"

    def __post_init__(self) -> None:
        if not self.elo1 > self.elo0:
            raise EloError(f"SPRT needs elo0 < elo1, got elo0={self.elo0} elo1={self.elo1}")
        if self.method not in SPRT_METHODS:
            raise EloError(f"SPRT method must be one of {SPRT_METHODS}, got {self.method!r}")
        sprt_bounds(self.alpha, self.beta)

    @classmethod
    def parse(cls, text: str, method: str = "exact") -> SprtConfig:
        """From ``"elo0,elo1"`` or ``"elo0,elo1,alpha,beta"``."""
        parts = [p.strip() for p in str(text).split(",")]
        if len(parts) not in (2, 4):
            raise EloError(f"--sprt takes elo0,elo1[,alpha,beta], got {text!r}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise EloError(f"--sprt takes numbers elo0,elo1[,alpha,beta], got {text!r}") from None
        return cls(*values, method=method)  # type: ignore[arg-type,misc]


@dataclasses.dataclass(frozen=True)
class SprtResult:
    """The state of an SPRT after some games.

    Attributes:
        llr: the log-likelihood ratio.
        lower, upper: the stopping bounds.
        decision: "H1" (accept elo1), "H0" (accept elo0) or None (continue).
        config: the test.
    """

    llr: float
    lower: float
    upper: float
    decision: str | None
    config: SprtConfig

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.lower, self.upper)

    def to_dict(self) -> dict[str, Any]:
        return {
            "llr": self.llr,
            "lower": self.lower,
            "upper": self.upper,
            "decision": self.decision,
            **dataclasses.asdict(self.config),
        }

    def __str__(self) -> str:
        verdict = {
            "H1": f"H1 accepted (elo >= {self.config.elo1:g})",
            "H0": f"H0 accepted (elo <= {self.config.elo0:g})",
        }
        return (
            f"SPRT [{self.config.elo0:g}, {self.config.elo1:g}] LLR {self.llr:+.3f} "
            f"({self.lower:+.3f}, {self.upper:+.3f}): {verdict.get(self.decision or '', 'continue')}"
        )


def sprt(wins: int, draws: int, losses: int, config: SprtConfig) -> SprtResult:
    """Evaluate the SPRT ``config`` on A's W/D/L (with ``config.method``'s LLR)."""
    lower, upper = sprt_bounds(config.alpha, config.beta)
    compute = llr_exact if config.method == "exact" else llr_logistic
    llr = compute(wins, draws, losses, config.elo0, config.elo1)
    decision = "H1" if llr >= upper else "H0" if llr <= lower else None
    return SprtResult(llr, lower, upper, decision, config)


ELO_PER_NAT = 400.0 / math.log(10.0)


# ----------------------------------------------------------------------------- ratings
def bradley_terry(
    results: Sequence[tuple[str, str, float, float, float]],
    *,
    anchor: str | None = "random",
    prior_draws: float = 0.0,
    max_iterations: int = 100,
    tolerance: float = 1e-9,
) -> dict[str, float]:
    """Maximum-likelihood Elo ratings of the players in ``results``.

    Args:
        results: ``(a, b, wins, draws, losses)`` from ``a``'s view; a pair may appear
            more than once (results add up). A draw is half a win for each side.
        anchor: the player rated 0 (if absent from ``results``: the first player named).
        prior_draws: virtual draws added to each pair that played; with 0 a player that
            won (or lost) every game has no finite maximum-likelihood rating and gets a
            very large one.
        max_iterations, tolerance: Newton's method on the log-likelihood stops when no
            rating moves more than ``tolerance`` (in natural-log units).

    Returns:
        ``{player: Elo}``, the logistic model ``P(a beats b) = 1 / (1 + 10^((R_b - R_a)/400))``.
        Players not connected to the anchor by games are placed relative to the first player
        of their own group, which is rated 0.

    Raises:
        EloError: a negative or non-finite count, or a player playing itself.
    """
    names: list[str] = []
    index: dict[str, int] = {}
    pairs: dict[tuple[int, int], list[float]] = {}
    for a, b, w, d, lost in results:
        for name, value in (("wins", w), ("draws", d), ("losses", lost)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise EloError(f"result {a!r} vs {b!r}: {name} must be a number >= 0, got {value!r}")
        if a == b:
            raise EloError(f"result of {a!r} against itself")
        for name in (a, b):
            if name not in index:
                index[name] = len(names)
                names.append(name)
        i, j = index[a], index[b]
        key, (sw, sl) = ((i, j), (w + 0.5 * d, lost + 0.5 * d)) if i < j else ((j, i), (lost + 0.5 * d, w + 0.5 * d))
        acc = pairs.setdefault(key, [0.0, 0.0])
        acc[0] += sw
        acc[1] += sl
    if not names:
        return {}
    keys = [k for k, (sw, sl) in pairs.items() if sw + sl > 0 or prior_draws > 0]
    i_idx = np.array([k[0] for k in keys], dtype=np.int64)
    j_idx = np.array([k[1] for k in keys], dtype=np.int64)
    s_ij = np.array([pairs[k][0] + 0.5 * prior_draws for k in keys], dtype=np.float64)  # i's score
    n_ij = np.array([sum(pairs[k]) + prior_draws for k in keys], dtype=np.float64)
    n = len(names)
    # Groups of players connected by games; each gets one fixed (reference) player.
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in zip(i_idx.tolist(), j_idx.tolist(), strict=True):
        parent[find(i)] = find(j)
    ref_of_group: dict[int, int] = {}
    if anchor in index:
        ref_of_group[find(index[anchor])] = index[anchor]
    for p in range(n):
        ref_of_group.setdefault(find(p), p)
    free = np.array([p not in set(ref_of_group.values()) for p in range(n)])
    theta = np.zeros(n)
    if free.any() and len(keys):
        for _ in range(max_iterations):
            diff = theta[i_idx] - theta[j_idx]
            p = 1.0 / (1.0 + np.exp(-diff))
            resid = s_ij - n_ij * p
            grad = np.zeros(n)
            np.add.at(grad, i_idx, resid)
            np.add.at(grad, j_idx, -resid)
            h = n_ij * p * (1.0 - p)
            hess = np.zeros((n, n))  # the negated Hessian (positive semi-definite)
            np.add.at(hess, (i_idx, i_idx), h)
            np.add.at(hess, (j_idx, j_idx), h)
            np.add.at(hess, (i_idx, j_idx), -h)
            np.add.at(hess, (j_idx, i_idx), -h)
            sub = hess[np.ix_(free, free)]
            sub[np.diag_indices_from(sub)] += 1e-12
            try:
                step = np.linalg.solve(sub, grad[free])
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(sub, grad[free], rcond=None)[0]
            step = np.clip(step, -5.0, 5.0)  # damp the first steps of lopsided results
            theta[free] += step
            if float(np.max(np.abs(step))) < tolerance:
                break
    return {name: float(theta[k] * ELO_PER_NAT) + 0.0 for k, name in enumerate(names)}
