"""The Tukey h marginal transform: closed-form moments, maximum likelihood, round trips, torch parity; its
two-sided (hh) form and the market-direction maps built on it."""

import numpy as np
import pytest
import torch
from scipy import special, stats

from finscore.tails import MarketMatch, MarketTails, TukeyH, _lambertw, _nll


def _tukey(loc, scale, h, g_max=50.0, h_left=None):
    d = len(h)
    return TukeyH(np.full(d, loc) if np.isscalar(loc) else loc, np.full(d, scale) if np.isscalar(scale) else scale,
                  np.asarray(h, dtype=float), np.full(d, g_max), None if h_left is None else np.asarray(h_left, float))


def test_lambert_w_matches_scipy():
    x = np.concatenate([[0.0], np.logspace(-14, 12, 400)])
    np.testing.assert_allclose(_lambertw(x), special.lambertw(x).real, rtol=1e-13, atol=1e-300)


def test_variance_and_kurtosis_are_the_closed_form_ones():
    """For g ~ N(0, 1) and h < 1/4: Var(s g e^{h g^2/2}) = s^2 (1 - 2h)^{-3/2}, E z^4 = 3 s^4 (1 - 4h)^{-5/2}.

    1e6 draws; tolerance 4 standard errors of the sample moment (its SE from the closed-form higher moment).
    """
    h, s, n = np.array([0.0, 0.05, 0.1]), 0.7, 1_000_000
    z = _tukey(0.0, s, h).from_gaussian(np.random.default_rng(0).standard_normal((n, 3)))
    m2 = s**2 * (1 - 2 * h) ** -1.5
    m4 = 3 * s**4 * (1 - 4 * h) ** -2.5
    m8 = 105 * s**8 * (1 - 8 * h) ** -4.5  # E g^8 e^{4 h g^2} = 105 (1 - 8h)^{-9/2}
    se2, se4 = np.sqrt((m4 - m2**2) / n), np.sqrt((m8 - m4**2) / n)
    assert np.all(np.abs((z**2).mean(0) - m2) < 4 * se2)
    assert np.all(np.abs((z**4).mean(0) - m4) < 4 * se4)


def test_tail_index_is_one_over_h():
    """P(Z > z) = P(g > T^{-1}(z)); on a log-log scale its slope tends to -1/h."""
    t = _tukey(0.0, 1.0, [0.25], g_max=40.0)
    z = np.array([[1e4], [1e6]])
    log_tail = np.log(stats.norm.sf(t.to_gaussian(z)))[:, 0]
    slope = (log_tail[1] - log_tail[0]) / np.log(100)
    assert slope == pytest.approx(-4.0, rel=0.05)  # converges slowly (log factors); 5% at z = 1e4..1e6


def test_maximum_likelihood_recovers_the_parameters():
    """50,000 draws per asset (the fit's own cap); the tolerance is 4 standard errors from the observed
    information (numerical Hessian of the mean negative log-likelihood at the estimate)."""
    rng = np.random.default_rng(1)
    truth = _tukey(np.array([0.05, 0.0, -0.1]), np.array([1.0, 0.8, 0.6]), [0.05, 0.2, 0.35])
    z = truth.from_gaussian(rng.standard_normal((50_000, 3)))
    fit = TukeyH.fit(z)
    for i in range(3):
        theta = np.array([fit.loc[i], np.log(fit.scale[i]), np.log(fit.h[i])])
        true = np.array([truth.loc[i], np.log(truth.scale[i]), np.log(truth.h[i])])
        eps, hess = 1e-3, np.zeros((3, 3))
        for a in range(3):
            for b in range(3):
                ea, eb = np.eye(3)[a] * eps, np.eye(3)[b] * eps
                hess[a, b] = (_nll(theta + ea + eb, z[:, i]) - _nll(theta + ea - eb, z[:, i])
                              - _nll(theta - ea + eb, z[:, i]) + _nll(theta - ea - eb, z[:, i])) / (4 * eps**2)
        se = np.sqrt(np.diag(np.linalg.inv(hess)) / len(z))
        assert np.all(np.abs(theta - true) < 4 * se), (i, theta, true, se)
    # the largest |g| of the data, which bounds the Pareto piece of T
    np.testing.assert_allclose(fit.g_max, np.abs(fit.to_gaussian(z)).max(0))


