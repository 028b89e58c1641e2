"""Elo and SPRT arithmetic (cluster.arena.elo) against values written out by hand."""

from __future__ import annotations

import itertools
import math

import pytest

from cluster.arena.elo import (
    EloError,
    SprtConfig,
    elo_estimate,
    elo_from_score,
    llr_exact,
    llr_logistic,
    score_from_elo,
    sprt,
    sprt_bounds,
)


def test_elo_from_score_known_values() -> None:
    assert elo_from_score(0.5) == 0.0
    assert elo_from_score(0.75) == pytest.approx(400 * math.log10(3))  # 190.848...
    assert elo_from_score(0.75) == pytest.approx(190.8485, abs=1e-4)
    assert elo_from_score(0.25) == pytest.approx(-190.8485, abs=1e-4)
    assert elo_from_score(10 / 11) == pytest.approx(400.0)
    assert elo_from_score(1.0) == math.inf
    assert elo_from_score(0.0) == -math.inf
    for elo in (-300.0, -12.5, 0.0, 42.0, 250.0):
        assert elo_from_score(score_from_elo(elo)) == pytest.approx(elo)
    with pytest.raises(EloError, match="1.5"):
        elo_from_score(1.5)


def test_elo_estimate_trinomial_interval() -> None:
    w, d, lost = 100, 120, 80
    n = 300
    mu = (100 + 60) / 300
    var = (100 * (1 - mu) ** 2 + 120 * (0.5 - mu) ** 2 + 80 * (0 - mu) ** 2) / n
    se = math.sqrt(var / n)
    est = elo_estimate(w, d, lost)
    assert est.games == n and est.score == pytest.approx(mu)
    assert est.stderr == pytest.approx(se)
    assert est.elo == pytest.approx(-400 * math.log10(1 / mu - 1))
    assert est.elo == pytest.approx(23.20, abs=0.01)
    assert est.lower == pytest.approx(-400 * math.log10(1 / (mu - 1.959964 * se) - 1))
    assert est.upper == pytest.approx(-400 * math.log10(1 / (mu + 1.959964 * se) - 1))
    assert est.lower < est.elo < est.upper
    # more games with the same frequencies: a narrower interval around the same Elo
    big = elo_estimate(10 * w, 10 * d, 10 * lost)
    assert big.elo == pytest.approx(est.elo)
    assert big.upper - big.lower < est.upper - est.lower
    # symmetric: swapping wins and losses negates everything
    mirror = elo_estimate(lost, d, w)
    assert mirror.elo == pytest.approx(-est.elo)
    assert mirror.lower == pytest.approx(-est.upper)


def test_elo_estimate_edge_cases() -> None:
    none = elo_estimate(0, 0, 0)
    assert none.elo is None and none.lower is None and str(none) == "no games"
    all_wins = elo_estimate(10, 0, 0)
    assert all_wins.elo == math.inf and all_wins.lower == math.inf
    d = all_wins.to_dict()
    assert d["elo"] is None and d["elo_infinite"] == "+inf"
    assert "+inf" in str(all_wins)
    all_losses = elo_estimate(0, 0, 4)
    assert all_losses.elo == -math.inf and all_losses.to_dict()["upper_infinite"] == "-inf"
    # one loss among wins: finite estimate, interval clipped at a score of 1 (+inf upper bound)
    est = elo_estimate(19, 1, 0)
    assert math.isfinite(est.elo) and est.upper == math.inf and math.isfinite(est.lower)
    all_draws = elo_estimate(0, 5, 0)
    assert all_draws.elo == 0.0 and all_draws.lower == 0.0 and all_draws.upper == 0.0
    with pytest.raises(EloError, match="wins"):
        elo_estimate(-1, 0, 0)


def test_sprt_bounds() -> None:
    lower, upper = sprt_bounds(0.05, 0.05)
    assert lower == pytest.approx(-2.944, abs=1e-3) and upper == pytest.approx(2.944, abs=1e-3)
    assert lower == pytest.approx(math.log(0.05 / 0.95))
    lo, hi = sprt_bounds(0.05, 0.1)
    assert lo == pytest.approx(math.log(0.1 / 0.95)) and hi == pytest.approx(math.log(0.9 / 0.05))
    with pytest.raises(EloError, match="alpha"):
        sprt_bounds(0.0, 0.05)
    with pytest.raises(EloError, match="elo0 < elo1"):
        SprtConfig(5, 0)


def test_llr_normal_approximation_by_hand() -> None:
    w, d, lost = 100, 120, 80
    n = 300
    mu = (w + d / 2) / n
    var = (w * (1 - mu) ** 2 + d * (0.5 - mu) ** 2 + lost * mu**2) / n
    mu0 = 0.5
    mu1 = 1 / (1 + 10 ** (-10 / 400))
    expected = n * (mu1 - mu0) * (2 * mu - mu0 - mu1) / (2 * var)
    assert llr_logistic(w, d, lost, 0, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.7578, abs=1e-4)
    # the exact (MLE) form agrees closely when every outcome occurs often
    assert llr_exact(w, d, lost, 0, 10) == pytest.approx(expected, rel=0.02)
    assert llr_exact(1000, 1200, 800, 0, 10) == pytest.approx(llr_logistic(1000, 1200, 800, 0, 10), rel=0.02)


def test_llr_exact_small_lopsided_samples() -> None:
    # after one win and nothing else: about log(mu1/mu0) (a Bernoulli likelihood ratio)
    mu1 = score_from_elo(200)
    assert llr_exact(1, 0, 0, 0, 200) == pytest.approx(math.log(mu1 / 0.5), rel=0.01)
    # the normal approximation has ~zero variance there and explodes
    assert llr_logistic(1, 0, 0, 0, 200) > 50
    assert sprt(1, 0, 0, SprtConfig(0, 200)).decision is None
    assert sprt(8, 0, 0, SprtConfig(0, 200)).decision == "H1"
    assert sprt(0, 0, 8, SprtConfig(0, 200)).decision == "H0"


@pytest.mark.parametrize("method", ["exact", "normal"])
def test_llr_monotone_and_decisions(method: str) -> None:
    config = SprtConfig(0, 10, method=method)
    llrs = [sprt(w, 100, 200 - w, config).llr for w in range(80, 140, 5)]
    assert all(a < b for a, b in itertools.pairwise(llrs))
    assert sprt(0, 0, 0, config).llr == 0.0 and sprt(0, 0, 0, config).decision is None
    assert sprt(400, 200, 300, config).decision == "H1"  # ~+39 Elo
    assert sprt(300, 200, 400, config).decision == "H0"
    assert sprt(105, 100, 95, config).decision is None  # inconclusive
    res = sprt(400, 200, 300, config)
    assert res.bounds == pytest.approx((-2.944, 2.944), abs=1e-3)
    assert res.to_dict()["decision"] == "H1" and "H1 accepted" in str(res)


def test_sprt_config_parse() -> None:
    c = SprtConfig.parse("0,5")
    assert (c.elo0, c.elo1, c.alpha, c.beta, c.method) == (0, 5, 0.05, 0.05, "exact")
    c = SprtConfig.parse("-5, 5, 0.1, 0.2", "normal")
    assert (c.elo0, c.elo1, c.alpha, c.beta, c.method) == (-5, 5, 0.1, 0.2, "normal")
    for bad in ("5", "a,b", "0,5,0.05"):
        with pytest.raises(EloError, match="--sprt"):
            SprtConfig.parse(bad)
