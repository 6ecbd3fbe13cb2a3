"""Static asset descriptors: principal-component loadings of the training correlation."""

import numpy as np
import pytest

from finscore.conditioning import asset_loadings


def _correlated(rng, n=4000, d=5):
    base = rng.standard_normal((d, d))
    cov = base @ base.T + d * np.eye(d)
    return rng.multivariate_normal(np.zeros(d), cov, size=n) * rng.uniform(0.5, 3.0, size=d)


def test_all_components_reconstruct_the_correlation_exactly():
    x = _correlated(np.random.default_rng(0))
    load = asset_loadings(x, 5)
    assert load.shape == (5, 5)
    np.testing.assert_allclose(load @ load.T, np.corrcoef(x, rowvar=False), atol=1e-12)


def test_leading_components_are_the_best_rank_k_approximation():
    x = _correlated(np.random.default_rng(1))
    corr = np.corrcoef(x, rowvar=False)
    lam = np.sort(np.linalg.eigvalsh(corr))[::-1]
    for k in (1, 2, 3):
        load = asset_loadings(x, k)
        # Eckart-Young: the spectral-norm error of the best rank-k approximation is lambda_{k+1}
        assert np.linalg.norm(corr - load @ load.T, 2) == pytest.approx(lam[k], rel=1e-10)
        np.testing.assert_allclose(np.sum(load**2, axis=0), lam[:k], rtol=1e-10)


def test_signs_are_deterministic_and_scale_free():
    x = _correlated(np.random.default_rng(2))
    load = asset_loadings(x, 3)
    assert np.all(load[np.argmax(np.abs(load), axis=0), np.arange(3)] > 0)
    # the descriptor of an asset does not depend on its units or on flipping the whole panel's sign
    np.testing.assert_allclose(asset_loadings(x * 100.0, 3), load, atol=1e-12)
    np.testing.assert_allclose(asset_loadings(-x, 3), load, atol=1e-12)


def test_more_components_than_assets_are_zero_columns():
    x = _correlated(np.random.default_rng(3), d=2)
    load = asset_loadings(x, 4)
    assert load.shape == (2, 4) and np.all(load[:, 2:] == 0)
    np.testing.assert_allclose(load @ load.T, np.corrcoef(x, rowvar=False), atol=1e-12)
    assert asset_loadings(x[:, :1], 2).tolist() == [[1.0, 0.0]]


def test_bad_input_errors():
    x = _correlated(np.random.default_rng(4))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        asset_loadings(x, 0)
    with pytest.raises(ValueError, match=r"shape \(T >= 2, d\)"):
        asset_loadings(x[:1], 2)
    x[:, 2] = 0.01
    with pytest.raises(ValueError, match="constant"):
        asset_loadings(x, 2)


def test_scale_path_is_the_daily_forecast_whose_rms_is_the_flat_scale():
    from finscore.conditioning import target_scale

    rng = np.random.default_rng(5)
    ewma, long_run = rng.uniform(0.005, 0.05, size=(7, 3)), rng.uniform(0.01, 0.02, size=3)
    path = target_scale(ewma, long_run, 20, 0.95, path=True)
    assert path.shape == (7, 20, 3)
    # day h: the GARCH(1,1)-type forecast LR^2 + (ewma^2 - LR^2) phi^h, h = 1..H
    np.testing.assert_allclose(path[:, 0] ** 2, long_run**2 + (ewma**2 - long_run**2) * 0.95)
    np.testing.assert_allclose(path[:, -1] ** 2, long_run**2 + (ewma**2 - long_run**2) * 0.95**20)
    np.testing.assert_allclose(np.sqrt(np.mean(path**2, axis=1)), target_scale(ewma, long_run, 20, 0.95))
    # no mean reversion: every day is today's EWMA volatility
    np.testing.assert_allclose(target_scale(ewma, long_run, 5, 1.0, path=True), np.repeat(ewma[:, None], 5, axis=1))
