"""finscore.model: the guidance modes and noise levels of ``generate`` against the closed forms of Gaussian denoisers."""

import numpy as np
import pytest
import torch

from finscore.model import (
    SamplingPlan,
    generate,
    mixture_rows,
    noise_levels,
    refine_level,
    sampling_denoiser,
)


def test_mixture_rows_give_each_context_its_share_spread_evenly():
    rows = mixture_rows(1000, 500, 0.2)
    assert rows.dtype == bool and rows.shape == (1000,)
    assert rows.reshape(2, 500).sum(axis=1).tolist() == [100, 100]
    assert np.flatnonzero(rows[:20]).tolist() == [4, 9, 14, 19]  # every 5th row, so any prefix holds ~20%
    for share in (0.0, 0.1, 0.3, 1 / 3, 0.5, 1.0):
        counts = mixture_rows(700, 350, share).reshape(2, 350).sum(axis=1)
        assert counts.tolist() == [int(np.floor(350 * share + 1e-9))] * 2
        prefix = mixture_rows(350, 350, share)[:100].sum()
        assert abs(prefix - 100 * share) <= 1


class GaussianDenoisers(torch.nn.Module):
    """Exact denoisers of two Gaussian laws per coordinate: conditional ``N(cond[:, 0], s_c^2)`` (rows whose
    ``cond_mask`` is True) and unconditional ``N(0, s_u^2)``; the posterior mean is
    ``m + s^2 / (s^2 + sigma^2) (x - m)``."""

    def __init__(self, s_c: float, s_u: float) -> None:
        super().__init__()
        self.s_c, self.s_u = s_c, s_u

    def forward(self, x, sigma, cond=None, asset_cond=None, cond_mask=None):
        sig2 = sigma.reshape(-1, 1, 1) ** 2
        m_c = cond[:, :1, None].to(x.dtype)
        d_c = m_c + self.s_c**2 / (self.s_c**2 + sig2) * (x - m_c)
        d_u = self.s_u**2 / (self.s_u**2 + sig2) * x
        if cond_mask is None:
            return d_c
        return torch.where(cond_mask.reshape(-1, 1, 1), d_c, d_u)

    energy_form = True

    def energy(self, x, sigma, cond=None, asset_cond=None, cond_mask=None):
        """``-log p_sigma(x)`` up to a constant per branch, (B,): each branch's sum of ``(x - m)^2 / (2 (s^2 + sigma^2))``."""
        sig2 = sigma.reshape(-1, 1, 1) ** 2
        m_c = cond[:, :1, None].to(x.dtype)
        e_c = ((x - m_c) ** 2 / (2 * (self.s_c**2 + sig2))).flatten(1).sum(1)
        e_u = (x**2 / (2 * (self.s_u**2 + sig2))).flatten(1).sum(1)
        return e_c if cond_mask is None else torch.where(cond_mask, e_c, e_u)


def _draw(mode, scale, n=4000):
    plan = SamplingPlan(sampler="ode", steps=48, guidance_scale=scale, sigma_min=0.002, sigma_max=80.0,
                        guidance_mode=mode, schedule="karras")
    cond = np.full((n, 1), 2.0)  # one context whose conditional mean is 2
    acond = np.zeros((n, 3, 1))
    x, _ = generate(GaussianDenoisers(0.5, 1.5), plan, cond, acond, np.ones((n, 3)), 4,
                    np.random.default_rng(0), group_size=n, device="cpu")
    return x  # (n, 4, 3)


def test_mixture_draws_each_scenario_from_one_branch_with_the_branch_law():
    # A share w = 0.25 of the rows follows N(2, 0.5^2), the rest N(0, 1.5^2), coordinate by coordinate (the
    # denoisers act per coordinate and the noise is independent, so 1,000 / 3,000 rows x 12 coordinates are
    # 12,000 / 36,000 independent draws): standard errors of the means 0.5 / sqrt(12,000) = 0.005 and
    # 1.5 / sqrt(36,000) = 0.008, of the variances sqrt(2 / 12,000) = 1.3% and 0.7% (relative); the
    # tolerances are 4 standard errors plus 1% for the 48-level Heun discretization.
    x = _draw("mixture", 0.25)
    rows = mixture_rows(len(x), len(x), 0.25)
    c, u = x[rows].ravel(), x[~rows].ravel()
    assert rows.sum() == 1000
    assert abs(c.mean() - 2.0) < 4 * 0.005 + 0.01 and abs(u.mean()) < 4 * 0.008 + 0.01
    assert abs(c.var() / 0.25 - 1) < 4 * 0.013 + 0.01 and abs(u.var() / 2.25 - 1) < 4 * 0.007 + 0.01
    # the pooled law is the mixture: variance w s_c^2 + (1 - w) s_u^2 + w (1 - w) m^2 = 2.5 (standard error
    # of the pooled variance below 1% for 48,000 draws of this mixture; tolerance 5%)
    assert abs(x.var() / 2.5 - 1) < 0.05


