"""Historical simulation: filtered (FHS) and stationary block bootstrap of whole return rows."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.baselines._volatility import GJRParams, start_position
from finscore.protocol import BaseGenerator

METHODS = ("fhs", "bootstrap")


class HistoricalSimulation(BaseGenerator):
    """Resample whole days of history, so cross-asset dependence is kept exactly.

    ``method="fhs"``: filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper
    1999) with a RiskMetrics EWMA filter per asset, ``s2[t+1] = lam s2[t] + (1 - lam) r[t]**2``
    (zero mean, started at the sample mean of ``r**2``). Rows of standardized residuals
    ``r[t] / s[t]`` are drawn i.i.d. and rescaled by the volatility path, which the same
    recursion propagates through the simulated returns; the starting state is filtered
    through ``context`` (from the fitted state if the context starts on a fitted date).
    ``method="bootstrap"``: stationary bootstrap (Politis & Romano 1994) of return rows
    with geometric blocks of mean length ``block_size``; unconditional (ignores context).

    Parameters
    ----------
    method : {"fhs", "bootstrap"}
    block_size : float >= 1, mean block length of the stationary bootstrap.
    ewma_lambda : float in (0, 1), EWMA decay of the FHS filter.

    Attributes
    ----------
    returns_ : ndarray (T, d) fitted returns.
    std_resid_ : DataFrame (T, d) EWMA-standardized residuals (fhs).
    sigma2_ : DataFrame (T, d) EWMA variances of each fitted date (fhs).
    """

    min_context = 1

    def __init__(self, method: str = "fhs", block_size: float = 10, ewma_lambda: float = 0.94) -> None:
        self.method = method
        self.block_size = block_size
        self.ewma_lambda = ewma_lambda

    def _fit(self, returns: pd.DataFrame) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not (_is_real(self.block_size) and self.block_size >= 1):
            raise ValueError(f"block_size must be a number >= 1, got {self.block_size!r}")
        if not (_is_real(self.ewma_lambda) and 0 < self.ewma_lambda < 1):
            raise ValueError(f"ewma_lambda must be in (0, 1), got {self.ewma_lambda!r}")
        x = returns.to_numpy()
        self.returns_ = x
        if self.method == "bootstrap":
            return
        self.vol_ = GJRParams.ewma(float(self.ewma_lambda), x.shape[1])
        self.initial_variance_ = np.mean(x**2, axis=0)
        s2 = self.vol_.filter(x, self.initial_variance_)[:-1]
        self.sigma2_ = pd.DataFrame(s2, index=returns.index, columns=returns.columns)
        self.std_resid_ = returns / np.sqrt(self.sigma2_)

    def forecast_variance(self, context: pd.DataFrame | None = None) -> pd.Series:
        """Next-day EWMA variance per asset after ``context`` (fhs only)."""
        self._check_fitted()
        if self.method != "fhs":
            raise ValueError("forecast_variance needs method='fhs'")
        return pd.Series(self._next_variance(self._resolve_context(context)), index=list(self.assets_))

    def _next_variance(self, context: pd.DataFrame) -> np.ndarray:
        pos = start_position(self.sigma2_.index, context.index)
        s0 = self.initial_variance_ if pos is None else self.sigma2_.to_numpy()[pos]
        return self.vol_.filter(context.to_numpy(), s0)[-1]

    def _sample(self, n: int, horizon: int, context: pd.DataFrame, seed: Seed) -> np.ndarray:
        rng = as_generator(seed)
        t_len = self.returns_.shape[0]
        if self.method == "bootstrap":
            return self.returns_[stationary_bootstrap_indices(rng, t_len, n, horizon, float(self.block_size))]
        z = self.std_resid_.to_numpy()[rng.integers(0, t_len, size=(n, horizon))]
        return self.vol_.simulate(z, self._next_variance(context))


def stationary_bootstrap_indices(
    rng: np.random.Generator, t_len: int, n: int, horizon: int, block_size: float
) -> np.ndarray:
    """Row indices (n, horizon) of the stationary bootstrap (Politis & Romano 1994).

    Each path starts at a uniform row; each next day starts a new block at a uniform row
    with probability ``1 / block_size``, else continues with the next row (circularly).
    """
    idx = np.empty((n, horizon), dtype=np.int64)
    idx[:, 0] = rng.integers(0, t_len, size=n)
    new = rng.random((n, horizon)) < 1.0 / block_size
    jump = rng.integers(0, t_len, size=(n, horizon))
    for t in range(1, horizon):
        idx[:, t] = np.where(new[:, t], jump[:, t], (idx[:, t - 1] + 1) % t_len)
    return idx


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and np.isfinite(x)
