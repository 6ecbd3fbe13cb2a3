"""GJR-GARCH(1,1) margins (fitted with ``arch``) joined by a Gaussian or Student-t copula."""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd
from arch import arch_model
from arch.univariate import SkewStudent, StudentsT
from scipy import integrate

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.baselines._dependence import (
    QuantileTable, gaussian_copula_corr, fit_t_copula_dof, kendall_corr, normal_scores, sample_scores,
)
from finscore.baselines._volatility import GJRParams, start_position, unconditional_variance
from finscore.baselines.dcc import fit_dcc
from finscore.errors import DataError
from finscore.protocol import BaseGenerator

DISTS = {"t": (StudentsT, ["nu"]), "skewt": (SkewStudent, ["eta", "lambda"])}
COPULAS = ("gaussian", "t")
MEANS = {"constant": "Constant", "zero": "Zero"}
MIN_ROWS = 100
_SCALE = 100.0  # arch's optimiser prefers percent returns
_UNITS = {"mu": _SCALE, "omega": _SCALE**2}  # parameter -> divisor back to log-return units


class GARCH(BaseGenerator):
    """Per-asset GJR-GARCH(1,1) (Glosten, Jagannathan & Runkle 1993) with a CCC or DCC copula.

    Each asset's ``r[t] = mu + sigma[t] z[t]`` is fitted by ``arch`` (``vol="GARCH", p=1, o=1,
    q=1``) on returns x100, with standardized Student-t or Hansen skew-t innovations ``z``.
    Dependence is a copula on the probability integral transforms ``u = F_j(z_j)`` under the
    fitted innovation distributions (inference functions for margins, Joe 1997):
    ``copula="gaussian"`` takes the Pearson correlation of the normal scores ``norm.ppf(u)``
    (constant conditional correlation, Bollerslev 1990); ``copula="t"`` takes the correlation
    from Kendall's tau of the residuals and the copula dof by profile likelihood.
    ``dcc=True`` (Gaussian copula only) lets that correlation follow Engle's (2002) DCC(1,1).

    Forecasts are conditional: the variance recursion runs with the fitted parameters through
    every row of ``context``. It starts from the fitted state when the context's first date
    is a fitted date, else from the unconditional variance, so give out-of-sample contexts a
    few dozen rows (its weight decays as ``beta**rows``).

    Parameters
    ----------
    dist : {"t", "skewt"} innovation distribution.
    copula : {"gaussian", "t"} cross-sectional copula of the innovations.
    mean : {"constant", "zero"} mean model.
    dcc : bool, dynamic (DCC) instead of constant copula correlation; needs ``copula="gaussian"``.

    Attributes
    ----------
    params_ : DataFrame (d, k) ``mu, omega, alpha, gamma, beta`` in log-return units, then the
        distribution parameters (``nu`` or ``eta, lambda``).
    std_err_ : DataFrame (d, k) arch's robust standard errors in the same units.
    dynamics_cov_ : ndarray (d, 3, 3) arch's robust covariance of each asset's ``alpha, gamma, beta`` estimates.
    sigma2_ : DataFrame (T, d) fitted conditional variances.
    std_resid_ : DataFrame (T, d) standardized residuals ``(r - mu) / sigma``.
    corr_ : ndarray (d, d) copula correlation; ``copula_dof_`` float or None.
    dcc_ : DCCParams (only with ``dcc=True``).
    """

    min_context = 1

    def __init__(self, dist: str = "t", copula: str = "gaussian", mean: str = "constant", dcc: bool = False) -> None:
        self.dist = dist
        self.copula = copula
        self.mean = mean
        self.dcc = dcc

    # ------------------------------------------------------------- fit
    def _check_params(self) -> None:
        for name, allowed in (("dist", tuple(DISTS)), ("copula", COPULAS), ("mean", tuple(MEANS))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.dcc and self.copula != "gaussian":
            raise ValueError("dcc=True requires copula='gaussian'")

    def _fit(self, returns: pd.DataFrame) -> None:
        self._check_params()
        if len(returns) < MIN_ROWS:
            raise DataError(f"returns has {len(returns)} rows; GARCH needs at least {MIN_ROWS} to estimate its margins")
        fits = [self._fit_margin(returns[a], a) for a in returns.columns]
        names = ["mu", "omega", "alpha", "gamma", "beta", *DISTS[self.dist][1]]
        assets = list(self.assets_)
        self.params_ = pd.DataFrame([f[0] for f in fits], index=assets, columns=names)
        self.std_err_ = pd.DataFrame([f[1] for f in fits], index=assets, columns=names)
        self.dynamics_cov_ = np.stack([f[3] for f in fits])
        self.sigma2_ = pd.DataFrame(np.column_stack([f[2] for f in fits]), index=returns.index, columns=assets)
        self.std_resid_ = (returns - self.params_["mu"]) / np.sqrt(self.sigma2_)
        p = self.params_
        self.vol_ = GJRParams(*(p[k].to_numpy() for k in ("mu", "omega", "alpha", "gamma", "beta")))
        self.dist_params_ = p[DISTS[self.dist][1]].to_numpy()
        kappa = np.array([self._neg_second_moment(q) for q in self.dist_params_])
        resid = (returns - p["mu"]).to_numpy()
        self.unconditional_variance_ = unconditional_variance(self.vol_, kappa, np.mean(resid**2, axis=0))

        u = self._pits(self.std_resid_.to_numpy())
        if self.copula == "gaussian":
            self.corr_, self.copula_dof_ = gaussian_copula_corr(u), None
        else:
            self.corr_ = kendall_corr(self.std_resid_.to_numpy())
            self.copula_dof_ = fit_t_copula_dof(u, self.corr_)
        self.chol_ = np.linalg.cholesky(self.corr_)
        dist = DISTS[self.dist][0]()
        ppfs = [partial(dist.ppf, parameters=q) for q in self.dist_params_]
        self.table_ = QuantileTable.build(ppfs, self.copula_dof_)
        if self.dcc:
            self.dcc_ = fit_dcc(normal_scores(u))
            self.dcc_q_ = self.dcc_.filter(normal_scores(u), self.dcc_.qbar)

    def _fit_margin(self, series: pd.Series, asset: str) -> tuple[list[float], list[float], np.ndarray, np.ndarray]:
        """(params, std errors, conditional variances (T,), covariance (3, 3) of alpha, gamma, beta) of one asset
        in log-return units."""
        y = _SCALE * series  # never constant: BaseGenerator.fit refuses a constant asset
        model = arch_model(y, mean=MEANS[self.mean], vol="GARCH", p=1, o=1, q=1, dist=self.dist, rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off", show_warning=False)
        if res.convergence_flag != 0:
            warnings.warn(f"GARCH fit for asset {asset!r} did not converge: {res.optimization_result.message}",
                          RuntimeWarning, stacklevel=4)
        arch_names = ["mu", "omega", "alpha[1]", "gamma[1]", "beta[1]", *DISTS[self.dist][1]]
        out = []
        for values in (res.params, res.std_err):
            out.append([float(values.get(k, 0.0)) / _UNITS.get(k.split("[")[0], 1.0) for k in arch_names])
        dyn = ["alpha[1]", "gamma[1]", "beta[1]"]  # unit-free: the same in percent and log-return units
        cov = res.param_cov.loc[dyn, dyn].to_numpy(np.float64)
        return out[0], out[1], (res.conditional_volatility.to_numpy() / _SCALE) ** 2, cov

    def _neg_second_moment(self, q: np.ndarray) -> float:
        """kappa = E[z^2 1{z < 0}] of the fitted innovation distribution (1/2 when symmetric)."""
        if self.dist == "t":
            return 0.5
        dist = SkewStudent()

        def integrand(z: float) -> float:
            return z * z * np.exp(dist.loglikelihood(q, np.array([z]), np.ones(1), individual=True)[0])

        return float(integrate.quad(integrand, -np.inf, 0.0)[0])

    def _pits(self, z: np.ndarray) -> np.ndarray:
        """Probability integral transforms (T, d) of standardized residuals under the fitted distributions."""
        dist = DISTS[self.dist][0]()
        return np.column_stack([dist.cdf(z[:, j], q) for j, q in enumerate(self.dist_params_)])

    # ---------------------------------------------------------- sample
    def _filter_context(self, context: pd.DataFrame) -> tuple[np.ndarray, int | None]:
        """Variances (L + 1, d) through the context and the fitted row it started from (or None)."""
        pos = start_position(self.sigma2_.index, context.index)
        s0 = self.unconditional_variance_ if pos is None else self.sigma2_.to_numpy()[pos]
        return self.vol_.filter(context.to_numpy(), s0), pos

    def forecast_variance(self, context: pd.DataFrame | None = None) -> pd.Series:
        """Next-day conditional variance per asset after ``context`` (default: the fitted data's end)."""
        self._check_fitted()
        return pd.Series(self._filter_context(self._resolve_context(context))[0][-1], index=list(self.assets_))

    def _sample(self, n: int, horizon: int, context: pd.DataFrame, seed: Seed) -> np.ndarray:
        rng = as_generator(seed)
        sigma2, pos = self._filter_context(context)
        if self.dcc:
            z_ctx = (context.to_numpy() - self.vol_.mu) / np.sqrt(sigma2[:-1])
            q0 = self.dcc_.qbar if pos is None else self.dcc_q_[pos]
            q = self.dcc_.filter(normal_scores(self._pits(z_ctx)), q0)[-1]
            scores = self.dcc_.simulate(rng, n, horizon, q)
        else:
            scores = sample_scores(rng, (n, horizon), self.chol_, self.copula_dof_)
        return self.vol_.simulate(self.table_(scores), sigma2[-1])
