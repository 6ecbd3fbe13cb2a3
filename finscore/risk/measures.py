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


def _loss_quantiles(loss: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Lower ``lv`` (k,) quantiles of ``loss`` (..., n) over its last axis: ndarray (..., k)."""
    return np.moveaxis(np.quantile(loss, lv, axis=-1, method="inverted_cdf"), 0, -1)


def var(returns: np.ndarray, level: "float | Sequence[float]") -> np.ndarray:
    """Historical Value-at-Risk of scenario returns: the ``level`` quantile of the loss ``-returns``.

    VaR is the lower ``level``-quantile of the loss, ``inf{l : P(L <= l) >= level}``
    (numpy ``method="inverted_cdf"``), reported as a positive loss number.

    Parameters
    ----------
    returns : array (..., n_scenarios) of simple returns (scenarios on the last axis).
    level : float or sequence (k,) of confidence levels in (0, 1), e.g. 0.99.

    Returns
    -------
    ndarray (...,) for a float level, (..., k) for a sequence.
    """
    q = _loss_quantiles(_scenario_losses(returns), check_levels(level))
    return q[..., 0] if np.ndim(level) == 0 else q


def es(returns: np.ndarray, level: "float | Sequence[float]") -> np.ndarray:
    """Expected Shortfall (CVaR) of scenario returns as a positive loss number.

    Rockafellar & Uryasev (2002): ``ES = VaR + E[(L - VaR)^+] / (1 - level)``, the exact
    ES of the empirical scenario distribution (it handles ties and ``n (1 - level)`` not
    an integer), so ``ES >= VaR`` always.

    Parameters
    ----------
    returns : array (..., n_scenarios) of simple returns.
    level : float or sequence (k,) of levels in (0, 1).

    Returns
    -------
    ndarray (...,) for a float level, (..., k) for a sequence.
    """
    lv = check_levels(level)
    loss = _scenario_losses(returns)
    v = _loss_quantiles(loss, lv)  # (..., k)
    excess = np.maximum(loss[..., None, :] - v[..., :, None], 0.0).mean(axis=-1)  # (..., k)
    out = v + excess / (1.0 - lv)
    return out[..., 0] if np.ndim(level) == 0 else out
