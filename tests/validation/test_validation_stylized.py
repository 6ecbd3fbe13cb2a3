"""Known-answer tests of the stylized facts (Cont 2001) on simulated windows."""

import numpy as np
import pytest
from scipy import stats

from finscore.errors import DataError
from finscore.validation.stylized import (
    aggregation_levels, block_sums, hill_index, pooled_acf, pooled_cross_correlation, stylized_facts, tail_dependence,
)


@pytest.fixture(scope="module")
def gauss_windows():
    return np.random.default_rng(0).standard_normal((2000, 20, 4)) * np.array([0.01, 0.02, 0.5, 3.0])


def test_iid_gaussian_facts_are_null(gauss_windows):
    n, h, d = gauss_windows.shape
    f = stylized_facts(gauss_windows)
    # kurtosis of n*h = 40000 Gaussian values per asset: se = sqrt(24 / 40000) ~ 0.024; 5 se
    assert np.all(np.abs(f["kurtosis"]) < 5 * np.sqrt(24 / (n * h)))
    # pooled ACF / cross-correlation of i.i.d. values: se = 1 / sqrt(#pairs) with #pairs = n (h - k) d; 5 se
    for key in ("acf_returns", "acf_abs", "acf_sq", "leverage"):
        lags = np.arange(1, len(f[key]) + 1)
        assert np.all(np.abs(f[key]) < 5 / np.sqrt(n * (h - lags) * d)), key
    assert f["acf_abs"].shape == f["acf_sq"].shape == (h - 1,)
    assert f["acf_returns"].shape == (5,) and f["leverage"].shape == (10,)
    # off-diagonal correlations of 40000 independent pairs: se = 1 / sqrt(40000); 5 se
    off = f["correlation"][~np.eye(d, dtype=bool)]
    assert np.all(np.abs(off) < 5 / np.sqrt(n * h))
    # aggregated kurtosis at k = 1, 5, 20 from 40000, 8000, 2000 sums: se = sqrt(24 / count); 5 se
    counts = n * (h // f["aggregation_levels"])
    assert np.all(np.abs(f["aggregational"]) < 5 * np.sqrt(24 / counts)[:, None])
    assert list(f["aggregation_levels"]) == [1, 5, 20]
    # quantiles of a Gaussian in its own std units: 2.326 (se of a 1% quantile ~ 0.018 sd here); 5 se
    np.testing.assert_allclose(f["tail_quantiles"] / f["std"], [[-2.326] * d, [2.326] * d], atol=0.1)


def test_pooled_acf_matches_loop_and_ignores_window_boundaries():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 9, 3)) * [1.0, 5.0, 0.1] + [0.0, 2.0, -1.0]
    y = x**2
    z = lambda a: (a - a.mean(axis=(0, 1))) / a.std(axis=(0, 1))  # noqa: E731
    zx, zy = z(x), z(y)
    for k in range(0, 9):
        pairs = [zx[n, t, i] * zy[n, t + k, i] for n in range(7) for t in range(9 - k) for i in range(3)]
        assert pooled_cross_correlation(x, y, [k])[0] == pytest.approx(np.mean(pairs), rel=1e-12)
    assert pooled_acf(x, [0])[0] == pytest.approx(1.0)
    # Dependence ACROSS window boundaries only (first day of window n+1 = last day of window n) is ignored:
    b = rng.standard_normal((500, 2, 1))
    b[1:, 0] = b[:-1, 1]
    assert abs(pooled_acf(b, [1])[0]) < 5 / np.sqrt(500)  # i.i.d. within windows: 5 se
    assert pooled_acf(b.reshape(1, -1, 1), [1])[0] > 0.4  # one long series sees it (~0.5)


def test_hill_index_pareto_and_student_t():
    rng = np.random.default_rng(2)
    # Pareto(3): Hill is the conditional MLE, mean alpha k / (k - 1), se alpha / sqrt(k) = 3 / sqrt(5000); 5 se
    x = rng.uniform(size=100_000) ** (-1 / 3)
    assert hill_index(x, 0.05) == pytest.approx(3.0, abs=5 * 3 / np.sqrt(5000))
    # t(3) in windows, both tails, k = 0.25% of 400k = 1000: se = 3 / sqrt(1000) ~ 0.095; the second-order
    # bias of Hill for t tails is ~ -0.1 at this k (it is ~ -0.55 at k = 5%), so allow 4 se ~ 0.38.
    w = rng.standard_t(3, size=(20_000, 20, 1))
    f = stylized_facts(w, hill_fraction=0.0025)
    np.testing.assert_allclose(f["hill"], 3.0, atol=4 * 3 / np.sqrt(1000))
    assert np.isnan(hill_index(-np.abs(x), 0.05))  # no positive tail