def test_blend_narrows_where_the_mixture_keeps_the_spread():
    # The blend D_u + w (D_c - D_u) of two Gaussian denoisers is linear in x, D = a(sigma) x + b(sigma) with
    # a = (1 - w) s_u^2 / (s_u^2 + sigma^2) + w s_c^2 / (s_c^2 + sigma^2), so the probability flow
    # dx/dsigma = (x - D) / sigma scales the variance by exp(-2 int (1 - a) / sigma dsigma): started at
    # sigma_max^2 it ends at sigma_max^2 ((s_u^2 + smin^2) / (s_u^2 + smax^2))^(1 - w) ((s_c^2 + smin^2) /
    # (s_c^2 + smax^2))^w, about s_u^(2 (1 - w)) s_c^(2 w) = 1.30: the geometric mean of the branches'
    # variances, below both the unconditional 2.25 and the mixture's 2.5. 48,000 independent coordinates:
    # standard error of the variance sqrt(2 / 48,000) = 0.65% (relative); tolerance 4 SE + 1% for the
    # 48-level Heun discretization.
    w, s_c2, s_u2, lo, hi = 0.25, 0.25, 2.25, 0.002**2, 80.0**2
    expected = hi * ((s_u2 + lo) / (s_u2 + hi)) ** (1 - w) * ((s_c2 + lo) / (s_c2 + hi)) ** w
    x = _draw("blend", w).ravel()
    assert abs(x.var() / expected - 1) < 4 * 0.0065 + 0.01
    assert 0.0 < x.mean() < 2.0  # pulled toward the conditional mean, not onto it
    m = _draw("mixture", w).ravel()
    assert abs(m.var() / 2.5 - 1) < 0.05 and m.var() > 1.8 * x.var()


@pytest.mark.parametrize("scale", [-0.1, 1.5, float("nan")])
def test_mixture_share_must_be_a_probability(scale):
    plan = SamplingPlan(sampler="ode", steps=4, guidance_scale=scale, sigma_min=0.01, sigma_max=10.0,
                        guidance_mode="mixture")
    with pytest.raises(ValueError, match="guidance_scale"):
        generate(GaussianDenoisers(1.0, 1.0), plan, np.zeros((2, 1)), np.zeros((2, 3, 1)), np.ones((2, 3)), 4,
                 np.random.default_rng(0), device="cpu")


def test_sampling_denoiser_is_what_generate_follows():
    """The denoiser whose validation loss ``val_denoiser="sampling"`` selects checkpoints by: the blend, the
    plain conditional model at weight 1, or the mixture's rows (a caller's cond_mask is ignored)."""
    model = GaussianDenoisers(0.5, 1.5)
    x, sigma = torch.randn(10, 4, 3, dtype=torch.float64), torch.full((10,), 0.7, dtype=torch.float64)
    cond, acond = torch.full((10, 1), 2.0), torch.zeros(10, 3, 1)
    ones, zeros = torch.ones(10, dtype=torch.bool), torch.zeros(10, dtype=torch.bool)
    d_c, d_u = model(x, sigma, cond, acond, ones), model(x, sigma, cond, acond, zeros)
    blend = sampling_denoiser(model, "blend", 0.25)(x, sigma, cond, acond, cond_mask=zeros)
    torch.testing.assert_close(blend, d_u + 0.25 * (d_c - d_u))
    assert sampling_denoiser(model, "blend", 1.0) is model
    mixed = sampling_denoiser(model, "mixture", 0.3)(x, sigma, cond, acond, cond_mask=ones)
    rows = torch.as_tensor(mixture_rows(10, 10, 0.3))
    torch.testing.assert_close(mixed, torch.where(rows[:, None, None], d_c, d_u))
    with pytest.raises(ValueError, match="guidance_scale"):
        sampling_denoiser(model, "mixture", 1.5)


