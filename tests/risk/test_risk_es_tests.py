"""Acerbi–Szekely ES tests: expectation under H0, power, edge cases."""

import numpy as np
import pytest
from scipy import stats

from finscore.risk import acerbi_szekely, es, var
from finscore.risk.es_tests import z1_z2


def gaussian_var_es(sigma, level):
    z = stats.norm.ppf(level)
    return sigma * z, sigma * stats.norm.pdf(z) / (1 - level)


def test_z2_unbiased_under_correct_model():
    # X_t ~ N(0, sigma_t^2) with exact VaR / ES: E[-X I / ((1 - a) ES)] = 1 per date, so E[Z2] = 0
    rng = np.random.default_rng(0)
    level, t_obs, reps = 0.975, 250, 4000
    sigma = 0.01 * np.exp(0.3 * rng.standard_normal(t_obs))
    v, e = gaussian_var_es(sigma, level)
    x = sigma * rng.standard_normal((reps, t_obs))
    z1, z2 = z1_z2(x, v, e, level)
    ratio = 1.0 - z2  # the tail-loss ratio term, = 1 in expectation
    se = ratio.std() / np.sqrt(reps)
    assert abs(ratio.mean() - 1.0) < 5 * se  # 5 standard errors: se = sd / sqrt(reps)
    assert abs(z2.mean()) < 5 * se
    has_hits = z1 != 0
    assert abs(z1[has_hits].mean()) < 5 * z1[has_hits].std() / np.sqrt(has_hits.sum())


def _scenario_backtest(sigma_model, sigma_true, t_obs=250, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    scen = sigma_model * rng.standard_normal((t_obs, n))
    x = sigma_true * rng.standard_normal(t_obs)
    return x, scen


def test_pvalues_calibrated_and_powerful():
    level = 0.975
    # H0: realized and scenarios from the same model -> p-values roughly uniform (mean 0.5)
    pvals = []
    for seed in range(20):
        x, scen = _scenario_backtest(0.01, 0.01, seed=seed)
        res = acerbi_szekely(x, var(scen, level), es(scen, level), scen, level, n_sim=400, seed=seed)
        pvals.append([res.p1, res.p2, res.p3])
    # mean of 20 U(0,1) has sd 0.065; 4 sd margin
    assert np.all(np.abs(np.mean(pvals, axis=0) - 0.5) < 0.26)
    # ES underestimated by half: all three tests reject
    x, scen = _scenario_backtest(0.005, 0.01)
    res = acerbi_szekely(x, var(scen, level), es(scen, level), scen, level, n_sim=400)
    assert max(res.p1, res.p2, res.p3) < 0.01
    assert res.z2 < res.crit2 and res.z3 < res.crit3
    # Z3 is exactly 0 in expectation under H0 (order statistics of uniform ranks)
    assert -0.2 < res.crit3 < 0


@pytest.mark.parametrize("shift", [+1.0, -1.0])
def test_zero_and_all_exceedances(shift):
    rng = np.random.default_rng(3)
    scen = 0.01 * rng.standard_normal((100, 300))
    x = np.full(100, shift)  # +100%: never a hit; -100%: always a hit
    res = acerbi_szekely(x, var(scen, 0.99), es(scen, 0.99), scen, 0.99, n_sim=200)
    values = [res.z1, res.z2, res.z3, res.p1, res.p2, res.p3]
    assert np.all(np.isfinite(values))
    if shift > 0:
        assert res.z1 == 0.0 and res.z2 == 1.0 and res.p2 == 1.0
    else:
        assert res.p1 < 0.01 and res.p2 < 0.01
        # Z3 with k = 1 sees only the worst rank, clipped at the worst scenario: the minimum attainable Z3
        assert res.z3 <= res.crit3 + 1e-12


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        acerbi_szekely(np.zeros(5), np.ones(5), np.ones(5), np.zeros((4, 10)), 0.99)


def test_bad_inputs_are_named():
    scen = np.random.default_rng(0).standard_normal((5, 20))
    args = (np.zeros(5), np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match="2-d array"):
        acerbi_szekely(*args, scen[0], 0.99)
    with pytest.raises(ValueError, match="n_sim"):
        acerbi_szekely(*args, scen, 0.99, n_sim=0)
    realized = np.zeros(5)
    realized[2] = np.nan  # would count as a non-hit
    with pytest.raises(ValueError, match="realized has 1 non-finite"):
        acerbi_szekely(realized, np.ones(5), np.ones(5), scen, 0.99)


def test_es_that_is_not_a_loss_is_refused():
    x, scen = _scenario_backtest(0.01, 0.01, t_obs=50, n=200)
    v, e = var(scen, 0.975), es(scen, 0.975)
    e_bad = e.copy()
    e_bad[4] = -0.002
    with pytest.raises(ValueError, match=r"es: the ES forecast is not a loss on 1 date\(s\), the first at position 4"):
        acerbi_szekely(x, v, e_bad, scen, 0.975, n_sim=50)
    gains = scen.copy()
    gains[0] = np.abs(gains[0]) + 5.0  # date 0's scenarios are all gains: Z3's expected tail is not a loss
    with pytest.raises(ValueError, match="scenarios: the expected ES estimate of the scenarios is not a loss"):
        acerbi_szekely(x, v, e, gains, 0.975, n_sim=50)
