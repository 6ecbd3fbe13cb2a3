"""Shared simulators for validation tests (plain functions via fixtures; no package import needed)."""

import numpy as np
import pytest


def simulate_gjr(n: int, d: int, *, omega: float, alpha: float, gamma: float, beta: float, seed: int) -> np.ndarray:
    """GJR-GARCH(1,1) paths (Glosten, Jagannathan & Runkle 1993) with Gaussian innovations: ndarray (n, d).

    sigma2_t = omega + (alpha + gamma 1{r_{t-1} < 0}) r_{t-1}^2 + beta sigma2_{t-1}; gamma = 0 is GARCH(1,1).
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    r = np.empty((n, d))
    s2 = np.full(d, omega / (1 - alpha - gamma / 2 - beta))
    for t in range(n):
        r[t] = np.sqrt(s2) * z[t]
        s2 = omega + (alpha + gamma * (r[t] < 0)) * r[t] ** 2 + beta * s2
    return r


@pytest.fixture(scope="session")
def gjr():
    return simulate_gjr
