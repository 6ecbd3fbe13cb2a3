"""Targets with exact scores for the sampler tests, and the exact output law of each sampler on a Gaussian.

With the exact denoiser of N(mu, S), every sampler is a linear-Gaussian recursion: in the eigenbasis
S = U diag(lam) U^T each coordinate u = U^T (x - mu) moves independently as u <- a u + b z, so its mean and
variance follow mean <- a mean, var <- a^2 var + b^2 in closed form. This gives the exact mean and covariance of
the *discretised* sampler (schedule, step sizes and the N(0, sigma_max^2 I) start included), so the Monte-Carlo
tests need no empirical allowance: samples must match these moments within a few standard errors.
"""

import math
from types import SimpleNamespace

import pytest
import torch

from finscore.sampling.oracles import GaussianMixture


def geometric(n: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """``n`` geometrically spaced levels from sigma_max down to sigma_min, then 0 (float64)."""
    levels = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64))
    return torch.cat([levels, levels.new_zeros(1)])


def karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """EDM schedule (Karras et al. 2022, eq. 5): ``n`` levels sigma_max ... sigma_min, then 0 (float64)."""
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    levels = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([levels, levels.new_zeros(1)])


def expected_norm(mean: torch.Tensor, var: torch.Tensor) -> float:
    """E||y|| for y ~ N(mean, diag(var)), by E sqrt(Q) = (4 pi)^-1/2 int_0^inf (1 - E exp(-t Q)) t^-3/2 dt with
    E exp(-t Q) in closed form; trapezoid in log t on [e^-50, e^50] (relative error < 1e-8)."""
    y = torch.linspace(-50, 50, 10001, dtype=torch.float64)
    t = y.exp()[:, None]
    log_mgf = (-0.5 * torch.log1p(2 * t * var) - t * mean**2 / (1 + 2 * t * var)).sum(1)
    return float(torch.trapezoid(-torch.expm1(log_mgf) * (-y / 2).exp(), y)) / (2 * math.sqrt(math.pi))


def _recursion(name: str, lam: torch.Tensor, mean: torch.Tensor, sigmas: list, opts: dict):
    """Run the sampler's recursion on the moments of u; return (mean, var, gain) with gain = prod of the a's."""
    state = {"mean": mean, "var": torch.full_like(lam, sigmas[0] ** 2), "gain": torch.ones_like(lam)}

    def move(a, b2=0.0):
        state["mean"], state["var"], state["gain"] = a * state["mean"], a**2 * state["var"] + b2, a * state["gain"]

    n = len(sigmas) - 1
    if name in ("euler", "pc"):  # reverse-diffusion predictor, preceded in PC by Langevin corrector steps
        snr, n_corrector = opts.get("snr", 0.16), opts.get("n_corrector", 1) if name == "pc" else 0
        z_norm = math.sqrt(2) * math.exp(math.lgamma((len(lam) + 1) / 2) - math.lgamma(len(lam) / 2))  # E||z||
        for i in range(n):
            var_i = lam + sigmas[i] ** 2  # p_sigma = N(mu, S + sigma^2 I): score = -u / var_i
            for _ in range(n_corrector):  # batch rule: eps = 2 (snr E||z|| / E||s||)^2 (exact as B -> inf)
                eps = 2 * (snr * z_norm / expected_norm(state["mean"] / var_i, state["var"] / var_i**2)) ** 2
                move(1 - eps / var_i, 2 * eps)
            v = sigmas[i] ** 2 - sigmas[i + 1] ** 2
            move(1 - v / var_i, v if i < n - 1 else 0.0)
    elif name == "langevin":
        sigma_k = sigmas[-2]
        eps, n_each = opts.get("eps", 0.5 * sigma_k**2), opts.get("n_steps_each", 10)
        for i in range(n):
            alpha = eps * sigmas[i] ** 2 / sigma_k**2
            for _ in range(n_each):
                move(1 - alpha / 2 / (lam + sigmas[i] ** 2), alpha)
        move(lam / (lam + sigma_k**2))  # final denoising D(x; sigma_K)
    elif name == "ode":  # dx/dsigma = c(sigma) u with c = sigma / (lam + sigma^2); Heun, Euler on the last step
        def c(s):
            return s / (lam + s**2)

        for i in range(n):
            h, s0, s1 = sigmas[i + 1] - sigmas[i], sigmas[i], sigmas[i + 1]
            euler = 1 + h * c(s0)
            move(euler if i == n - 1 else 1 + h * (c(s0) + c(s1) * euler) / 2)
    else:
        raise KeyError(name)
    return state["mean"], state["var"], state["gain"]


def closed_form(gauss, name: str, sigmas: torch.Tensor, **opts):
    """Exact mean (D,) and covariance (D, D) of ``SAMPLERS[name]``'s output for the Gaussian ``gauss`` when started
    from x ~ N(0, sigmas[0]^2 I), plus the gain (D,) of its linear part (x_out - mu = U diag(gain) U^T (x - mu)
    for the deterministic ODE). PC assumes ``step_rule="batch"`` with a large batch (ratio of means -> of
    expectations; the error is O(1/B))."""
    mean, var, gain = _recursion(name, gauss.lam, -gauss.eigvecs.T @ gauss.mu, sigmas.tolist(), opts)
    return gauss.mu + gauss.eigvecs @ mean, gauss.eigvecs @ torch.diag(var) @ gauss.eigvecs.T, gain


@pytest.fixture(scope="session")
def geometric_sigmas():
    return geometric


@pytest.fixture(scope="session")
def karras_sigmas():
    return karras


@pytest.fixture(scope="session")
def sampler_moments():
    return closed_form


@pytest.fixture(scope="session")
def gaussian6():
    """N(mu, cov) in D = 6 (windows (2, 3)), correlated, eigenvalues about 0.30 ... 1.90."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    cov = a @ a.T / 6 + 0.3 * torch.eye(6, dtype=torch.float64)
    mu = torch.randn(6, generator=g, dtype=torch.float64)
    lam, eigvecs = torch.linalg.eigh(cov)
    oracle = GaussianMixture(torch.ones(1), mu[None], cov[None])
    return SimpleNamespace(mu=mu, cov=cov, lam=lam, eigvecs=eigvecs, shape=(2, 3), oracle=oracle)


@pytest.fixture(scope="session")
def bimodal():
    """0.3 N(-4, 0.5^2) + 0.7 N(4, 0.5^2) on windows (1, 1)."""
    weights, means, sd = torch.tensor([0.3, 0.7]), torch.tensor([[-4.0], [4.0]]), 0.5
    mixture = GaussianMixture(weights, means, torch.full((2, 1, 1), sd**2))
    return SimpleNamespace(weights=weights, means=means.flatten(), sd=sd, oracle=mixture)
