"""Annealed Langevin dynamics over a decreasing sequence of noise levels (NCSN)."""

from __future__ import annotations

import numbers
from typing import Any, Callable

import torch

from finscore.sampling._common import SampleOutput, check_int, ends_noisy, langevin_step, randn_like, setup, to_score

__all__ = ["sample_annealed_langevin"]


@torch.no_grad()
def sample_annealed_langevin(
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    sigmas: Any,
    *,
    extra_args: dict | None = None,
    generator: torch.Generator | int | None = None,
    callback: Callable[[dict], None] | None = None,
    n_steps_each: int = 10,
    eps: float | None = None,
) -> SampleOutput:
    """Annealed Langevin dynamics (Song & Ermon 2019, NCSN Alg. 1) with a final denoising step (Song & Ermon 2020).

    For each level ``sigma_i > 0``: ``n_steps_each`` steps ``x <- x + alpha_i / 2 s(x, sigma_i) + sqrt(alpha_i) z``
    with ``alpha_i = eps sigma_i^2 / sigma_K^2`` (``sigma_K`` the smallest positive level); then ``x <- D(x; sigma_K)``.
    A partial run (``sigmas`` ending at a positive level) visits every level, the last included, and skips the
    denoising step: it returns samples at the last level.

    Parameters are those of :func:`sample_euler`, plus
    n_steps_each : int
        Langevin steps per noise level (>= 1).
    eps : float, optional
        Step at the smallest level, ``0 < eps < 4 sigma_K^2`` (stability); default ``0.5 sigma_K^2``, i.e.
        ``alpha_i = 0.5 sigma_i^2`` whatever the schedule (NCSN's 2e-5 with sigma_K = 0.01 is ``0.2 sigma_K^2``).
        Trade-off: each level's ULA bias grows with eps, the lag behind the moving target falls with
        ``n_steps_each * eps``; neither vanishes at a fixed number of evaluations.

    Returns
    -------
    SampleOutput
        ``x`` (B, ...) and ``nfe = N n_steps_each + 1`` for ``N = len(sigmas) - 1`` positive levels (a partial
        run: ``(N + 1) n_steps_each``).
    """
    n_steps_each = check_int("n_steps_each", n_steps_each, 1)
    sigmas, generator, denoiser, guard = setup("sample_annealed_langevin", model, x, sigmas, extra_args, generator)
    partial = ends_noisy(sigmas)
    n = len(sigmas) if partial else len(sigmas) - 1  # positive levels visited
    sigma_last = float(sigmas[n - 1])
    eps = 0.5 * sigma_last**2 if eps is None else eps
    if not (isinstance(eps, numbers.Real) and 0 < eps < 4 * sigma_last**2):
        raise ValueError(f"eps must be in (0, 4 sigma_K^2) = (0, {4 * sigma_last**2:.4g}) for stability, got {eps!r}")
    for i in range(n):
        alpha = eps * sigmas[i] ** 2 / sigma_last**2
        for _ in range(n_steps_each):
            denoised = denoiser(x, sigmas[i])
            x, _ = langevin_step(x, to_score(x, sigmas[i], denoised), alpha / 2, randn_like(x, generator))
        guard.update(x, i)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
    if not partial:
        x = denoiser(x, sigmas[-2])
        guard.update(x, n - 1)
    x = guard.check(x)
    info = {"sampler": "langevin", "n_steps": n, "n_steps_each": n_steps_each, "eps": eps}
    return SampleOutput(x, denoiser.nfe, info)
