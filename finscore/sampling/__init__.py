"""Samplers for score-based diffusion models: plain functions of a denoiser and a noise schedule.

Every sampler has the signature ``sample_<name>(model, x, sigmas, *, extra_args=None, generator=None,
callback=None, **opts) -> SampleOutput`` where ``x`` is the initial noise at ``sigmas[0]`` (the caller draws
``sigmas[0] * randn``) and ``sigmas`` decreases strictly to 0. Guidance wraps the model, never the sampler.
:mod:`finscore.sampling.mcmc` holds ULA / MALA for a fixed energy; :mod:`finscore.sampling.oracles`
holds exact denoisers of Gaussian mixtures (test oracles).
"""

from __future__ import annotations

from typing import Callable

from finscore.sampling._common import SampleOutput
from finscore.sampling.langevin import sample_annealed_langevin
from finscore.sampling.mcmc import MCMCOutput, mala, ula
from finscore.sampling.ode import sample_dpmpp_2m, sample_heun
from finscore.sampling.sde import sample_euler, sample_pc

__all__ = [
    "SAMPLERS",
    "get_sampler",
    "SampleOutput",
    "sample_euler",
    "sample_pc",
    "sample_annealed_langevin",
    "sample_heun",
    "sample_dpmpp_2m",
    "MCMCOutput",
    "ula",
    "mala",
]

# The only name -> function map (CLI flags and configs use these names).
SAMPLERS: dict[str, Callable[..., SampleOutput]] = {
    "euler": sample_euler,
    "pc": sample_pc,
    "langevin": sample_annealed_langevin,
    "ode": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
}


def get_sampler(name: str) -> Callable[..., SampleOutput]:
    """Return the sampler registered as ``name`` in :data:`SAMPLERS` (ValueError listing valid names otherwise)."""
    try:
        return SAMPLERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown sampler {name!r}; valid names: {', '.join(sorted(SAMPLERS))}") from None
