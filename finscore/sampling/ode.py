"""Deterministic sampling by the probability-flow ODE: Heun's method (EDM) and DPM-Solver++(2M)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from finscore.sampling._common import SampleOutput, ends_noisy, setup, to_d

__all__ = ["sample_dpmpp_2m", "sample_heun"]


@torch.no_grad()
def sample_heun(
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    sigmas: Any,
    *,
    extra_args: dict | None = None,
    generator: torch.Generator | int | None = None,
    callback: Callable[[dict], None] | None = None,
) -> SampleOutput:
    """Probability-flow ODE ``dx/dsigma = (x - D(x; sigma)) / sigma`` by Heun's 2nd-order method
    (Karras et al. 2022, EDM Alg. 1, deterministic: S_churn = 0), with an Euler step on a last step to 0.

    Parameters are those of :func:`sample_euler`; ``generator`` is accepted for the common signature but
    unused (the map from the initial noise to the sample is deterministic).

    Returns
    -------
    SampleOutput
        ``x`` (B, ...) and ``nfe = 2 N - 1`` for ``N = len(sigmas) - 1`` steps (``2 N`` for a partial run).
    """
    sigmas, _, denoiser, guard = setup("sample_heun", model, x, sigmas, extra_args, generator)
    n, partial = len(sigmas) - 1, ends_noisy(sigmas)
    for i in range(n):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = denoiser(x, sigma)
        d = to_d(x, sigma, denoised)
        x_next = x + (sigma_next - sigma) * d
        if partial or i < n - 1:  # Heun correction, except on a last step to sigma_next = 0
            d_next = to_d(x_next, sigma_next, denoiser(x_next, sigma_next))
            x_next = x + (sigma_next - sigma) * (d + d_next) / 2
        x = x_next
        guard.update(x, i)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigma, "denoised": denoised})
    x = guard.check(x)
    return SampleOutput(x, denoiser.nfe, {"sampler": "ode", "n_steps": n})


@torch.no_grad()
def sample_dpmpp_2m(
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    sigmas: Any,
    *,
    extra_args: dict | None = None,
    generator: torch.Generator | int | None = None,
    callback: Callable[[dict], None] | None = None,
) -> SampleOutput:
    """Probability-flow ODE by DPM-Solver++(2M) (Lu et al. 2022, Alg. 2; k-diffusion's ``sample_dpmpp_2m``):
    exact integration of the linear part in ``t = -log sigma`` and a second-order multistep extrapolation of
    the denoiser from the previous level, so one network evaluation per step (Heun: two). The first step is
    first order (no previous level) and the last step to ``sigma = 0`` returns the denoiser's output.

    Parameters are those of :func:`sample_euler`; ``generator`` is accepted for the common signature but
    unused (deterministic map).

    Returns
    -------
    SampleOutput
        ``x`` (B, ...) and ``nfe = N`` for ``N = len(sigmas) - 1`` steps.
    """
    sigmas, _, denoiser, guard = setup("sample_dpmpp_2m", model, x, sigmas, extra_args, generator)
    n = len(sigmas) - 1
    old = None
    for i in range(n):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = denoiser(x, sigma)
        if sigma_next == 0:
            x = denoised
        else:
            h = torch.log(sigma) - torch.log(sigma_next)  # step in t = -log sigma
            d = denoised
            if old is not None:
                r = (torch.log(sigmas[i - 1]) - torch.log(sigma)) / h
                d = (1 + 1 / (2 * r)) * denoised - old / (2 * r)
            x = (sigma_next / sigma) * x - torch.expm1(-h) * d
        old = denoised
        guard.update(x, i)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigma, "denoised": denoised})
    x = guard.check(x)
    return SampleOutput(x, denoiser.nfe, {"sampler": "dpmpp_2m", "n_steps": n})
