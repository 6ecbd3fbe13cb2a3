"""The equicorrelation map: exact algebra on exchangeable matrices, least-squares recovery, round trips; the
window-mean scale: exact algebra of a linear map over the days."""

import numpy as np
import pytest
import torch

from finscore.correlation import (
    EquiCorrelation,
    average_correlation,
    scale_window_mean,
    shrunk_spread,
    window_variance_ratio,
)


def _exchangeable(d, rho):
    r = np.full((d, d), rho)
    np.fill_diagonal(r, 1.0)
    return r


def test_average_correlation_is_the_mean_off_diagonal_correlation():
    x = np.random.default_rng(0).standard_normal((3, 40, 5)) @ np.linalg.cholesky(_exchangeable(5, 0.4)).T
    want = [(np.corrcoef(w.T).sum() - 5) / 20 for w in x]
    np.testing.assert_allclose(average_correlation(x), want, rtol=1e-10)
    raw = [(c.sum() - 5) / 20 for c in (w.T @ w / np.sqrt(np.outer((w**2).sum(0), (w**2).sum(0))) for w in x)]
    np.testing.assert_allclose(average_correlation(x, demean=False), raw, rtol=1e-10)
    np.testing.assert_array_equal(average_correlation(x[:, :, :1]), np.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, T, d\)"):
        average_correlation(x[0])


def test_decayed_average_correlation_is_the_weighted_pearson_correlation():
    """With decay lam, day t of T has weight lam^(T-1-t): np.cov's aweights (weighted mean and moments) give
    the same correlation matrix, as its normalization cancels in a correlation; a decay next to 1 is the
    equal-weight correlation."""
    x = np.random.default_rng(5).standard_normal((3, 60, 4)) @ np.linalg.cholesky(_exchangeable(4, 0.5)).T
    w = 0.94 ** np.arange(59, -1, -1.0)
    want = [(_corr(np.cov(v.T, aweights=w)).sum() - 4) / 12 for v in x]
    np.testing.assert_allclose(average_correlation(x, decay=0.94), want, rtol=1e-10)
    raw = [(_corr((v * w[:, None]).T @ v).sum() - 4) / 12 for v in x]
    np.testing.assert_allclose(average_correlation(x, demean=False, decay=0.94), raw, rtol=1e-10)
    np.testing.assert_allclose(average_correlation(x, decay=1 - 1e-12), average_correlation(x), rtol=1e-8)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="decay must be None or in"):
            average_correlation(x, decay=bad)


def _corr(cov):
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def test_the_map_turns_the_exchangeable_correlation_at_rho_bar_into_the_one_at_rho():
    """A(rho) R(rho_bar) A(rho) = R(rho) exactly (A symmetric), so unit variances are kept."""
    d, rho_bar = 6, 0.3
    m = EquiCorrelation(c0=0.0, kappa=1.0, rho_bar=rho_bar, n_assets=d)
    for rho in (-0.1, 0.0, 0.3, 0.55, 0.9):
        a = m.from_model(np.eye(d)[None], np.array([rho]))[0]  # rows: A e_i
        np.testing.assert_allclose(a, a.T, atol=1e-15)
        np.testing.assert_allclose(a @ _exchangeable(d, rho_bar) @ a, _exchangeable(d, rho), atol=1e-12)
        a_inv = m.to_model(np.eye(d)[None], np.array([rho]))[0]
        np.testing.assert_allclose(a_inv @ a, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(m.from_model(np.eye(d)[None], np.array([rho_bar]))[0], np.eye(d), atol=1e-15)


def test_round_trip_torch_parity_and_gradient():
    m = EquiCorrelation(c0=0.05, kappa=0.8, rho_bar=0.3, n_assets=4)
    rng = np.random.default_rng(1)
    g, rho = rng.standard_normal((5, 7, 4)), m.forecast(rng.uniform(-0.2, 1.0, 5))
    np.testing.assert_allclose(m.to_model(m.from_model(g, rho), rho), g, atol=1e-12)
    y = torch.tensor(g, requires_grad=True)
    out = m.from_model(y, torch.tensor(rho))
    np.testing.assert_allclose(out.detach().numpy(), m.from_model(g, rho), rtol=1e-12)
    out.sum().backward()  # d(sum A y)/dy = A 1 = a 1 (1 is the equal-weight direction)
    a = np.sqrt((1 + 3 * rho) / (1 + 3 * 0.3))
    np.testing.assert_allclose(y.grad.numpy(), np.broadcast_to(a[:, None, None], g.shape), rtol=1e-12)
    assert EquiCorrelation.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="3 assets, the correlation map was fitted on 4"):
        m.from_model(g[..., :3], rho)


