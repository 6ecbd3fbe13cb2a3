"""One scalar distance per stylized-fact group between real and generated windows.

Definitions (r = real, g = generated; facts from :func:`~finscore.validation.stylized.stylized_facts`;
"MAD" = mean absolute difference over all entries, NaN entries ignored; 0 means identical):

==================== =========================================================================
group                distance
==================== =========================================================================
kurtosis             MAD of per-asset excess kurtosis of daily returns
hill                 MAD of the left/right Hill tail indices (2, d)
tail_quantiles       MAD of the 1% / 99% quantiles (2, d), each divided by the real daily std of its asset
acf_returns          MAD of the return ACF, lags 1..5
acf_abs, acf_sq      MAD of the ACF of |r| / r^2, lags 1..H-1
leverage             MAD of corr(r_t, r^2_{t+k}), k = 1..10
gain_loss            MAD of the quantile gain/loss asymmetry of k-day sums, k in {1, 5, H} (A, d)
aggregational        MAD of the excess kurtosis of k-day sums, k in {1, 5, H} (A, d)
correlation          Frobenius norm ||C_g - C_r||_F of the daily correlation matrices
tail_dependence      sqrt(||L_g - L_r||_F^2 + ||U_g - U_r||_F^2), lower / upper tail dependence at 5%
wasserstein_daily    mean over assets of W1 between pooled daily returns, both standardised with the
                     REAL per-asset mean and std (so a wrong scale or location is penalised)
wasserstein_horizon  the same for H-day sums, standardised with the real H-day mean and std
==================== =========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from finscore.errors import DataError
from finscore.validation.stylized import check_windows, stylized_facts

DISTANCE_GROUPS = (
    "kurtosis", "hill", "tail_quantiles", "acf_returns", "acf_abs", "acf_sq", "leverage", "gain_loss",
    "aggregational", "correlation", "tail_dependence", "wasserstein_daily", "wasserstein_horizon",
)
_MAD_GROUPS = ("kurtosis", "hill", "acf_returns", "acf_abs", "acf_sq", "leverage", "gain_loss", "aggregational")


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of |a - b| over entries where both are finite; NaN if there are none."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    ok = np.isfinite(diff)
    return float(diff[ok].mean()) if ok.any() else float("nan")


def standardized_wasserstein(real: np.ndarray, generated: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> float:
    """Mean over columns of W1 between real (n, d) and generated (m, d), both mapped to (x - loc) / scale."""
    scale = np.where(scale > 0, scale, 1.0)
    zr, zg = (real - loc) / scale, (generated - loc) / scale
    return float(np.mean([stats.wasserstein_distance(zr[:, i], zg[:, i]) for i in range(real.shape[1])]))


def fact_distances(real: np.ndarray, generated: np.ndarray, *, real_facts: dict | None = None,
                   generated_facts: dict | None = None, **fact_kwargs) -> pd.Series:
    """Distances between the stylized facts of real and generated windows, one per group.

    Parameters
    ----------
    real : ndarray (N_r, H, d) real windows of daily log returns.
    generated : ndarray (N_g, H, d) generated windows (same H and d).
    real_facts, generated_facts : precomputed :func:`stylized_facts` of the inputs (optional, saves time).
    **fact_kwargs : passed to :func:`stylized_facts` when facts are computed here.

    Returns
    -------
    Series indexed by :data:`DISTANCE_GROUPS` (see the module docstring for each definition).
    """
    real = check_windows(real, "real")
    generated = check_windows(generated, "generated")
    if real.shape[1:] != generated.shape[1:]:
        raise DataError(f"real windows have (horizon, n_assets) = {real.shape[1:]} but generated {generated.shape[1:]}")
    fr = real_facts if real_facts is not None else stylized_facts(real, **fact_kwargs)
    fg = generated_facts if generated_facts is not None else stylized_facts(generated, **fact_kwargs)
    out = {g: mean_abs_diff(fr[g], fg[g]) for g in _MAD_GROUPS}
    sd = np.where(fr["std"] > 0, fr["std"], 1.0)
    out["tail_quantiles"] = mean_abs_diff(fr["tail_quantiles"] / sd, fg["tail_quantiles"] / sd)
    out["correlation"] = float(np.linalg.norm(np.nan_to_num(fr["correlation"] - fg["correlation"])))
    out["tail_dependence"] = float(np.linalg.norm(fr["tail_dependence"] - fg["tail_dependence"]))
    h, d = real.shape[1:]
    out["wasserstein_daily"] = standardized_wasserstein(real.reshape(-1, d), generated.reshape(-1, d),
                                                        fr["mean"], fr["std"])
    out["wasserstein_horizon"] = standardized_wasserstein(real.sum(axis=1), generated.sum(axis=1),
                                                          fr["horizon_mean"], fr["horizon_std"])
    return pd.Series({g: out[g] for g in DISTANCE_GROUPS}, name="distance", dtype=np.float64)
