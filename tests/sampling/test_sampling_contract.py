"""Contract tests run over every registered sampler: shape, finiteness, determinism, NFE, errors."""

import re

import numpy as np
import pytest
import torch

from finscore.errors import NumericalError
from finscore.sampling import SAMPLERS, SampleOutput, get_sampler

N_STEPS = 8
OPTS = {"pc": {"n_corrector": 2}, "langevin": {"n_steps_each": 3}}
# Documented NFE for N = len(sigmas) - 1 steps (see each sampler's docstring).
EXPECTED_NFE = {"euler": N_STEPS, "pc": N_STEPS * (1 + 2), "langevin": N_STEPS * 3 + 1, "ode": 2 * N_STEPS - 1,
                "dpmpp_2m": N_STEPS}
DETERMINISTIC = {"ode", "dpmpp_2m"}


class CountingModel:
    """The Gaussian oracle, counting calls and recording the keyword arguments it receives."""

    def __init__(self, oracle):
        self.oracle, self.calls, self.kwargs = oracle, 0, []

    def __call__(self, x, sigma, **kwargs):
        assert sigma.shape == (x.shape[0],)
        self.calls += 1
        self.kwargs.append(kwargs)
        return self.oracle(x, sigma)


def _run(name, gaussian6, sigmas, *, x_seed=0, gen_seed=1, model=None, shape=None, **kw):
    x = sigmas[0] * torch.randn(16, *(shape or gaussian6.shape), generator=torch.Generator().manual_seed(x_seed))
    x_before = x.clone()
    generator = torch.Generator().manual_seed(gen_seed)
    out = SAMPLERS[name](model or gaussian6.oracle, x, sigmas, generator=generator, **OPTS.get(name, {}), **kw)
    assert torch.equal(x, x_before)  # the caller's noise is not modified in place
    return out


