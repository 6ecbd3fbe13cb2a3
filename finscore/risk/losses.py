"""Scoring functions for VaR / ES forecasts and tests comparing forecasters.

Sign convention as elsewhere in :mod:`finscore.risk`: ``realized`` are simple returns,
``var`` and ``es`` positive loss numbers, so the forecast return quantile is ``-var``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from finscore.risk.coverage import StatResult
from finscore.risk.measures import check_levels


def _arrays(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    if len({a.shape for a in out}) != 1:
        raise ValueError(f"arrays must have the same shape, got {[a.shape for a in out]}")
    return out


def pinball_loss(realized, var, level: float) -> np.ndarray:
    """Quantile (pinball / tick) loss of a VaR forecast (Koenker & Bassett 1978).

    With tail probability ``a = 1 - level`` and return quantile ``q = -var``:
    ``L = (1{y < q} - a) (q - y)``, non-negative, consistent for the a-quantile.

    Parameters
    ----------
    realized, var : arrays of the same shape (T,).
    level : VaR confidence level in (0, 1).

    Returns
    -------
    ndarray (T,).
    """
    a = 1.0 - float(check_levels(level)[0])
    y, v = _arrays(realized, var)
    q = -v
    return ((y < q).astype(np.float64) - a) * (q - y)


def fz0_loss(realized, var, es, level: float) -> np.ndarray:
    """FZ0 joint VaR–ES loss of Patton, Ziegel & Chen (2019), eq. (6).

    With ``a = 1 - level``, return quantile ``v = -var`` and return ES ``e = -es < 0``:
    ``L = -1{y <= v} (v - y) / (a e) + v / e + log(-e) - 1``. Consistent for (VaR, ES) jointly;
    it can be negative. Dates with ``es <= 0`` (no forecast loss) give NaN.

    Returns
    -------
    ndarray (T,).
    """
    a = 1.0 - float(check_levels(level)[0])
    y, v, e = _arrays(realized, -np.asarray(var, dtype=np.float64), -np.asarray(es, dtype=np.float64))
    ok = e < 0
    e_safe = np.where(ok, e, -1.0)
    loss = -((y <= v) * (v - y)) / (a * e_safe) + v / e_safe + np.log(-e_safe) - 1.0
    return np.where(ok, loss, np.nan)


def diebold_mariano(loss_a, loss_b, *, h: int = 1, harvey: bool = True) -> StatResult:
    """Diebold & Mariano (1995) test of equal expected loss, Harvey et al. (1997) correction.

    ``d = loss_a - loss_b``; long-run variance ``(g0 + 2 sum_{k<h} g_k) / T`` with
    autocovariances ``g_k`` divided by T (rectangular HAC window of ``h - 1`` lags, the
    ``dieboldmariano`` package's formula), falling back to Bartlett (Newey–West) weights if
    that is not positive. With ``harvey`` the statistic is scaled by
    ``sqrt((T + 1 - 2h + h (h - 1) / T) / T)`` and compared with Student t(T - 1).
    Negative statistics favour ``loss_a``. Two-sided p-value; identical losses give
    statistic 0 and p-value 1.

    Parameters
    ----------
    loss_a, loss_b : arrays (T,) of losses of two forecasters on the same dates (T >= 2).
    h : forecast horizon (overlap of the loss series).
    """
    a, b = _arrays(loss_a, loss_b)
    d = a - b
    if d.ndim != 1 or d.size < 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"losses must be finite 1-d series of length >= 2, got shape {d.shape}")
    if not 1 <= int(h) < d.size:
        raise ValueError(f"h must be a positive integer below the series length {d.size}, got {h}")
    t, h = d.size, int(h)
    dc = d - d.mean()
    gamma = np.array([dc[k:] @ dc[: t - k] / t for k in range(h)])
    v = (gamma[0] + 2.0 * gamma[1:].sum()) / t
    if v <= 0:
        weights = 1.0 - np.arange(len(gamma)) / len(gamma)
        v = (gamma[0] + 2.0 * (weights[1:] * gamma[1:]).sum()) / t
    if v <= 1e-14 * (d @ d) / t**2 or d.mean() == 0:  # zero variance up to rounding
        stat = 0.0 if d.mean() == 0 else float(np.sign(d.mean()) * np.inf)
    else:
        stat = float(d.mean() / np.sqrt(v))
    if harvey:
        stat *= np.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
        return StatResult(stat, float(2 * stats.t.sf(abs(stat), t - 1)))
    return StatResult(stat, float(2 * stats.norm.sf(abs(stat))))


def model_confidence_set(
    losses: pd.DataFrame, *, size: float = 0.1, reps: int = 1000, block_size: int | None = None, seed=0
) -> pd.DataFrame:
    """Hansen, Lunde & Nason (2011) model confidence set via ``arch.bootstrap.MCS``.

    Parameters
    ----------
    losses : DataFrame (T, n_models) of per-date losses, one column per model.
    size : MCS size (0.1 keeps models not rejected at 10%).
    reps, block_size, seed : stationary-bootstrap settings (``block_size`` None: arch's default).

    Returns
    -------
    DataFrame indexed by model with columns ``mcs_pvalue`` and ``in_mcs`` (bool).
    """
    from arch.bootstrap import MCS

    if losses.shape[1] < 2 or not np.all(np.isfinite(losses.to_numpy(dtype=np.float64))):
        raise ValueError("the model confidence set needs a finite loss DataFrame with at least two model columns")
    mcs = MCS(losses, size=size, reps=reps, block_size=block_size, method="R", seed=seed)
    mcs.compute()
    p = mcs.pvalues["Pvalue"].reindex(losses.columns)
    return pd.DataFrame({"mcs_pvalue": p.to_numpy(), "in_mcs": p.index.isin(mcs.included)}, index=losses.columns)
