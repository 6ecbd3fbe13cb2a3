"""DSM loss against its closed form: for N(0, I) data and the exact denoiser c_skip x,
E ||D - x0||^2 / sigma^2 per entry = Var(x0 | x) / sigma^2 = 1 / (1 + sigma^2)."""

import pytest
import torch

from finscore.diffusion import DiscreteSigma, DSMLoss, Denoiser, LogNormalSigma, loss_per_sigma


class Zero(torch.nn.Module):
    def forward(self, u, c_noise, **kw):
        return torch.zeros_like(u)


def test_loss_per_sigma_matches_the_bayes_floor():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(20_000, 4, 3, generator=g, dtype=torch.float64)
    sigmas = torch.tensor([0.1, 1.0, 5.0])
    got = loss_per_sigma(Denoiser(Zero()), x0, sigmas, generator=g)
    floor = 1 / (1 + sigmas.double() ** 2)
    # per-window loss is floor * chi2_12 / 12: sd = floor * sqrt(2/12); se over 20k windows = floor * 0.0029; 5 se
    assert torch.allclose(got.double(), floor, rtol=5 * 0.0029)


@pytest.mark.parametrize("weighting", ["sigma2", "edm"])
def test_dsm_loss_expectation(weighting):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(40_000, 2, 2, generator=g, dtype=torch.float64)
    loss = DSMLoss(DiscreteSigma((0.5, 2.0)), weighting=weighting, p_uncond=0.0)
    val = loss(Denoiser(Zero()), x0, generator=g)
    assert val.shape == (40_000,)
    floor = torch.tensor([1 / 1.25, 1 / 5.0])
    if weighting == "edm":  # weight (sigma^2 + 1) / sigma^2 instead of 1 / sigma^2: floor * (sigma^2 + 1) = 1
        floor = torch.ones(2)
    # mean of the two levels; per-window sd <= 1 * sqrt(2/4); se = 0.71 / sqrt(40k) = 0.0035; 5 se
    assert float(val.mean()) == pytest.approx(float(floor.mean()), abs=0.018)


def test_condition_dropout_rate():
    loss = DSMLoss(LogNormalSigma(), p_uncond=0.2)
    draws = loss.draw(torch.zeros(50_000, 2, 2), torch.Generator().manual_seed(0))
    # binomial se = sqrt(0.2 * 0.8 / 50k) = 0.0018; 5 se
    assert abs(float((~draws.cond_mask).float().mean()) - 0.2) < 0.009


def test_bad_arguments():
    with pytest.raises(ValueError, match="weighting"):
        DSMLoss(LogNormalSigma(), weighting="l1")
    with pytest.raises(ValueError, match="p_uncond"):
        DSMLoss(LogNormalSigma(), p_uncond=1.0)
