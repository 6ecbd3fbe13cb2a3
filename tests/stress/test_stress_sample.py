"""The stress entry point (:mod:`finscore.stress.sample`) against known truth on a Gaussian prior: tail
levels 0.99 / 0.999 with their cost against rejection, cap mode, and per-context pilots.

Exact answers: rejection sampling of the unguided sampler's draws, or the closed-form truncated Gaussian
(rejection from the exact model) where rejection would need millions of draws. Tolerances are derived from
Monte-Carlo error in ``conftest.compare`` (5 bootstrap standard errors; W1 against its permutation null).
"""

import math

import torch
from scipy import stats

from finscore.stress import VaRGuidance, cost_ratio, sample_stress


def test_matches_rejection_at_099_and_costs_a_tenth(gauss, tools):
    """Euler, alpha = 0.99: guided draws vs rejection from 100 000 unguided Euler draws (~1000 kept)."""
    out, sigmas = tools.guided(gauss.oracle, VaRGuidance(tools.weights, alpha=0.99), "euler")
    info = out.info["stress"]
    assert info["satisfied"] >= 0.95 and info["n_pilot"] == 2000
    ref, nfe = tools.rejection(gauss.oracle, "euler", sigmas, info["level"][0], 100_000, seed=7)
    assert len(ref) > 300  # ~1000: the pilot's VaR has ~20 exceedances, so its tail probability is 1% +- 22%
    tools.assert_close(tools.compare(out.x, ref))
    # cost per scenario in forward passes: rejection pays nfe / (1 - alpha); guided pays 3 nfe + the pilot
    assert cost_ratio(0.01, info["cost"], nfe) <= 0.1


def test_deep_tail_0999_matches_exact_truncation_and_costs_a_tenth(gauss, tools):
    """alpha = 0.999: rejection would need ~2 000 000 draws, so the reference is the exact truncated Gaussian
    (rejection from the exact model); ODE sampler, default pilot of 20 000 draws (~20 beyond VaR)."""
    out, sigmas = tools.guided(gauss.oracle, VaRGuidance(tools.weights, alpha=0.999), "ode")
    info = out.info["stress"]
    assert info["satisfied"] >= 0.95 and info["n_pilot"] == 20_000
    # the pilot's VaR: the true exceedance probability of the estimated level is 0.001 within ~5 sd
    # (binomial: about 20 exceedances, relative sd 1 / sqrt(20))
    tail = stats.norm.sf((info["level"][0] - gauss.loss_mean) / gauss.loss_sd)
    assert 0.001 * (1 - 5 / math.sqrt(20)) < tail < 0.001 * (1 + 5 / math.sqrt(20))
    ref = gauss.truncated(10_000, info["level"][0], seed=5)
    tools.assert_close(tools.compare(out.x, ref))
    assert cost_ratio(0.001, info["cost"], out.nfe) <= 0.1


def test_cap_mode_matches_exact_truncation(gauss, tools):
    """Cap at the 16% quantile of the loss (explicit level): the body below it, vs the exact truncation."""
    level = gauss.loss_mean - gauss.loss_sd
    out, _ = tools.guided(gauss.oracle, VaRGuidance(tools.weights, mode="cap", loss=level), "ode", seed=3)
    info = out.info["stress"]
    assert info["satisfied"] >= 0.95 and info["level"] == [level]
    p = stats.norm.cdf(-1.0)  # share of the 1000 pilot draws meeting the cap: within 5 binomial sd
    assert abs(info["pilot_accept"][0] - p) < 5 * math.sqrt(p * (1 - p) / 1000)
    tools.assert_close(tools.compare(out.x, gauss.truncated(10_000, level, mode="cap", seed=4)))


def test_contexts_get_their_own_pilot_and_level(gauss, tools):
    """Two contexts in one batch (a mean shift by ``cond``, a per-row scale in the loss): each gets the VaR of
    its own conditional law, and each row meets its own level."""
    scale = torch.tensor([[0.01, 0.02, 0.015], [0.03, 0.01, 0.02]], dtype=torch.float64)

    def model(x, sigma, cond):  # N(mu + c, S) for context value c
        shift = cond[:, :1, None]
        return shift + gauss.oracle(x - shift, sigma)

    guidance = VaRGuidance(tools.weights, alpha=0.95)
    groups = torch.arange(400) % 2
    cond = torch.tensor([0.0, -1.0], dtype=torch.float64)[groups][:, None]
    loss_fn = guidance.loss_fn(3, scale=scale[groups])  # true buy-and-hold loss of daily log returns
    sigmas = tools.geometric(25)
    x, g = tools.noise(400, sigmas, 9)
    out = sample_stress(model, x, sigmas, guidance, loss_fn=loss_fn, sampler="ode", extra_args={"cond": cond},
                        generator=g)
    info = out.info["stress"]
    levels = info["level_per_row"][:2]  # rows 0 and 1 belong to contexts 0 and 1
    assert len(info["level"]) == 2 and torch.equal(info["level_per_row"], levels[groups])
    losses = loss_fn(out.x)
    assert (losses >= info["level_per_row"]).double().mean() >= 0.95
    for c in range(2):  # exact VaR_0.95 from 400 000 exact draws of the context's law
        x0 = gauss.oracle.sample(400_000, generator=torch.Generator().manual_seed(c)).reshape(-1, *tools.shape)
        truth = guidance.loss_fn(3, scale=scale[c])(x0 + cond[c].item())
        var = torch.quantile(truth, 0.95).item()
        density = ((truth - var).abs() < 0.002).double().mean().item() / 0.004  # f(VaR) by a histogram bin
        se = math.sqrt(0.95 * 0.05 / 1000) / density  # sd of the 1000-draw pilot's empirical quantile
        assert abs(levels[c].item() - var) < 5 * se
    assert levels[1] > levels[0]  # context 1: lower mean returns, larger scale
