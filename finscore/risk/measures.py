"""Value-at-Risk and Expected Shortfall of scenario returns, as positive loss numbers."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def check_levels(levels: "float | Sequence[float]") -> np.ndarray:
    """Validate confidence levels: ndarray (k,) of floats in [0.5, 1).

    A single float gives shape (1,). Raises ``ValueError`` naming the bad levels; a level below 0.5 is
    taken for a tail probability given by mistake (0.01 for 0.99).
    """
    arr = np.atleast_1d(np.asarray(levels, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"levels must be a float or a non-empty 1-d sequence, got {levels!r}")
    bad = arr[~((arr > 0) & (arr < 1))]
    if bad.size:
        raise ValueError(f"levels must lie strictly inside (0, 1) (e.g. 0.99 for 99% VaR), got {bad.tolist()}")
    tail = arr[arr < 0.5]
    if tail.size:
        raise ValueError(f"levels are confidence levels, at least 0.5 (0.99 for 99% VaR), not tail probabilities; "
                         f"got {tail.tolist()} (did you mean {[round(1 - x, 12) for x in tail.tolist()]}?)")
    return arr


def _scenario_losses(returns: np.ndarray) -> np.ndarray:
    """``-returns`` as float64, after checking that there are scenarios and that every value is finite."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"returns must hold scenarios on the last axis, got shape {r.shape}")
    bad = ~np.isfinite(r)
    if bad.any():
        raise ValueError(f"returns has {int(bad.sum())} non-finite values (first at index "
                         f"{tuple(int(i) for i in np.argwhere(bad)[0])}); VaR and ES need finite scenarios")
    return -r


# VaR estimators from n scenarios -> numpy quantile method. "empirical": the scenario set's own lower quantile;
# "predictive": Hyndman & Fan's type 6, whose exceedance by a further draw from the same law is 1 - level
VAR_METHODS = {"empirical": "inverted_cdf", "predictive": "weibull"}


def check_var_method(method: str) -> str:
    """Validate a VaR estimator name (a key of ``VAR_METHODS``) and return it."""
    if method not in VAR_METHODS:
        raise ValueError(f"method must be one of {sorted(VAR_METHODS)}, got {method!r}")
    return method


def _loss_quantiles(loss: np.ndarray, lv: np.ndarray, method: str) -> np.ndarray:
    """``lv`` (k,) quantiles of ``loss`` (..., n) over its last axis by the VaR ``method``: ndarray (..., k)."""
    q = np.quantile(loss, lv, axis=-1, method=VAR_METHODS[check_var_method(method)])
    return np.moveaxis(q, 0, -1)


def var(returns: np.ndarray, level: "float | Sequence[float]", *, method: str = "empirical") -> np.ndarray:
    """Historical Value-at-Risk of scenario returns: the ``level`` quantile of the loss ``-returns``.

    ``method="empirical"``: the VaR of the scenario set itself, the lower ``level``-quantile of
    the loss, ``inf{l : P_n(L <= l) >= level}`` (numpy ``method="inverted_cdf"``): the
    ``ceil(n level)``-th smallest of the n scenario losses.

    ``method="predictive"``: the VaR *forecast* of a further loss drawn from the same law, at
    position ``level (n + 1)`` of the sorted losses, linearly interpolated (Hyndman & Fan's
    type 6, numpy ``method="weibull"``). For n exchangeable scenarios and an outcome from the
    same continuous law, the k-th smallest scenario loss is exceeded with probability
    ``(n + 1 - k) / (n + 1)``. So the empirical VaR is exceeded with probability
    ``(n + 1 - ceil(n level)) / (n + 1)``, above ``1 - level``: 6 / 501 = 1.20% for 99% VaR from
    500 scenarios, 26 / 501 = 5.19% at 95%. The predictive VaR is exceeded with probability
    ``1 - level`` exactly when ``level (n + 1)`` is an integer (and for uniform losses at every
    n), and within the interpolation's curvature of it otherwise. A backtest of a correct model
    therefore sees the nominal exceedance rate only with the predictive estimator (or with many
    more scenarios). Below ``n = level / (1 - level)`` scenarios (99 at 99%) it is the largest
    loss, exceeded with probability ``1 / (n + 1)``, as the empirical one is.

    Parameters
    ----------
    returns : array (..., n_scenarios) of simple returns (scenarios on the last axis).
    level : float or sequence (k,) of confidence levels in (0, 1), e.g. 0.99.
    method : ``"empirical"`` (default) or ``"predictive"``.

    Returns
    -------
    ndarray (...,) of positive loss numbers for a float level, (..., k) for a sequence.
    """
    q = _loss_quantiles(_scenario_losses(returns), check_levels(level), method)
    return q[..., 0] if np.ndim(level) == 0 else q


def es(returns: np.ndarray, level: "float | Sequence[float]", *, method: str = "empirical") -> np.ndarray:
    """Expected Shortfall (CVaR) of scenario returns as a positive loss number.

    Rockafellar & Uryasev (2002): ``ES = VaR + E[(L - VaR)^+] / (1 - level)`` with the VaR of
    :func:`var` by ``method``. With ``"empirical"`` it is the exact ES of the empirical
    scenario distribution (it handles ties and ``n (1 - level)`` not an integer); the
    Rockafellar–Uryasev objective is smallest there, so the ``"predictive"`` VaR gives a
    slightly larger ES. ``ES >= VaR`` always.

    Parameters
    ----------
    returns : array (..., n_scenarios) of simple returns.
    level : float or sequence (k,) of levels in (0, 1).
    method : the VaR estimator, ``"empirical"`` (default) or ``"predictive"`` (see :func:`var`).

    Returns
    -------
    ndarray (...,) for a float level, (..., k) for a sequence.
    """
    lv = check_levels(level)
    loss = _scenario_losses(returns)
    v = _loss_quantiles(loss, lv, method)  # (..., k)
    excess = np.maximum(loss[..., None, :] - v[..., :, None], 0.0).mean(axis=-1)  # (..., k)
    out = v + excess / (1.0 - lv)
    return out[..., 0] if np.ndim(level) == 0 else out