def test_gaussian_data_get_no_tail():
    z = np.random.default_rng(2).normal(0.1, 2.0, size=(20_000, 1))
    fit = TukeyH.fit(z)
    assert fit.h[0] < 0.01 and fit.scale[0] == pytest.approx(2.0, rel=0.03)


def test_round_trip_inside_and_beyond_the_largest_training_value():
    t = _tukey(np.array([0.1, 0.0]), np.array([0.5, 1.0]), [0.3, 0.0], g_max=3.0)
    g = np.linspace(-8, 8, 161)[:, None].repeat(2, 1)
    z = t.from_gaussian(g)
    np.testing.assert_allclose(t.to_gaussian(z), g, atol=1e-10)
    assert np.all(np.diff(z, axis=0) > 0)  # strictly increasing
    np.testing.assert_allclose(z[:, 1], g[:, 1])  # h = 0, loc 0, scale 1: the identity
    # beyond g_max the map is linear with the slope it has at g_max
    slope = 0.5 * np.exp(0.3 * 9 / 2) * (1 + 0.3 * 9)
    np.testing.assert_allclose(np.diff(z[g[:, 0] > 3, 0]), 0.1 * slope, rtol=1e-12)


def test_torch_matches_numpy_and_its_gradient_is_the_derivative():
    t = _tukey(np.array([0.1, -0.2]), np.array([0.5, 0.9]), [0.3, 0.1], g_max=3.0)
    g = torch.linspace(-5, 5, 101, dtype=torch.float64)[:, None].repeat(1, 2).requires_grad_()
    z = t.from_gaussian(g)
    np.testing.assert_allclose(z.detach().numpy(), t.from_gaussian(g.detach().numpy()), rtol=1e-14)
    z.sum().backward()
    gg = np.clip(g.detach().numpy(), -3, 3)
    deriv = t.scale * np.exp(t.h * gg**2 / 2) * (1 + t.h * gg**2)  # constant beyond g_max
    np.testing.assert_allclose(g.grad.numpy(), deriv, rtol=1e-12)
    assert t.from_gaussian(torch.zeros(4, 2, dtype=torch.float32)).dtype == torch.float32


def test_serialization_round_trip():
    t = TukeyH.fit(np.random.default_rng(3).standard_t(4, size=(5_000, 2)))
    back = TukeyH.from_dict(t.to_dict())
    g = np.random.default_rng(4).standard_normal((10, 2)) * 3
    assert np.array_equal(back.from_gaussian(g), t.from_gaussian(g))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one value per asset"):
        TukeyH(np.zeros(2), np.ones(3), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="h >= 0"):
        TukeyH(np.zeros(1), np.ones(1), -np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="h_left >= 0"):
        TukeyH(np.zeros(1), np.ones(1), np.ones(1), np.ones(1), -np.ones(1))
    z = np.random.default_rng(5).normal(size=(100, 3))
    z[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"asset column\(s\) \[2\]"):
        TukeyH.fit(z)
    with pytest.raises(ValueError, match="at least 50"):
        TukeyH.fit(np.zeros((10, 2)))


def _hessian_se(f, theta, n, eps=1e-3):
    """Standard errors from the observed information: numerical Hessian of the mean NLL f at theta, n values."""
    k = len(theta)
    hess = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            ea, eb = np.eye(k)[a] * eps, np.eye(k)[b] * eps
            hess[a, b] = (f(theta + ea + eb) - f(theta + ea - eb) - f(theta - ea + eb) + f(theta - ea - eb)) / (4 * eps**2)
    return np.sqrt(np.diag(np.linalg.inv(hess)) / n)


