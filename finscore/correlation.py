"""Correlation state moved out of the network: an equicorrelation map of the model-space targets.

Cross-asset correlation clusters like volatility (high after a crash, low in calm years), and the
equal-weight book's spread over 20 days is driven by it more than by anything else once each asset's
volatility is right. A network conditioned on the state, sampled with a small classifier-free guidance
weight, reproduces mostly the training period's average correlation. This module takes the level of the
correlation out of what the network has to learn, as the GJR recursion takes out the volatility
(``benchmarks/quality.md``, item 17):

* each window's average pairwise correlation is forecast from its context's, ``rho = c0 + kappa rho_ctx``
  (ordinary least squares on the training windows, with the realized correlation of the target window as
  the response, so the forecast is fitted without look-ahead and shrinks the noisy context estimate);
* the model-space target ``g`` (B, H, d) is mapped to ``A(rho)^{-1} g``, where ``A(rho)`` scales the
  equal-weight direction by ``a = sqrt((1 + (d - 1) rho) / (1 + (d - 1) rho_bar))`` and the directions
  orthogonal to it by ``b = sqrt((1 - rho) / (1 - rho_bar))``; ``rho_bar`` is the mean forecast over the
  training windows. For an exchangeable correlation matrix ``R(rho_bar)`` with unit variances
  ``A(rho) R(rho_bar) A(rho) = R(rho)`` exactly: the map changes the correlation level and keeps unit
  variances. The network learns windows whose correlation is about ``rho_bar`` in every state, and samples
  are mapped back by ``A(rho)``.

The serial counterpart, :func:`scale_window_mean`, multiplies each asset's mean over the window by a
factor and keeps the deviations from it: the spread of the window's sum (the H-day return in the network's
space) changes, the day-to-day shape does not (``horizon_spread``; ``benchmarks/quality.md``, item 19).
:func:`shrunk_spread` gives per-asset factors that move the network's variance ratio (the window's spread
over one day's) toward that of independent days by its sampling error (``horizon_shrink``; item 55).

The maps work on numpy arrays and torch tensors (the stress guidance differentiates through them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = ["EquiCorrelation", "average_correlation", "scale_window_mean", "shrunk_spread", "window_variance_ratio"]


def average_correlation(x: np.ndarray, demean: bool = True, eps: float = 1e-12,
                        decay: float | None = None) -> np.ndarray:
    """Average pairwise correlation of each window's assets.

    Parameters
    ----------
    x : ndarray (N, T, d) of windows (T days, d assets).
    demean : subtract each window's per-asset mean first (Pearson); False uses raw second moments (for
        quantities with mean zero by construction, where a 20-day mean only adds noise).
    eps : added to each series' standard deviation (a constant series then has correlation 0).
    decay : None weighs the T days equally; a factor in (0, 1) weighs day t by ``decay^(T-1-t)`` (the last
        day 1; RiskMetrics' exponentially weighted correlation with 0.94), in the means and the moments.

    Returns
    -------
    ndarray (N,); 0.0 where d < 2.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, T, d), got {x.shape}")
    if decay is not None and not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be None or in (0, 1), got {decay!r}")
    n, t, d = x.shape
    if d < 2:
        return np.zeros(n)
    if decay is None:
        def mean(v):  # over the days
            return v.mean(axis=1, keepdims=True)
    else:
        w = decay ** np.arange(t - 1, -1, -1.0)
        w = (w / w.sum())[None, :, None]  # (1, T, 1), sums to 1

        def mean(v):
            return (w * v).sum(axis=1, keepdims=True)
    if demean:
        x = x - mean(x)
    z = x / (np.sqrt(mean(x**2)) + eps)
    # the sum of the d x d correlation matrix is the (weighted) mean over the days of |sum_i z_i|^2, without
    # forming it; its diagonal counts d
    return (mean(z.sum(axis=2, keepdims=True) ** 2)[:, 0, 0] - d) / (d * (d - 1))


def scale_window_mean(y: Any, k: Any) -> Any:
    """``y + (k - 1) mean_t(y)``: each asset's mean over the window multiplied by ``k``, deviations kept.

    Parameters
    ----------
    y : ndarray or torch.Tensor (B, H, d) of windows (H days, d assets).
    k : factor > 0 on the mean, a number or one per asset (d,); the sum over the window is multiplied by
        ``k``, so its variance by ``k^2``. For ``H`` independent unit-variance days one day's variance
        becomes ``1 + (k^2 - 1) / H``.

    Returns
    -------
    Same type and shape as ``y``; ``y`` itself when ``k`` is 1 everywhere.
    """
    k = np.asarray(k, dtype=np.float64)
    if np.all(k == 1):
        return y
    if not isinstance(y, np.ndarray):  # a torch tensor: the factor on its device and in its dtype
        import torch

        k = torch.as_tensor(k, dtype=y.dtype, device=y.device)
    return y + (k - 1) * y.mean(axis=1, keepdims=True)


