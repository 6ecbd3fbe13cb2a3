"""Conditioning: static asset descriptors (principal-component loadings) and target scales."""

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


def _gjr(d=3):
    from finscore.baselines._volatility import GJRParams

    return GJRParams(mu=np.full(d, 1e-4), omega=np.full(d, 2e-6), alpha=np.array([0.03, 0.05, 0.0]),
                     gamma=np.array([0.10, 0.0, 0.0]), beta=np.array([0.90, 0.90, 0.95]))


def test_gjr_target_scale_is_the_filtered_variance_forecast():
    from finscore.conditioning import gjr_target_scale

    p = _gjr()
    pers = p.alpha + 0.5 * p.gamma + p.beta
    uncond = p.omega / (1.0 - pers)
    rng = np.random.default_rng(3)
    ctx = rng.standard_normal((4, 60, 3)) * 0.015
    path = gjr_target_scale(ctx, p, uncond, 20, path=True)
    assert path.shape == (4, 20, 3)
    for i in range(4):  # day 1 is the one-step forecast of the filter started at the unconditional variance
        np.testing.assert_allclose(path[i, 0] ** 2, p.filter(ctx[i], uncond)[-1])
    s2 = path[:, :1] ** 2
    h = np.arange(20)[None, :, None]
    np.testing.assert_allclose(path**2, uncond + (s2 - uncond) * pers**h)  # U + (s2 - U) p^(h-1)
    np.testing.assert_allclose(gjr_target_scale(ctx, p, uncond, 20), np.sqrt(np.mean(path**2, axis=1)))
    # returns equal to the mean: no shocks, so s2 <- omega + beta s2 from U, for 60 days
    flat = gjr_target_scale(np.full((1, 60, 3), 1e-4), p, uncond, 1)
    fixed = p.omega / (1.0 - p.beta)
    np.testing.assert_allclose(flat[0] ** 2, fixed + (uncond - fixed) * p.beta**60)


def test_gjr_target_scale_matches_monte_carlo_of_the_gjr_process():
    """The h-step forecast E[r_{t+h}^2] of the simulated GJR process, Gaussian innovations (kappa = 1/2)."""
    from finscore.conditioning import gjr_target_scale

    p = _gjr()
    pers = p.alpha + 0.5 * p.gamma + p.beta
    uncond = p.omega / (1.0 - pers)
    ctx = np.zeros((1, 60, 3))
    ctx[0, -1] = -0.06  # a crash yesterday: the forecast starts well above U and decays toward it
    path = gjr_target_scale(ctx, p, uncond, 10, path=True)[0]  # (10, 3)
    n = 200_000
    z = np.random.default_rng(0).standard_normal((n, 10, 3))
    sims = p.simulate(z, path[0] ** 2) - p.mu  # eps paths (n, 10, 3)
    m2 = np.mean(sims**2, axis=0)
    se = np.std(sims**2, axis=0) / np.sqrt(n)
    assert np.all(np.abs(m2 - path**2) < 4 * se)  # 4 MC standard errors, 30 comparisons
    # the leverage term: a fall raises the forecast more than a rise of the same size where gamma > 0 only
    ctx[0, -1] = 0.06 + 2 * p.mu  # the same shock size |r - mu| as the fall
    up = gjr_target_scale(ctx, p, uncond, 10, path=True)[0]
    assert path[0, 0] > 1.5 * up[0, 0]  # asset 0: gamma = 0.10 on top of alpha = 0.03
    np.testing.assert_allclose(path[:, 1:], up[:, 1:])  # assets 1 and 2: gamma = 0


def test_gjr_vol_model_needs_parameters_and_a_known_name():
    from finscore.conditioning import StateSpec, state_features

    with pytest.raises(ValueError, match="vol_model must be one of"):
        StateSpec(vol_model="garch")
    ctx = np.random.default_rng(1).standard_normal((2, 60, 3)) * 0.01
    with pytest.raises(ValueError, match="needs the fitted GJR parameters"):
        state_features(ctx, np.full(3, 0.01), 0.01, StateSpec(vol_model="gjr"), horizon=5)
    p = _gjr()
    uncond = p.omega / (1.0 - p.alpha - 0.5 * p.gamma - p.beta)
    _, _, scale = state_features(ctx, np.full(3, 0.01), 0.01, StateSpec(vol_model="gjr"), horizon=5, vol=(p, uncond))
    from finscore.conditioning import gjr_target_scale

    np.testing.assert_allclose(scale, gjr_target_scale(ctx, p, uncond, 5))