def test_two_sided_fit_recovers_each_tail():
    """Tukey hh with a heavy left and a light right tail, 50,000 draws; tolerance 4 standard errors from the
    observed information of the four-parameter likelihood. The symmetric fit of the same data lands between."""
    truth = _tukey(np.array([0.05]), np.array([0.8]), [0.05], h_left=[0.3])
    z = truth.from_gaussian(np.random.default_rng(6).standard_normal((50_000, 1)))
    fit = TukeyH.fit(z, two_sided=True)
    theta = np.array([fit.loc[0], np.log(fit.scale[0]), np.log(fit.h[0]), np.log(fit.h_left[0])])
    true = np.array([0.05, np.log(0.8), np.log(0.05), np.log(0.3)])
    se = _hessian_se(lambda t: _nll(t, z[:, 0]), theta, len(z))
    assert np.all(np.abs(theta - true) < 4 * se), (theta, true, se)
    sym = TukeyH.fit(z)
    assert sym.h[0] == sym.h_left[0] and 0.05 < sym.h[0] < 0.3


def test_two_sided_round_trip_torch_parity_and_gradient():
    t = _tukey(np.array([0.1, -0.2]), np.array([0.5, 0.9]), [0.05, 0.2], g_max=3.0, h_left=[0.3, 0.0])
    g = np.linspace(-6, 6, 121)[:, None].repeat(2, 1)
    z = t.from_gaussian(g)
    np.testing.assert_allclose(t.to_gaussian(z), g, atol=1e-10)
    assert np.all(np.diff(z, axis=0) > 0)
    gt = torch.tensor(g, requires_grad=True)
    zt = t.from_gaussian(gt)
    np.testing.assert_allclose(zt.detach().numpy(), z, rtol=1e-14)
    zt.sum().backward()
    gg = np.clip(g, -3, 3)
    h = np.where(g < 0, t.h_left, t.h)
    np.testing.assert_allclose(gt.grad.numpy(), t.scale * np.exp(h * gg**2 / 2) * (1 + h * gg**2), rtol=1e-12)
    back = TukeyH.from_dict(t.to_dict())
    assert np.array_equal(back.from_gaussian(g), z)


def test_torch_inverse_matches_numpy_and_its_gradient_is_the_inverse_slope():
    """``to_gaussian`` of a tensor equals numpy's (inside and beyond ``g_max``, both sides) and its gradient is
    ``1 / T'(g)``, the slope of the inverse (constant beyond ``g_max``)."""
    t = _tukey(np.array([0.1, -0.2]), np.array([0.5, 0.9]), [0.05, 0.2], g_max=3.0, h_left=[0.3, 0.0])
    g = np.linspace(-6, 6, 121)[:, None].repeat(2, 1)
    z = torch.tensor(t.from_gaussian(g), requires_grad=True)
    gt = t.to_gaussian(z)
    np.testing.assert_allclose(gt.detach().numpy(), t.to_gaussian(z.detach().numpy()), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gt.detach().numpy(), g, atol=1e-10)
    gt.sum().backward()
    gg = np.clip(g, -3, 3)
    h = np.where(g < 0, t.h_left, t.h)
    np.testing.assert_allclose(z.grad.numpy(), 1 / (t.scale * np.exp(h * gg**2 / 2) * (1 + h * gg**2)), rtol=1e-10)
    assert t.to_gaussian(torch.zeros(4, 2, dtype=torch.float32)).dtype == torch.float32


def test_a_dict_without_h_left_is_the_symmetric_transform():
    """Checkpoints written before the two-sided form load as they were."""
    t = _tukey(np.array([0.0]), np.array([1.0]), [0.2], g_max=4.0)
    d = t.to_dict()
    del d["h_left"]
    g = np.linspace(-6, 6, 25)[:, None]
    np.testing.assert_array_equal(TukeyH.from_dict(d).from_gaussian(g), t.from_gaussian(g))
    np.testing.assert_array_equal(t.from_gaussian(-g), -t.from_gaussian(g))


