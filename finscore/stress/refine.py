"""EBM refinement: Langevin MCMC on the energy of an energy-parameterized model at its smallest noise level.

With the energy form ``score = -grad E`` the model also gives ``log p = -E`` up to a constant, so
Metropolis–Hastings is available: MALA (Roberts & Tweedie 1996) leaves ``exp(-E)`` exactly invariant and
ULA is the cheaper, O(step)-biased option. The samplers live in :mod:`finscore.sampling.mcmc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

__all__ = ["RefineResult", "refine", "as_log_prob_and_grad"]

METHODS = ("mala", "ula")


@dataclass(frozen=True, eq=False)
class RefineResult:
    """Result of :func:`refine`.

    Attributes
    ----------
    x : Tensor (B, ...)
        Refined samples.
    accept_rate : float
        MALA acceptance rate after step adaptation (1.0 for ULA).
    energy_before, energy_after : Tensor (B,)
        ``E(x) = -log p(x)`` (up to a constant) at the start and at the end.
    n_grad_evals : int
        Energy-gradient evaluations, each on the whole batch (including the two energy readings).
    step_size : float
        Final (mean) step ``h`` of ``x + h grad log p + sqrt(2h) z``.
    method : str
    """

    x: torch.Tensor
    accept_rate: float
    energy_before: torch.Tensor
    energy_after: torch.Tensor
    n_grad_evals: int
    step_size: float
    method: str


def as_log_prob_and_grad(target: Callable[[torch.Tensor], Any]) -> Callable[[torch.Tensor], tuple]:
    """Turn ``target`` into ``x -> (log p (B,), grad (B, ...))`` (detached).

    ``target(x)`` may return an energy Tensor (B,) (differentiated by autograd, ``log p = -E``) or
    already a pair ``(log p, grad log p)``.
    """

    def log_prob_and_grad(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            out = target(xg)
            if isinstance(out, tuple):
                logp, grad = out
                return logp.detach(), grad.detach()
            if out.shape != x.shape[:1]:
                raise ValueError(f"the energy must have shape (B,) = ({x.shape[0]},), got {tuple(out.shape)}")
            logp = -out
            (grad,) = torch.autograd.grad(logp.sum(), xg)
        return logp.detach(), grad.detach()

    return log_prob_and_grad


def _default_step(grad: torch.Tensor) -> float:
    """``0.5 D^(2/3) / mean ||grad||^2``: for N(m, s^2 I) at stationarity ``D / E||grad||^2 = s^2``, and
    ``s^2 D^(-1/3)`` is the MALA scaling of Roberts & Rosenthal (1998); MALA adapts from there."""
    flat = grad.reshape(grad.shape[0], -1)
    dim = flat.shape[1]
    mean_sq = float(flat.square().sum(1).mean())
    return 0.5 * dim ** (2.0 / 3.0) / max(mean_sq, 1e-12)


def refine(x: torch.Tensor, energy_fn_or_log_prob_and_grad: Callable[[torch.Tensor], Any], *,
           method: str = "mala", step_size: float | torch.Tensor | None = None, n_steps: int = 100,
           target_accept: float = 0.574, generator: torch.Generator | int | None = None,
           constraint: Callable[[torch.Tensor], torch.Tensor] | None = None, adapt: bool = True) -> RefineResult:
    """Refine samples by Langevin MCMC targeting ``exp(-E)`` (optionally restricted to ``constraint``).

    Parameters
    ----------
    x : Tensor (B, ...)
        Starting samples (e.g. a diffusion sampler's output), one chain each.
    energy_fn_or_log_prob_and_grad : callable
        ``x -> E (B,)`` (e.g. ``lambda x: model.energy(x, sigma_min * ones)``) or ``x -> (log p, grad)``.
    method : "mala" (exact: Metropolis-adjusted) or "ula" (cheaper, biased by O(step)).
    step_size : float or Tensor (B,), optional
        Initial (MALA, adapted during the first half when ``adapt``) or fixed (ULA) step ``h``;
        default from the gradient scale at ``x`` (see :func:`_default_step`; 0.2 x that for ULA).
    n_steps : int
        MCMC steps.
    target_accept : float
        MALA acceptance target of the step adaptation.
    generator : torch.Generator or int, optional
    constraint : callable ``x -> bool (B,)``, optional
        Hard constraint (MALA only): proposals outside are rejected; every start must satisfy it.
    adapt : bool
        MALA step adaptation (Robbins–Monro during the first ``n_steps // 2`` steps, then frozen).

    Returns
    -------
    RefineResult

    Examples
    --------
    Refine a sampler's output with an energy-parameterized ``Denoiser`` at its smallest noise level::

        sig = torch.full((len(x),), float(sigmas[-2]))
        res = refine(x, lambda y: model.energy(y, sig, **extra_args), method="mala", n_steps=100)
    """
    from finscore.sampling.mcmc import mala, ula

    if method not in METHODS:
        raise ValueError(f"method must be 'mala' or 'ula', got {method!r}")
    if constraint is not None and method != "mala":
        raise ValueError("a constraint needs method='mala' (ULA has no accept/reject step to enforce it)")
    log_prob_and_grad = as_log_prob_and_grad(energy_fn_or_log_prob_and_grad)
    logp0, grad0 = log_prob_and_grad(x)
    if step_size is None:
        step_size = _default_step(grad0) * (1.0 if method == "mala" else 0.2)
    if method == "mala":
        out = mala(log_prob_and_grad, x, step_size=step_size, n_steps=n_steps, generator=generator, adapt=adapt,
                   target_accept=target_accept, constraint=constraint)
    else:
        out = ula(log_prob_and_grad, x, step_size=step_size, n_steps=n_steps, generator=generator)
    logp1, _ = log_prob_and_grad(out.x)
    return RefineResult(out.x, out.accept_rate, -logp0, -logp1, out.n_grad_evals + 2, out.step_size, method)
