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
