"""Deterministic sampling by the probability-flow ODE with Heun's method (EDM)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from finscore.sampling._common import SampleOutput, setup, to_d

__all__ = ["sample_heun"]


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
    (Karras et al. 2022, EDM Alg. 1, deterministic: S_churn = 0), with an Euler step on the last step to 0.

    Parameters are those of :func:`sample_euler`; ``generator`` is accepted for the common signature but
    unused (the map from the initial noise to the sample is deterministic).

    Returns
    -------
    SampleOutput
        ``x`` (B, ...) and ``nfe = 2 N - 1`` for ``N = len(sigmas) - 1`` steps.
    """
    sigmas, _, denoiser, guard = setup("sample_heun", model, x, sigmas, extra_args, generator)
    n = len(sigmas) - 1
    for i in range(n):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = denoiser(x, sigma)
        d = to_d(x, sigma, denoised)
        x_next = x + (sigma_next - sigma) * d
        if i < n - 1:  # Heun correction, except on the last step where sigma_next = 0
            d_next = to_d(x_next, sigma_next, denoiser(x_next, sigma_next))
            x_next = x + (sigma_next - sigma) * (d + d_next) / 2
        x = x_next
        guard.update(x, i)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigma, "denoised": denoised})
    x = guard.check(x)
    return SampleOutput(x, denoiser.nfe, {"sampler": "ode", "n_steps": n})
