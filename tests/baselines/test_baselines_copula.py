"""GaussianCopula recovers the copula correlation and the marginals of data it could have generated."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.distributions.copula.api import GaussianCopula as SMGaussianCopula

from finscore.baselines import GaussianCopula
from finscore.baselines._dependence import normal_scores, pseudo_observations

T = 4000
CORR = np.array([[1.0, 0.7, -0.3], [0.7, 1.0, 0.2], [-0.3, 0.2, 1.0]])


@pytest.fixture(scope="module")
def copula_panel():
    """Gaussian-copula data with correlation CORR and very non-Gaussian marginals (t3, lognormal, uniform)."""
    rng = np.random.default_rng(11)
    u = stats.norm.cdf(rng.standard_normal((T, 3)) @ np.linalg.cholesky(CORR).T)
    x = np.column_stack([0.01 * stats.t.ppf(u[:, 0], 3), 0.02 * (np.exp(stats.norm.ppf(u[:, 1])) - 1.5),
                         0.03 * (u[:, 2] - 0.5)])
    return pd.DataFrame(x, index=pd.bdate_range("2001-01-01", periods=T, name="date"), columns=["a", "b", "c"])


def _corr_se(rho, n):
    """Asymptotic standard error of a (normal-scores) correlation estimate, (1 - rho^2) / sqrt(n)."""
    return (1 - rho**2) / np.sqrt(n)


def test_recovers_copula_correlation(copula_panel):
    gen = GaussianCopula().fit(copula_panel)
    off = ~np.eye(3, dtype=bool)
    # 5 standard errors, se = (1 - rho^2) / sqrt(T); marginals are irrelevant to the rank-based fit
    assert np.all(np.abs(gen.corr_ - CORR)[off] < 5 * _corr_se(CORR, T)[off])
    # closed form: Pearson correlation of norm.ppf(rank / (T + 1))
    closed = np.corrcoef(stats.norm.ppf(stats.rankdata(copula_panel.to_numpy(), axis=0) / (T + 1)), rowvar=False)
    np.testing.assert_allclose(gen.corr_, closed, atol=1e-12)
    # statsmodels' Kendall-tau estimator of the same parameter agrees within 5 se of the difference
    sm = SMGaussianCopula(k_dim=3).fit_corr_param(pseudo_observations(copula_panel.to_numpy()))
    assert np.all(np.abs(gen.corr_ - sm)[off] < 5 * _corr_se(CORR, T)[off])


def test_sampled_copula_and_marginals(copula_panel):
    gen = GaussianCopula().fit(copula_panel)
    x = gen.sample(20000, 1, seed=0).values[:, 0]  # (n, d)
    n = len(x)
    # dependence of the draws: normal-score correlation within 5 se of the fitted one
    got = np.corrcoef(normal_scores(pseudo_observations(x)), rowvar=False)
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(got - gen.corr_)[off] < 5 * _corr_se(gen.corr_, n)[off])
    # marginals: the draws' CDF at the data's p-quantiles is p within 5 binomial se, sqrt(p (1 - p) / n)
    probs = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    q = np.quantile(copula_panel.to_numpy(), probs, axis=0)  # (P, d)
    cdf = (x[None, :, :] <= q[:, None, :]).mean(axis=1)
    assert np.all(np.abs(cdf - probs[:, None]) < 5 * np.sqrt(probs * (1 - probs) / n)[:, None])
    # empirical marginals never leave the fitted range
    assert np.all(x >= copula_panel.min().to_numpy()) and np.all(x <= copula_panel.max().to_numpy())


def test_t_marginals_recover_t_parameters():
    rng = np.random.default_rng(5)
    u = stats.norm.cdf(rng.standard_normal((T, 2)) @ np.linalg.cholesky([[1, 0.5], [0.5, 1]]).T)
    truth = [(4.0, 1e-3, 0.01), (8.0, 0.0, 0.02)]
    x = np.column_stack([stats.t.ppf(u[:, j], *truth[j]) for j in range(2)])
    frame = pd.DataFrame(x, index=pd.bdate_range("2001-01-01", periods=T, name="date"), columns=["a", "b"])
    gen = GaussianCopula(marginals="t").fit(frame)
    # scipy's MLE within 5 se; Fisher information of the t location-scale family (df known):
    # se(loc) = scale sqrt((df + 3) / ((df + 1) T)), se(scale) / scale = sqrt((df + 3) / (2 df T)),
    # the latter doubled for estimating df jointly; df itself (se ~ 8 % here) within 40 %
    for j, (df, loc, scale) in enumerate(truth):
        got = gen.t_params_.iloc[j]
        assert abs(got["loc"] - loc) < 5 * scale * np.sqrt((df + 3) / ((df + 1) * T))
        assert abs(got["scale"] / scale - 1) < 5 * 2 * np.sqrt((df + 3) / (2 * df * T))
        assert abs(got["df"] / df - 1) < 0.4
    draws = gen.sample(20000, 1, seed=1).values[:, 0]
    probs = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    for j in range(2):
        q = stats.t.ppf(probs, *gen.t_params_.iloc[j])
        cdf = (draws[:, j, None] <= q).mean(axis=0)
        assert np.all(np.abs(cdf - probs) < 5 * np.sqrt(probs * (1 - probs) / 20000))


def test_ignores_context_and_is_iid_across_days(copula_panel):
    gen = GaussianCopula().fit(copula_panel)
    a = gen.sample(100, 3, context=copula_panel.iloc[:10], seed=2).values
    b = gen.sample(100, 3, context=copula_panel.iloc[-300:], seed=2).values
    np.testing.assert_array_equal(a, b)
    x = gen.sample(20000, 2, seed=3).values
    # lag-1 correlation of day 0 and day 1 of the same path is 0 within 5 se (se = 1 / sqrt(n))
    lag = np.corrcoef(x[:, 0, 0], x[:, 1, 0])[0, 1]
    assert abs(lag) < 5 / np.sqrt(len(x))