def test_fit_recovers_the_forecast_regression_and_one_asset_is_the_identity():
    """Windows of T = 20 days whose exchangeable correlation is 0.1 + 0.6 rho_ctx; OLS on their realized
    correlation recovers the line within 4 of its standard errors (independent windows, so the classical
    OLS standard errors apply: about 0.007 for the slope, 0.003 for the intercept) plus the small-sample
    bias of a T-day correlation, about -rho (1 - rho^2) / (2T), at most 0.0096 for rho in [0.1, 0.58]."""
    rng = np.random.default_rng(2)
    n, t, d = 3000, 20, 8
    rho_ctx = rng.uniform(0.0, 0.8, n)
    true = 0.1 + 0.6 * rho_ctx
    z = rng.standard_normal((n, t, d))
    g = np.sqrt(1 - true)[:, None, None] * z + np.sqrt(true)[:, None, None] * rng.standard_normal((n, t, 1))
    m = EquiCorrelation.fit(g, rho_ctx)
    resid = average_correlation(g, demean=False) - (m.c0 + m.kappa * rho_ctx)
    se_slope = resid.std() / (rho_ctx.std() * np.sqrt(n))
    se_icpt = se_slope * np.sqrt(np.mean(rho_ctx**2))
    bias = 0.0096
    assert abs(m.kappa - 0.6) < 4 * se_slope + bias and abs(m.c0 - 0.1) < 4 * se_icpt + bias
    np.testing.assert_allclose(m.rho_bar, np.mean(m.forecast(rho_ctx)), rtol=1e-12)
    one = EquiCorrelation.fit(g[..., :1], rho_ctx)
    np.testing.assert_array_equal(one.from_model(g[..., :1], rho_ctx), g[..., :1])
    flat = EquiCorrelation.fit(g, np.full(n, 0.4))  # no spread in the context: a constant forecast
    np.testing.assert_allclose(flat.from_model(g, flat.forecast(np.full(n, 0.4))), g, atol=1e-12)
    with pytest.raises(ValueError, match="non-finite"):
        EquiCorrelation.fit(np.where(np.arange(d) == 3, np.nan, g), rho_ctx)


def test_scale_window_mean_multiplies_the_window_sum_and_keeps_the_deviations():
    rng = np.random.default_rng(3)
    y, k = rng.standard_normal((5, 20, 4)), 1.3
    out = scale_window_mean(y, k)
    np.testing.assert_allclose(out.sum(axis=1), k * y.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(out - out.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True),
                               atol=1e-14)
    assert scale_window_mean(y, 1.0) is y
    # the map over the H days is M = I + (k - 1) 11'/H; for independent unit-variance days the covariance
    # M M' has diagonal 1 + (k^2 - 1)/H and the sum's variance k^2 H (exact)
    h = 20
    m = scale_window_mean(np.eye(h)[None, :, :], k)[0]  # column j: M e_j (each "asset" is one unit day)
    cov = m @ m.T
    np.testing.assert_allclose(np.diag(cov), 1 + (k**2 - 1) / h, rtol=1e-12)
    np.testing.assert_allclose(cov.sum(), k**2 * h, rtol=1e-12)
    t = torch.tensor(y, requires_grad=True)
    got = scale_window_mean(t, k)
    np.testing.assert_allclose(got.detach().numpy(), out, rtol=1e-12)
    got.sum().backward()  # d(sum M y)/dy = M'1 = k 1
    np.testing.assert_allclose(t.grad.numpy(), np.full(y.shape, k), rtol=1e-12)


