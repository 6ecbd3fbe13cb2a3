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


def _anisotropic_cov(dim: int, seed: int = 0) -> torch.Tensor:
    """A covariance with one direction ~20x the others' variance (like a 20-day market sum)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=g, dtype=torch.float64) / dim**0.5
    ones = torch.ones(dim, dtype=torch.float64) / dim**0.5
    return a @ a.T + 0.2 * torch.eye(dim, dtype=torch.float64) + 20.0 * torch.outer(ones, ones)


@pytest.mark.parametrize("energy", [False, True])
def test_gaussian_skip_with_a_zero_net_is_the_exact_gaussian_score(energy):
    """For N(0, S) data the exact denoiser is S (S + sigma^2 I)^-1 x and the score -(S + sigma^2 I)^-1 x."""
    h, d = 4, 3
    cov = _anisotropic_cov(h * d)
    m = Denoiser(Zero(energy), energy=energy, cov_dim=h * d).double()
    m.set_covariance(cov)
    x = torch.randn(5, h, d, dtype=torch.float64)
    sigma = torch.tensor([0.01, 0.3, 1.0, 5.0, 80.0], dtype=torch.float64)
    eye = torch.eye(h * d, dtype=torch.float64)
    exact = torch.stack([-torch.linalg.solve(cov + s**2 * eye, xi.flatten()) for xi, s in zip(x, sigma)])
    assert torch.allclose(m.score(x, sigma).flatten(1), exact, rtol=1e-9, atol=1e-11)
    if energy:  # E is -log N(0, S + sigma^2 I) up to a constant per sigma
        quad = 0.5 * (x.flatten(1) * -exact).sum(1)
        assert torch.allclose(m.energy(x, sigma), quad, rtol=1e-9, atol=1e-11)


def test_gaussian_skip_energy_gradient_is_the_score():
    torch.manual_seed(1)
    net = ScoreNet(NetConfig(horizon=4, width=16, depth=1, heads=2, energy=True))
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    m = Denoiser(net.double(), energy=True, cov_dim=12).double()
    m.set_covariance(_anisotropic_cov(12, seed=2))
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([0.05, 1.0, 4.0], dtype=torch.float64)
    (grad_e,) = torch.autograd.grad(m.energy(x, sigma).sum(), x)
    assert torch.allclose(-grad_e, m.score(x.detach(), sigma), rtol=1e-8, atol=1e-10)


def test_gaussian_skip_samples_the_covariance_it_was_given():
    """The probability-flow sampler on the zero-net Gaussian skip draws N(0, S): the variance along S's leading
    direction (about 20) is right within 5 standard errors of a variance from 4,000 draws (sd/var = sqrt(2/n))."""
    from finscore.diffusion import sigmas_karras
    from finscore.sampling import sample_dpmpp_2m

    h, d, n = 4, 3, 4000
    cov = _anisotropic_cov(h * d)
    m = Denoiser(Zero(), cov_dim=h * d).double()
    m.set_covariance(cov)
    g = torch.Generator().manual_seed(3)
    sigmas = sigmas_karras(64, 0.002, 80.0).double()
    x = sample_dpmpp_2m(m, torch.randn(n, h, d, generator=g, dtype=torch.float64) * sigmas[0], sigmas).x
    vals, vecs = torch.linalg.eigh(cov)
    lead = vecs[:, -1]
    var = float((x.flatten(1) @ lead).var())
    assert abs(var / float(vals[-1]) - 1) < 5 * (2 / n) ** 0.5
    # and the whole covariance: every entry within 5 standard errors of a sample covariance
    emp = torch.cov(x.flatten(1).T)
    se = ((cov**2 + torch.outer(cov.diagonal(), cov.diagonal())) / n).sqrt()
    assert bool(((emp - cov).abs() < 5 * se).all())


def test_gaussian_skip_is_kept_in_the_state_dict_and_checked():
    m = Denoiser(Zero(), cov_dim=6)
    m.set_covariance(torch.diag(torch.arange(1.0, 7.0)))
    other = Denoiser(Zero(), cov_dim=6)
    other.load_state_dict(m.state_dict())
    assert torch.allclose(other.cov_vals, torch.arange(1.0, 7.0))
    with pytest.raises(ValueError, match=r"\(6, 6\) matrix"):
        m.set_covariance(torch.eye(5))
    with pytest.raises(ValueError, match=r"\(6, 6\) matrix"):
        m.set_covariance(torch.full((6, 6), float("nan")))
    with pytest.raises(ValueError, match="6 entries per window"):
        m(torch.zeros(2, 2, 2), 1.0)
    with pytest.raises(ValueError, match="cov_dim"):
        Denoiser(Zero(), cov_dim=-1)


def test_gaussian_skip_stays_in_full_precision_under_autocast():
    """Training autocasts to bf16 on CUDA; the skip, which carries x itself, must not lose x's precision."""
    m = Denoiser(Zero(), cov_dim=12)
    m.set_covariance(_anisotropic_cov(12).float())
    x, sigma = torch.randn(4, 4, 3), torch.full((4,), 0.3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = m(x, sigma)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, m(x, sigma), rtol=1e-6, atol=1e-6)
