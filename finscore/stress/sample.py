"""The stress entry point: pilot, threshold and guided sampling in one call (what ``generate`` wires).

:func:`sample_stress` runs, for one batch of rows that may mix contexts (conditioning rows),

1. a *pilot*: ``guidance.pilot_size`` unguided draws per context with the same sampler and schedule;
2. the threshold per context: VaR_alpha of the pilot losses (or ``guidance.loss``), with a feasibility
   check (a cap met by no pilot draw is an error);
3. the guided run: :func:`~finscore.stress.guidance.constraint_guided` around the model, started from the
   initial noise shifted by ``E[x0 | constraint] - E[x0]`` estimated on the pilot (the reverse SDEs forget
   their start, the probability-flow ODE does not), then the optional MALA finish. For a hard constraint
   the pilot also gives the guidance the loss's normal scores
   (:class:`~finscore.stress.normal_score.PilotNormalScore`) and draws of the posterior's spread
   (:class:`~finscore.stress.posterior.PilotPosterior`) for the loss's nonlinear part.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from finscore._rng import torch_generator
from finscore.sampling import SampleOutput, get_sampler
from finscore.sampling._common import ends_noisy, prepare_sigmas
from finscore.stress.guidance import constraint_guided, run_guided
from finscore.stress.normal_score import PilotNormalScore
from finscore.stress.posterior import PilotPosterior
from finscore.stress.var import VaRGuidance, check_feasible, estimate_var

__all__ = ["sample_stress", "GUIDED_EVAL_COST", "STRESS_SAMPLER_DEFAULTS"]

PILOT_CHUNK = 1024
"""Pilot draws per sampler call when the batch is smaller (no graph is kept, so memory is lower)."""

GUIDED_EVAL_COST = 3.0
"""Cost of one guided evaluation in forward passes: forward with graph + vector-Jacobian product (~2)."""

STRESS_SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {"pc": {"snr": 0.05}}
"""Sampler options used under guidance unless given. PC's snr step rule (Song et al. 2021) sets the corrector
step from the score norm, which for smooth data is O(1) at small sigma; the constraint barrier has curvature
1 / sigma^2, and with snr = 0.16 the corrector's ULA is then visibly biased (loss W1 ~ 0.3 sd on a Gaussian)."""


def _row_wise(v: Any, n: int) -> bool:
    return isinstance(v, torch.Tensor) and v.ndim >= 1 and v.shape[0] == n


def _contexts(extra_args: dict, n: int) -> torch.Tensor:
    """Context id (n,) of each row: rows with identical row-wise conditioning tensors share one."""
    cols = [v.detach().reshape(n, -1).double().cpu() for v in extra_args.values() if _row_wise(v, n)]
    if not cols:
        return torch.zeros(n, dtype=torch.long)
    return torch.unique(torch.cat(cols, dim=1), dim=0, return_inverse=True)[1]


def _take(extra_args: dict, rows: torch.Tensor, n: int) -> dict:
    return {k: v[rows.to(v.device)] if _row_wise(v, n) else v for k, v in extra_args.items()}


