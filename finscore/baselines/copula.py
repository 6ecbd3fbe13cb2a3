"""Unconditional Gaussian-copula scenario generator with empirical or Student-t marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.baselines._dependence import (
    QuantileTable, gaussian_copula_corr, interp_columns, pseudo_observations, sample_scores,
)
from finscore.protocol import BaseGenerator

MARGINALS = ("empirical", "t")


class GaussianCopula(BaseGenerator):
    """I.i.d. days from a Gaussian copula joined to per-asset marginals (Sklar 1959; Li 2000).

    The copula correlation is the Pearson correlation of the normal scores
    ``norm.ppf(rank / (T + 1))`` of the fitted returns. Every simulated day is independent of
    the past: the generator ignores ``context`` (``min_context = 1``).

    Parameters
    ----------
    marginals : {"empirical", "t"}
        ``"empirical"``: quantiles of the fitted returns with linear interpolation (numpy's
        default ``"linear"`` quantile), so scenarios never leave the fitted min/max range.
        ``"t"``: a location-scale Student-t per asset fitted by ``scipy.stats.t.fit``.

    Attributes
    ----------
    corr_ : ndarray (d, d) copula correlation.
    sorted_returns_ : ndarray (T, d) sorted fitted returns (empirical marginals).
    t_params_ : DataFrame (d, 3) with columns ``df, loc, scale`` (t marginals).
    """

    min_context = 1

    def __init__(self, marginals: str = "empirical") -> None:
        self.marginals = marginals

    def _fit(self, returns: pd.DataFrame) -> None:
        if self.marginals not in MARGINALS:
            raise ValueError(f"marginals must be one of {MARGINALS}, got {self.marginals!r}")
        x = returns.to_numpy()
        self.corr_ = gaussian_copula_corr(pseudo_observations(x))
        self.chol_ = np.linalg.cholesky(self.corr_)
        if self.marginals == "empirical":
            self.sorted_returns_ = np.sort(x, axis=0)
            return
        params = [stats.t.fit(x[:, j]) for j in range(x.shape[1])]
        self.t_params_ = pd.DataFrame(params, index=list(self.assets_), columns=["df", "loc", "scale"])
        self.table_ = QuantileTable.build([stats.t(*p).ppf for p in params])

    def _sample(self, n: int, horizon: int, context: pd.DataFrame, seed: Seed) -> np.ndarray:
        z = sample_scores(as_generator(seed), (n, horizon), self.chol_)
        if self.marginals == "t":
            return self.table_(z)
        return empirical_quantiles(self.sorted_returns_, special.ndtr(z))


def empirical_quantiles(sorted_x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quantiles of each column of ``sorted_x`` (T, d) at ``u`` (..., d), numpy's ``method="linear"``."""
    return interp_columns(u * (sorted_x.shape[0] - 1), sorted_x)
