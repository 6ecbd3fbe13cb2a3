"""Stress scenarios: constraint-guided diffusion sampling (VaR tails, loss caps) and EBM refinement.

Entry point (what ``finscore.model.generate`` calls for ``guidance=VaRGuidance(...)``)::

    sample_stress(model, x, sigmas, guidance, *, loss_fn=None, sampler="euler", extra_args=None,
                  generator=None, groups=None, target=None, **sampler_opts) -> SampleOutput

* ``model``: denoiser ``model(x (B, H, d), sigma (B,), **extra_args) -> (B, H, d)`` (standardized windows);
  ``x``: initial noise ``sigmas[0] * randn(B, H, d)``; ``sigmas``: the schedule, decreasing to 0;
  ``sampler``: a name of ``finscore.sampling.SAMPLERS`` (or a sampler function);
* ``loss_fn``: ``x0 (B, H, d) -> (B,)``, the differentiable portfolio loss of each row, e.g.
  ``guidance.loss_fn(assets, scale=plain_scale)`` with ``plain_scale`` Tensor (B, d) mapping standardized
  windows to daily log returns (the buy-and-hold loss over ``guidance.horizon_days``);
* rows with identical row-wise ``extra_args`` (or equal ``groups`` ids) are one context: each context gets
  an unguided pilot of ``guidance.pilot_size`` draws and its own threshold (VaR_alpha of the pilot losses,
  or ``guidance.loss``), so keep all rows of a context in one call.
* returns ``SampleOutput(x (B, H, d), nfe, info)`` with ``info["stress"]``: ``level`` (per context),
  ``level_per_row`` (B,), ``satisfied`` (share meeting the constraint), ``pilot_accept``, ``nfe``,
  ``pilot_nfe``, ``cost`` (forward passes per scenario, pilot included), ``mode``, ``alpha``.

Pieces:

* :class:`VaRGuidance` — the finance spec (weights, alpha, exceed / cap), validated on construction.
* :func:`constraint_guided` — the generic wrapper: any denoiser, any differentiable loss, any sampler;
  :func:`run_guided` runs a sampler on it (and its MALA finish).
* :func:`refine` — MALA / ULA on the energy of an energy-parameterized model (EBM refinement).
* :func:`sample_rejection` — the exact reference: unguided draws of a generator kept when they meet the constraint.
"""

from finscore.stress.guidance import ConstraintGuided, constraint_guided, cost_ratio, run_guided
from finscore.stress.refine import RefineResult, refine
from finscore.stress.rejection import sample_rejection
from finscore.stress.sample import sample_stress
from finscore.stress.var import VaRGuidance, check_feasible, estimate_var, loss_bounds, portfolio_loss_fn

__all__ = [
    "VaRGuidance",
    "sample_stress",
    "constraint_guided",
    "ConstraintGuided",
    "run_guided",
    "cost_ratio",
    "estimate_var",
    "check_feasible",
    "loss_bounds",
    "portfolio_loss_fn",
    "refine",
    "RefineResult",
    "sample_rejection",
]
