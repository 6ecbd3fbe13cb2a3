"""State features of a context window: the condition c of the score model.

One function, :func:`state_features`, maps context windows (N, L, d) of daily log
returns to

* ``scale``      (N, d)      per-asset target scale: the EWMA volatility at the forecast date (known at t),
  optionally mean-reverted toward its long-run level over the horizon (``StateSpec.persistence``), or
  the variance forecast of a GJR-GARCH(1,1) fitted on the training rows (``StateSpec.vol_model="gjr"``,
  the default preset's); (N, H, d) with ``StateSpec.scale_path``: one forecast volatility per horizon day;
* ``asset_cond`` (N, d, Ca)  per-asset state: volatility level vs its long-run value,
  volatility term structure, last returns in units of today's volatility, drawdown, momentum;
* ``cond``       (N, C)      market state of the equal-weight book: the same volatility and
  drawdown features, average pairwise correlation and cross-sectional dispersion.

The same function runs on training windows and on the context handed to ``sample``, so the
features are built identically in both (no look-ahead: only the L context rows are used).
Targets are divided by ``scale`` (Hypothesis 1 of the modelling notes: scale-free targets).

:func:`asset_loadings` gives each asset a static descriptor fitted once on the training rows: its
loadings on the leading principal components of the training correlation, so the network can tell
the assets apart and learn pair-specific dependence (sectors) rather than one exchangeable correlation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from finscore.baselines._volatility import GJRParams
from finscore.correlation import average_correlation
from finscore.data.checks import check_positive_int

_EPS = 1e-8
VOL_MODELS = ("ewma", "gjr")


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
    scale_path : scale horizon day h by its own forecast ``sqrt(LR^2 + (ewma^2 - LR^2) phi^h)`` (scale
        (N, H, d)) instead of by the RMS over the horizon (scale (N, d)): the scaled target then has
        about unit variance on every day, whatever the state's term structure.
    vol_model : ``"ewma"`` (the forecast above) or ``"gjr"``: the target scale is then the variance
        forecast of a per-asset GJR-GARCH(1,1) fitted once on the training rows and filtered through the
        context from its unconditional variance, ``U + (s2_{t+1} - U) p^(h-1)`` for h = 1..H with the
        fitted persistence ``p = alpha + gamma/2 + beta`` (``persistence`` is then unused). The
        features stay EWMA-based.
    """

    ewma_lambda: float = 0.94
    vol_windows: tuple[int, ...] = (5, 20, 60)
    n_recent: int = 5
    clip: float = 8.0
    persistence: float = 1.0
    scale_path: bool = False
    vol_model: str = "ewma"

    def __post_init__(self) -> None:
        if self.vol_model not in VOL_MODELS:
            raise ValueError(f"StateSpec.vol_model must be one of {VOL_MODELS}, got {self.vol_model!r}")

    def n_asset_features(self) -> int:
        return 1 + len(self.vol_windows) + self.n_recent + 2

    def n_global_features(self) -> int:
        return self.n_asset_features() + 3

    def volatility_features(self, level: bool = True) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Indices of the volatility-state features in (``cond``, ``asset_cond``) of :func:`state_features`:
        the term structure (realized volatilities over today's EWMA) of the book and of each asset, and with
        ``level`` also the volatility level over its long-run value (of the book, each asset, and the assets'
        mean)."""
        if not level:
            own = tuple(range(1, 1 + len(self.vol_windows)))
            return own, own
        own = tuple(range(1 + len(self.vol_windows)))
        return own + (self.n_asset_features() + 2,), own


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


def target_scale(ewma: np.ndarray, long_run: np.ndarray, horizon: int, persistence: float,
                 path: bool = False) -> np.ndarray:
    """Mean-reverting volatility forecast (see :class:`StateSpec`) from ewma (N, d) and long_run (d,).

    Returns its RMS over h = 1..H, (N, d), or with ``path`` the forecast of every day h, (N, H, d).
    """
    decay = persistence ** np.arange(1, horizon + 1, dtype=np.float64) if persistence < 1.0 else np.ones(horizon)
    if not path:
        return ewma if persistence >= 1.0 else np.sqrt(long_run**2 + (ewma**2 - long_run**2) * np.mean(decay))
    return np.sqrt(long_run**2 + (ewma[:, None, :] ** 2 - long_run**2) * decay[None, :, None])


def gjr_target_scale(ctx: np.ndarray, vol: GJRParams, uncond: np.ndarray, horizon: int,
                     path: bool = False) -> np.ndarray:
    """GJR-GARCH(1,1) variance forecast after each context, as a target scale (see :class:`StateSpec`).

    Parameters
    ----------
    ctx : ndarray (N, L, d) of daily log returns.
    vol : per-asset GJR parameters (each (d,)), symmetric innovations (kappa = 1/2).
    uncond : ndarray (d,) unconditional variances; the filter starts there at the first context row.
    horizon : H.
    path : return the forecast volatility of every horizon day (N, H, d) instead of its RMS (N, d).
    """
    uncond = np.asarray(uncond, dtype=np.float64)
    s2 = gjr_context_variance(ctx, vol, uncond)
    p = np.clip(vol.alpha + 0.5 * vol.gamma + vol.beta, 0.0, 0.999)  # (d,)
    decay = p[None, :] ** np.arange(horizon, dtype=np.float64)[:, None]  # (H, d); h = 1 is s2 itself
    var_path = np.maximum(uncond + (s2[:, None, :] - uncond) * decay[None], _EPS**2)
    return np.sqrt(var_path) if path else np.sqrt(np.mean(var_path, axis=1))


def gjr_context_variance(ctx: np.ndarray, vol: GJRParams, uncond: np.ndarray) -> np.ndarray:
    """Next-day GJR variance after each context, ndarray (N, d), from ctx (N, L, d) (filter started at ``uncond``)."""
    ctx = np.asarray(ctx, dtype=np.float64)
    s2 = np.broadcast_to(np.asarray(uncond, dtype=np.float64), (ctx.shape[0], ctx.shape[2])).copy()
    for t in range(ctx.shape[1]):
        s2 = vol.step(ctx[:, t] - vol.mu, s2)
    return s2


def gjr_standardize(target: np.ndarray, s2: np.ndarray, vol: GJRParams, return_variance: bool = False,
                    cap: float | None = None):
    """GJR innovations of target windows: ``z_h = (r_h - mu) / sigma_h`` with ``sigma_h`` filtered through the
    window's own earlier days (the inverse of :meth:`GJRParams.simulate`).

    Parameters
    ----------
    target : ndarray (N, H, d) of daily log returns after each context.
    s2 : ndarray (N, d), the variance of the first day (:func:`gjr_context_variance`).
    vol : per-asset GJR parameters.
    return_variance : also return each day's variance ``sigma_h^2``.
    cap : shocks beyond ``cap`` standard deviations enter the variance update as ``cap`` (see
        :meth:`GJRParams.step`); None: the plain recursion.

    Returns
    -------
    ndarray (N, H, d), or (innovations, variances), both (N, H, d).
    """
    target = np.asarray(target, dtype=np.float64)
    out, var = np.empty_like(target), np.empty_like(target)
    s2 = np.asarray(s2, dtype=np.float64)
    for t in range(target.shape[1]):
        eps = target[:, t] - vol.mu
        var[:, t] = np.maximum(s2, _EPS**2)
        out[:, t] = eps / np.sqrt(var[:, t])
        s2 = vol.step(eps, s2, cap)
    return (out, var) if return_variance else out


def gjr_rebuild(z, s2, vol: GJRParams, marginal=None, cap: float | None = None):
    """Daily log returns (N, H, d) from GJR innovations ``z`` (N, H, d) and first-day variances ``s2`` (N, d):
    the inverse of :func:`gjr_standardize` (with the same ``cap``). numpy arrays, or torch tensors
    (differentiable, on their device).

    ``marginal(z_t, s2_t)``, when given, maps each day's ``z[:, t]`` (N, d) to its innovations knowing that
    day's variances (N, d) (e.g. tails that depend on the volatility state), inside the recursion.
    """
    if isinstance(z, torch.Tensor):  # the same recursion on tensors
        tv = GJRParams(*(torch.as_tensor(np.asarray(getattr(vol, k), dtype=np.float64), dtype=z.dtype,
                                         device=z.device) for k in ("mu", "omega", "alpha", "gamma", "beta")))
        sqrt, stack = torch.sqrt, lambda days: torch.stack(days, dim=1)
    else:
        z = np.asarray(z, dtype=np.float64)
        s2 = np.broadcast_to(np.asarray(s2, dtype=np.float64), (z.shape[0], z.shape[2])).copy()
        tv, sqrt, stack = vol, np.sqrt, lambda days: np.stack(days, axis=1)
    days = []
    for t in range(z.shape[1]):
        zt = z[:, t] if marginal is None else marginal(z[:, t], s2)
        eps = sqrt(s2) * zt
        days.append(tv.mu + eps)
        s2 = tv.step(eps, s2, cap)
    return stack(days)


def gjr_vol_ratio(var, uncond: np.ndarray):
    """Volatility state ``rho = sigma / sigma_uncond`` (..., d) from GJR variances ``var`` (..., d) and the
    unconditional variances (d,); numpy, or torch (on ``var``'s device)."""
    if isinstance(var, torch.Tensor):
        return torch.sqrt(var / torch.as_tensor(uncond, dtype=var.dtype, device=var.device))
    return np.sqrt(var / uncond)


def asset_loadings(returns: np.ndarray, k: int) -> np.ndarray:
    """Loadings of each asset on the ``k`` leading principal components of the correlation of ``returns``.

    Parameters
    ----------
    returns : ndarray (T, d) of training-period daily returns (T >= 2).
    k : number of components (>= 1). With k > d the missing components are zero columns.

    Returns
    -------
    ndarray (d, k): ``v_j * sqrt(lambda_j)`` for the eigenpairs in decreasing order of ``lambda``,
    each column's sign fixed so that its largest-magnitude entry is positive (a deterministic
    convention). Row i is asset i's descriptor; ``L @ L.T`` is the rank-k approximation of the correlation.
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"returns must have shape (T >= 2, d), got {x.shape}")
    check_positive_int(k, "k")
    d = x.shape[1]
    flat = np.flatnonzero(np.ptp(x, axis=0) == 0)
    if len(flat):
        raise ValueError(f"training return series {flat[0]} (0-based column) is constant: its correlation is undefined")
    corr = np.corrcoef(x, rowvar=False).reshape(d, d) if d > 1 else np.ones((1, 1))
    lam, vec = np.linalg.eigh(corr)
    order = np.argsort(lam)[::-1][: min(k, d)]
    load = vec[:, order] * np.sqrt(np.clip(lam[order], 0.0, None))
    flip = np.sign(load[np.argmax(np.abs(load), axis=0), np.arange(load.shape[1])])
    load = load * np.where(flip == 0, 1.0, flip)
    return np.pad(load, ((0, 0), (0, k - load.shape[1])))


def state_features(
    ctx: np.ndarray, long_run_vol: np.ndarray, long_run_market_vol: float, spec: StateSpec = StateSpec(),
    horizon: int = 1, vol: tuple[GJRParams, np.ndarray] | None = None,
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
    vol : (GJR parameters, unconditional variances (d,)) fitted on the training rows; needed when
        ``spec.vol_model == "gjr"`` and ignored otherwise.

    Returns
    -------
    cond : ndarray (N, C); asset_cond : ndarray (N, d, Ca); scale : ndarray (N, d), or (N, H, d) with
    ``spec.scale_path``.
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
    avg_corr = average_correlation(z, eps=_EPS)
    dispersion = np.log(z[:, -1].std(axis=1) + 0.1)
    mean_level = asset_cond[:, :, 0].mean(axis=1)
    cond = np.concatenate([market_feats[:, 0], np.stack([avg_corr, dispersion, mean_level], axis=1)], axis=1)
    if spec.vol_model == "gjr":
        if vol is None:
            raise ValueError('StateSpec.vol_model="gjr" needs the fitted GJR parameters: pass vol=(params, uncond)')
        return cond, asset_cond, gjr_target_scale(ctx, vol[0], vol[1], horizon, spec.scale_path)
    lr = np.asarray(long_run_vol, dtype=np.float64)
    return cond, asset_cond, target_scale(scale, lr, horizon, spec.persistence, spec.scale_path)
