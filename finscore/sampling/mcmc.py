"""Langevin MCMC for a fixed energy: ULA (biased, O(step)) and MALA (exact, Metropolis-adjusted).

``log_prob_and_grad(x) -> (logp (B,), grad (B, ...))`` evaluates an unnormalised log density and its gradient on
a batch of independent chains; it is called with autograd enabled (even under ``torch.no_grad``) on a fresh detached
alias of the chain state, and its outputs are detached, so it may use autograd inside (``x.requires_grad_()`` +
``torch.autograd.grad``) or an analytic gradient; the chains never carry a graph.

Plain Langevin at the data scale does not cross energy barriers: on 0.3 N(-4, 0.5^2) + 0.7 N(4, 0.5^2) a chain
started in one mode stays there (the barrier is about 32 nats), so mode weights are *not* recovered. Use an
annealed diffusion sampler (:mod:`finscore.sampling`) for multimodal targets and MCMC for local refinement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from finscore.sampling._common import (
    FiniteGuard,
    append_dims,
    as_tensor_like,
    as_torch_generator,
    check_int,
    langevin_step,
    randn_like,
)

__all__ = ["MCMCOutput", "ula", "mala"]

LogProbAndGrad = Callable[[torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass(frozen=True)
class MCMCOutput:
    """Result of an MCMC run.

    Attributes
    ----------
    x : Tensor (B, ...)
        Final state of each chain.
    accept_rate : float
        Mean acceptance rate over chains after adaptation (1.0 for ULA).
    step_size : float
        Final step size (mean over chains when it is per chain).
    n_grad_evals : int
        Calls of ``log_prob_and_grad`` (each on the whole batch).
    info : dict
        ``accept_rate_per_chain`` (B,), ``step_size_per_chain`` (B,), ``n_adapt`` and the sampler name.
    """

    x: torch.Tensor
    accept_rate: float
    step_size: float
    n_grad_evals: int
    info: dict = field(default_factory=dict)


def _evaluate(log_prob_and_grad: LogProbAndGrad, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Call ``log_prob_and_grad`` on a fresh detached alias of ``x`` with autograd enabled; detach the outputs.

    The alias matters: a callee doing ``x.requires_grad_()`` must not turn the chain state into a graph leaf.
    """
    with torch.enable_grad():
        logp, grad = log_prob_and_grad(x.detach())
    if logp.shape != x.shape[:1] or grad.shape != x.shape:
        shapes = f"{tuple(logp.shape)} and {tuple(grad.shape)} for x {tuple(x.shape)}"
        raise ValueError(f"log_prob_and_grad must return logp (B,) and grad shaped like x; got {shapes}")
    return logp.detach().to(x.dtype), grad.detach().to(x.dtype)


def _sq_norm(v: torch.Tensor) -> torch.Tensor:
    return v.reshape(v.shape[0], -1).square().sum(1)


def _check_args(x: torch.Tensor, step_size: float | torch.Tensor, n_steps: int) -> tuple[torch.Tensor, int]:
    """Validate; return the step size as a tensor of shape () (shared) or (B,) (per chain), and ``n_steps``."""
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or not x.is_floating_point() or not bool(torch.isfinite(x).all()):
        raise ValueError("x must be a finite floating-point Tensor (B, ...) of initial chain states")
    step = as_tensor_like(step_size, x)
    bad_shape = step.ndim > 1 or (step.ndim == 1 and step.shape[0] != x.shape[0])
    if bad_shape or not bool(((step > 0) & torch.isfinite(step)).all()):
        shape = f"a (B,) = ({x.shape[0]},) tensor"
        raise ValueError(f"step_size must be a finite positive scalar or {shape}, got {step_size}")
    return step, check_int("n_steps", n_steps, 1)


def ula(
    log_prob_and_grad: LogProbAndGrad,
    x: torch.Tensor,
    *,
    step_size: float | torch.Tensor,
    n_steps: int,
    generator: torch.Generator | int | None = None,
) -> MCMCOutput:
    """Unadjusted Langevin algorithm ``x <- x + h grad log p(x) + sqrt(2h) z`` (Roberts & Tweedie 1996).

    Biased at any fixed ``h``: for N(0, S) the stationary covariance is ``S (I - h S^-1 / 2)^-1``.

    Parameters
    ----------
    log_prob_and_grad : callable ``x (B, ...) -> (logp (B,), grad (B, ...))``.
    x : Tensor (B, ...)
        Initial states of B independent chains.
    step_size : float or Tensor (B,)
        Step ``h`` (shared, or one per chain).
    n_steps : int
        Number of steps (= ``n_grad_evals``).
    generator : torch.Generator or int, optional
        Source of the noise.
    """
    step, n_steps = _check_args(x, step_size, n_steps)
    generator, guard = as_torch_generator(generator, x.device), FiniteGuard("ula", x)
    x = x.detach()
    for t in range(n_steps):
        _, grad = _evaluate(log_prob_and_grad, x)
        x, _ = langevin_step(x, grad, step, randn_like(x, generator))
        guard.update(x, t)
    x, per_chain = guard.check(x), step.expand(x.shape[0]).clone()
    info = {"sampler": "ula", "accept_rate_per_chain": torch.ones_like(per_chain), "step_size_per_chain": per_chain}
    return MCMCOutput(x, 1.0, float(step.mean()), n_steps, info)