def _unit_flow_spread(schedule: str, steps: int = 16, sigma_max: float = 47.0) -> float:
    """Output sd of DPM-Solver++(2M) on the exact probability flow of N(0, 1) data, started from N(0, sigma_max^2):
    the exact denoiser x / (1 + sigma^2) makes every step linear, so the output is a x_T and its sd a sigma_max."""
    from finscore.sampling import sample_dpmpp_2m

    plan = SamplingPlan(sampler="dpmpp_2m", steps=steps, guidance_scale=1.0, sigma_min=0.01, sigma_max=sigma_max,
                        schedule=schedule)
    x = torch.full((1, 1), sigma_max, dtype=torch.float64)
    out = sample_dpmpp_2m(lambda x, sigma, **kw: x / (1 + sigma**2), x, noise_levels(plan).to(torch.float64)).x
    return float(out)


def test_noise_levels_geometric_are_uniform_in_log_sigma_and_karras_are_edms():
    from finscore.diffusion import sigmas_karras

    plan = SamplingPlan(sampler="dpmpp_2m", steps=16, guidance_scale=1.0, sigma_min=0.01, sigma_max=47.0,
                        schedule="geometric")
    levels = noise_levels(plan)
    assert levels.shape == (17,) and levels[-1] == 0
    torch.testing.assert_close(levels[[0, 15]].double(), torch.tensor([47.0, 0.01], dtype=torch.float64))
    steps = torch.diff(torch.log(levels[:16].double()))
    torch.testing.assert_close(steps, torch.full_like(steps, np.log(0.01 / 47.0) / 15))
    karras = SamplingPlan(**{**plan.__dict__, "schedule": "karras"})
    torch.testing.assert_close(noise_levels(karras), sigmas_karras(16, 0.01, 47.0))
    with pytest.raises(ValueError, match=r"schedule must be one of \('karras', 'geometric'\), got 'linear'"):
        noise_levels(SamplingPlan(**{**plan.__dict__, "schedule": "linear"}))


def test_geometric_levels_widen_the_exact_gaussian_flow_less_than_edms():
    # DPM-Solver++(2M) at the default's 16 levels from the stocks' sigma_max (47): EDM's levels widen unit-variance
    # data by 4.3% in sd, geometric ones by 1.7% (the flow's exact output is sd 1); both converge with more levels
    karras, geometric = _unit_flow_spread("karras"), _unit_flow_spread("geometric")
    assert 0.04 < karras - 1 < 0.05 and 0.01 < geometric - 1 < 0.02
    assert abs(_unit_flow_spread("karras", steps=256) - 1) < 0.002 and abs(_unit_flow_spread("geometric", steps=256) - 1) < 0.002
    # generate() follows the plan's schedule: 4,000 rows x 4 days x 3 assets = 48,000 independent unit-variance
    # coordinates (the exact denoiser acts per coordinate), standard error of the variance sqrt(2 / 48,000) = 0.65%
    # relative; the two schedules' variances (1.089 and 1.034) are 8 standard errors apart; tolerance 4
    for schedule, sd in (("karras", karras), ("geometric", geometric)):
        plan = SamplingPlan(sampler="dpmpp_2m", steps=16, guidance_scale=1.0, sigma_min=0.01, sigma_max=47.0,
                            schedule=schedule)
        x, _ = generate(GaussianDenoisers(1.0, 1.0), plan, np.zeros((4000, 1)), np.zeros((4000, 3, 1)),
                        np.ones((4000, 3)), 4, np.random.default_rng(0), device="cpu")
        assert abs(x.var() / sd**2 - 1) < 4 * 0.0065, schedule


def test_refine_level_is_the_nearest_positive_level_in_log_sigma():
    sigmas = torch.tensor([10.0, 1.0, 0.1, 0.0])
    assert refine_level(sigmas, None) == 2  # the smallest positive level
    assert [refine_level(sigmas, s) for s in (50.0, 3.0, 3.3, 0.3, 0.01)] == [0, 1, 0, 2, 2]  # sqrt(10) = 3.16
    for bad in (0.0, -1.0, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="refine_sigma must be None"):
            refine_level(sigmas, bad)