def test_scale_window_mean_takes_one_factor_per_asset():
    y = np.random.default_rng(4).standard_normal((5, 20, 3))
    k = np.array([1.0, 1.2, 0.8])
    out = scale_window_mean(y, k)
    for j in range(3):
        np.testing.assert_allclose(out[..., j], scale_window_mean(y[..., j:j + 1], k[j])[..., 0], rtol=1e-12)
    np.testing.assert_allclose(scale_window_mean(torch.tensor(y), k).numpy(), out, rtol=1e-12)
    assert scale_window_mean(y, np.ones(3)) is y


def test_window_variance_ratio_of_independent_and_of_ma1_days():
    """MA(1) days e_t + theta e_(t-1) have the lag-1 autocorrelation r = theta / (1 + theta^2) and no other,
    so the variance ratio of H days is 1 + 2 r (H - 1) / H; independent days have 1. The estimate from
    N = 4,000 windows of 20 days has a standard error below 0.03 (independent windows: the ratio's terms
    (sum)^2 / (H var) are chi^2_1-like with variance about 2 v^2, so se ~ v sqrt(2 / N) = 0.022 v); the
    tolerance is 4 of them."""
    rng = np.random.default_rng(5)
    n, h, theta = 4000, 20, -0.5
    e = rng.standard_normal((n, h + 1, 2))
    iid, ma = e[:, 1:], e[:, 1:] + theta * e[:, :-1]
    r = theta / (1 + theta**2)
    want = 1 + 2 * r * (h - 1) / h  # 0.24
    got = window_variance_ratio(np.concatenate([iid, ma], axis=2))
    expect = np.array([1, 1, want, want])
    assert np.all(np.abs(got - expect) < 4 * 0.022 * expect), (got, expect)
    with pytest.raises(ValueError, match=r"\(N, H, d\)"):
        window_variance_ratio(iid[0])


def test_shrunk_spread_moves_the_ratio_toward_1_by_its_sampling_error():
    h, days = 20, 755
    s2 = 2 * (2 * h - 1) * (h - 1) / (3 * h * days)  # Lo & MacKinlay: 0.18^2 for 755 days
    v = np.array([1.0, 1 - 0.9 * np.sqrt(s2), 0.6, 1.5])
    k = shrunk_spread(v, days, h)
    shrunk = k**2 * v  # the ratio the samples get
    assert k[0] == 1.0
    np.testing.assert_allclose(shrunk[1], 1.0, rtol=1e-12)  # within one standard error: all the way to 1
    for j in (2, 3):  # positive-part James-Stein: 1 + (v - 1)(1 - s^2 / (v - 1)^2)
        np.testing.assert_allclose(shrunk[j], 1 + (v[j] - 1) - s2 / (v[j] - 1), rtol=1e-12)
    assert k[2] > 1 > k[3]
    # many days: the ratio is kept (k -> 1)
    np.testing.assert_allclose(shrunk_spread(v[2:], 10**9, h), 1.0, atol=1e-6)
    for bad in (np.array([0.0]), np.array([np.nan])):
        with pytest.raises(ValueError, match="finite and > 0"):
            shrunk_spread(bad, days, h)
    with pytest.raises(ValueError, match="n_days >= horizon"):
        shrunk_spread(v, 10, h)


def test_the_sampling_error_of_the_overlapping_ratio_is_lo_mackinlays():
    """shrunk_spread's s^2 is the asymptotic variance of the overlapping-window ratio of independent days. 400
    series of 755 days: the sd of the estimates has a relative standard error of 1/sqrt(2 * 400) = 3.5%; the
    tolerance is 4 of them plus the asymptotic formula's small-sample bias (under 3% in a scratch check with 2,000 series)."""
    rng = np.random.default_rng(6)
    h, days = 20, 755
    x = rng.standard_normal((400, days))
    est = [window_variance_ratio(np.lib.stride_tricks.sliding_window_view(s, h)[:, :, None])[0] for s in x]
    s = np.sqrt(2 * (2 * h - 1) * (h - 1) / (3 * h * days))
    assert abs(np.std(est) / s - 1) < 4 * 0.035 + 0.03
