"""State features of a context window: the condition c of the score model.

One function, :func:`state_features`, maps context windows (N, L, d) of daily log
returns to

* ``scale``      (N, d)      per-asset target scale: the EWMA volatility at the forecast date (known at t),
  optionally mean-reverted toward its long-run level over the horizon (``StateSpec.persistence``);
* ``asset_cond`` (N, d, Ca)  per-asset state: volatility level vs its long-run value,
  volatility term structure, last returns in units of today's volatility, drawdown, momentum;
* ``cond``       (N, C)      market state of the equal-weight book: the same volatility and
  drawdown features, average pairwise correlation and cross-sectional dispersion.

The same function runs on training windows and on the context handed to ``sample``, so the
features are built identically in both (no look-ahead: only the L context rows are used).
Targets are divided by ``scale`` (Hypothesis 1 of the modelling notes: scale-free targets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-8


@dataclass(frozen=True)
class StateSpec:
    """How the state is computed from an L-day context.

    Attributes
    ----------
    ewma_lambda : RiskMetrics decay of the volatility estimate used to scale targets.
    vol_windows : realized-volatility windows (days) for the term-structure features; each <= L.
    n_recent : how many of the last daily returns (in units of today's volatility) enter per asset.
    clip : absolute cap on normalized recent returns (keeps one outlier from dominating the condition).
    persistence : daily persistence phi of the volatility forecast that scales the targets. The target
        scale is the RMS over the horizon of ``sqrt(LR^2 + (ewma^2 - LR^2) phi^h)``, h = 1..H (the GARCH(1,1)
        variance forecast, mean-reverting to the long-run level LR); 1.0 keeps today's EWMA volatility.
    """

    ewma_lambda: float = 0.94
    vol_windows: tuple[int, ...] = (5, 20, 60)
    n_recent: int = 5
    clip: float = 8.0
    persistence: float = 1.0

    def n_asset_features(self) -> int:
        return 1 + len(self.vol_windows) + self.n_recent + 2

    def n_global_features(self) -> int:
        return self.n_asset_features() + 3


def ewma_volatility(ctx: np.ndarray, lam: float) -> np.ndarray:
    """Truncated, normalized EWMA volatility at the last row: ndarray (N, d) from ctx (N, L, d)."""
    L = ctx.shape[1]
    w = lam ** np.arange(L - 1, -1, -1, dtype=np.float64)  # oldest ... newest
    w /= w.sum()
    return np.sqrt(np.einsum("l,nld->nd", w, ctx**2) + _EPS**2)


def _asset_block(ctx: np.ndarray, long_run: np.ndarray, spec: StateSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-series features: ctx (N, L, k) -> (features (N, k, Fa), scale (N, k))."""
    scale = ewma_volatility(ctx, spec.ewma_lambda)
    feats = [np.log(scale / long_run)]
    for win in spec.vol_windows:
        rv = np.sqrt(np.mean(ctx[:, -win:] ** 2, axis=1) + _EPS**2)
        feats.append(np.log(rv / scale))
    recent = np.clip(ctx[:, -spec.n_recent:] / scale[:, None, :], -spec.clip, spec.clip)  # (N, n_recent, k)
    feats.extend(recent[:, -1 - j] for j in range(spec.n_recent))  # newest first, each (N, k)
    cum = np.cumsum(ctx, axis=1)
    drawdown = cum[:, -1] - np.maximum(np.max(cum, axis=1), 0.0)  # log drawdown from the context's peak
    feats.append(drawdown / (scale * np.sqrt(ctx.shape[1])))
    feats.append(np.clip(cum[:, -1] / (scale * np.sqrt(ctx.shape[1])), -spec.clip, spec.clip))  # momentum
    return np.stack(feats, axis=-1), scale


def target_scale(ewma: np.ndarray, long_run: np.ndarray, horizon: int, persistence: float) -> np.ndarray:
    """RMS over h = 1..H of the mean-reverting volatility forecast (see :class:`StateSpec`): (N, d)."""
    if persistence >= 1.0:
        return ewma
    decay = np.mean(persistence ** np.arange(1, horizon + 1))
    return np.sqrt(long_run**2 + (ewma**2 - long_run**2) * decay)


def state_features(
    ctx: np.ndarray, long_run_vol: np.ndarray, long_run_market_vol: float, spec: StateSpec = StateSpec(),
    horizon: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Condition of the score model from context windows.

    Parameters
    ----------
    ctx : ndarray of shape (N, L, d)
        Daily log returns, the last row is the forecast date.
    long_run_vol : ndarray of shape (d,)
        Per-asset daily volatility over the training period (a fitted constant).
    long_run_market_vol : float
        Daily volatility of the equal-weight book over the training period.
    spec : StateSpec
    horizon : days H of the target window (used by the mean-reverting target scale).

    Returns
    -------
    cond : ndarray (N, C); asset_cond : ndarray (N, d, Ca); scale : ndarray (N, d).
    """
    ctx = np.asarray(ctx, dtype=np.float64)
    if ctx.ndim != 3:
        raise ValueError(f"ctx must have shape (N, L, d), got {ctx.shape}")
    if max(spec.vol_windows) > ctx.shape[1] or spec.n_recent > ctx.shape[1]:
        raise ValueError(f"context length {ctx.shape[1]} is shorter than the state needs ({max(spec.vol_windows)})")
    asset_cond, scale = _asset_block(ctx, np.asarray(long_run_vol, dtype=np.float64), spec)
    market = ctx.mean(axis=2, keepdims=True)  # equal-weight book, (N, L, 1)
    market_feats, _ = _asset_block(market, np.array([long_run_market_vol]), spec)
    z = ctx / scale[:, None, :]
    zc = z - z.mean(axis=1, keepdims=True)
    zs = zc / (zc.std(axis=1, keepdims=True) + _EPS)
    corr = np.einsum("nli,nlj->nij", zs, zs) / ctx.shape[1]
    d = ctx.shape[2]
    avg_corr = (corr.sum(axis=(1, 2)) - d) / max(d * (d - 1), 1)
    dispersion = np.log(z[:, -1].std(axis=1) + 0.1)
    mean_level = asset_cond[:, :, 0].mean(axis=1)
    cond = np.concatenate([market_feats[:, 0], np.stack([avg_corr, dispersion, mean_level], axis=1)], axis=1)
    return cond, asset_cond, target_scale(scale, np.asarray(long_run_vol, dtype=np.float64), horizon, spec.persistence)