def test_garch_volatility_clustering(gjr):
    # GARCH(1,1) alpha = 0.1, beta = 0.85: over 20 seeds the mean ACF of |r| at lags 1-5 was 0.134 (sd 0.006)
    # and the mean leverage over lags 1-10 was 0.002 (sd 0.005); thresholds are > 5 sd away.
    r = gjr(20_000, 2, omega=0.05, alpha=0.1, gamma=0.0, beta=0.85, seed=3)
    f = stylized_facts(r.reshape(1000, 20, 2))
    assert np.all(f["acf_abs"][:5] > 0.05) and np.all(f["acf_sq"][:3] > 0.05)
    assert abs(f["leverage"].mean()) < 0.03
    assert np.all(f["kurtosis"] > 0.3)  # GARCH returns are heavy-tailed (theoretical excess kurtosis ~ 1.2)


def test_gjr_leverage_is_negative(gjr):
    # GJR gamma = 0.2 (losses raise volatility): over 20 seeds the mean leverage over lags 1-10 was
    # -0.068 (sd 0.005); -0.03 is > 7 sd away from that and the symmetric case.
    r = gjr(20_000, 2, omega=0.05, alpha=0.0, gamma=0.2, beta=0.85, seed=4)
    f = stylized_facts(r.reshape(1000, 20, 2))
    assert f["leverage"].mean() < -0.03
    assert np.all(f["leverage"][:3] < 0)


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_gaussian_copula_tail_dependence(rho):
    q, n = 0.05, 200_000
    rng = np.random.default_rng(5)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    x = np.column_stack([z[:, 0] * 0.02, np.exp(z[:, 1])])  # monotone marginal maps do not change ranks
    zq = stats.norm.ppf(q)
    p = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([zq, zq])
    expected = p / q
    lam = tail_dependence(x, q)
    # binomial count of joint exceedances: se = sqrt(p (1 - p) / n) / q (conservative for ranks); 5 se
    se = np.sqrt(p * (1 - p) / n) / q
    assert lam.shape == (2, 2, 2)
    assert lam[0, 0, 1] == pytest.approx(expected, abs=5 * se)
    assert lam[1, 0, 1] == pytest.approx(expected, abs=5 * se)  # the Gaussian copula is radially symmetric
    np.testing.assert_allclose(np.diagonal(lam, axis1=1, axis2=2), 1.0, atol=1e-3)


def test_gain_loss_asymmetry_sign():
    rng = np.random.default_rng(6)
    skewed = -rng.lognormal(0.0, 0.8, size=(400, 20, 2))  # long loss tail
    f = stylized_facts(skewed - skewed.mean())
    assert f["gain_loss"].shape == (3, 2) and np.all(f["gain_loss"][0] < -0.2)


def test_helpers_and_errors():
    x = np.arange(2 * 7 * 1, dtype=float).reshape(2, 7, 1)
    np.testing.assert_array_equal(block_sums(x, 3)[:, 0], [0 + 1 + 2, 3 + 4 + 5, 7 + 8 + 9, 10 + 11 + 12])
    assert list(aggregation_levels(3)) == [1, 3] and list(aggregation_levels(5)) == [1, 5]
    f = stylized_facts(np.random.default_rng(0).standard_normal((30, 1, 2)))  # one-day windows: no lags
    assert f["acf_abs"].size == 0 and f["leverage"].size == 0
    with pytest.raises(DataError, match="shape"):
        stylized_facts(np.zeros((3, 4)))
    with pytest.raises(DataError, match="non-finite"):
        stylized_facts(np.full((3, 4, 2), np.nan))


@pytest.mark.parametrize("level", [0.0, 0.0005])  # 0.0005 is not a binary fraction: its pooled sd is ~1e-17
def test_a_constant_asset_is_refused_not_scored(level):
    """A constant asset has no correlation, autocorrelation or tail index; before this check its NaN correlation
    row counted as a perfect match."""
    from finscore.validation.distances import fact_distances

    real = np.random.default_rng(0).standard_t(5, size=(300, 20, 3)) * 0.01
    gen = real[::-1].copy()
    gen[:, :, 1] = level
    with pytest.raises(DataError, match=rf"generated: asset 1 \(of 3\) is constant \({level!r} everywhere\)"):
        fact_distances(real, gen)
    with pytest.raises(DataError, match="windows: asset 1"):
        stylized_facts(gen)
