"""VaR / ES of scenario returns: hand examples, closed form, shapes, validation."""

import numpy as np
import pytest
from scipy import stats
from risk_fakes import lognormal_var_es

from finscore.risk import es, var


def test_hand_example():
    # 10 returns, losses 1..10 %: at 80% the VaR is the 8th smallest loss, ES the mean of the worst 20%
    r = -np.arange(1, 11) / 100
    assert var(r, 0.8) == pytest.approx(0.08)
    assert es(r, 0.8) == pytest.approx((0.09 + 0.10) / 2)
    # n (1 - level) not an integer: ES = VaR + E[(L - VaR)^+] / (1 - level) = 0.09 + 0.01 / 10 / 0.15
    assert var(r, 0.85) == pytest.approx(0.09)
    assert es(r, 0.85) == pytest.approx(0.09 + 0.001 / 0.15)


def test_closed_form_lognormal():
    sigma, n = 0.02, 400_000
    r = np.expm1(sigma * np.random.default_rng(0).standard_normal(n))
    for level in (0.95, 0.99):
        v, e = lognormal_var_es(sigma, level)
        z = stats.norm.ppf(level)
        se_var = np.sqrt(level * (1 - level) / n) / (stats.norm.pdf(z) / sigma)  # quantile se = sqrt(a(1-a)/n) / f(q)
        se_es = 2 * sigma / np.sqrt(n * (1 - level))  # tail mean se <= 2 sigma / sqrt(n tail) (tail sd < sigma), + VaR
        assert abs(var(r, level) - v) < 5 * se_var  # 5 standard errors
        assert abs(es(r, level) - e) < 5 * (se_es + se_var)


def test_shapes_and_ordering():
    r = np.random.default_rng(1).standard_normal((7, 3, 200))
    v, e = var(r, [0.9, 0.99]), es(r, [0.9, 0.99])
    assert v.shape == e.shape == (7, 3, 2)
    assert var(r, 0.9).shape == (7, 3)
    assert np.all(e >= v - 1e-12) and np.all(v[..., 1] >= v[..., 0])
    np.testing.assert_allclose(var(r, 0.9), v[..., 0])


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 95, [0.9, 1.2], []])
def test_levels_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="inside \\(0, 1\\)|non-empty"):
        var(np.zeros(10), bad)


@pytest.mark.parametrize("measure", [var, es])
def test_tail_probability_given_for_a_level(measure):
    # 0.01 for 0.99 would silently give the 1% quantile of the loss (a gain): refused, with the likely meaning
    with pytest.raises(ValueError, match=r"confidence levels.*\[0.01\].*\[0.99\]"):
        measure(np.linspace(-1, 1, 100), 0.01)
    assert np.isfinite(measure(np.linspace(-1, 1, 100), 0.5))  # the median loss is still a level


@pytest.mark.parametrize("measure", [var, es])
def test_empty_or_non_finite_scenarios(measure):
    with pytest.raises(ValueError, match="scenarios on the last axis"):
        measure(np.zeros((3, 0)), 0.99)
    r = np.zeros((2, 50))
    r[1, 7] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite values \(first at index \(1, 7\)\)"):
        measure(r, 0.99)


def test_predictive_hand_example():
    # losses 1..10 %, position level (n + 1): 0.8 * 11 = 8.8 -> 8th + 0.8 (9th - 8th) = 8.8%
    r = -np.arange(1, 11) / 100
    assert var(r, 0.8, method="predictive") == pytest.approx(0.088)
    assert es(r, 0.8, method="predictive") == pytest.approx(0.088 + (0.002 + 0.012) / 10 / 0.2)
    # beyond position n it is the largest loss, as the empirical VaR there
    assert var(r, 0.95, method="predictive") == var(r, 0.95) == pytest.approx(0.10)
    # the Rockafellar-Uryasev objective is smallest at the empirical VaR, so the predictive ES is not below it
    x = np.random.default_rng(3).standard_normal((50, 500))
    assert np.all(es(x, 0.99, method="predictive") >= es(x, 0.99) - 1e-12)


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_exceedance_probability_of_the_estimators(level):
    # n scenarios and an outcome from the same law, uniform losses: P(outcome > VaR | VaR) = 1 - VaR exactly, so
    # the mean of 1 - VaR over trials is the exceedance probability, known in closed form: the k-th smallest of n
    # uniforms has mean k / (n + 1). Empirical: k = ceil(n level), (n + 1 - k) / (n + 1) = 1.198% at 99% from 500
    # (5.190% at 95%); predictive: position level (n + 1), mean exactly level, so 1 - level.
    n, trials = 500, 20_000
    u = np.random.default_rng(7).random((trials, n))  # losses; returns -u
    truth = {"empirical": (n + 1 - np.ceil(n * level - 1e-9)) / (n + 1), "predictive": 1 - level}
    for method, p in truth.items():
        v = var(-u, level, method=method)
        se = (1 - v).std() / np.sqrt(trials)  # Monte-Carlo error of the mean: 3.1e-5 at 99%, 9.6e-5 at 95%
        assert abs((1 - v).mean() - p) < 4 * se, method
    # the two differ by far more than that error: 0.198 points at 99%, 0.190 at 95%
    assert truth["empirical"] - truth["predictive"] > 0.0018


@pytest.mark.parametrize("measure", [var, es])
def test_unknown_method(measure):
    with pytest.raises(ValueError, match=r"method must be one of \['empirical', 'predictive'\], got 'weibull'"):
        measure(np.zeros(10), 0.9, method="weibull")
