"""Dynamic conditional correlation (Engle 2002) of copula normal scores, for :class:`~finscore.baselines.GARCH`.

``Q[t+1] = (1 - a - b) Qbar + a eta[t] eta[t]' + b Q[t]``, ``R[t] = diag(Q[t])^-1/2 Q[t] diag(Q[t])^-1/2``,
where ``eta`` are the normal scores of the GARCH residuals' probability integral transforms
(a Gaussian DCC copula). Second step of Engle's two-step estimator: the margins are fixed,
(a, b) maximise the correlation part of the Gaussian log-likelihood with ``Qbar`` targeted
to the sample second moment of ``eta``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

from finscore.baselines._dependence import nearest_correlation


@dataclass(frozen=True)
class DCCParams:
    """Fitted DCC(1,1) parameters: scalars ``a``, ``b`` and the target ``qbar`` (d, d)."""

    a: float
    b: float
    qbar: np.ndarray

    def filter(self, eta: np.ndarray, q0: np.ndarray) -> np.ndarray:
        """Q matrices (T + 1, d, d) through observed scores ``eta`` (T, d), starting at ``q0`` (d, d)."""
        t_len, d = eta.shape
        dev = (eta[:, :, None] * eta[:, None, :] - self.qbar).reshape(t_len, d * d)
        d0 = (q0 - self.qbar).reshape(1, d * d)
        y, _ = signal.lfilter([self.a], [1.0, -self.b], dev, axis=0, zi=self.b * d0)
        return np.concatenate([q0[None], self.qbar + y.reshape(t_len, d, d)])

    def simulate(self, rng: np.random.Generator, n: int, horizon: int, q0: np.ndarray) -> np.ndarray:
        """Normal-score paths (n, horizon, d) with correlation ``R[t]`` evolving from ``q0`` (d, d) per path."""
        d = q0.shape[0]
        q = np.broadcast_to(q0, (n, d, d)).copy()
        out = np.empty((n, horizon, d))
        for t in range(horizon):
            chol = np.linalg.cholesky(correlation_of(q))
            eta = np.einsum("nij,nj->ni", chol, rng.standard_normal((n, d)))
            out[:, t] = eta
            q = (1 - self.a - self.b) * self.qbar + self.a * eta[:, :, None] * eta[:, None, :] + self.b * q
        return out


def correlation_of(q: np.ndarray) -> np.ndarray:
    """Correlation matrices (..., d, d) of positive definite matrices ``q`` (..., d, d)."""
    s = np.sqrt(np.diagonal(q, axis1=-2, axis2=-1))
    return q / (s[..., :, None] * s[..., None, :])


def dcc_loglik(eta: np.ndarray, params: DCCParams) -> float:
    """Correlation part of the Gaussian log-likelihood, ``-1/2 sum_t (log|R_t| + eta_t' R_t^-1 eta_t)``."""
    r = correlation_of(params.filter(eta, params.qbar)[:-1])
    chol = np.linalg.cholesky(r)
    w = np.linalg.solve(chol, eta[:, :, None])[..., 0]
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum()
    return float(-0.5 * (logdet + np.sum(w**2)))


def fit_dcc(eta: np.ndarray) -> DCCParams:
    """Maximum-likelihood DCC(1,1) on normal scores ``eta`` (T, d); ``a = p s``, ``b = p (1 - s)`` with p < 0.999."""
    qbar = nearest_correlation(eta.T @ eta / eta.shape[0])

    def nll(theta: np.ndarray) -> float:
        p, s = theta
        return -dcc_loglik(eta, DCCParams(p * s, p * (1 - s), qbar))

    res = optimize.minimize(nll, x0=[0.95, 0.03], method="L-BFGS-B", bounds=[(1e-4, 0.999), (1e-4, 1 - 1e-4)])
    p, s = res.x
    return DCCParams(float(p * s), float(p * (1 - s)), qbar)
