"""The stress API on the project's own preconditioned network (untrained, tiny): contract, not accuracy."""

import pytest
import torch

from finscore.diffusion.precond import Denoiser
from finscore.nets.score_net import NetConfig, ScoreNet
from finscore.stress import VaRGuidance, refine, sample_stress


def _model(energy: bool) -> Denoiser:
    torch.manual_seed(0)
    return Denoiser(ScoreNet(NetConfig(horizon=2, width=16, depth=1, heads=2, energy=energy)), energy=energy)


def _setup(seed=0):
    sigmas = torch.cat([torch.exp(torch.linspace(2.3, -4.6, 8)), torch.zeros(1)])
    g = torch.Generator().manual_seed(seed)
    return sigmas, sigmas[0] * torch.randn(32, 2, 3, generator=g), g


def test_energy_model_guidance_finish_and_refine():
    """Energy form: the finish uses ``model.energy`` by default (with a per-row loss scale and two contexts);
    refine reports acceptance and energies."""
    model = _model(energy=True)
    sigmas, x, g = _setup()
    spec = VaRGuidance("equal", alpha=0.9, finish="mala", finish_steps=6, n_pilot=200)
    scale = 0.01 + 0.01 * torch.rand(32, 3, generator=g)
    groups = torch.arange(32) % 2
    out = sample_stress(model, x, sigmas, spec, loss_fn=spec.loss_fn(3, scale=scale), generator=g, groups=groups)
    info = out.info["stress"]
    ok = spec.loss_fn(3, scale=scale)(out.x) >= info["level_per_row"].float()
    assert len(info["level"]) == 2 and info["satisfied"] == pytest.approx(ok.float().mean().item())
    assert out.x.shape == x.shape and bool(torch.isfinite(out.x).all()) and not out.x.requires_grad
    assert info["finish"] == "mala" and 0 <= info["accept_rate"] <= 1 and info["n_refined"] >= 1
    sigma_min = torch.full((32,), float(sigmas[-2]))
    res = refine(out.x, lambda y: model.energy(y, sigma_min), method="mala", n_steps=6, generator=g)
    assert res.energy_before.shape == res.energy_after.shape == (32,) and 0 <= res.accept_rate <= 1


def test_score_model_guidance_and_no_energy_for_the_finish():
    model = _model(energy=False)
    sigmas, x, g = _setup(1)
    spec = VaRGuidance("equal", alpha=0.9, n_pilot=200)
    out = sample_stress(model, x, sigmas, spec, loss_fn=spec.loss_fn(3, scale=0.02), sampler="ode", generator=g)
    assert out.x.shape == x.shape and bool(torch.isfinite(out.x).all())
    with pytest.raises(ValueError, match="energy"):
        sample_stress(model, x, sigmas, VaRGuidance("equal", finish="mala", n_pilot=200), generator=g)
