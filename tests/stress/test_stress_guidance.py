"""Constraint guidance (:mod:`finscore.stress.guidance`) against known truth: a Gaussian prior, a linear loss.

For x0 ~ N(mu, S) and L = a^T x0 the guided denoiser is the exact conditional denoiser, so every sampler
must reproduce rejection sampling of its own unguided draws (the issue's definition of the exact answer).
Tolerances are derived from Monte-Carlo error in ``conftest.compare`` (5 bootstrap standard errors; W1
against its permutation null).
"""

import math

import pytest
import torch

from finscore.stress import VaRGuidance, constraint_guided

N = 2000


@pytest.mark.parametrize("mode", ["exceed", "cap"])
def test_guided_denoiser_is_the_exact_conditional_denoiser(gauss, tools, mode):
    """Gaussian prior + linear loss: D + sigma^2 grad log Phi(z) equals x + sigma^2 grad log p_sigma(x | c)
    computed in closed form (L | x_sigma ~ N(a^T D(x), sigma^2 a^T S (S + sigma^2)^-1 a))."""
    level = gauss.loss_mean + 1.5 * gauss.loss_sd
    guided = constraint_guided(gauss.oracle, tools.linear_loss, level, mode=mode)
    x = 2.0 * torch.randn(64, *tools.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    sign = 1.0 if mode == "exceed" else -1.0
    for sigma in (5.0, 0.5, 0.02):
        eye = torch.eye(6, dtype=torch.float64)
        noisy = torch.distributions.MultivariateNormal(gauss.mu, gauss.cov + sigma**2 * eye)
        gain = gauss.cov @ torch.linalg.inv(gauss.cov + sigma**2 * eye)
        s = sigma * float(gauss.a @ gain @ gauss.a) ** 0.5
        xf = x.reshape(64, 6).clone().requires_grad_(True)
        mean_loss = gauss.a @ gauss.mu + (xf - gauss.mu) @ gain.T @ gauss.a
        logp = noisy.log_prob(xf) + torch.special.log_ndtr(sign * (mean_loss - level) / s)
        (score,) = torch.autograd.grad(logp.sum(), xf)
        expected = x + sigma**2 * score.reshape(x.shape)
        got = guided(x, torch.full((64,), sigma, dtype=torch.float64))
        torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["euler", "langevin", "ode", "pc"])
def test_every_sampler_matches_its_rejection(gauss, tools, name):
    """alpha = 0.9 (cheap rejection: 20 000 unguided draws keep ~2000) for each sampler of the registry."""
    out, sigmas = tools.guided(gauss.oracle, VaRGuidance(tools.weights, alpha=0.9), name, seed=1)
    info = out.info["stress"]
    assert info["satisfied"] >= 0.95
    ref, _ = tools.rejection(gauss.oracle, name, sigmas, info["level"][0], 20_000, seed=2)
    tools.assert_close(tools.compare(out.x, ref))


def test_temperature_targets_the_soft_constraint(gauss, tools):
    """temperature tau: the target is p(x0) Phi((L - level) / tau); its loss law (a skew normal) by quadrature.
    Mean within 5 se (sd / sqrt(n)); sd within 5 se of a sample sd (sd / sqrt(2 n), normal approximation)."""
    m, v = gauss.loss_mean, gauss.loss_sd
    level, tau = m + 2 * v, 0.5 * v
    grid = torch.linspace(m - 8 * v, m + 10 * v, 20001, dtype=torch.float64)
    dens = torch.exp(-0.5 * ((grid - m) / v) ** 2) * torch.special.ndtr((grid - level) / tau)
    dens = dens / dens.sum()
    mean = (grid * dens).sum().item()
    sd = ((grid - mean) ** 2 * dens).sum().sqrt().item()
    out, _ = tools.guided(gauss.oracle, VaRGuidance(tools.weights, loss=level, temperature=tau), "ode", seed=6)
    losses = tools.linear_loss(out.x)
    assert abs(losses.mean().item() - mean) < 5 * sd / math.sqrt(N)
    assert abs(losses.std().item() - sd) < 5 * sd / math.sqrt(2 * N)


def test_a_diverged_guided_path_is_a_numerical_error_not_a_blamed_loss(gauss, tools):
    """Before, a non-finite loss gradient at Tweedie's mean surfaced as "loss_fn is not finite at the posterior
    draws" (or as an IndexError in the normal-score table)."""
    from finscore.errors import NumericalError

    def blown(x0):  # a loss that overflows where the paths went far out
        return torch.where(x0.abs().amax((1, 2)) > 1.0, torch.full_like(x0[:, 0, 0], math.inf), tools.linear_loss(x0))

    guided = constraint_guided(gauss.oracle, blown, gauss.loss_mean, mode="exceed")
    x = torch.zeros(4, *tools.shape, dtype=torch.float64)
    x[1] = 50.0
    with pytest.raises(NumericalError, match="guidance at noise level 0.5: the loss or its gradient"):
        guided(x, torch.full((4,), 0.5, dtype=torch.float64))
