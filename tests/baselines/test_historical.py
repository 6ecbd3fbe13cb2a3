"""Historical simulation: FHS keeps whole residual rows and the EWMA state; the stationary bootstrap."""

import numpy as np
import pytest

from finscore.baselines import HistoricalSimulation
from finscore.baselines.historical import stationary_bootstrap_indices


@pytest.fixture(scope="module")
def fhs(small_returns):
    return HistoricalSimulation().fit(small_returns)


def _hand_ewma(context, s0, lam=0.94):
    s2 = s0.copy()
    for r in context.to_numpy():
        s2 = lam * s2 + (1 - lam) * r**2
    return s2


def test_fhs_ewma_filter_by_hand(fhs, small_returns, sp500_returns):
    x = small_returns.to_numpy()
    s0 = np.mean(x**2, axis=0)
    np.testing.assert_allclose(fhs.sigma2_.to_numpy()[-1], _hand_ewma(small_returns.iloc[:-1], s0), rtol=1e-10)
    np.testing.assert_allclose(fhs.forecast_variance().to_numpy(), _hand_ewma(small_returns, s0), rtol=1e-10)
    # a context before the fitted sample starts from the fitted sample's mean square
    ctx = sp500_returns.loc["2008-09":"2008-12", small_returns.columns]
    np.testing.assert_allclose(fhs.forecast_variance(ctx).to_numpy(), _hand_ewma(ctx, s0), rtol=1e-10)


def test_fhs_resamples_whole_residual_rows(fhs, small_returns):
    n = 20000
    x = fhs.sample(n, 1, seed=0).values[:, 0]
    z = x / np.sqrt(fhs.forecast_variance().to_numpy())
    resid = fhs.std_resid_.to_numpy()
    # every simulated day is one historical residual row, rescaled
    hits = np.abs(z[:200, None, :] - resid[None, :, :]).max(axis=2).min(axis=1)
    assert hits.max() < 1e-10
    # so the cross-asset correlation of the residuals survives: 5 se, se = (1 - rho^2) / sqrt(n)
    target, got = np.corrcoef(resid, rowvar=False), np.corrcoef(z, rowvar=False)
    off = ~np.eye(len(target), dtype=bool)
    assert np.all(np.abs(got - target)[off] < 5 * ((1 - target**2) / np.sqrt(n))[off])


def test_fhs_volatility_follows_context(fhs, small_returns, sp500_returns):
    calm = sp500_returns.loc["2005-06":"2006-05", small_returns.columns]
    stressed = sp500_returns.loc["2008-06":"2008-11", small_returns.columns]
    a = fhs.sample(300, 1, context=calm, seed=1).values[:, 0]
    b = fhs.sample(300, 1, context=stressed, seed=1).values[:, 0]
    ratio = np.sqrt(fhs.forecast_variance(stressed) / fhs.forecast_variance(calm)).to_numpy()
    np.testing.assert_allclose(b, a * ratio, rtol=1e-8, atol=1e-15)  # zero-return days give exact zeros
    assert (ratio > 1).all()


def test_bootstrap_rows_and_block_length(small_returns):
    gen = HistoricalSimulation(method="bootstrap", block_size=8).fit(small_returns)
    x = gen.sample(2000, 30, seed=3).values
    hist = small_returns.to_numpy()
    rows = x.reshape(-1, x.shape[2])[:300]
    assert np.abs(rows[:, None, :] - hist[None]).max(axis=2).min(axis=1).max() == 0.0
    # continuation frequency is 1 - 1/block_size (+1/T for a restart that lands on the next row); 5 binomial se
    rng = np.random.default_rng(0)
    idx = stationary_bootstrap_indices(rng, 1000, 4000, 50, 8.0)
    cont = (idx[:, 1:] == (idx[:, :-1] + 1) % 1000).mean()
    p = 1 - 1 / 8 + 1 / 8 / 1000
    assert abs(cont - p) < 5 * np.sqrt(p * (1 - p) / idx[:, 1:].size)
    # start rows are uniform: the mean start index is (T - 1) / 2 within 5 se, se = T / sqrt(12 n)
    assert abs(idx[:, 0].mean() - 499.5) < 5 * 1000 / np.sqrt(12 * 4000)


def test_bootstrap_wraps_around_and_block_size_one_is_iid():
    rng = np.random.default_rng(1)
    idx = stationary_bootstrap_indices(rng, 5, 100, 20, 1e9)  # blocks never restart: consecutive rows mod 5
    np.testing.assert_array_equal(idx, (idx[:, :1] + np.arange(20)) % 5)
    idx = stationary_bootstrap_indices(rng, 1000, 200, 20, 1.0)  # every day a fresh uniform row
    assert (idx[:, 1:] == (idx[:, :-1] + 1) % 1000).mean() < 0.01