def test_refinement_at_a_middle_level_removes_the_samplers_bias():
    # DPM-Solver++(2M) on EDM's 16 levels widens N(0, 1) data by 4.3% in sd (test above). Refined at the level k
    # nearest sigma = 1 with the exact energy, the windows at that level follow N(0, 1 + sigma_k^2) (MALA leaves
    # it invariant and mixes within its 100 steps in 12 dimensions), and the sampler finishes from there: the
    # flow is linear, so the output sd is that of the remaining levels started from sd sqrt(1 + sigma_k^2).
    # 4,000 rows x 12 coordinates: standard error of the variance sqrt(2 / 48,000) = 0.65% relative; tolerance
    # 4 standard errors. The refined flow's variance is 1.011, the plain sampler's 1.089: 12 standard errors apart.
    from finscore.sampling import sample_dpmpp_2m

    plan = SamplingPlan(sampler="dpmpp_2m", steps=16, guidance_scale=1.0, sigma_min=0.01, sigma_max=47.0,
                        schedule="karras", refine="mala", refine_sigma=1.0)
    sigmas = noise_levels(plan).to(torch.float64)
    k = refine_level(sigmas, 1.0)
    start = torch.full((1, 1), float(torch.sqrt(1 + sigmas[k] ** 2)), dtype=torch.float64)
    sd = float(sample_dpmpp_2m(lambda x, sigma, **kw: x / (1 + sigma**2), start, sigmas[k:]).x)
    assert 0.5 < sigmas[k] < 2 and abs(sd - 1) < 0.01 and _unit_flow_spread("karras") - 1 > 0.04
    model, n = GaussianDenoisers(1.0, 1.0), 4000
    x, info = generate(model, plan, np.zeros((n, 1)), np.zeros((n, 3, 1)), np.ones((n, 3)), 4,
                       np.random.default_rng(0), device="cpu")
    assert abs(x.var() / sd**2 - 1) < 4 * 0.0065
    assert info["refine"]["sigma"] == pytest.approx(float(sigmas[k])) and 0.3 < info["refine"]["accept_rate"] < 0.9
    assert info["nfe"] == 16  # the levels down to sigma_k, then from it: every level once
    with pytest.raises(ValueError, match="refine and stress guidance cannot be combined"):
        generate(model, plan, np.zeros((8, 1)), np.zeros((8, 3, 1)), np.ones((8, 3)), 4, np.random.default_rng(0),
                 guidance=object(), device="cpu")


class _Stop(Exception):
    pass


def test_loguniform_training_covers_the_samplers_top_noise_level(monkeypatch):
    """The sampler starts at build_denoiser's data-derived sigma_max; training drew from [sigma_min, 80] before."""
    from finscore import diffusion
    from finscore.model import fit_denoiser
    from finscore.presets import resolve_config

    seen = {}

    def record(lo, hi):
        seen["range"] = (lo, hi)
        raise _Stop

    monkeypatch.setattr(diffusion, "LogUniformSigma", record)
    cfg = resolve_config("tiny", 10, 60, {"train_sigma": "loguniform"})
    with pytest.raises(_Stop):
        fit_denoiser(None, cfg, {}, None, seed=0, device="cpu", progress=False, sigma_max=130.4)
    assert seen["range"] == (cfg.sigma_min, 130.4)


def test_validation_at_guidance_weight_1_judges_the_conditional_denoiser(monkeypatch):
    """At weight 1 the sampler follows the bare model with its condition on; the validation loss passed it the DSM
    loss's condition-dropout mask, so nine rows in ten were judged unconditional."""
    import finscore.train as train_module
    from finscore.model import fit_denoiser
    from finscore.presets import resolve_config

    captured = {}

    def capture(*args, val_model=None, **kwargs):
        captured["val_model"] = val_model
        raise _Stop

    monkeypatch.setattr(train_module, "train", capture)
    cfg = resolve_config("tiny", 10, 60, {"val_denoiser": "sampling", "guidance_scale": 1.0})
    with pytest.raises(_Stop):
        fit_denoiser(torch.nn.Identity(), cfg, {}, None, seed=0, device="cpu", progress=False)
    masks = []

    def fake(x, sigma, cond=None, asset_cond=None, cond_mask=None):
        masks.append(cond_mask)
        return x

    judged = captured["val_model"](fake)
    mask = torch.zeros(4, dtype=torch.bool)
    judged(torch.zeros(4, 10, 2), torch.ones(4), cond=torch.zeros(4, 3), cond_mask=mask)
    assert masks == [None]