def test_gjr_standardize_and_rebuild_are_inverse_and_start_at_the_context_forecast():
    import torch

    from finscore.conditioning import (
        gjr_context_variance,
        gjr_rebuild,
        gjr_standardize,
        gjr_target_scale,
    )

    p = _gjr()
    uncond = p.omega / (1.0 - p.alpha - 0.5 * p.gamma - p.beta)
    rng = np.random.default_rng(4)
    ctx = rng.standard_normal((5, 60, 3)) * 0.015
    s2 = gjr_context_variance(ctx, p, uncond)
    # the first target day is scaled by the forecast-mode scale of day 1
    np.testing.assert_allclose(s2, gjr_target_scale(ctx, p, uncond, 20, path=True)[:, 0] ** 2)
    z = rng.standard_normal((5, 20, 3))
    r = gjr_rebuild(z, s2, p)
    np.testing.assert_array_equal(r, p.simulate(z, s2))
    np.testing.assert_allclose(gjr_standardize(r, s2, p), z, rtol=0, atol=1e-12)
    # day h's variance is the filter run through the window's own earlier days
    for i in range(5):
        np.testing.assert_allclose((r[i] - p.mu) / np.sqrt(p.filter(r[i], s2[i])[:-1]), z[i], atol=1e-12)
    # torch: same values, differentiable (the stress guidance differentiates the book's loss through it)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    rt = gjr_rebuild(zt, torch.tensor(s2), p)
    np.testing.assert_allclose(rt.detach().numpy(), r, rtol=1e-12)
    assert torch.autograd.gradcheck(lambda a: gjr_rebuild(a, torch.tensor(s2[:2]), p), (zt[:2, :4].detach()
                                                                                          .requires_grad_(),))


def test_gjr_rebuild_with_a_state_dependent_marginal_inverts_the_standardized_transform():
    """Training maps r -> z (GJR) -> g (tails at each day's variance); the sampler maps g back inside the
    recursion, knowing each day's variance only from the days it rebuilt. The round trip is exact."""
    import torch

    from finscore.conditioning import gjr_context_variance, gjr_rebuild, gjr_standardize
    from finscore.tails import TukeyH

    p = _gjr()
    uncond = p.omega / (1.0 - p.alpha - 0.5 * p.gamma - p.beta)
    rng = np.random.default_rng(7)
    ctx = rng.standard_normal((4, 60, 3)) * 0.02
    s2 = gjr_context_variance(ctx, p, uncond)
    r = rng.standard_t(3, size=(4, 20, 3)) * 0.02
    tails = TukeyH(np.zeros(3), np.full(3, 0.8), np.array([0.1, 0.2, 0.3]), np.full(3, 4.0),
                   kappa=np.array([0.3, 0.6, 1.0]))
    z, var = gjr_standardize(r, s2, p, return_variance=True)
    np.testing.assert_allclose(var[:, 0], s2)
    np.testing.assert_array_equal(z, gjr_standardize(r, s2, p))
    g = tails.to_gaussian(z, np.sqrt(var / uncond))

    def marginal(gt, v):
        ratio = np.sqrt(v / uncond) if isinstance(v, np.ndarray) else torch.sqrt(v / torch.tensor(uncond))
        return tails.from_gaussian(gt, ratio)

    np.testing.assert_allclose(gjr_rebuild(g, s2, p, marginal=marginal), r, rtol=1e-10, atol=1e-14)
    rt = gjr_rebuild(torch.tensor(g), torch.tensor(s2), p, marginal=marginal)
    np.testing.assert_allclose(rt.numpy(), r, rtol=1e-10, atol=1e-14)
    # with a state-free marginal it is the plain rebuild of the mapped innovations
    flat = TukeyH(tails.loc, tails.scale, tails.h, tails.g_max)
    np.testing.assert_allclose(gjr_rebuild(g, s2, p, marginal=lambda gt, v: flat.from_gaussian(gt)),
                               gjr_rebuild(flat.from_gaussian(g), s2, p), rtol=1e-13)


