"""GJR recursion helpers: the empirical-Bayes pooling of the dynamics (pool_dynamics) against closed forms."""

import numpy as np
import pandas as pd
import pytest
from baselines_helpers import simulate_gjr_t

from finscore.baselines import GARCH
from finscore.baselines._volatility import MAX_PERSISTENCE, GJRParams, pool_dynamics

KAPPA = 0.5  # E[z^2 1{z<0}] of symmetric innovations


def _params(alpha, gamma, beta, omega=None):
    d = len(alpha)
    omega = np.full(d, 1e-6) if omega is None else omega
    return GJRParams(np.full(d, 1e-4), omega, *(np.asarray(v, float) for v in (alpha, gamma, beta)))


def _persistence(p):
    return p.alpha + KAPPA * p.gamma + p.beta


def test_one_noisy_parameter_follows_the_morris_formula():
    # gamma and beta equal across assets and known exactly: the prior's spread is alpha's alone and each alpha
    # gets Morris's posterior mean m + tau^2 / (tau^2 + s_j^2) (theta_j - m), tau^2 = var(theta) - mean(s^2)
    alpha = np.array([0.02, 0.05, 0.08, 0.11])
    s = np.array([0.01, 0.02, 0.03, 0.015])
    cov = np.zeros((4, 3, 3))
    cov[:, 0, 0] = s**2
    out = pool_dynamics(_params(alpha, [0.1] * 4, [0.8] * 4), cov, np.full(4, 2e-4), np.full(4, KAPPA))
    m, tau2 = alpha.mean(), alpha.var(ddof=1) - np.mean(s**2)
    assert tau2 > 0
    np.testing.assert_allclose(out.alpha, m + tau2 / (tau2 + s**2) * (alpha - m), rtol=1e-10)
    np.testing.assert_allclose(out.gamma, 0.1, rtol=1e-12)
    np.testing.assert_allclose(out.beta, 0.8, rtol=1e-12)


def test_estimates_within_their_noise_go_to_the_mean_and_exact_ones_stay():
    rng = np.random.default_rng(0)
    alpha, gamma, beta = (0.05 + 0.01 * rng.standard_normal(5), 0.1 + 0.01 * rng.standard_normal(5),
                          0.8 + 0.01 * rng.standard_normal(5))
    p = _params(alpha, gamma, beta)
    noisy = np.tile(np.eye(3) * 0.1**2, (5, 1, 1))  # errors of 0.1 against a spread of 0.01: prior spread 0
    out = pool_dynamics(p, noisy, np.full(5, 2e-4), np.full(5, KAPPA))
    for k, v in (("alpha", alpha), ("gamma", gamma), ("beta", beta)):
        np.testing.assert_allclose(getattr(out, k), v.mean(), rtol=1e-12)
    exact = pool_dynamics(p, np.zeros((5, 3, 3)), np.full(5, 2e-4), np.full(5, KAPPA))
    for k, v in (("alpha", alpha), ("gamma", gamma), ("beta", beta)):
        np.testing.assert_allclose(getattr(exact, k), v, rtol=1e-9)
    # an asset whose covariance is not finite is pooled fully, the others keep their exact estimates
    cov = np.zeros((5, 3, 3))
    cov[2] = np.nan
    mixed = pool_dynamics(p, cov, np.full(5, 2e-4), np.full(5, KAPPA))
    np.testing.assert_allclose(mixed.alpha[[0, 1, 3, 4]], alpha[[0, 1, 3, 4]], rtol=1e-9)
    np.testing.assert_allclose(mixed.alpha[2], alpha.mean(), rtol=1e-12)


def test_each_asset_keeps_its_unconditional_variance_and_the_result_is_admissible():
    uncond = np.array([1e-4, 4e-4, 2.5e-4, 9e-4])
    # pooled to the mean (errors far above the spread): alpha -0.01 is lifted to 0, and the persistence
    # 0 + 0.025 + 0.9875 = 1.0125 is brought to the cap by lowering beta
    p = _params([0.0, 0.02, 0.04, -0.10], [0.05, 0.05, 0.05, 0.05], [0.97, 0.99, 0.99, 1.0])
    out = pool_dynamics(p, np.tile(np.eye(3), (4, 1, 1)), uncond, np.full(4, KAPPA))
    assert (out.alpha >= 0).all() and (out.alpha + out.gamma >= 0).all()
    np.testing.assert_allclose(_persistence(out), MAX_PERSISTENCE, rtol=1e-12)  # beta lowered to the cap
    np.testing.assert_allclose(out.omega / (1 - _persistence(out)), uncond, rtol=1e-9)
    np.testing.assert_array_equal(out.mu, p.mu)


def test_bad_input_is_refused():
    p = _params([0.05, 0.06], [0.1, 0.1], [0.8, 0.8])
    with pytest.raises(ValueError, match="at least 3 assets.*got 2"):
        pool_dynamics(p, np.zeros((2, 3, 3)), np.full(2, 1e-4), np.full(2, KAPPA))
    p = _params([0.05, 0.06, 0.07], [0.1] * 3, [0.8] * 3)
    with pytest.raises(ValueError, match=r"cov must have shape \(3, 3, 3\) for 3 assets, got \(3, 3\)"):
        pool_dynamics(p, np.zeros((3, 3)), np.full(3, 1e-4), np.full(3, KAPPA))


def test_pooling_brings_three_years_of_estimates_closer_to_a_shared_truth():
    # 8 assets with the same GJR-t dynamics, 750 days each (three years, like the factor panel): the estimates
    # scatter by their sampling error, which pooling removes, so the summed squared error to the truth falls
    # (Stein's dominance holds in expectation from 3 parameters up; the ratio measured on seeds 3-6 is
    # 0.07-0.18, the bound asserted is 0.5; fixed seed)
    d = 8
    truth = {"mu": np.full(d, 3e-4), "omega": np.full(d, 2e-6), "alpha": np.full(d, 0.04),
             "gamma": np.full(d, 0.08), "beta": np.full(d, 0.88), "nu": np.full(d, 6.0)}
    panel = simulate_gjr_t(3, 750, corr=np.eye(d), **truth)
    g = GARCH().fit(panel)
    pooled = pool_dynamics(g.vol_, g.dynamics_cov_, g.unconditional_variance_, np.full(d, KAPPA))
    err = {name: sum(np.sum((getattr(p, k) - truth[k]) ** 2) for k in ("alpha", "gamma", "beta"))
           for name, p in (("raw", g.vol_), ("pooled", pooled))}
    assert err["pooled"] < 0.5 * err["raw"], err
    # the covariances are arch's robust ones for (alpha, gamma, beta)
    se = np.sqrt(np.diagonal(g.dynamics_cov_, axis1=1, axis2=2))
    np.testing.assert_allclose(se, g.std_err_[["alpha", "gamma", "beta"]].to_numpy(), rtol=1e-10)
    assert isinstance(g.std_err_, pd.DataFrame)
