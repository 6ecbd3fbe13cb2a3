"""Step primitives shared by every sampler (k-diffusion style): nothing here assumes a shape.

A *denoiser* is ``model(x, sigma, **extra_args) -> D(x; sigma)`` with ``x`` (B, ...) and ``sigma`` (B,);
the score is ``(D - x) / sigma**2``. Samplers wrap the model in :class:`CountingDenoiser` (which broadcasts
the scalar noise level and counts evaluations), draw noise with :func:`randn_like`, move with
:func:`reverse_diffusion_step` / :func:`langevin_step`, and let :class:`FiniteGuard` record on the device
the first step at which ``x`` stopped being finite (one host sync, at the end).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from finscore._rng import torch_generator
from finscore.errors import NumericalError

__all__ = [
    "SampleOutput",
    "CountingDenoiser",
    "FiniteGuard",
    "append_dims",
    "to_d",
    "to_score",
    "randn_like",
    "as_tensor_like",
    "check_int",
    "as_torch_generator",
    "prepare_sigmas",
    "ends_noisy",
    "setup",
    "reverse_diffusion_step",
    "langevin_step",
]


@dataclass(frozen=True)
class SampleOutput:
    """Result of a diffusion sampler.

    Attributes
    ----------
    x : Tensor (B, ...)
        Samples at sigma = 0 (same shape, dtype and device as the initial noise).
    nfe : int
        Number of denoiser evaluations (each on the whole batch).
    info : dict
        Sampler-specific details (``sampler``, ``n_steps`` and options used).
    """

    x: torch.Tensor
    nfe: int
    info: dict = field(default_factory=dict)


def append_dims(x: torch.Tensor, target_dims: int) -> torch.Tensor:
    """Append trailing singleton dimensions to ``x`` until it has ``target_dims`` dimensions."""
    n_append = target_dims - x.ndim
    if n_append < 0:
        raise ValueError(f"input has {x.ndim} dims but target_dims is {target_dims}, which is less")
    return x[(...,) + (None,) * n_append]


def to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """PF-ODE derivative dx/dsigma = (x - D(x; sigma)) / sigma (Karras et al. 2022, eq. 3); sigma () or (B,)."""
    return (x - denoised) / append_dims(sigma, x.ndim)


def to_score(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """Score grad_x log p_sigma(x) = (D(x; sigma) - x) / sigma**2 (Tweedie's formula); sigma () or (B,)."""
    return (denoised - x) / append_dims(sigma, x.ndim) ** 2


def randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise with the shape, dtype and device of ``x`` drawn from ``generator``."""
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)


def check_int(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) ``>= minimum``; ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def as_tensor_like(value: Any, like: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """``value`` (Tensor, number or sequence) as a detached Tensor with ``like``'s dtype, on ``device`` (default
    ``like``'s); Python floats are converted straight to that dtype (not through float32)."""
    device = like.device if device is None else device
    if isinstance(value, torch.Tensor):
        return value.detach().to(device, like.dtype)
    return torch.as_tensor(value, dtype=like.dtype, device=device)


def as_torch_generator(generator: Any, device: torch.device) -> torch.Generator | None:
    """Pass a ``torch.Generator`` through; turn an int seed or a numpy Generator into one on ``device``
    (via :func:`finscore._rng.torch_generator`); keep ``None`` (torch's global RNG)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, bool) or not isinstance(generator, (numbers.Integral, np.random.Generator)):
        kind = type(generator).__name__
        raise TypeError(f"generator must be a torch.Generator, an int seed, a numpy Generator or None, got {kind}")
    return torch_generator(generator if isinstance(generator, np.random.Generator) else int(generator), device=device)


def prepare_sigmas(sigmas: Any, x: torch.Tensor) -> torch.Tensor:
    """Validate a noise schedule and move it to ``x``'s device and dtype (one host sync, before the loop).

    Parameters
    ----------
    sigmas : Tensor or sequence (N + 1,)
        Strictly decreasing noise levels, all positive except the last, which is 0 for a full run (the samples
        are denoised) or positive for a partial run (the samples are returned at that noise level, e.g. to
        refine them there and continue from it).
    x : Tensor (B, ...)
        The initial noise, drawn by the caller at ``sigmas[0]``.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[0] == 0:
        raise ValueError("x must be a Tensor (B, ...) with at least one sample")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point Tensor, got {x.dtype}")
    # Validate in x's dtype: levels that are distinct or positive in float64 may not be in float32.
    s = as_tensor_like(sigmas, x, device="cpu").to(torch.float64)
    if s.ndim != 1 or s.numel() < 2:
        raise ValueError(f"sigmas must be 1-D with at least 2 entries (sigma_max ... 0), got shape {tuple(s.shape)}")
    if not bool(torch.isfinite(s).all()) or s[-1] < 0 or bool((s[:-1] <= 0).any()):
        raise ValueError(f"sigmas must be finite and positive, the last >= 0; got {s.tolist()[:3]} ... {s[-1].item()}")
    if bool((s[1:] >= s[:-1]).any()):
        i = int((s[1:] >= s[:-1]).nonzero()[0]) + 1
        got = f"sigmas[{i}] = {s[i].item():.6g} >= sigmas[{i - 1}] = {s[i - 1].item():.6g}"
        raise ValueError(f"sigmas must be strictly decreasing (in {x.dtype}); {got}")
    if not bool(torch.isfinite(x).all()):
        raise NumericalError("the initial x contains non-finite values")
    return as_tensor_like(sigmas, x)


def ends_noisy(sigmas: torch.Tensor) -> bool:
    """True for a partial run: ``sigmas`` (N + 1,) end at a positive level, not at 0 (one host sync)."""
    return bool(sigmas[-1] > 0)


class CountingDenoiser:
    """Call ``model(x, sigma * ones(B), **extra_args)`` for a scalar ``sigma`` and count the calls in ``nfe``."""

    def __init__(self, model: Callable[..., torch.Tensor], extra_args: dict | None = None) -> None:
        self.model = model
        self.extra_args = dict(extra_args or {})
        self.nfe = 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        denoised = self.model(x, sigma * x.new_ones(x.shape[0]), **self.extra_args)
        if denoised.shape != x.shape:
            raise ValueError(f"the denoiser returned shape {tuple(denoised.shape)} for input {tuple(x.shape)}")
        return denoised


class FiniteGuard:
    """Record on the device the first step at which ``x`` is non-finite; :meth:`check` raises after the loop.

    ``update`` costs one reduction and no host-device copy, so the loop never synchronises; ``check`` syncs once.
    With ``sigmas`` given, the error names the noise levels of the offending step.
    """

    def __init__(self, name: str, x: torch.Tensor, sigmas: torch.Tensor | None = None) -> None:
        self.name, self.sigmas = name, sigmas
        self.first_bad = torch.full((), -1, dtype=torch.long, device=x.device)

    def update(self, x: torch.Tensor, step: int) -> None:
        bad = ~torch.isfinite(x).all() & (self.first_bad < 0)
        self.first_bad = torch.where(bad, step, self.first_bad)

    def check(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x``, or raise :class:`NumericalError` naming the first non-finite step."""
        step = int(self.first_bad)
        if step < 0 and bool(torch.isfinite(x).all()):
            return x
        at = "the end" if step < 0 else f"step {step}"
        if step >= 0 and self.sigmas is not None:
            nxt = f" -> {float(self.sigmas[step + 1]):.4g}" if step + 1 < len(self.sigmas) else ""  # partial Langevin
            at += f" (sigma {float(self.sigmas[step]):.4g}{nxt})"
        raise NumericalError(f"{self.name}: x became non-finite at {at}; check the model, schedule and step size")


def setup(
    name: str,
    model: Callable[..., torch.Tensor],
    x: torch.Tensor,
    sigmas: Any,
    extra_args: dict | None,
    generator: torch.Generator | int | None,
) -> tuple[torch.Tensor, torch.Generator | None, CountingDenoiser, FiniteGuard]:
    """Common sampler prologue: validated ``sigmas``, the torch generator, the counting denoiser and the guard."""
    sigmas = prepare_sigmas(sigmas, x)
    guard = FiniteGuard(name, x, sigmas)
    return sigmas, as_torch_generator(generator, x.device), CountingDenoiser(model, extra_args), guard


def reverse_diffusion_step(
    x: torch.Tensor,
    denoised: torch.Tensor,
    sigma: torch.Tensor,
    sigma_next: torch.Tensor,
    generator: torch.Generator | None,
    *,
    add_noise: bool = True,
) -> torch.Tensor:
    """Euler–Maruyama step of the reverse VE SDE (Song et al. 2021, reverse-diffusion predictor).

    ``x + (sigma^2 - sigma_next^2) * score + sqrt(sigma^2 - sigma_next^2) * z``; with ``add_noise=False``
    and ``sigma_next = 0`` it returns ``denoised`` (the final denoising step).
    """
    variance = sigma**2 - sigma_next**2
    x = x + variance * to_score(x, sigma, denoised)
    return x + variance.sqrt() * randn_like(x, generator) if add_noise else x


def langevin_step(
    x: torch.Tensor, grad: torch.Tensor, step: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unadjusted Langevin step ``x + h grad + sqrt(2h) z`` (Roberts & Tweedie 1996); ``step`` is () or (B,).

    Returns ``(x_new, mean)`` where ``mean = x + h grad`` is the proposal mean (needed by MALA).
    """
    step = append_dims(step, x.ndim)
    mean = x + step * grad
    return mean + (2 * step).sqrt() * noise, mean
