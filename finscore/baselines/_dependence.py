"""Copula building blocks shared by the baselines.

Pseudo-observations and normal scores, correlation fits for Gaussian and Student-t copulas,
draws of copula scores, and :class:`QuantileTable`, a fast per-asset map from copula scores
to marginal quantiles (one ``np.interp`` per asset instead of an inverse CDF per draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import optimize, special, stats

from finscore.errors import NumericalError

_U_CLIP = 1e-12  # keep uniforms off {0, 1} so inverse CDFs stay finite


def pseudo_observations(x: np.ndarray) -> np.ndarray:
    """Rank transform ``rank / (T + 1)`` per column (average ranks for ties): (T, d) -> (T, d) in (0, 1)."""
    x = np.asarray(x, dtype=np.float64)
    return stats.rankdata(x, axis=0) / (x.shape[0] + 1)


def normal_scores(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of uniforms, clipped to (1e-12, 1 - 1e-12): same shape as ``u``."""
    return special.ndtri(np.clip(u, _U_CLIP, 1 - _U_CLIP))


def nearest_correlation(c: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Symmetric positive definite correlation matrix (d, d) closest to ``c`` by eigenvalue clipping."""
    c = 0.5 * (np.asarray(c, dtype=np.float64) + np.asarray(c, dtype=np.float64).T)
    if not np.all(np.isfinite(c)):
        raise NumericalError("correlation matrix has non-finite entries (constant asset returns?)")
    w, v = np.linalg.eigh(c)
    if w.min() < eps:
        c = (v * np.maximum(w, eps)) @ v.T
    s = np.sqrt(np.diag(c))
    c = c / np.outer(s, s)
    np.fill_diagonal(c, 1.0)
    return c


def gaussian_copula_corr(u: np.ndarray) -> np.ndarray:
    """Gaussian copula correlation (d, d): Pearson correlation of the normal scores of ``u`` (T, d).

    The van der Waerden / normal-scores estimator (Genest, Ghoudi & Rivest 1995 when ``u``
    are pseudo-observations).
    """
    z = normal_scores(u)
    return nearest_correlation(np.atleast_2d(np.corrcoef(z, rowvar=False)))


def kendall_corr(x: np.ndarray) -> np.ndarray:
    """Elliptical-copula correlation (d, d) from pairwise Kendall's tau, ``sin(pi tau / 2)``.

    Valid for every elliptical copula, hence used for the Student-t copula (Lindskog,
    McNeil & Schmock 2003).
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    tau = np.eye(d)
    for i in range(d):
        for j in range(i + 1, d):
            tau[i, j] = tau[j, i] = stats.kendalltau(x[:, i], x[:, j])[0]
    return nearest_correlation(np.sin(0.5 * np.pi * tau))


def t_copula_loglik(u: np.ndarray, corr: np.ndarray, nu: float) -> float:
    """Log-likelihood of a Student-t copula with correlation ``corr`` (d, d) and ``nu`` dof at ``u`` (T, d)."""
    x = special.stdtrit(nu, np.clip(u, _U_CLIP, 1 - _U_CLIP))
    d = corr.shape[0]
    chol = np.linalg.cholesky(corr)
    q = np.sum(np.linalg.solve(chol, x.T) ** 2, axis=0)  # (T,) Mahalanobis x' R^-1 x
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    joint = (special.gammaln((nu + d) / 2) - special.gammaln(nu / 2) - 0.5 * d * np.log(nu * np.pi)
             - 0.5 * logdet - 0.5 * (nu + d) * np.log1p(q / nu))
    return float(joint.sum() - stats.t.logpdf(x, nu).sum())


def fit_t_copula_dof(u: np.ndarray, corr: np.ndarray, bounds: tuple[float, float] = (2.05, 200.0)) -> float:
    """Profile maximum-likelihood degrees of freedom of a t copula with ``corr`` held fixed."""
    res = optimize.minimize_scalar(
        lambda lognu: -t_copula_loglik(u, corr, float(np.exp(lognu))),
        bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded", options={"xatol": 1e-3},
    )
    return float(np.exp(res.x))


def sample_scores(
    rng: np.random.Generator, shape: tuple[int, ...], chol: np.ndarray, nu: float | None = None
) -> np.ndarray:
    """Copula scores of shape ``(*shape, d)``: rows ``N(0, R)`` (``chol`` = cholesky(R)) or, with ``nu``,
    multivariate t rows ``N(0, R) / sqrt(chi2_nu / nu)`` (one mixing variable per row)."""
    z = rng.standard_normal((*shape, chol.shape[0])) @ chol.T
    if nu is not None:
        z /= np.sqrt(rng.chisquare(nu, size=shape) / nu)[..., None]
    return z


def score_cdf(x: np.ndarray, nu: float | None = None) -> np.ndarray:
    """CDF of the copula scores: standard normal, or Student-t with ``nu`` dof."""
    return special.ndtr(x) if nu is None else special.stdtr(nu, x)


@dataclass(frozen=True)
class QuantileTable:
    """Per-asset map from copula scores to marginal quantiles, tabulated on an asinh grid.

    ``values[k, j] = ppf_j(score_cdf(sinh(grid[k])))``; :meth:`__call__` interpolates
    linearly in ``asinh(score)``. The grid spans the scores' (1e-12, 1 - 1e-12) quantiles,
    which suits both Gaussian and heavy-tailed t scores; outside it the end values are held.

    Attributes
    ----------
    grid : ndarray (m,) increasing asinh(score) knots.
    values : ndarray (m, d) marginal quantiles at the knots.
    """

    grid: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, ppfs: Sequence[Callable[[np.ndarray], np.ndarray]], nu: float | None = None,
              n_grid: int = 16385) -> "QuantileTable":
        """Tabulate the inverse marginal CDFs ``ppfs[j](u)`` (vectorised over ``u``)."""
        limit = np.arcsinh(-special.ndtri(_U_CLIP) if nu is None else -special.stdtrit(nu, _U_CLIP))
        grid = np.linspace(-limit, limit, n_grid)
        u = np.clip(score_cdf(np.sinh(grid), nu), _U_CLIP, 1 - _U_CLIP)
        values = np.column_stack([np.asarray(ppf(u), dtype=np.float64) for ppf in ppfs])
        if not np.all(np.isfinite(values)):
            raise NumericalError("marginal quantile function returned non-finite values")
        return cls(grid, np.maximum.accumulate(values, axis=0))  # guard monotonicity against round-off

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Marginal quantiles of copula scores (..., d) -> (..., d)."""
        step = self.grid[1] - self.grid[0]
        return interp_columns((np.arcsinh(scores) - self.grid[0]) / step, self.values)


def interp_columns(pos: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of column ``j`` of ``values`` (m, d) at fractional rows ``pos[..., j]`` (..., d).

    Rows are clipped to [0, m - 1]; one vectorised gather instead of d binary searches.
    """
    m, d = values.shape
    pos = np.clip(pos, 0.0, m - 1.0)
    k = np.minimum(pos.astype(np.int64), m - 2)
    w = pos - k
    flat = k * d + np.arange(d)
    v = values.ravel()
    return v[flat] * (1.0 - w) + v[flat + d] * w
