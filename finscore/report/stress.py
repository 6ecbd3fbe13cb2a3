"""Stress-scenario inputs of the report: guided vs rejection-sampled portfolio losses.

:class:`StressResult` is plain arrays (any method can fill it); :func:`run_stress` fills it from a
generator whose ``sample`` takes ``guidance=VaRGuidance(...)``: guided tail scenarios against the
exact reference, rejection sampling of unguided draws beyond their empirical VaR.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from finscore._rng import spawn_seeds
from finscore._typing import Seed
from finscore.errors import DataError


@dataclass(frozen=True, eq=False)
class StressResult:
    """Portfolio losses of guided stress scenarios and of the rejection-sampling reference.

    Parameters
    ----------
    guided_losses : ndarray (n_guided,) horizon losses of the guided scenarios, fractions of book value
        (positive = loss).
    rejection_losses : ndarray (n_rejection,) losses of the unguided draws kept by rejection (may be empty).
    weights : Series (n_assets,) portfolio weights indexed by asset (a mapping or array is converted).
    alpha : VaR level of the stress (tail beyond VaR_alpha).
    threshold : the loss level scenarios were conditioned to exceed (fraction of value), if known.
    horizon_days : days the losses accumulate over, if known.
    cost : mapping label -> number (e.g. "guided, s per scenario"), shown as a table.
    metadata : free-form provenance (sampler, seeds, ...), shown as a table.
    """

    guided_losses: np.ndarray
    rejection_losses: np.ndarray
    weights: pd.Series
    alpha: float
    threshold: float | None = None
    horizon_days: int | None = None
    cost: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("guided_losses", "rejection_losses"):
            arr = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(arr)):
                raise DataError(f"StressResult.{name} has {int((~np.isfinite(arr)).sum())} non-finite values")
            object.__setattr__(self, name, arr)
        if self.guided_losses.size == 0:
            raise DataError("StressResult.guided_losses is empty")
        w = self.weights
        if not isinstance(w, pd.Series):
            w = pd.Series(dict(w)) if isinstance(w, Mapping) else pd.Series(np.asarray(w, dtype=np.float64).ravel())
        if w.empty or not np.all(np.isfinite(w.to_numpy(np.float64))):
            raise DataError("StressResult.weights must be a non-empty finite vector")
        object.__setattr__(self, "weights", w.astype(np.float64))
        if not 0 < float(self.alpha) < 1:
            raise DataError(f"StressResult.alpha must be in (0, 1), got {self.alpha}")
        object.__setattr__(self, "cost", {str(k): float(v) for k, v in dict(self.cost).items()})
        object.__setattr__(self, "metadata", dict(self.metadata))

    @classmethod
    def coerce(cls, value: "StressResult | Mapping[str, Any]") -> "StressResult":
        return value if isinstance(value, cls) else cls(**dict(value))

    def summary(self) -> pd.DataFrame:
        """Loss statistics per method: n, mean, median, 95% / 99% quantiles, max (fractions of value)."""
        rows = {}
        for name, x in (("guided", self.guided_losses), ("rejection", self.rejection_losses)):
            if x.size:
                rows[name] = {"n": x.size, "mean": x.mean(), "median": np.median(x), "q95": np.quantile(x, 0.95),
                              "q99": np.quantile(x, 0.99), "max": x.max()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def ks_test(self):
        """Two-sample Kolmogorov–Smirnov test of guided vs rejection losses (None without rejection draws)."""
        from scipy import stats

        return stats.ks_2samp(self.guided_losses, self.rejection_losses) if self.rejection_losses.size else None


def supports_guidance(model: Any) -> bool:
    """True when ``model.sample`` accepts a ``guidance`` keyword (e.g. ScoreGenerator)."""
    sample = getattr(model, "sample", None)
    if not callable(sample):
        return False
    try:
        return "guidance" in inspect.signature(sample).parameters
    except (TypeError, ValueError):
        return False


def run_stress(model: Any, *, weights: Any = "equal", alpha: float = 0.95, n: int = 200,
               horizon: int | None = None, context: pd.DataFrame | None = None, max_draws: int = 20_000,
               seed: Seed = 0, guidance_options: Mapping[str, Any] | None = None) -> StressResult:
    """Guided VaR-tail scenarios of ``model`` and the rejection-sampling reference for the same context.

    Rejection draws ``min(ceil(n / (1 - alpha)), max_draws)`` unguided scenarios and keeps those whose
    loss is at least their empirical VaR_alpha (about ``n`` of them); the guided run asks for ``n``
    scenarios with ``VaRGuidance(weights, alpha)``. Costs are wall-clock seconds per kept scenario.
    ``horizon`` (days per path) and ``context`` are passed to ``model.sample`` (None: the model's defaults);
    ``guidance_options`` are further :class:`~finscore.stress.VaRGuidance` fields (e.g. ``posterior_draws=0``).

    Raises
    ------
    TypeError
        If ``model.sample`` takes no ``guidance`` keyword.
    """
    from finscore.stress import VaRGuidance, estimate_var

    if not supports_guidance(model):
        raise TypeError(f"{type(model).__name__}.sample takes no guidance=...: stress scenarios need a diffusion model")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    s_guided, s_plain = spawn_seeds(seed, 2)
    n_draws = min(math.ceil(n / (1.0 - alpha)), max_draws)
    t0 = time.perf_counter()
    kw = {"context": context} if horizon is None else {"context": context, "horizon": horizon}
    plain = model.sample(n_draws, seed=np.random.default_rng(s_plain), **kw)
    t_plain = time.perf_counter() - t0
    w = plain.weights_vector(weights)
    plain_losses = -plain.portfolio_pnl(w)
    level = estimate_var(plain_losses, alpha)
    kept = plain_losses[plain_losses >= level]
    t0 = time.perf_counter()
    spec = VaRGuidance(tuple(w), alpha=alpha, **dict(guidance_options or {}))
    guided = model.sample(n, seed=np.random.default_rng(s_guided), guidance=spec, **kw)
    t_guided = time.perf_counter() - t0
    cost = {"guided: seconds per scenario": t_guided / n,
            "rejection: seconds per kept scenario": t_plain / max(kept.size, 1),
            "rejection: unguided draws": n_draws}
    meta = {k: v for k, v in guided.metadata.items() if isinstance(v, (str, int, float, bool))}
    meta.update(context_end=None if plain.start is None else str(plain.start.date()))
    return StressResult(-guided.portfolio_pnl(w), kept, pd.Series(w, index=list(plain.assets)), alpha,
                        threshold=level, horizon_days=plain.horizon, cost=cost, metadata=meta)