def test_market_tails_gaussianize_the_cross_sectional_mean_and_keep_the_deviations():
    """Windows whose daily cross-sectional mean is a skewed Tukey hh variable (a common crash factor) plus
    Gaussian idiosyncratic noise: after the map the mean's skewness and excess kurtosis are those of a
    Gaussian (tolerance 4 standard errors: sqrt(6/n) and sqrt(24/n) for n = 40,000 days), each asset's
    deviation from the mean is untouched and the map inverts exactly (numpy and torch)."""
    rng = np.random.default_rng(7)
    factor = _tukey(np.array([0.0]), np.array([0.6]), [0.02], h_left=[0.25])
    m = factor.from_gaussian(rng.standard_normal((2_000, 20, 1)))
    x = m + 0.8 * rng.standard_normal((2_000, 20, 5))
    mt = MarketTails.fit(x)
    assert mt.tail.h_left[0] > 0.15 and mt.tail.h[0] < 0.1
    y = mt.to_model(x)
    mean = y.mean(axis=2).ravel()
    z = (mean - mean.mean()) / mean.std()
    n = z.size
    assert abs(np.mean(z**3)) < 4 * np.sqrt(6 / n) and abs(np.mean(z**4) - 3) < 4 * np.sqrt(24 / n)
    raw = (x.mean(axis=2).ravel() - x.mean()) / x.mean(axis=2).std()
    assert np.mean(raw**3) < -0.3  # the input was skewed
    np.testing.assert_allclose(y - y.mean(axis=2, keepdims=True), x - x.mean(axis=2, keepdims=True), atol=1e-12)
    np.testing.assert_allclose(mt.from_model(y), x, atol=1e-10)
    np.testing.assert_allclose(mt.from_model(torch.tensor(y)).numpy(), x, atol=1e-10)
    back = MarketTails.from_dict(mt.to_dict())
    assert np.array_equal(back.from_model(y), mt.from_model(y))
    with pytest.raises(ValueError, match=r"\(N, H, d\)"):
        MarketTails.fit(x[0])