def test_registry_names():
    assert set(SAMPLERS) == {"euler", "pc", "langevin", "ode", "dpmpp_2m"}
    assert set(EXPECTED_NFE) == set(SAMPLERS)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_contract(name, gaussian6, geometric_sigmas):
    sigmas = geometric_sigmas(N_STEPS, 0.05, 10.0).float()
    model = CountingModel(gaussian6.oracle)
    seen = []
    out = _run(name, gaussian6, sigmas, model=model, extra_args={"cond": "c"}, callback=seen.append)
    assert isinstance(out, SampleOutput)
    assert out.x.shape == (16, *gaussian6.shape) and out.x.dtype == torch.float32
    assert torch.isfinite(out.x).all()
    assert out.nfe == EXPECTED_NFE[name] == model.calls
    assert all(kw == {"cond": "c"} for kw in model.kwargs)  # extra_args reach every call
    assert [d["i"] for d in seen] == list(range(N_STEPS)) and {"x", "sigma", "denoised"} <= set(seen[0])
    assert out.info["sampler"] == name and out.info["n_steps"] == N_STEPS

    again = _run(name, gaussian6, sigmas)
    assert torch.equal(out.x, again.x)  # same seeds -> identical
    assert not torch.allclose(out.x, _run(name, gaussian6, sigmas, x_seed=2, gen_seed=3).x)
    other_noise = _run(name, gaussian6, sigmas, gen_seed=3).x  # same x, different generator
    assert torch.equal(out.x, other_noise) == (name in DETERMINISTIC)
    assert torch.equal(_run(name, gaussian6, sigmas, gen_seed=5).x, _run(name, gaussian6, sigmas, gen_seed=5).x)
    flat = _run(name, gaussian6, sigmas, shape=(6,))  # nothing assumes (B, H, d): flat windows work the same
    assert flat.x.shape == (16, 6) and torch.allclose(flat.x, out.x.reshape(16, 6), atol=1e-5)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_int_seed_is_reproducible(name, gaussian6, geometric_sigmas):
    sigmas = geometric_sigmas(N_STEPS, 0.05, 10.0)
    x = sigmas[0] * torch.randn(4, *gaussian6.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a, b = (SAMPLERS[name](gaussian6.oracle, x, sigmas, generator=7).x for _ in range(2))
    assert torch.equal(a, b)
    c, d = (SAMPLERS[name](gaussian6.oracle, x, sigmas, generator=np.random.default_rng(7)).x for _ in range(2))
    assert torch.equal(c, d)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_non_finite_raises_with_step_and_sigma(name, gaussian6, geometric_sigmas):
    sigmas = geometric_sigmas(N_STEPS, 0.05, 10.0)
    threshold = float(sigmas[4]) * 1.01  # the model breaks from level 4 on

    def broken(x, sigma):
        return torch.where((sigma < threshold)[:, None, None], torch.nan, gaussian6.oracle(x, sigma))

    with pytest.raises(NumericalError, match=r"step \d+ \(sigma") as err:
        _run(name, gaussian6, sigmas.float(), model=broken)
    step = int(re.search(r"step (\d+)", str(err.value)).group(1))
    assert step == (3 if name == "ode" else 4)  # Heun's step 3 evaluates at sigma_4


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_partial_run_stops_at_its_last_level(name, gaussian6, geometric_sigmas):
    """A run over ``sigmas[:k + 1]`` (ending at a positive level) returns the full run's x at ``sigmas[k]``, with the
    same noise; for the one-step samplers, continuing over ``sigmas[k:]`` then gives the full run's output.
    (DPM-Solver++(2M) restarts without its previous denoiser, annealed Langevin visits ``sigmas[k]`` twice.)"""
    sigmas, k = geometric_sigmas(N_STEPS, 0.05, 10.0).float(), 5
    seen = []
    full = _run(name, gaussian6, sigmas, callback=seen.append).x
    at_k = seen[k if name == "langevin" else k - 1]["x"]  # Langevin's step i ends at sigma_i, the others' at sigma_i+1
    x = sigmas[0] * torch.randn(16, *gaussian6.shape, generator=torch.Generator().manual_seed(0))  # _run's noise
    generator = torch.Generator().manual_seed(1)
    part = SAMPLERS[name](gaussian6.oracle, x, sigmas[:k + 1], generator=generator, **OPTS.get(name, {}))
    torch.testing.assert_close(part.x, at_k)  # float32 rounding: Langevin's steps are eps sigma_i^2 / sigma_last^2
    rest = SAMPLERS[name](gaussian6.oracle, part.x, sigmas[k:], generator=generator, **OPTS.get(name, {}))
    if name in ("euler", "pc", "ode"):
        torch.testing.assert_close(rest.x, full, rtol=0, atol=0)
    assert torch.isfinite(rest.x).all() and not torch.equal(part.x, rest.x)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize(
    "sigmas, match",
    [
        ([3.0, 1.0, -0.5], "the last >= 0"),
        ([1.0, 3.0, 0.0], r"strictly decreasing .*sigmas\[1\] = 3 >= sigmas\[0\] = 1"),
        ([3.0, 1.0, 1.0, 0.0], r"sigmas\[2\] = 1 >= sigmas\[1\] = 1"),
        ([1.0, 1.0 - 1e-12, 0.0], r"strictly decreasing \(in torch.float32\)"),  # distinct in float64 only
        ([0.0], "at least 2"),
        ([[1.0, 0.0]], "1-D"),
        ([2.0, -1.0, 0.0], "positive"),
        ([float("nan"), 1.0, 0.0], "finite"),
    ],
)
def test_invalid_sigmas(name, sigmas, match, gaussian6):
    with pytest.raises(ValueError, match=match):
        SAMPLERS[name](gaussian6.oracle, torch.zeros(2, *gaussian6.shape), torch.tensor(sigmas))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_non_finite_initial_noise(name, gaussian6, geometric_sigmas):
    x = torch.zeros(2, *gaussian6.shape)
    x[0, 0, 0] = torch.inf
    with pytest.raises(NumericalError, match="initial x"):
        SAMPLERS[name](gaussian6.oracle, x, geometric_sigmas(3, 0.1, 1.0))


def test_denoiser_shape_is_checked(gaussian6, geometric_sigmas):
    with pytest.raises(ValueError, match="shape"):
        SAMPLERS["euler"](lambda x, s: x[:, :1], torch.zeros(2, *gaussian6.shape), geometric_sigmas(3, 0.1, 1.0))


def test_get_sampler():
    assert get_sampler("ode") is SAMPLERS["ode"]
    with pytest.raises(ValueError, match="valid names: dpmpp_2m, euler, langevin, ode, pc"):
        get_sampler("ddim")


@pytest.mark.parametrize(
    "name, opts, match",
    [
        ("pc", {"snr": 0.0}, "snr"),
        ("pc", {"snr": float("inf")}, "snr"),
        ("pc", {"n_corrector": -1}, "n_corrector must be an int >= 0"),
        ("pc", {"n_corrector": 1.5}, "n_corrector"),
        ("pc", {"step_rule": "x"}, "step_rule"),
        ("langevin", {"n_steps_each": 0}, "n_steps_each must be an int >= 1"),
        ("langevin", {"n_steps_each": -3}, "n_steps_each"),
        ("langevin", {"eps": -1e-4}, "eps"),
        ("langevin", {"eps": 1.0}, r"eps must be in \(0, 4 sigma_K\^2\)"),  # 4 sigma_K^2 = 0.04 here
    ],
)
def test_invalid_options(name, opts, match, gaussian6, geometric_sigmas):
    with pytest.raises(ValueError, match=match):
        SAMPLERS[name](gaussian6.oracle, torch.zeros(2, *gaussian6.shape), geometric_sigmas(3, 0.1, 1.0), **opts)


def test_pc_without_corrector_is_euler(gaussian6, geometric_sigmas):
    sigmas = geometric_sigmas(N_STEPS, 0.05, 10.0)
    x = sigmas[0] * torch.randn(8, *gaussian6.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pc = SAMPLERS["pc"](gaussian6.oracle, x, sigmas, generator=3, n_corrector=0)
    euler = SAMPLERS["euler"](gaussian6.oracle, x, sigmas, generator=3)
    assert torch.equal(pc.x, euler.x) and pc.nfe == euler.nfe


def test_generator_type_is_checked(gaussian6, geometric_sigmas):
    with pytest.raises(TypeError, match="generator"):
        SAMPLERS["euler"](gaussian6.oracle, torch.zeros(2, *gaussian6.shape), geometric_sigmas(3, 0.1, 1.0),
                          generator="0")