@torch.no_grad()
def _pilot(model, sampler_fn, x, sigmas, extra_args, groups, n_pilot, loss_fn, generator, opts):
    """``n_pilot`` unguided draws per context, each on a row of that context (cycling through its rows).

    ``loss_fn`` may carry per-row parameters (e.g. a (B, d) scale), so losses are evaluated on (B, ...)
    buffers in rounds in which each row appears once. Returns draws (P, ...), their rows (P,), losses (P,)
    and the sampler's evaluations per draw.
    """
    b = x.shape[0]
    rows, occ = [], []
    for g in range(int(groups.max()) + 1):
        idx = (groups == g).nonzero().flatten()
        j = torch.arange(n_pilot)
        rows.append(idx[j % len(idx)])
        occ.append(j // len(idx))
    rows, occ = torch.cat(rows), torch.cat(occ)
    draws, nfe = [], 0
    sig0 = torch.as_tensor(sigmas)[0].item()
    for chunk in rows.split(max(b, PILOT_CHUNK)):
        noise = torch.randn((len(chunk),) + x.shape[1:], generator=generator, dtype=x.dtype, device=x.device) * sig0
        out = sampler_fn(model, noise, sigmas, extra_args=_take(extra_args, chunk, b), generator=generator, **opts)
        draws.append(out.x)
        nfe = out.nfe
    draws = torch.cat(draws)
    losses = torch.empty(len(rows), dtype=torch.float64)
    for r in range(int(occ.max()) + 1):
        sel = (occ == r).nonzero().flatten()
        buf = torch.zeros_like(x)
        buf[rows[sel].to(x.device)] = draws[sel.to(x.device)]
        value = loss_fn(buf)
        if value.shape != x.shape[:1]:
            raise ValueError(f"loss_fn must return shape (B,) = ({b},), got {tuple(value.shape)}")
        losses[sel] = value[rows[sel].to(value.device)].double().cpu()
    return draws, rows, losses, nfe


def sample_stress(model: Callable[..., torch.Tensor], x: torch.Tensor, sigmas: Any, guidance: VaRGuidance, *,
                  loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  sampler: str | Callable[..., Any] = "euler", extra_args: dict | None = None,
                  generator: torch.Generator | int | None = None, groups: torch.Tensor | None = None,
                  target: Callable[..., Any] | None = None, **sampler_opts: Any) -> SampleOutput:
    """Stress scenarios: draws of ``model`` given ``loss_fn(x0) >= VaR_alpha`` (or ``<= cap``).

    Parameters
    ----------
    model : denoiser ``model(x (B, H, d), sigma (B,), **extra_args) -> (B, H, d)`` of standardized windows.
    x : Tensor (B, H, d)
        Initial noise at ``sigmas[0]`` (``sigmas[0] * randn``), one row per scenario.
    sigmas : Tensor (N + 1,), decreasing to 0.
    guidance : VaRGuidance
    loss_fn : callable ``x0 (B, H, d) -> (B,)``, optional
        Differentiable portfolio loss of row ``i`` of a standardized batch (may use per-row parameters,
        e.g. ``guidance.loss_fn(assets, scale=plain_scale)`` with ``plain_scale`` (B, d)). Default
        ``guidance.loss_fn(d)``: the windows are taken as daily log returns.
    sampler : name in ``finscore.sampling.SAMPLERS`` or a sampler function.
    extra_args : dict, optional
        Conditioning, tensors with one row per scenario (B, ...) or shared.
    generator : torch.Generator or int, optional
        Noise of the pilot, the sampler and the finish.
    groups : LongTensor (B,), optional
        Context id of each row (one pilot and threshold per context); default: rows with identical
        row-wise ``extra_args`` form one context (all rows when there are none).
    target : callable, optional
        Energy for ``guidance.finish="mala"`` (default ``model.energy``).
    **sampler_opts
        Passed to the sampler (guided and pilot runs); :data:`STRESS_SAMPLER_DEFAULTS` fill the gaps.

    Returns
    -------
    SampleOutput
        ``x`` (B, H, d) guided scenarios; ``nfe`` guided evaluations (each forward + backward);
        ``info["stress"]``: ``mode``, ``alpha``, ``level`` (list, one per context), ``level_per_row``
        (Tensor (B,)), ``pilot_accept`` (share of pilot draws meeting the constraint, per context),
        ``satisfied`` (share of scenarios meeting it), ``n_pilot``, ``pilot_nfe`` (evaluations per pilot
        draw), ``nfe``, ``cost`` (forward passes per scenario, pilot and finish included) and the finish's
        ``accept_rate`` when it ran.
    """
    if not isinstance(guidance, VaRGuidance):
        raise TypeError(f"guidance must be a VaRGuidance, got {type(guidance).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] == 0:
        raise ValueError("x must be a Tensor (B, H, d) of initial noise with B >= 1")
    if ends_noisy(prepare_sigmas(sigmas, x)):
        raise ValueError(f"stress sampling needs sigmas ending in 0 (a full run), got a last level {float(sigmas[-1]):.4g}")
    sampler_fn = get_sampler(sampler) if isinstance(sampler, str) else sampler
    if isinstance(sampler, str):
        sampler_opts = {**STRESS_SAMPLER_DEFAULTS.get(sampler, {}), **sampler_opts}
    extra_args, b = dict(extra_args or {}), x.shape[0]
    loss_fn = guidance.loss_fn(x.shape[-1]) if loss_fn is None else loss_fn
    if isinstance(generator, int) and not isinstance(generator, bool):
        generator = torch_generator(generator, device=x.device)
    groups = _contexts(extra_args, b) if groups is None else torch.as_tensor(groups, dtype=torch.long).cpu()
    if groups.shape != (b,) or int(groups.min()) < 0:
        raise ValueError(f"groups must be non-negative ints of shape ({b},), got {tuple(groups.shape)}")
    groups = torch.unique(groups, return_inverse=True)[1]
    n_groups, n_pilot = int(groups.max()) + 1, guidance.pilot_size
    levels, accept, shift, pilot_nfe = [], [], torch.zeros((n_groups,) + x.shape[1:], dtype=x.dtype), 0
    pilot_losses, pilot_draws = [], []
    if n_pilot > 0:
        draws, rows, losses, pilot_nfe = _pilot(model, sampler_fn, x, sigmas, extra_args, groups, n_pilot,
                                                loss_fn, generator, sampler_opts)
        draws, pilot_groups = draws.cpu(), groups[rows]
        for g in range(n_groups):
            sel = pilot_groups == g
            level = estimate_var(losses[sel], guidance.alpha) if guidance.loss is None else float(guidance.loss)
            where = f" (context {g})" if n_groups > 1 else ""
            accept.append(check_feasible(losses[sel], level, guidance.mode, where=where))
            ok = losses[sel] >= level if guidance.mode == "exceed" else losses[sel] <= level
            if bool(ok.any()):
                shift[g] = draws[sel][ok].mean(0) - draws[sel].mean(0)
            levels.append(level)
            pilot_losses.append(losses[sel])
            pilot_draws.append(draws[sel])
    else:
        levels = [float(guidance.loss)] * n_groups
    level_rows = torch.as_tensor(levels, dtype=torch.float64)[groups]
    guide_fn, guide_level, posterior = loss_fn, level_rows if n_groups > 1 else levels[0], None
    if n_pilot >= 2 and guidance.temperature == 0:  # the hard constraint, guided on a nearly linear loss
        if guidance.normal_scores:  # the same constraint set
            score = PilotNormalScore(torch.stack(pilot_losses), groups)
            guide_fn, guide_level = (lambda y: score(loss_fn(y))), score.level(level_rows)
        if guidance.posterior_draws:
            posterior = PilotPosterior(torch.stack(pilot_draws), groups, guidance.posterior_draws)
    guided = constraint_guided(model, guide_fn, guide_level, mode=guidance.mode,
                               strength=guidance.strength, temperature=guidance.temperature,
                               finish=guidance.finish, finish_steps=guidance.finish_steps, target=target,
                               posterior=posterior)
    x_start = x + shift[groups].to(x)
    out = run_guided(sampler_fn, guided, x_start, sigmas, extra_args=extra_args, generator=generator,
                     **sampler_opts)
    g_info = out.info.pop("guidance")
    finish_cost = g_info.get("n_grad_evals", 0) * g_info.get("n_refined", 0) / b
    cost = GUIDED_EVAL_COST * (out.nfe + finish_cost) + pilot_nfe * n_pilot * n_groups / b
    info = {"mode": guidance.mode, "alpha": guidance.alpha, "level": levels, "level_per_row": level_rows,
            "pilot_accept": accept, "n_pilot": n_pilot, "pilot_nfe": pilot_nfe, "nfe": out.nfe,
            "normal_scores": guide_fn is not loss_fn, "posterior_draws": 0 if posterior is None else posterior.n_draws,
            "cost": cost, "horizon_days": guidance.horizon_days, **g_info}
    out.info["stress"] = info
    return out