def mala(
    log_prob_and_grad: LogProbAndGrad,
    x: torch.Tensor,
    *,
    step_size: float | torch.Tensor,
    n_steps: int,
    generator: torch.Generator | int | None = None,
    adapt: bool = True,
    target_accept: float = 0.574,
    constraint: Callable[[torch.Tensor], torch.Tensor] | None = None,
    n_adapt: int | None = None,
) -> MCMCOutput:
    """Metropolis-adjusted Langevin algorithm (Roberts & Tweedie 1996), adaptive step (Andrieu & Thoms 2008).

    Proposal ``y = x + h grad log p(x) + sqrt(2h) z``, accepted with probability
    ``min(1, p(y) q(x | y) / (p(x) q(y | x)))``. Proposals with ``constraint(y)`` False (or a non-finite log density
    or gradient) are rejected, so the chain targets ``p`` restricted to the constraint set exactly. With ``adapt``,
    during the first ``n_adapt`` steps (default ``n_steps // 2``) ``log h += t^-0.6 (a_t - target_accept)``
    (Robbins–Monro on the acceptance probability ``a_t``: the batch mean for a scalar step, per chain for a (B,) step
    — pass ``torch.full((B,), h)`` for per-chain adaptation); the step is then frozen, so the remaining steps are a
    valid MCMC chain and ``accept_rate`` is measured on them.

    Parameters
    ----------
    log_prob_and_grad, x, step_size, n_steps, generator
        As in :func:`ula`; ``n_grad_evals = n_steps + 1``.
    adapt : bool
        Adapt the step size during burn-in.
    target_accept : float
        Target acceptance probability in (0, 1); 0.574 is optimal for MALA (Roberts & Rosenthal 1998).
    constraint : callable ``x (B, ...) -> bool Tensor (B,)``, optional
        Hard constraint; every initial state must satisfy it.
    n_adapt : int, optional
        Adaptation steps, ``0 <= n_adapt < n_steps`` (ignored without ``adapt``).

    Returns
    -------
    MCMCOutput
        ``step_size`` is the frozen step (exactly the input when not adapting; the chain mean for a (B,) step).
    """
    step, n_steps = _check_args(x, step_size, n_steps)
    n_adapt = (n_steps // 2 if n_adapt is None else n_adapt) if adapt else 0
    if not 0 <= n_adapt < n_steps or not 0 < target_accept < 1:
        raise ValueError(f"need 0 <= n_adapt < n_steps and 0 < target_accept < 1, got {n_adapt}, {target_accept}")
    x = x.detach()
    if constraint is not None:
        ok = torch.as_tensor(constraint(x))
        if ok.dtype != torch.bool or ok.shape != x.shape[:1]:
            got = f"{ok.dtype} {tuple(ok.shape)}"
            raise ValueError(f"constraint must return a bool Tensor (B,) = ({x.shape[0]},), got {got}")
        if not bool(ok.all()):
            bad = (~ok).nonzero().flatten().tolist()[:10]
            raise ValueError(f"initial states violate the constraint (chains {bad}...)")
    generator, guard = as_torch_generator(generator, x.device), FiniteGuard("mala", x)
    logp, grad = _evaluate(log_prob_and_grad, x)
    if not bool(torch.isfinite(logp).all() & torch.isfinite(grad).all()):
        raise ValueError("log_prob_and_grad is not finite at the initial states; start the chains inside the support")
    n_accept = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for t in range(n_steps):
        y, mean_x = langevin_step(x, grad, step, randn_like(x, generator))
        logp_y, grad_y = _evaluate(log_prob_and_grad, y)
        mean_y = y + append_dims(step, x.ndim) * grad_y
        log_q_ratio = (_sq_norm(y - mean_x) - _sq_norm(x - mean_y)) / (4 * step)  # log q(x | y) - log q(y | x)
        log_ratio = logp_y - logp + log_q_ratio
        # Reject proposals outside the support or the constraint: non-finite log density or gradient (accepting a
        # non-finite gradient would freeze the chain), or constraint(y) False.
        valid = torch.isfinite(log_ratio) & torch.isfinite(grad_y.reshape(grad_y.shape[0], -1)).all(1)
        if constraint is not None:
            valid &= constraint(y)
        log_ratio = torch.where(valid, log_ratio, -torch.inf)
        accept_prob = log_ratio.clamp(max=0).exp()
        accept = torch.rand(accept_prob.shape, generator=generator, dtype=x.dtype, device=x.device) < accept_prob
        x = torch.where(append_dims(accept, x.ndim), y, x)
        logp, grad = torch.where(accept, logp_y, logp), torch.where(append_dims(accept, x.ndim), grad_y, grad)
        if t < n_adapt:  # Robbins–Monro on log h, batch-mean acceptance for a shared step
            rate_t = accept_prob if step.ndim else accept_prob.mean()
            step = step * torch.exp((t + 1) ** -0.6 * (rate_t - target_accept))
        else:
            n_accept += accept
        guard.update(x, t)
    x, rate = guard.check(x), n_accept / (n_steps - n_adapt)
    # A shared step is reported as itself (its mean over B copies could differ in the last bit).
    info = {"sampler": "mala", "accept_rate_per_chain": rate, "step_size_per_chain": step.expand(x.shape[0]).clone(),
            "n_adapt": n_adapt}
    return MCMCOutput(x, float(rate.mean()), float(step.mean()), n_steps + 1, info)