def test_market_match_gives_the_sampled_mean_the_datas_law_and_keeps_the_deviations():
    """"Samples" whose daily mean is Gaussian and too narrow, "data" whose mean is a skewed Tukey hh variable:
    after the map the samples' mean has the data's quantiles (0.1% to 99.9%). 40,000 days each; tolerance 4
    standard errors of a sample quantile, sqrt(p (1 - p) / n) / f(q), with f the data's density at the quantile
    (estimated from 10^6 draws of the fitted law). The deviations from the mean are untouched, torch gives
    the numpy result, and a map whose two laws are one is the identity."""
    rng = np.random.default_rng(11)
    law = _tukey(np.array([0.02]), np.array([0.6]), [0.02], h_left=[0.25])
    data = law.from_gaussian(rng.standard_normal((2_000, 20, 1))) + 0.8 * rng.standard_normal((2_000, 20, 5))
    samples = 0.45 * rng.standard_normal((2_000, 20, 1)) + 0.8 * rng.standard_normal((2_000, 20, 5))
    mm = MarketMatch.fit(samples, data)
    assert mm.target.h_left[0] > 0.15 and mm.source.h_left[0] < 0.02 and mm.source.h[0] < 0.02
    out = mm.from_model(samples)
    np.testing.assert_allclose(out - out.mean(axis=2, keepdims=True),
                               samples - samples.mean(axis=2, keepdims=True), atol=1e-12)
    ps = np.array([0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999])
    m_out, m_data = out.mean(axis=2).ravel(), data.mean(axis=2).ravel()
    big = mm.target.from_gaussian(rng.standard_normal((1_000_000, 1))).ravel()
    q = np.quantile(big, ps)
    dens = stats.gaussian_kde(big[:200_000])(q)
    se = np.sqrt(ps * (1 - ps) / m_out.size) / dens
    se_pair = se * np.sqrt(2)  # both sample quantiles carry that error
    assert np.all(np.abs(np.quantile(m_out, ps) - np.quantile(m_data, ps)) < 4 * se_pair)
    assert np.abs(np.quantile(samples.mean(axis=2), 0.001) - np.quantile(m_data, 0.001)) > 10 * se_pair[0]
    np.testing.assert_allclose(mm.from_model(torch.tensor(samples)).numpy(), out, rtol=1e-12, atol=1e-12)
    same = MarketMatch(mm.target, mm.target)
    np.testing.assert_allclose(same.from_model(data), data, atol=1e-10)
    back = MarketMatch.from_dict(mm.to_dict())
    assert np.array_equal(back.from_model(samples), out)
    with pytest.raises(ValueError, match=r"samples of shape \(N, H, d\) with d >= 2"):
        MarketMatch.fit(samples[..., :1], data)
    # body="model": the data's tail parameters on the samples' location and scale. The body stays narrow: the
    # samples' (Gaussian) quartiles +-q move to +-q exp(h q^2 / 2) on each side, so the interquartile range
    # grows by (e^{h q^2/2} + e^{h_left q^2/2}) / 2 with q = 0.674 (3% here; tolerance 1%, for the
    # sample quartiles' error, about 0.3%, and the source fit's h of a few thousandths), not to the data's
    shape = MarketMatch.fit(samples, data, body="model")
    assert shape.target.loc == shape.source.loc and shape.target.scale == shape.source.scale
    assert shape.target.h_left == mm.target.h_left and shape.target.h == mm.target.h
    m_shape, m_in = shape.from_model(samples).mean(axis=2).ravel(), samples.mean(axis=2).ravel()
    iqr = [np.subtract(*np.quantile(v, [0.75, 0.25])) for v in (m_shape, m_in, m_data)]
    q75 = stats.norm.ppf(0.75)
    grow = (np.exp(mm.target.h[0] * q75**2 / 2) + np.exp(mm.target.h_left[0] * q75**2 / 2)) / 2
    assert abs(iqr[0] / iqr[1] / grow - 1) < 0.01 and iqr[2] / iqr[1] > 1.2
    # the crash tail in units of the body: (median - q 1%) / IQR is the target law's, computed in closed form
    # from g = Phi^{-1}(p); tolerance 4 standard errors of the sample 1% quantile, sqrt(p (1 - p) / n) / f,
    # f = phi(g) / (s T'(g)) the mapped law's density there, over the IQR
    t = shape.target
    g01, g25 = stats.norm.ppf(0.01), stats.norm.ppf(0.25)
    z = t.from_gaussian(np.array([[g01], [g25], [0.0], [-g25]]))[:, 0]
    want = (z[2] - z[0]) / (z[3] - z[1])
    slope = t.scale[0] * np.exp(t.h_left[0] * g01**2 / 2) * (1 + t.h_left[0] * g01**2)
    se = np.sqrt(0.01 * 0.99 / m_shape.size) / (stats.norm.pdf(g01) / slope) / iqr[0]
    got = (np.median(m_shape) - np.quantile(m_shape, 0.01)) / iqr[0]
    before = (np.median(m_in) - np.quantile(m_in, 0.01)) / iqr[1]
    assert abs(got - want) < 4 * se and want - before > 10 * se
    with pytest.raises(ValueError, match="body must be"):
        MarketMatch.fit(samples, data, body="both")


def test_state_dependent_fit_recovers_kappa():
    """Tails ``h rho^(-kappa)`` with a log-normal volatility state, 50,000 draws; the tolerance is 4 standard
    errors from the observed information of the likelihood with kappa. The same data without a state effect
    give a kappa within 4 standard errors of 0 (the fit clips kappa at 0, so only the upper side is tested)."""
    rng = np.random.default_rng(11)
    ratio = np.exp(rng.normal(0.0, 0.5, size=(50_000, 1)))
    truth = TukeyH(np.array([0.02]), np.array([0.9]), np.array([0.2]), np.array([6.0]), kappa=np.array([0.8]))
    g = rng.standard_normal((50_000, 1))
    z = truth.from_gaussian(g, ratio)
    fit = TukeyH.fit(z, ratio=ratio)
    theta = np.array([fit.loc[0], np.log(fit.scale[0]), np.log(fit.h[0]), fit.kappa[0]])
    true = np.array([0.02, np.log(0.9), np.log(0.2), 0.8])
    se = _hessian_se(lambda t: _nll(t, z[:, 0], ratio[:, 0]), theta, len(z))
    assert np.all(np.abs(theta - true) < 4 * se), (theta, true, se)
    assert fit.state_dependent and not TukeyH.fit(z).state_dependent
    # the fit's g_max is the largest |g| of the data under the fitted, state-dependent tails
    np.testing.assert_allclose(fit.g_max, np.abs(fit.to_gaussian(z, ratio)).max(0))
    flat = TukeyH(np.array([0.02]), np.array([0.9]), np.array([0.2]), np.array([6.0])).from_gaussian(g)
    free = TukeyH.fit(flat, ratio=ratio)
    theta = np.array([free.loc[0], np.log(free.scale[0]), np.log(free.h[0]), max(free.kappa[0], 1e-3)])
    se = _hessian_se(lambda t: _nll(t, flat[:, 0], ratio[:, 0]), theta, len(flat))
    assert free.kappa[0] < 4 * se[3], (free.kappa, se)