def window_variance_ratio(x: np.ndarray) -> np.ndarray:
    """Each asset's variance ratio over windows: ``E[(sum of its H values)^2] / (H E[value^2])``.

    1 for independent days, below 1 when the days of a window offset each other (mean reversion). The
    moments are not centred: the network's targets have mean about 0.

    Parameters
    ----------
    x : ndarray (N, H, d) of windows (H days, d assets).

    Returns
    -------
    ndarray (d,).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, H, d), got {x.shape}")
    return (x.sum(axis=1) ** 2).mean(axis=0) / (x.shape[1] * (x**2).mean(axis=(0, 1)))


def shrunk_spread(ratio: np.ndarray, n_days: int, horizon: int) -> np.ndarray:
    """Factor on each asset's window mean that shrinks its variance ratio toward 1 by the ratio's sampling error.

    A network fitted to windows reproduces their variance ratio ``v`` (:func:`window_variance_ratio`), an
    estimate from ``n_days`` days. For independent days the overlapping-window estimate has the variance
    ``s^2 = 2 (2H - 1)(H - 1) / (3 H n_days)`` (Lo & MacKinlay 1988). The positive-part James-Stein
    estimate ``1 + (v - 1) w``, ``w = max(0, 1 - s^2 / (v - 1)^2)``, keeps a ratio many standard errors
    from 1 and pulls one within a standard error all the way to 1. Multiplying the window mean by
    ``k = sqrt((1 + (v - 1) w) / v)`` (:func:`scale_window_mean`) gives the samples that ratio.

    Parameters
    ----------
    ratio : ndarray (d,) of variance ratios > 0.
    n_days : days the ratios were estimated from (the windows' span).
    horizon : H, the window length.

    Returns
    -------
    ndarray (d,) of factors > 0; 1 where the ratio is 1.
    """
    v = np.asarray(ratio, dtype=np.float64)
    if not (np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError(f"variance ratios must be finite and > 0, got {v}")
    if n_days < horizon or horizon < 1:
        raise ValueError(f"need n_days >= horizon >= 1, got n_days={n_days}, horizon={horizon}")
    s2 = 2 * (2 * horizon - 1) * (horizon - 1) / (3 * horizon * n_days)
    dev2 = (v - 1) ** 2
    w = np.where(dev2 > s2, 1 - s2 / np.maximum(dev2, s2), 0.0)
    return np.sqrt((1 + (v - 1) * w) / v)


@dataclass(frozen=True)
class EquiCorrelation:
    """Fitted correlation forecast ``rho = clip(c0 + kappa rho_ctx, lo, hi)`` and its model-space map.

    Attributes
    ----------
    c0, kappa : intercept and slope of the forecast on the context's average correlation.
    rho_bar : mean forecast over the training windows; the correlation level the network sees.
    n_assets : d; the map is the identity for d < 2.
    """

    c0: float
    kappa: float
    rho_bar: float
    n_assets: int

    @property
    def lo(self) -> float:
        """Lower bound of the forecast: the exchangeable matrix is positive definite for rho > -1/(d-1)."""
        return -1.0 / (self.n_assets - 1) + 0.05 if self.n_assets > 1 else 0.0

    @property
    def hi(self) -> float:
        """Upper bound of the forecast (rho < 1 keeps the map finite)."""
        return 0.95 if self.n_assets > 1 else 0.0

    @classmethod
    def fit(cls, g: np.ndarray, rho_ctx: np.ndarray) -> EquiCorrelation:
        """Fit on training windows ``g`` (N, H, d) in model space and their contexts' correlations (N,)."""
        g = np.asarray(g, dtype=np.float64)
        rho_ctx = np.asarray(rho_ctx, dtype=np.float64)
        if g.ndim != 3 or rho_ctx.shape != (g.shape[0],):
            raise ValueError(f"g must be (N, H, d) and rho_ctx (N,); got {g.shape} and {rho_ctx.shape}")
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(rho_ctx))):
            raise ValueError("EquiCorrelation.fit: non-finite training windows or context correlations")
        d = g.shape[2]
        if d < 2:
            return cls(0.0, 0.0, 0.0, d)
        realized = average_correlation(g, demean=False)
        if len(g) < 3 or np.std(rho_ctx) < 1e-9:  # no spread to regress on: a constant forecast, identity map
            kappa, c0 = 0.0, float(np.mean(realized))
        else:
            kappa, c0 = np.polyfit(rho_ctx, realized, 1)
        m = cls(float(c0), float(kappa), 0.0, d)
        return replace(m, rho_bar=float(np.mean(m.forecast(rho_ctx))))

    def forecast(self, rho_ctx: np.ndarray) -> np.ndarray:
        """Forecast correlation (N,) of the windows after contexts with average correlation ``rho_ctx`` (N,)."""
        return np.clip(self.c0 + self.kappa * np.asarray(rho_ctx, dtype=np.float64), self.lo, self.hi)

    def _coefficients(self, rho: Any):
        d, rb = self.n_assets, self.rho_bar
        a = ((1 + (d - 1) * rho) / (1 + (d - 1) * rb)) ** 0.5
        b = ((1 - rho) / (1 - rb)) ** 0.5
        return a, b

    def _apply(self, y: Any, a: Any, b: Any) -> Any:
        if self.n_assets < 2:
            return y
        if y.shape[-1] != self.n_assets:
            raise ValueError(f"windows have {y.shape[-1]} assets, the correlation map was fitted on {self.n_assets}")
        a, b = a[:, None, None], b[:, None, None]  # rho (B,) -> (B, 1, 1)
        mean = y.sum(-1)[..., None] / self.n_assets
        return b * y + (a - b) * mean

    def to_model(self, g: Any, rho: Any) -> Any:
        """``A(rho)^{-1} g``: windows (B, H, d) with correlation ``rho`` (B,) to the level ``rho_bar``."""
        a, b = self._coefficients(rho)
        return self._apply(g, 1 / a, 1 / b)

    def from_model(self, y: Any, rho: Any) -> Any:
        """``A(rho) y``: model-space windows (B, H, d) back to correlation ``rho`` (B,); numpy or torch."""
        a, b = self._coefficients(rho)
        return self._apply(y, a, b)

    def to_dict(self) -> dict[str, Any]:
        return {"c0": self.c0, "kappa": self.kappa, "rho_bar": self.rho_bar, "n_assets": self.n_assets}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EquiCorrelation:
        return cls(float(d["c0"]), float(d["kappa"]), float(d["rho_bar"]), int(d["n_assets"]))
