"""Reference simulations for the baseline tests (imported by name: tests use rootdir-relative discovery)."""

import numpy as np
import pandas as pd
from scipy import stats

def simulate_gjr_t(seed, n_days, *, mu, omega, alpha, gamma, beta, nu, corr, burn=500):
    """Reference GJR-GARCH(1,1) simulation (plain loop) with standardized-t margins joined by a Gaussian copula.

    Returns a DataFrame (n_days, d) of log returns on business days from 2000-01-03, columns A, B, C, ...
    """
    rng = np.random.default_rng(seed)
    d = len(omega)
    u = stats.norm.cdf(rng.standard_normal((n_days + burn, d)) @ np.linalg.cholesky(corr).T)
    z = stats.t.ppf(u, nu) * np.sqrt((nu - 2) / nu)
    s2 = omega / (1 - alpha - gamma / 2 - beta)
    r = np.empty_like(z)
    for t in range(n_days + burn):
        eps = np.sqrt(s2) * z[t]
        r[t] = mu + eps
        s2 = omega + (alpha + gamma * (eps < 0)) * eps**2 + beta * s2
    index = pd.bdate_range("2000-01-03", periods=n_days, name="date")
    return pd.DataFrame(r[burn:], index=index, columns=[chr(65 + j) for j in range(d)])


GJR_TRUTH = {
    "mu": np.array([3e-4, 0.0, 5e-4]),
    "omega": np.array([2e-6, 4e-6, 1e-6]),
    "alpha": np.array([0.03, 0.05, 0.02]),
    "gamma": np.array([0.10, 0.06, 0.08]),
    "beta": np.array([0.88, 0.87, 0.92]),
    "nu": np.array([6.0, 8.0, 5.0]),
}
GJR_CORR = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.4], [0.3, 0.4, 1.0]])