def test_capped_gjr_update_bounds_the_shock_and_round_trips():
    """With ``cap`` the squared shock enters the variance update as min(eps^2, cap^2 s2): hand-computed on one
    day, the plain update below the cap, a bounded variance after any shock, and standardize/rebuild stay exact
    inverses (numpy and differentiable torch)."""
    import torch

    from finscore.conditioning import gjr_context_variance, gjr_rebuild, gjr_standardize

    p = _gjr()
    s2 = np.array([[1e-4, 2e-4, 4e-4]])
    eps = np.array([[-0.05, 0.10, 0.0]])  # -5 and 7 standard deviations (the third asset has no ARCH term)
    want = p.omega + (p.alpha + p.gamma * (eps < 0)) * np.minimum(eps**2, 9.0 * s2) + p.beta * s2
    np.testing.assert_allclose(p.step(eps, s2, 3.0), want, rtol=1e-14)
    assert np.all(p.step(eps, s2, 3.0)[0, :2] < p.step(eps, s2)[0, :2])  # beyond the cap, smaller
    small = np.array([[-0.005, 0.002, 0.0]])  # below the cap: the plain update
    np.testing.assert_allclose(p.step(small, s2, 3.0), p.step(small, s2), rtol=1e-14)
    # however large the shock, it counts as 3 sd: the next variance is at most omega + (alpha + gamma) 9 s2 + beta s2
    huge = np.array([[-10.0, -10.0, -10.0]])
    np.testing.assert_allclose(p.step(huge, s2, 3.0), p.omega + (p.alpha + p.gamma) * 9.0 * s2 + p.beta * s2,
                               rtol=1e-14)
    uncond = p.omega / (1.0 - p.alpha - 0.5 * p.gamma - p.beta)
    rng = np.random.default_rng(11)
    s2 = gjr_context_variance(rng.standard_normal((4, 60, 3)) * 0.015, p, uncond)
    r = rng.standard_t(2.5, size=(4, 20, 3)) * 0.02  # heavy tails: many shocks beyond 3 sd
    z, var = gjr_standardize(r, s2, p, return_variance=True, cap=3.0)
    assert np.mean(np.abs(z) > 3.0) > 0.01  # the cap binds on this data
    _, var_plain = gjr_standardize(r, s2, p, return_variance=True)
    assert np.all(var <= var_plain * (1 + 1e-12)) and np.any(var < 0.9 * var_plain)
    np.testing.assert_allclose(gjr_rebuild(z, s2, p, cap=3.0), r, rtol=1e-10, atol=1e-14)
    assert not np.allclose(gjr_rebuild(z, s2, p), r)  # the inverse needs the same cap
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    np.testing.assert_allclose(gjr_rebuild(zt, torch.tensor(s2), p, cap=3.0).detach().numpy(), r, rtol=1e-10)
    assert torch.autograd.gradcheck(lambda a: gjr_rebuild(a, torch.tensor(s2[:2]), p, cap=3.0),
                                    (zt[:2, :4].detach().requires_grad_(),))


def test_volatility_features_index_the_level_and_term_structure_of_the_book_and_the_assets():
    from finscore.conditioning import StateSpec, ewma_volatility, state_features

    rng = np.random.default_rng(3)
    ctx = rng.standard_normal((4, 60, 3)) * np.array([0.01, 0.02, 0.015])
    spec = StateSpec()
    long_run = np.array([0.012, 0.018, 0.02])
    cond, acond, _ = state_features(ctx, long_run, 0.01, spec)
    keep, keep_asset = spec.volatility_features()
    assert keep_asset == (0, 1, 2, 3) and keep == (0, 1, 2, 3, spec.n_asset_features() + 2)
    assert spec.volatility_features(level=False) == ((1, 2, 3), (1, 2, 3))  # the term structure only
    ewma = ewma_volatility(ctx, spec.ewma_lambda)
    np.testing.assert_allclose(acond[:, :, 0], np.log(ewma / long_run), rtol=1e-10)
    for j, win in enumerate(spec.vol_windows, start=1):  # realized volatility over the window / today's EWMA
        np.testing.assert_allclose(acond[:, :, j], np.log(np.sqrt(np.mean(ctx[:, -win:] ** 2, axis=1)) / ewma),
                                   rtol=1e-6)
    book = ctx.mean(axis=2)
    np.testing.assert_allclose(cond[:, 0], np.log(ewma_volatility(book[:, :, None], spec.ewma_lambda)[:, 0] / 0.01),
                               rtol=1e-10)
    np.testing.assert_allclose(cond[:, keep[-1]], acond[:, :, 0].mean(axis=1))
