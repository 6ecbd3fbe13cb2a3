"""Copula building blocks against scipy oracles, and t-copula / DCC parameter recovery."""

import numpy as np
import pytest
from scipy import stats

from finscore.baselines._dependence import (
    QuantileTable, fit_t_copula_dof, kendall_corr, nearest_correlation, pseudo_observations, sample_scores,
    score_cdf, t_copula_loglik,
)
from finscore.baselines.dcc import DCCParams, correlation_of, dcc_loglik, fit_dcc

CORR = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, -0.3], [0.2, -0.3, 1.0]])


def _numerical_se(f, x, h):
    """Standard errors from the inverse observed information, -f'' by central differences (f = log-likelihood)."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    k = len(x)
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(-hess)))


def test_quantile_table_matches_exact_ppf():
    ppfs = [stats.t(4).ppf, stats.norm(0.1, 2).ppf]
    x = np.random.default_rng(0).standard_normal((50000, 2))
    exact = np.column_stack([f(stats.norm.cdf(x[:, j])) for j, f in enumerate(ppfs)])
    np.testing.assert_allclose(QuantileTable.build(ppfs)(x), exact, atol=1e-4)
    xt = stats.t(3).rvs(size=(50000, 2), random_state=1)
    exact = np.column_stack([f(stats.t(3).cdf(xt[:, j])) for j, f in enumerate(ppfs)])
    np.testing.assert_allclose(QuantileTable.build(ppfs, nu=3.0)(xt), exact, atol=1e-4)


def test_nearest_correlation_repairs_indefinite_matrix():
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    fixed = nearest_correlation(bad)
    assert np.linalg.eigvalsh(fixed).min() > 0
    np.testing.assert_allclose(np.diag(fixed), 1.0)
    np.testing.assert_allclose(nearest_correlation(CORR), CORR, atol=1e-12)


def test_t_copula_loglik_matches_scipy_multivariate_t():
    rng = np.random.default_rng(2)
    u = rng.uniform(size=(50, 3))
    nu = 5.0
    x = stats.t.ppf(u, nu)
    oracle = stats.multivariate_t(shape=CORR, df=nu).logpdf(x).sum() - stats.t.logpdf(x, nu).sum()
    assert t_copula_loglik(u, CORR, nu) == pytest.approx(oracle, rel=1e-9)


def test_t_copula_recovery():
    rng = np.random.default_rng(3)
    n, nu = 3000, 5.0
    x = sample_scores(rng, (n,), np.linalg.cholesky(CORR), nu)
    u = pseudo_observations(score_cdf(x, nu))
    corr = kendall_corr(u)
    # Kendall-tau correlation: 5 se with se = (1 - rho^2) / sqrt(n) (conservative for tau-inversion)
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(corr - CORR)[off] < 5 * ((1 - CORR**2) / np.sqrt(n))[off])
    nu_hat = fit_t_copula_dof(u, corr)
    se = _numerical_se(lambda v: t_copula_loglik(u, corr, float(v[0])), nu_hat, 0.05)[0]
    assert abs(nu_hat - nu) < 5 * se  # 5 se from the observed information of the profile likelihood


def test_dcc_filter_matches_loop():
    rng = np.random.default_rng(4)
    eta = rng.standard_normal((40, 3))
    p = DCCParams(0.05, 0.9, CORR)
    q0 = np.eye(3) * 1.5
    q = [q0]
    for e in eta:
        q.append((1 - p.a - p.b) * p.qbar + p.a * np.outer(e, e) + p.b * q[-1])
    np.testing.assert_allclose(p.filter(eta, q0), np.array(q), rtol=1e-12)


def test_dcc_recovers_parameters():
    truth = DCCParams(0.06, 0.90, CORR)
    eta = truth.simulate(np.random.default_rng(5), 1, 3000, CORR)[0]
    fit = fit_dcc(eta)
    se = _numerical_se(lambda v: dcc_loglik(eta, DCCParams(v[0], v[1], fit.qbar)), [fit.a, fit.b], 1e-3)
    # 5 se from the observed information (Qbar estimated: its effect on (a, b) is second order)
    assert abs(fit.a - truth.a) < 5 * se[0] and abs(fit.b - truth.b) < 5 * se[1]
    # simulated correlations are proper correlation matrices
    r = correlation_of(truth.filter(eta, CORR))
    np.testing.assert_allclose(np.diagonal(r, axis1=1, axis2=2), 1.0)
    assert np.linalg.eigvalsh(r).min() > 0
