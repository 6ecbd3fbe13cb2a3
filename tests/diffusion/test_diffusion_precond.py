"""EDM preconditioning against closed forms: for N(0, sd^2 I) data the exact denoiser is c_skip x (F = 0)."""

import pytest
import torch

from finscore.diffusion import ClassifierFreeGuidance, Denoiser
from finscore.nets import NetConfig, ScoreNet


class Zero(torch.nn.Module):
    def __init__(self, energy=False):
        super().__init__()
        self.energy = energy

    def forward(self, u, c_noise, **kw):
        return u.new_zeros(u.shape[0]) + 0 * u.sum((1, 2)) if self.energy else torch.zeros_like(u)


class CondShift(torch.nn.Module):
    """F = cond (broadcast) when the condition is kept, 0 otherwise."""

    def forward(self, u, c_noise, cond=None, asset_cond=None, cond_mask=None):
        keep = torch.ones(u.shape[0]) if cond_mask is None else cond_mask.float()
        return keep[:, None, None] * cond[:, None, :].expand_as(u)


@pytest.mark.parametrize("energy", [False, True])
@pytest.mark.parametrize("sd", [0.5, 1.0, 2.0])
def test_zero_net_is_the_exact_gaussian_score(energy, sd):
    x = torch.randn(7, 5, 3, dtype=torch.float64)
    sigma = torch.tensor([0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 80.0], dtype=torch.float64)
    m = Denoiser(Zero(energy), sigma_data=sd, energy=energy)
    exact = -x / (sigma**2 + sd**2)[:, None, None]  # grad log N(0, (sd^2 + sigma^2) I)
    assert torch.allclose(m.score(x, sigma), exact, rtol=1e-10, atol=1e-12)


def test_energy_gradient_is_the_score():
    """-grad_x E must equal (D - x) / sigma^2 for any net (the identity the MALA refinement relies on)."""
    torch.manual_seed(0)
    net = ScoreNet(NetConfig(horizon=5, cond_dim=2, asset_cond_dim=1, width=16, depth=1, heads=2, energy=True))
    for p in net.parameters():  # leave the zero init: a generic smooth h
        torch.nn.init.normal_(p, std=0.3)
    m = Denoiser(net.double(), energy=True)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([0.05, 0.3, 1.0, 4.0], dtype=torch.float64)
    kw = {"cond": torch.randn(4, 2, dtype=torch.float64), "asset_cond": torch.randn(4, 3, 1, dtype=torch.float64)}
    (grad_e,) = torch.autograd.grad(m.energy(x, sigma, **kw).sum(), x)
    assert torch.allclose(-grad_e, m.score(x.detach(), sigma, **kw), rtol=1e-8, atol=1e-10)


def test_energy_denoiser_works_under_no_grad_and_is_differentiable_with_grad():
    net = ScoreNet(NetConfig(horizon=3, width=8, depth=1, heads=2, energy=True))
    m = Denoiser(net, energy=True)
    x = torch.randn(2, 3, 2)
    with torch.no_grad():
        d = m(x, 0.5)
    assert not d.requires_grad and d.shape == x.shape
    xg = x.clone().requires_grad_(True)
    d = m(xg, 0.5)
    assert d.requires_grad  # guidance differentiates D w.r.t. x


def test_score_form_has_no_energy():
    with pytest.raises(ValueError, match="energy=True"):
        Denoiser(Zero()).energy(torch.zeros(1, 2, 2), 1.0)


def test_sigma_shape_is_checked():
    with pytest.raises(ValueError, match="sigma must be"):
        Denoiser(Zero())(torch.zeros(3, 2, 2), torch.ones(2))


def test_classifier_free_guidance_interpolates():
    m = Denoiser(CondShift(), sigma_data=1.0)
    x, cond = torch.zeros(2, 4, 3), torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    d_cond = m(x, 1.0, cond=cond)
    d_unc = m(x, 1.0, cond=cond, cond_mask=torch.zeros(2, dtype=torch.bool))
    for w in (0.0, 1.0, 2.5):
        assert torch.allclose(ClassifierFreeGuidance(m, w)(x, 1.0, cond=cond), d_unc + w * (d_cond - d_unc))
