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
