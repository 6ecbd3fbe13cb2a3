"""Constraint guidance: sample ``p(x0 | L(x0) >= level)`` (or ``<= level``) from a plain diffusion model.

The conditional reverse diffusion needs the score ``grad log p_sigma(x | c) = grad log p_sigma(x) +
grad log P(c | x_sigma = x)`` (Song et al. 2021, "controllable generation"). The likelihood ``P(c | x)`` is
approximated with a Gaussian posterior ``x0 | x ~ N(x0_hat, sigma^2 J)`` whose mean is Tweedie's
``x0_hat = D(x; sigma)`` and whose covariance is Tweedie's second-order identity ``Cov[x0 | x] = sigma^2 dD/dx``
(Efron 2011; the DPS plug-in of Chung et al. 2023 with the posterior variance kept). Linearising ``L`` at
``x0_hat`` with gradient ``g`` gives

    P(L(x0) >= level | x) ~= Phi(z),   z = (L(x0_hat) - level) / s,   s^2 = sigma^2 g^T J g + tau^2,

which is *exact* for a Gaussian prior and a linear loss (so the guided sampler then targets the truncated
Gaussian up to discretisation). ``s`` shrinks with sigma: the guidance anneals from a gentle tilt at high
noise to a hard barrier at sigma -> 0. The quadratic form costs nothing extra: one vector-Jacobian product
gives ``J^T g = grad_x L(D(x))``, which is also the direction of the guidance gradient, and ``g^T (J^T g) =
g^T J g``. A single backward pass per evaluation, so a guided step costs about two unguided ones.

A nonlinear loss (compounding, a GARCH recursion) spreads more than its linear part: given ``posterior``
draws ``eps_k`` of the posterior's spread (:class:`~finscore.stress.posterior.PilotPosterior`), the variance of
the remainder ``L(x0_hat + eps_k) - L(x0_hat) - g^T eps_k`` over the draws is added to ``s^2``. It is zero for
a linear loss (the exact case is unchanged); without it, the linearised ``s`` understates the loss's spread,
the tilt is too strong and guided scenarios overshoot into the far tail.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from finscore.errors import NumericalError

__all__ = ["MODES", "ConstraintGuided", "constraint_guided", "run_guided", "cost_ratio"]

MODES = ("exceed", "cap")
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _check_mode(mode: str) -> float:
    if mode not in MODES:
        raise ValueError(f"mode must be 'exceed' (loss >= level) or 'cap' (loss <= level), got {mode!r}")
    return 1.0 if mode == "exceed" else -1.0


def mills_ratio(z: torch.Tensor) -> torch.Tensor:
    """``d/dz log Phi(z) = phi(z) / Phi(z) = sqrt(2/pi) / erfcx(-z / sqrt 2)``, stable for any ``z``."""
    return _SQRT_2_OVER_PI / torch.special.erfcx(-z / math.sqrt(2.0))


class ConstraintGuided:
    """Denoiser wrapper adding ``sigma^2 * strength * grad_x log P(c | x)``; same signature as the model.

    Built by :func:`constraint_guided` (see there for the parameters). Attributes ``n_calls`` (evaluations)
    and ``min_sigma`` (smallest noise level seen, where :meth:`finish` refines) are updated on each call.
    """

    def __init__(self, model: Callable[..., torch.Tensor], loss_fn: Callable[[torch.Tensor], torch.Tensor],
                 level: float | torch.Tensor, *, mode: str = "exceed", strength: float = 1.0,
                 temperature: float = 0.0, finish: str | None = None, finish_steps: int = 50,
                 target: Callable[..., Any] | None = None,
                 posterior: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.sign = _check_mode(mode)
        level_t = torch.as_tensor(level, dtype=torch.float64)
        if level_t.ndim > 1 or not bool(torch.isfinite(level_t).all()):
            raise ValueError(f"level must be a finite scalar or a (B,) tensor, got {level!r}")
        if not (math.isfinite(strength) and strength >= 0):
            raise ValueError(f"strength must be finite and >= 0, got {strength}")
        if not (math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be finite and >= 0, got {temperature}")
        if finish not in (None, "mala"):
            raise ValueError(f"finish must be None or 'mala', got {finish!r}")
        if finish is not None:
            target = target if target is not None else _model_energy(model)
            if target is None:
                raise ValueError("finish='mala' needs an energy: an energy-parameterized Denoiser or target=...")
            if not isinstance(finish_steps, int) or finish_steps < 2:
                raise ValueError(f"finish_steps must be an int >= 2, got {finish_steps}")
        self.model, self.loss_fn, self.level, self.mode = model, loss_fn, level_t, mode
        self.strength, self.temperature = float(strength), float(temperature)
        self.finish_method, self.finish_steps, self.target = finish, finish_steps, target
        self.posterior = posterior
        self.n_calls, self.min_sigma = 0, math.inf

    def _level(self, like: torch.Tensor) -> torch.Tensor:
        return self.level.to(like)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args: Any) -> torch.Tensor:
        """Guided ``D(x; sigma) + sigma^2 * strength * grad_x log Phi(z)``, Tensor shaped like ``x`` (detached)."""
        self.n_calls += 1
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        self.min_sigma = min(self.min_sigma, float(sigma.min()))
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            denoised = self.model(xg, sigma, **extra_args)
            x0 = denoised.detach().requires_grad_(True)
            loss = self.loss_fn(x0)
            if loss.shape != x.shape[:1]:
                raise ValueError(f"loss_fn must return shape (B,) = ({x.shape[0]},), got {tuple(loss.shape)}")
            (g,) = torch.autograd.grad(loss.sum(), x0)  # grad of L at x0_hat
            (jg,) = torch.autograd.grad(denoised, xg, grad_outputs=g)  # J^T g = grad_x L(D(x))
        if not bool(torch.isfinite(loss).all() & torch.isfinite(g).all() & torch.isfinite(jg).all()):  # one sync
            raise NumericalError(f"guidance at noise level {float(sigma.max()):.3g}: the loss or its gradient at "
                                 "Tweedie's mean is not finite (the guided paths diverged); try more steps, a lower "
                                 "loss level, normal_scores=False, or sample_rejection")
        dims = tuple(range(1, x.ndim))
        # g^T J g; the floor 0.5 ||J^T g||^2 is inactive whenever J is symmetric with eigenvalues in [0, 2]
        # (always for a Gaussian prior) and keeps a learned, slightly non-PSD Jacobian from blowing up the step.
        quad = torch.maximum((g * jg).sum(dims), 0.5 * jg.square().sum(dims))
        var = sigma**2 * quad + self.temperature**2 + self._nonlinear_variance(x0.detach(), loss.detach(), g, sigma)
        s = var.clamp_min(torch.finfo(x.dtype).tiny).sqrt()
        z = self.sign * (loss.detach() - self._level(loss)) / s
        coef = self.strength * self.sign * mills_ratio(z) / s * sigma**2  # sigma^2 d log Phi(z) / d L(D(x))
        return denoised.detach() + coef.reshape((-1,) + (1,) * (x.ndim - 1)) * jg

    @torch.no_grad()
    def _nonlinear_variance(self, x0: torch.Tensor, loss: torch.Tensor, g: torch.Tensor,
                            sigma: torch.Tensor) -> torch.Tensor | float:
        """Variance (B,) over the posterior draws of ``L(x0 + eps) - L(x0) - g^T eps``; 0 without ``posterior``."""
        if self.posterior is None:
            return 0.0
        eps = self.posterior(sigma)  # (K, B, ...)
        if eps.shape[1:] != x0.shape:
            raise ValueError(f"posterior must return (K, *{tuple(x0.shape)}), got {tuple(eps.shape)}")
        dims = tuple(range(1, x0.ndim))
        rest = torch.stack([self.loss_fn(x0 + e) - loss - (g * e).sum(dims) for e in eps])  # (K, B)
        if not bool(torch.isfinite(rest).all()):
            raise ValueError("loss_fn is not finite at the posterior draws around Tweedie's mean")
        return rest.var(0)

    @torch.no_grad()
    def constraint(self, x: torch.Tensor) -> torch.Tensor:
        """Bool Tensor (B,): ``loss_fn(x) >= level`` ("exceed") or ``<= level`` ("cap")."""
        loss = self.loss_fn(x)
        return self.sign * (loss - self._level(loss)) >= 0

    def finish(self, x: torch.Tensor, *, extra_args: dict | None = None, generator: torch.Generator | None = None,
               sigma: float | None = None) -> tuple[torch.Tensor, dict]:
        """Constrained MALA on ``exp(-E(x; sigma))`` (default: the smallest sigma sampled) when ``finish='mala'``.

        Chains that violate the constraint are left as they are (MALA needs feasible starts). Returns
        ``(x (B, ...), info)``; without a finish method, ``(x, {})``.
        """
        if self.finish_method is None:
            return x, {}
        from finscore.stress.refine import refine

        sigma = self.min_sigma if sigma is None else sigma
        if not math.isfinite(sigma):
            raise ValueError("finish() needs sigma: run the sampler first or pass sigma=")
        extra_args = extra_args or {}
        ok = self.constraint(x)
        idx = ok.nonzero().flatten()
        if len(idx) == 0:
            return x, {"finish": "mala", "n_refined": 0}
        sub = {k: v[idx] if isinstance(v, torch.Tensor) and v.shape[:1] == x.shape[:1] else v
               for k, v in extra_args.items()}
        sig = torch.full((len(idx),), sigma, dtype=x.dtype, device=x.device)
        res = refine(x[idx], lambda y: self.target(y, sig, **sub), method="mala", n_steps=self.finish_steps,
                     generator=generator, constraint=_Subset(self, x, idx).constraint)
        out = x.clone()
        out[idx] = res.x.to(x.dtype)
        info = {"finish": "mala", "n_refined": int(len(idx)), "accept_rate": res.accept_rate,
                "n_grad_evals": res.n_grad_evals}
        return out, info


class _Subset:
    """The constraint of a :class:`ConstraintGuided` on rows ``idx`` of a batch ``base`` (B, ...).

    ``loss_fn`` and the levels may be per row, so the subset is written into a copy of the full batch.
    """

    def __init__(self, guided: ConstraintGuided, base: torch.Tensor, idx: torch.Tensor) -> None:
        self.guided, self.base, self.idx = guided, base.detach().clone(), idx

    @torch.no_grad()
    def constraint(self, y: torch.Tensor) -> torch.Tensor:
        self.base[self.idx] = y.to(self.base.dtype)
        return self.guided.constraint(self.base)[self.idx]


def _model_energy(model: Any) -> Callable[..., torch.Tensor] | None:
    """``model.energy`` when ``model`` (or the model a wrapper holds) is energy-parameterized, else None."""
    energy, inner = getattr(model, "energy", None), getattr(model, "model", model)
    is_energy = getattr(model, "energy_form", getattr(inner, "energy_form", True))
    return energy if callable(energy) and is_energy else None


def constraint_guided(model: Callable[..., torch.Tensor], loss_fn: Callable[[torch.Tensor], torch.Tensor],
                      level: float | torch.Tensor, *, mode: str = "exceed", strength: float = 1.0,
                      temperature: float = 0.0, finish: str | None = None, finish_steps: int = 50,
                      target: Callable[..., Any] | None = None,
                      posterior: Callable[[torch.Tensor], torch.Tensor] | None = None) -> ConstraintGuided:
    """Wrap ``model`` so that any sampler targets ``p(x0 | loss_fn(x0) >= level)`` (or ``<= level``).

    Parameters
    ----------
    model : denoiser ``model(x (B, ...), sigma (B,), **extra_args) -> (B, ...)``.
    loss_fn : callable ``x0 (B, ...) -> (B,)``, differentiable (torch ops) — e.g. a portfolio loss.
    level : float or Tensor (B,)
        Constraint threshold (one per row when the batch mixes contexts).
    mode : "exceed" (``loss >= level``, the tail beyond VaR) or "cap" (``loss <= level``).
    strength : float
        Multiplier of ``log P(c | x)`` (1 = the principled value; > 1 sharpens, 0 switches guidance off).
    temperature : float
        ``tau`` >= 0, added to the posterior std of the loss: the target becomes the soft constraint
        ``p(x0) Phi((L(x0) - level) / tau)`` (0 = hard constraint).
    finish : None or "mala"
        Optional exact clean-up by :meth:`ConstraintGuided.finish` (constrained MALA at the smallest sigma).
    finish_steps : int
        MALA steps of the finish (half adapt the step, half sample).
    target : callable ``(x, sigma (B,), **extra_args) -> energy (B,)`` or ``-> (log p (B,), grad)``
        Density for the finish; default ``model.energy`` (energy-parameterized Denoiser).
    posterior : callable ``sigma (B,) -> eps (K, B, ...)``, optional
        Draws of the posterior's spread around Tweedie's mean (e.g. :class:`~finscore.stress.posterior.PilotPosterior`);
        the spread they give the loss beyond its linear part is added to ``s^2`` (None: linearisation only).

    Returns
    -------
    ConstraintGuided
        A denoiser with the model's signature, returning detached tensors (no graph across sampler steps).
    """
    return ConstraintGuided(model, loss_fn, level, mode=mode, strength=strength, temperature=temperature,
                            finish=finish, finish_steps=finish_steps, target=target, posterior=posterior)


def run_guided(sampler: Callable[..., Any], guided: ConstraintGuided, x: torch.Tensor, sigmas: Any, *,
               extra_args: dict | None = None, generator: torch.Generator | None = None, **opts: Any):
    """Run ``sampler`` on the guided denoiser, then its finish; returns a ``SampleOutput``.

    ``info["guidance"]`` holds ``satisfied`` (fraction of rows meeting the constraint), ``n_calls`` and
    the finish details; ``nfe`` counts denoiser evaluations (each one forward + one backward pass).
    """
    from finscore.sampling import SampleOutput

    out = sampler(guided, x, sigmas, extra_args=extra_args, generator=generator, **opts)
    x_out, finish_info = guided.finish(out.x, extra_args=extra_args, generator=generator)
    info = {**out.info, "guidance": {"mode": guided.mode, "n_calls": guided.n_calls,
                                     "satisfied": float(guided.constraint(x_out).double().mean()), **finish_info}}
    return SampleOutput(x_out, out.nfe, info)


def cost_ratio(accept_prob: float, guided_cost: float, unguided_cost: float) -> float:
    """Cost of one guided scenario relative to one scenario accepted by rejection sampling.

    Rejection keeps a fraction ``accept_prob`` of unguided draws (``1 - alpha`` at VaR_alpha), so it pays
    ``unguided_cost / accept_prob`` per accepted scenario. Costs are per scenario in a common unit (model
    forward passes, seconds); ``guided_cost`` includes the pilot's share (``info["stress"]["cost"]`` of
    :func:`~finscore.stress.sample.sample_stress`, in forward passes).

    Returns
    -------
    float
        ``guided_cost * accept_prob / unguided_cost``.
    """
    if not 0 < accept_prob <= 1:
        raise ValueError(f"accept_prob must be in (0, 1], got {accept_prob}")
    if not (guided_cost > 0 and unguided_cost > 0):
        raise ValueError(f"costs must be positive, got guided_cost={guided_cost}, unguided_cost={unguided_cost}")
    return guided_cost * accept_prob / unguided_cost
