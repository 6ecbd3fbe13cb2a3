"""GJR-GARCH(1,1) variance recursion shared by GARCH and filtered historical simulation.

``sigma2[t+1] = omega + (alpha + gamma * 1{eps[t] < 0}) * eps[t]**2 + beta * sigma2[t]`` with
``eps[t] = r[t] - mu`` (Glosten, Jagannathan & Runkle 1993). EWMA (RiskMetrics) is the
special case ``mu = omega = gamma = 0``, ``alpha = 1 - lambda``, ``beta = lambda``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GJRParams:
    """Per-asset GJR-GARCH(1,1) parameters in daily log-return units; each an ndarray (d,) (or a torch tensor:
    :meth:`step` works on either, which the differentiable rebuild of the stress guidance uses)."""

    mu: np.ndarray
    omega: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray

    @classmethod
    def ewma(cls, lam: float, d: int) -> "GJRParams":
        """RiskMetrics EWMA filter ``sigma2[t+1] = lam sigma2[t] + (1 - lam) r[t]**2``."""
        zero = np.zeros(d)
        return cls(zero, zero, np.full(d, 1.0 - lam), zero, np.full(d, lam))

    def step(self, eps: np.ndarray, sigma2: np.ndarray, cap: float | None = None) -> np.ndarray:
        """Next variance from shocks ``eps`` and variances ``sigma2`` (..., d).

        ``cap``: the squared shock enters as ``min(eps**2, cap**2 sigma2)``, i.e. shocks beyond ``cap`` standard
        deviations count as ``cap`` (a bounded-influence update); None: the plain recursion.
        """
        sq = eps**2
        if cap is not None:
            lim = cap**2 * sigma2
            sq = sq * (sq <= lim) + lim * (sq > lim)  # min(sq, lim), exactly, for numpy arrays and torch tensors
        return self.omega + (self.alpha + self.gamma * (eps < 0)) * sq + self.beta * sigma2

    def filter(self, returns: np.ndarray, sigma2_0: np.ndarray) -> np.ndarray:
        """Variances (T + 1, d) through observed returns (T, d); row 0 is ``sigma2_0``, row T the next-day forecast."""
        eps = np.asarray(returns, dtype=np.float64) - self.mu
        out = np.empty((eps.shape[0] + 1, eps.shape[1]))
        out[0] = sigma2_0
        for t in range(eps.shape[0]):
            out[t + 1] = self.step(eps[t], out[t])
        return out

    def simulate(self, z: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
        """Log-return paths (n, h, d) from standardized innovations ``z`` (n, h, d), first-day variance (d,) or (n, d).

        Vectorised over (n, d); one numpy step per day.
        """
        n, h, d = z.shape
        out = np.empty_like(z)
        s2 = np.broadcast_to(sigma2, (n, d)).astype(np.float64)
        for t in range(h):
            eps = np.sqrt(s2) * z[:, t]
            out[:, t] = self.mu + eps
            s2 = self.step(eps, s2)
        return out


def start_position(fitted_index: pd.DatetimeIndex, context_index: pd.DatetimeIndex) -> int | None:
    """Row of the fitted sample whose state starts a context, or None if the context starts elsewhere.

    A context whose first date is a fitted date continues from the fitted state at that date
    (so ``context=None`` and the last fitted rows give identical forecasts); any other context
    starts from the unconditional state.
    """
    pos = fitted_index.get_indexer(context_index[:1])[0]
    return None if pos < 0 else int(pos)


def unconditional_variance(p: GJRParams, kappa: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``omega / (1 - alpha - gamma kappa - beta)``, ``kappa = E[z^2 1{z<0}]``; ``fallback`` where not stationary."""
    denom = 1.0 - p.alpha - p.gamma * kappa - p.beta
    ok = denom > 1e-3
    return np.where(ok, p.omega / np.where(ok, denom, 1.0), fallback)


MAX_PERSISTENCE = 0.999


def pool_dynamics(p: GJRParams, cov: np.ndarray, uncond: np.ndarray, kappa: np.ndarray) -> GJRParams:
    """Each asset's ``(alpha, gamma, beta)`` shrunk toward the assets' mean by its estimation error (empirical Bayes).

    With estimates ``theta_j`` (3,) and their covariances ``S_j`` (3, 3) over the d assets, the prior
    ``theta_j ~ N(m, T)`` has ``m`` the assets' mean and ``T`` the assets' covariance of the estimates less their
    mean estimation covariance, clipped to positive semi-definite (method of moments; Morris 1983). The posterior
    mean ``m + T (T + S_j)^-1 (theta_j - m)`` takes the joint error into account: ``alpha`` and ``beta`` are
    estimated with strongly negatively correlated errors, so the persistence ``alpha + kappa gamma + beta`` is
    kept where it is well determined while its split is pooled. An asset whose covariance is not finite is pooled
    fully (to ``m``). The results are then made admissible (``alpha >= 0``, ``alpha + gamma >= 0``, persistence at
    most 0.999 by lowering ``beta``) and ``omega`` is reset so that each asset keeps its unconditional variance
    ``uncond``. ``mu`` is kept.

    Parameters
    ----------
    p : GJRParams, each field ndarray (d,), d >= 3 (James-Stein's dimension).
    cov : ndarray (d, 3, 3) covariance of each asset's ``(alpha, gamma, beta)`` estimates.
    uncond : ndarray (d,) unconditional variances, > 0.
    kappa : ndarray (d,) ``E[z^2 1{z<0}]`` of each asset's innovations (1/2 when symmetric).
    """
    theta = np.column_stack([np.asarray(p.alpha), np.asarray(p.gamma), np.asarray(p.beta)]).astype(np.float64)
    d = theta.shape[0]
    cov = np.asarray(cov, dtype=np.float64)
    if d < 3:
        raise ValueError(f"pooling the GJR dynamics needs at least 3 assets to estimate their spread, got {d}")
    if cov.shape != (d, 3, 3):
        raise ValueError(f"cov must have shape ({d}, 3, 3) for {d} assets, got {cov.shape}")
    finite = np.isfinite(cov).all(axis=(1, 2))
    m = theta.mean(axis=0)
    spread = np.cov(theta, rowvar=False) - (cov[finite].mean(axis=0) if finite.any() else np.zeros((3, 3)))
    w, v = np.linalg.eigh((spread + spread.T) / 2)
    prior = (v * np.maximum(w, 0.0)) @ v.T
    pooled = np.tile(m, (d, 1))
    for j in np.flatnonzero(finite):
        gain = prior @ np.linalg.pinv(prior + cov[j], hermitian=True)
        pooled[j] = m + gain @ (theta[j] - m)
    alpha = np.maximum(pooled[:, 0], 0.0)
    gamma = np.maximum(pooled[:, 1], -alpha)
    kappa = np.asarray(kappa, dtype=np.float64)
    beta = np.clip(pooled[:, 2], 0.0, MAX_PERSISTENCE - alpha - kappa * gamma)
    omega = np.asarray(uncond, dtype=np.float64) * (1.0 - alpha - kappa * gamma - beta)
    return GJRParams(np.asarray(p.mu), omega, alpha, gamma, beta)
