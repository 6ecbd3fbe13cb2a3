"""Tiny generators with closed-form VaR / ES for the risk tests (not a test module)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from finscore._rng import as_generator
from finscore.protocol import BaseGenerator


class GaussianIID(BaseGenerator):
    """i.i.d. N(mu, sigma^2) daily log returns per asset, independent across assets."""

    min_context = 5

    def __init__(self, sigma: float = 0.01, mu: float = 0.0):
        self.sigma = sigma
        self.mu = mu

    def _fit(self, returns: pd.DataFrame) -> None:
        self.fit_calls_ = getattr(self, "fit_calls_", []) + [returns.index[-1]]

    def _sample(self, n, horizon, context, seed):
        rng = as_generator(seed)
        return self.mu + self.sigma * rng.standard_normal((n, horizon, len(self.assets_)))

    def sample_many(self, n, horizon, contexts, seed=None):
        self.sample_many_calls = getattr(self, "sample_many_calls", 0) + 1
        return super().sample_many(n, horizon, contexts, seed)


class NaNAfter(GaussianIID):
    """Returns NaN scenarios for contexts ending on or after ``bad_date``."""

    def __init__(self, bad_date, sigma: float = 0.01):
        super().__init__(sigma)
        self.bad_date = bad_date

    def _sample(self, n, horizon, context, seed):
        out = super()._sample(n, horizon, context, seed)
        return out * np.nan if context.index[-1] >= pd.Timestamp(self.bad_date) else out


def gaussian_returns(n_dates: int, sigma=0.01, n_assets: int = 1, seed: int = 0, start="2015-01-01") -> pd.DataFrame:
    """DataFrame (n_dates, n_assets) of i.i.d. N(0, sigma^2) log returns on business days."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n_dates, name="date")
    cols = [f"A{i}" for i in range(n_assets)]
    return pd.DataFrame(sigma * rng.standard_normal((n_dates, n_assets)), index=index, columns=cols)


def lognormal_var_es(sigma: float, level: float) -> tuple[float, float]:
    """Closed-form VaR and ES of the simple return exp(r) - 1, r ~ N(0, sigma^2), as positive losses.

    VaR = 1 - exp(-sigma z), z = Phi^-1(level); ES = 1 - E[e^r | r < -sigma z]
    = 1 - exp(sigma^2 / 2) Phi(-z - sigma) / (1 - level).
    """
    z = stats.norm.ppf(level)
    return 1 - np.exp(-sigma * z), 1 - np.exp(sigma**2 / 2) * stats.norm.cdf(-z - sigma) / (1 - level)