def test_state_dependent_tails_round_trip_thin_with_the_state_and_match_in_torch():
    t = TukeyH(np.array([0.1, 0.0]), np.array([0.5, 1.0]), np.array([0.3, 0.2]), np.array([3.0, 3.0]),
               np.array([0.4, 0.2]), kappa=np.array([0.5, 0.0]))
    g = np.linspace(-6, 6, 121)[:, None].repeat(2, 1)
    ratio = np.exp(np.linspace(-1.5, 1.5, 121))[:, None].repeat(2, 1)
    z = t.from_gaussian(g, ratio)
    np.testing.assert_allclose(t.to_gaussian(z, ratio), g, atol=1e-10)
    # asset 0: rho = 4 (clipped to 8 beyond) makes both tail parameters 4^-0.5 = 1/2 of their value
    at4 = TukeyH(t.loc, t.scale, t.h / 2, t.g_max, t.h_left / 2).from_gaussian(g)
    np.testing.assert_allclose(t.from_gaussian(g, np.full_like(g, 4.0))[:, 0], at4[:, 0], rtol=1e-14)
    np.testing.assert_array_equal(t.from_gaussian(g, np.full_like(g, 100.0)), t.from_gaussian(g, np.full_like(g, 8.0)))
    # asset 1 (kappa 0) ignores the state; without a state the tails are the stated h, h_left
    np.testing.assert_array_equal(z[:, 1], t.from_gaussian(g)[:, 1])
    assert t.from_gaussian(np.array([[-5.0, 0.0]]), np.array([[3.0, 1.0]]))[0, 0] > t.from_gaussian(
        np.array([[-5.0, 0.0]]))[0, 0]  # a crash state thins the left tail
    gt, rt = torch.tensor(g, requires_grad=True), torch.tensor(ratio)
    zt = t.from_gaussian(gt, rt)
    np.testing.assert_allclose(zt.detach().numpy(), z, rtol=1e-13)
    np.testing.assert_allclose(t.to_gaussian(zt.detach(), rt).numpy(), g, atol=1e-9)
    zt.sum().backward()
    assert torch.all(gt.grad > 0)


def test_state_free_dicts_and_bad_states_are_named():
    t = TukeyH.fit(np.random.default_rng(3).standard_t(4, size=(5_000, 2)))
    d = t.to_dict()
    assert d["kappa"] == [0.0, 0.0] and not t.state_dependent
    del d["kappa"]  # written before kappa existed
    g = np.random.default_rng(4).standard_normal((10, 2)) * 3
    np.testing.assert_array_equal(TukeyH.from_dict(d).from_gaussian(g, np.full((10, 2), 3.0)), t.from_gaussian(g))
    z = np.random.default_rng(5).standard_t(4, size=(100, 2))
    with pytest.raises(ValueError, match=r"ratio has shape \(100, 1\), z has \(100, 2\)"):
        TukeyH.fit(z, ratio=np.ones((100, 1)))
    with pytest.raises(ValueError, match="ratio must be finite and > 0"):
        TukeyH.fit(z, ratio=np.zeros((100, 2)))
