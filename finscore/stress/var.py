"""VaR stress scenarios: the :class:`VaRGuidance` spec and the portfolio loss of a standardized window.

``VaRGuidance(weights, alpha=0.99)`` asks for the model's scenarios *given* that the portfolio's horizon loss
``L_w(x)`` exceeds its VaR_alpha ("exceed": the tail) or stays below a cap ("cap"). The threshold is the
explicit ``loss`` or VaR_alpha of a pilot of unguided draws for the same context (see
:func:`~finscore.stress.sample.sample_stress`); the exact answer is rejection sampling of unguided draws,
at 1 / (1 - alpha) times the cost.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from finscore.errors import DataError
from finscore.scenarios import portfolio_weights
from finscore.stress.guidance import MODES

__all__ = ["VaRGuidance", "estimate_var", "check_feasible", "portfolio_loss_fn", "loss_bounds"]


def estimate_var(losses: Any, alpha: float) -> float:
    """Empirical VaR: the lower ``alpha``-quantile ``inf{l : F_n(l) >= alpha}`` of ``losses`` (n,)."""
    _check_alpha(alpha)
    arr = np.asarray(losses.detach().cpu() if isinstance(losses, torch.Tensor) else losses, dtype=np.float64)
    arr = arr.reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise DataError(f"losses must be a non-empty finite array, got size {arr.size}")
    return float(np.quantile(arr, alpha, method="inverted_cdf"))


def check_feasible(pilot_losses: Any, level: float, mode: str, *, where: str = "") -> float:
    """Share of pilot draws meeting the constraint; DataError when a cap is met by none of them.

    A cap below every loss the unguided model produced has (estimated) probability zero under the model,
    so its conditional distribution is undefined. An "exceed" level beyond every pilot draw is only
    warned about (guidance then extrapolates into the model's far tail). ``where`` is appended to messages.
    """
    arr = np.asarray(pilot_losses.detach().cpu() if isinstance(pilot_losses, torch.Tensor) else pilot_losses,
                     dtype=np.float64).reshape(-1)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    ok = arr >= level if mode == "exceed" else arr <= level
    rate = float(ok.mean())
    if rate == 0.0 and mode == "cap":
        raise DataError(f"infeasible cap{where}: loss <= {level:.6g} holds for none of {arr.size} unguided pilot "
                        f"draws (smallest pilot loss {arr.min():.6g}); raise the cap above the model's loss range")
    if rate == 0.0:
        warnings.warn(f"loss >= {level:.6g} holds for none of {arr.size} pilot draws{where} (largest {arr.max():.6g}); "
                      "guided scenarios extrapolate beyond the model's sampled range", RuntimeWarning, stacklevel=3)
    return rate


def loss_bounds(weights: Any) -> tuple[float, float]:
    """``(inf, sup)`` of the buy-and-hold loss ``-sum_i w_i (exp(r_i) - 1)`` over all returns ``r`` (d,).

    Each long position loses less than its weight and each short one gains less than its weight, so
    ``sup = sum w_+`` without shorts (else ``+inf``) and ``inf = -sum |w_-|`` without longs (else ``-inf``).
    """
    w = np.asarray(weights, dtype=np.float64)
    sup = float(w[w > 0].sum()) if not np.any(w < 0) else math.inf
    inf = float(w[w < 0].sum()) if not np.any(w > 0) else -math.inf
    return inf, sup


def _check_alpha(alpha: float) -> None:
    if not isinstance(alpha, (int, float, np.floating)) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be a probability in (0, 1), got {alpha!r}")


def _as_int(v: Any) -> Any:
    """``v`` as a Python int when it is an integer (numpy's too, not a bool); anything else unchanged, for the
    range checks to reject by name."""
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v


def _as_real(name: str, v: Any) -> float:
    """``v`` as a float, or a ValueError naming the argument (not a TypeError from ``float``)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {v!r}")  # noqa: TRY004 (as every VaRGuidance check)
    return float(v)


def _as_tensor(v: Any, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(v, dtype=like.dtype, device=like.device)
    return t[:, None, :] if t.ndim == 2 else t  # (B, d) -> (B, 1, d) to broadcast over time


def portfolio_loss_fn(weights: Any, *, scale: Any = 1.0, loc: Any = 0.0, horizon_days: int | None = None,
                      marginal: Callable[[torch.Tensor], torch.Tensor] | None = None
                      ) -> Callable[[torch.Tensor], torch.Tensor]:
    """Loss of a buy-and-hold book over a standardized window, as a differentiable torch function.

    ``x_plain = loc + scale * m(x)`` are daily log returns (``m = marginal``, default the identity); the
    book's loss over the first ``h`` days is
    ``-sum_i w_i (exp(sum_{t<h} x_plain[t, i]) - 1)`` (a fraction of the book's value).

    Parameters
    ----------
    weights : array (d,)
    scale, loc : float, array (d,) or (B, d) (one row per scenario), or (B, H, d)
    horizon_days : int, optional
        ``h``; default the whole window.
    marginal : callable, optional
        Differentiable map of windows (B, H, d) from the model's space to standardized returns (e.g. the
        elementwise :meth:`finscore.tails.TukeyH.from_gaussian`, or a whole map to daily log returns with
        ``scale=1``), applied before ``loc`` and ``scale``.

    Returns
    -------
    callable ``x (B, H, d) -> loss (B,)``
    """
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64))

    def loss_fn(x: torch.Tensor) -> torch.Tensor:
        h = x.shape[1] if horizon_days is None else horizon_days
        if h > x.shape[1]:
            raise DataError(f"horizon_days={h} exceeds the generated window of {x.shape[1]} days")
        plain = _as_tensor(loc, x) + _as_tensor(scale, x) * (x if marginal is None else marginal(x))
        return -(torch.expm1(plain[:, :h].sum(1)) * w.to(x)).sum(-1)

    return loss_fn


@dataclass(frozen=True)
class VaRGuidance:
    """Stress-scenario request: scenarios given the portfolio loss beyond VaR_alpha (or below a cap).

    Parameters
    ----------
    weights : "equal", sequence (n_assets,) or mapping asset -> weight
        Buy-and-hold portfolio weights (checked against the assets by :meth:`bind`).
    alpha : float in (0, 1)
        VaR level of the threshold when ``loss`` is None.
    mode : "exceed" (loss >= threshold: the tail) or "cap" (loss <= threshold).
    loss : float, optional
        Explicit threshold (in the units of the loss function: a fraction of book value for
        :meth:`loss_fn`); default VaR_alpha of the unguided model.
    horizon_days : int, optional
        Days the loss is accumulated over; default the model's window.
    strength : float
        Guidance strength (1 = principled; see :func:`~finscore.stress.guidance.constraint_guided`).
    temperature : float
        Softness ``tau`` of the constraint in loss units (0 = hard).
    n_pilot : int, optional
        Unguided pilot draws per context (VaR estimate, feasibility check, ODE start); default
        ``max(1000, ceil(20 / (1 - alpha)))`` (about 20 draws beyond VaR), 1000 with an explicit ``loss``
        (0 skips the pilot then).
    finish : None or "mala"; finish_steps : int
        Optional constrained MALA clean-up (energy-parameterized models only).
    normal_scores : bool
        Guide on the pilot's normal scores of the loss, ``Phi^-1(F_pilot(L))``, instead of the loss itself
        (:class:`~finscore.stress.normal_score.PilotNormalScore`; the same constraint set, and nearly linear
        in the model's variables when the loss is a convex function of them, where the plain loss makes the
        guided scenarios overshoot). Used with a pilot and a hard constraint (``temperature=0``).
    posterior_draws : int
        Even number of draws of the denoising posterior's spread (from the pilot's covariance,
        :class:`~finscore.stress.posterior.PilotPosterior`) with which the guidance adds the loss's spread
        beyond its linear part; 0 = linearisation only. Used with a pilot and ``temperature=0``. Each
        guided step evaluates the loss ``posterior_draws`` more times (the model is not re-evaluated).
    """

    weights: Any
    alpha: float = 0.99
    mode: str = "exceed"
    loss: float | None = None
    horizon_days: int | None = None
    strength: float = 1.0
    temperature: float = 0.0
    n_pilot: int | None = None
    finish: str | None = None
    finish_steps: int = 50
    normal_scores: bool = True
    posterior_draws: int = 32

    def __post_init__(self) -> None:
        w = self.weights
        if isinstance(w, str):
            if w != "equal":
                raise DataError(f"weights string must be 'equal', got {w!r}")
            values = np.ones(1)
        elif isinstance(w, (dict, pd.Series)):
            w = tuple((str(k), _as_real(f"weights[{k!r}]", v)) for k, v in w.items())
            values = np.array([v for _, v in w])
        else:
            values = np.asarray(w, dtype=np.float64).reshape(-1)
            w = tuple(float(v) for v in values)
        if not isinstance(w, str):
            if values.size == 0 or not np.all(np.isfinite(values)):
                raise DataError(f"weights must be finite and non-empty, got {list(values)}")
            if np.allclose(values, 0.0):
                raise DataError("weights are all zero: the portfolio loss would be identically 0")
        object.__setattr__(self, "weights", w)
        for name in ("horizon_days", "n_pilot", "finish_steps", "posterior_draws"):
            object.__setattr__(self, name, _as_int(getattr(self, name)))
        if self.loss is not None:
            object.__setattr__(self, "loss", _as_real("loss", self.loss))
        object.__setattr__(self, "strength", _as_real("strength", self.strength))
        object.__setattr__(self, "temperature", _as_real("temperature", self.temperature))
        _check_alpha(self.alpha)
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'exceed' or 'cap', got {self.mode!r}")
        if self.loss is not None and not math.isfinite(self.loss):
            raise ValueError(f"loss must be a finite number or None, got {self.loss!r}")
        h = self.horizon_days
        if h is not None and (isinstance(h, bool) or not isinstance(h, int) or h < 1):
            raise ValueError(f"horizon_days must be a positive int or None, got {self.horizon_days!r}")
        if not (math.isfinite(self.strength) and self.strength > 0):
            raise ValueError(f"strength must be finite and > 0, got {self.strength!r}")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be finite and >= 0, got {self.temperature!r}")
        if self.n_pilot is not None and (isinstance(self.n_pilot, bool) or not isinstance(self.n_pilot, int)
                                         or self.n_pilot < (1 if self.loss is None else 0)):
            raise ValueError(f"n_pilot must be a positive int (0 allowed with an explicit loss), got {self.n_pilot!r}")
        if isinstance(self.finish_steps, bool) or not isinstance(self.finish_steps, int) or self.finish_steps < 2:
            raise ValueError(f"finish_steps must be an int >= 2, got {self.finish_steps!r}")
        if (isinstance(self.posterior_draws, bool) or not isinstance(self.posterior_draws, int)
                or self.posterior_draws < 0 or self.posterior_draws % 2):
            raise ValueError(f"posterior_draws must be an even int >= 0, got {self.posterior_draws!r}")
        if not isinstance(self.normal_scores, bool):
            raise ValueError(f"normal_scores must be True or False, got {self.normal_scores!r}")
        if self.finish not in (None, "mala"):
            raise ValueError(f"finish must be None or 'mala', got {self.finish!r}")

    def check_level(self, level: float, weights: Any) -> None:
        """ValueError when no return vector can meet the constraint at ``level`` for ``weights`` (d,)."""
        inf, sup = loss_bounds(weights)
        if self.mode == "exceed" and level >= sup:
            raise ValueError(f"infeasible loss={level:.6g} with mode='exceed': the portfolio cannot lose "
                             f"{sup:.6g} or more of its value (long-only book)")
        if self.mode == "cap" and level <= inf:
            raise ValueError(f"infeasible cap loss={level:.6g}: the portfolio loss is always above {inf:.6g} "
                             "(short-only book)")

    @property
    def pilot_size(self) -> int:
        """Unguided pilot draws per context (resolves the ``n_pilot=None`` default)."""
        if self.n_pilot is not None:
            return self.n_pilot
        return 1000 if self.loss is not None else max(1000, math.ceil(20.0 / (1.0 - self.alpha) - 1e-6))

    def bind(self, assets: Sequence[str] | int) -> np.ndarray:
        """Weights (n_assets,) for ``assets`` (names, or their number for unnamed weights); DataError on mismatch."""
        if isinstance(assets, (int, np.integer)):
            if isinstance(self.weights, str):
                return np.full(int(assets), 1.0 / int(assets))
            if self.weights and isinstance(self.weights[0], tuple):
                raise DataError("weights are given by asset name: pass the asset names, not their number")
            if len(self.weights) != assets:
                raise DataError(f"weights have length {len(self.weights)} but the model has {assets} assets")
            return np.asarray(self.weights, dtype=np.float64)
        w = self.weights
        if not isinstance(w, str) and w and isinstance(w[0], tuple):
            w = dict(w)
        return portfolio_weights(w, tuple(assets))

    def loss_fn(self, n_assets_or_assets: Sequence[str] | int, scale: Any = 1.0, loc: Any = 0.0,
                marginal: Callable[[torch.Tensor], torch.Tensor] | None = None
                ) -> Callable[[torch.Tensor], torch.Tensor]:
        """:func:`portfolio_loss_fn` for these weights and ``horizon_days``.

        An explicit ``loss`` is in this function's units (a fraction of the book's value): ValueError when
        no returns can meet it (:meth:`check_level`).
        """
        w = self.bind(n_assets_or_assets)
        if self.loss is not None:
            self.check_level(float(self.loss), w)
        return portfolio_loss_fn(w, scale=scale, loc=loc, horizon_days=self.horizon_days, marginal=marginal)
