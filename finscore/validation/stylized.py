"""Stylized facts of return windows (Cont 2001): pure functions on ndarrays of shape (N, H, d).

Every statistic pools the N windows, so it compares a set of generated windows with the real
windows of the same period. Time-series statistics (ACFs, leverage) use only pairs of days
*inside* the same window, never across window boundaries:

* **pooled within-window ACF** of a series x (N, H, d): standardise per asset over the pool,
  z = (x - mean_{n,t} x) / std_{n,t} x; then acf(k) = mean over (n, t < H - k, i) of z[n,t,i] z[n,t+k,i].
  Each asset counts equally; the pooled (not per-window) mean avoids the -1/H bias of short windows.
* **pooled within-window cross-correlation** corr(x_t, y_{t+k}) is the same with z_x, z_y.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from finscore.errors import DataError


def check_windows(windows: np.ndarray, name: str = "windows") -> np.ndarray:
    """Validate an array of return windows and return it as float64 of shape (N, H, d)."""
    x = np.asarray(windows, dtype=np.float64)
    if x.ndim != 3:
        raise DataError(f"{name} must have shape (n_windows, horizon, n_assets), got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1 or x.shape[2] < 1:
        raise DataError(f"{name} is empty: shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} has {int((~np.isfinite(x)).sum())} non-finite values")
    flat = _is_constant(x)
    if flat.any():  # its correlations, autocorrelations and tails are undefined: no score may count them as a match
        j = int(np.argmax(flat))
        raise DataError(f"{name}: asset {j} (of {x.shape[2]}) is constant ({float(x[0, 0, j])!r} everywhere); stylized "
                        "facts need returns that vary")
    return x


def _is_constant(x: np.ndarray) -> np.ndarray:
    """Per asset of ``x`` (N, H, d): True where the pooled sd is zero up to rounding (relative to the level)."""
    sd = x.std(axis=(0, 1))
    return sd <= 1e-12 * np.abs(x).max(axis=(0, 1))


def _standardize(x: np.ndarray) -> np.ndarray:
    """Per-asset z-scores over the pool of (N, H) values; constant assets (up to rounding) give zeros."""
    mu = x.mean(axis=(0, 1))
    sd = x.std(axis=(0, 1))
    return (x - mu) / np.where(_is_constant(x), np.inf, sd)


def pooled_cross_correlation(x: np.ndarray, y: np.ndarray, lags) -> np.ndarray:
    """corr(x_t, y_{t+k}) within windows, pooled over windows and assets: ndarray (len(lags),).

    x, y : ndarray (N, H, d); lags : ints in [0, H - 1]. See the module docstring.
    """
    zx, zy = _standardize(x), _standardize(y)
    return np.array([np.mean(zx[:, : x.shape[1] - k] * zy[:, k:]) for k in lags], dtype=np.float64)


def pooled_acf(x: np.ndarray, lags) -> np.ndarray:
    """Pooled within-window autocorrelation of ``x`` (N, H, d) at ``lags``: ndarray (len(lags),)."""
    return pooled_cross_correlation(x, x, lags)


def excess_kurtosis(x: np.ndarray) -> np.ndarray:
    """Excess kurtosis (moment estimator, 0 for a Gaussian) of each column of x (n, d): ndarray (d,)."""
    return stats.kurtosis(x, axis=0, fisher=True, bias=True)


def hill_index(x: np.ndarray, fraction: float = 0.05) -> float:
    """Hill (1975) estimator of the right-tail index alpha of a 1-d sample.

    alpha = 1 / mean_{i<=k} log(x_(i) / x_(k+1)) over the k = max(1, floor(fraction n)) largest
    values. NaN if x_(k+1) <= 0 (the tail is not positive). For t-like tails the estimator is
    biased downward at k = 5% (second-order effect); it is exact in expectation for Pareto tails.
    """
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())[::-1]
    k = max(1, int(fraction * x.size))
    if x.size <= k or x[k] <= 0:
        return float("nan")
    return float(1.0 / np.mean(np.log(x[:k] / x[k])))


def block_sums(windows: np.ndarray, k: int) -> np.ndarray:
    """Non-overlapping k-day sums inside each window: ndarray (N * floor(H / k), d)."""
    n, h, d = windows.shape
    b = h // k
    return windows[:, : b * k].reshape(n, b, k, d).sum(axis=2).reshape(n * b, d)


def tail_asymmetry(x: np.ndarray, q: float = 0.05) -> np.ndarray:
    """Quantile gain/loss asymmetry (q_{1-q} + q_q - 2 median) / (q_{1-q} - q_q) per column of x (n, d).

    Negative when losses are larger than gains; 0 for symmetric laws; in [-1, 1].
    """
    lo, med, hi = np.quantile(x, [q, 0.5, 1 - q], axis=0)
    span = hi - lo
    return np.where(span > 0, (hi + lo - 2 * med) / np.where(span > 0, span, 1.0), 0.0)


def tail_dependence(x: np.ndarray, q: float = 0.05) -> np.ndarray:
    """Empirical lower and upper tail dependence at level q: ndarray (2, d, d).

    With pseudo-observations U = rank / (n + 1) per column of x (n, d):
    lower[i, j] = P(U_i < q, U_j < q) / q and upper[i, j] = P(U_i > 1 - q, U_j > 1 - q) / q.
    """
    n = x.shape[0]
    u = stats.rankdata(x, axis=0) / (n + 1)
    lo = (u < q).astype(np.float64)
    hi = (u > 1 - q).astype(np.float64)
    return np.stack([lo.T @ lo, hi.T @ hi]) / (n * q)


def aggregation_levels(horizon: int) -> np.ndarray:
    """Aggregation periods k in {1, 5, H} that fit in a window of ``horizon`` days."""
    return np.array(sorted({k for k in (1, 5, horizon) if k <= horizon}), dtype=np.int64)


def stylized_facts(windows: np.ndarray, *, tail_q: float = 0.05, hill_fraction: float = 0.05,
                   acf_lags: int = 5, leverage_lags: int = 10) -> dict[str, np.ndarray | float]:
    """Stylized facts of a pool of return windows.

    Parameters
    ----------
    windows : ndarray (N, H, d) of daily log returns.
    tail_q : level of the tail dependence and of the gain/loss quantile asymmetry.
    hill_fraction : fraction of each tail used by the Hill estimator.
    acf_lags, leverage_lags : largest lag of the return ACF and of the leverage curve (capped at H - 1).

    Returns
    -------
    dict with (K_r = min(acf_lags, H-1), K_l = min(leverage_lags, H-1), A = len(aggregation levels)):
    ``mean``, ``std`` (d,) daily; ``horizon_mean``, ``horizon_std`` (d,) of H-day sums;
    ``kurtosis`` (d,) excess kurtosis of daily returns; ``hill`` (2, d) left / right tail index;
    ``tail_quantiles`` (2, d) 1% and 99% quantiles; ``acf_returns`` (K_r,) lags 1..K_r;
    ``acf_abs``, ``acf_sq`` (H-1,) lags 1..H-1 of |r| and r^2; ``leverage`` (K_l,) corr(r_t, r^2_{t+k});
    ``aggregation_levels`` (A,); ``gain_loss`` (A, d) quantile asymmetry of k-day sums;
    ``aggregational`` (A, d) excess kurtosis of k-day sums; ``correlation`` (d, d);
    ``tail_dependence`` (2, d, d) lower / upper; ``n_windows`` float.
    """
    x = check_windows(windows)
    n, h, d = x.shape
    daily = x.reshape(n * h, d)
    sums = x.sum(axis=1)
    levels = aggregation_levels(h)
    blocks = [block_sums(x, int(k)) for k in levels]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(daily, rowvar=False).reshape(d, d) if d > 1 else np.ones((1, 1))
    return {
        "mean": daily.mean(axis=0),
        "std": daily.std(axis=0),
        "horizon_mean": sums.mean(axis=0),
        "horizon_std": sums.std(axis=0),
        "kurtosis": excess_kurtosis(daily),
        "hill": np.array([[hill_index(-daily[:, i], hill_fraction) for i in range(d)],
                          [hill_index(daily[:, i], hill_fraction) for i in range(d)]]),
        "tail_quantiles": np.quantile(daily, [0.01, 0.99], axis=0),
        "acf_returns": pooled_acf(x, range(1, min(acf_lags, h - 1) + 1)),
        "acf_abs": pooled_acf(np.abs(x), range(1, h)),
        "acf_sq": pooled_acf(x**2, range(1, h)),
        "leverage": pooled_cross_correlation(x, x**2, range(1, min(leverage_lags, h - 1) + 1)),
        "aggregation_levels": levels,
        "gain_loss": np.stack([tail_asymmetry(b, tail_q) for b in blocks]),
        "aggregational": np.stack([excess_kurtosis(b) if len(b) > 1 else np.full(d, np.nan) for b in blocks]),
        "correlation": corr,
        "tail_dependence": tail_dependence(daily, tail_q),
        "n_windows": float(n),
    }


def fact_summary(facts: dict) -> dict[str, float]:
    """Scalar summaries of :func:`stylized_facts` for tables (asset averages, first lags)."""
    d = facts["correlation"].shape[0]
    off = ~np.eye(d, dtype=bool)
    lv = facts["aggregation_levels"]

    def first(a):
        return float(a[0]) if len(a) else float("nan")

    out = {
        "daily_std": float(np.mean(facts["std"])),
        "kurtosis": float(np.nanmean(facts["kurtosis"])),
        "hill_left": float(np.nanmean(facts["hill"][0])),
        "hill_right": float(np.nanmean(facts["hill"][1])),
        "quantile_01": float(np.mean(facts["tail_quantiles"][0])),
        "quantile_99": float(np.mean(facts["tail_quantiles"][1])),
        "acf_returns_lag1": first(facts["acf_returns"]),
        "acf_abs_lag1": first(facts["acf_abs"]),
        "acf_sq_lag1": first(facts["acf_sq"]),
        "leverage_mean": float(np.mean(facts["leverage"])) if len(facts["leverage"]) else float("nan"),
        "mean_correlation": float(np.nanmean(facts["correlation"][off])) if d > 1 else float("nan"),
        "lower_tail_dependence": float(np.mean(facts["tail_dependence"][0][off])) if d > 1 else float("nan"),
        "upper_tail_dependence": float(np.mean(facts["tail_dependence"][1][off])) if d > 1 else float("nan"),
    }
    for k, gl, ag in zip(lv, facts["gain_loss"], facts["aggregational"]):
        out[f"gain_loss_{k}d"] = float(np.mean(gl))
        out[f"kurtosis_{k}d"] = float(np.nanmean(ag)) if np.isfinite(ag).any() else float("nan")
    return out
