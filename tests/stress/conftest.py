"""Known truth for the stress tests: a correlated Gaussian in D = 6 (windows (2, 3)) with its exact denoiser,
a linear portfolio loss, the closed-form truncated Gaussian, and a two-sample comparison with tolerances
derived from Monte-Carlo error."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats

from finscore.sampling import get_sampler
from finscore.sampling.oracles import GaussianMixture
from finscore.stress import sample_stress
from finscore.stress.sample import STRESS_SAMPLER_DEFAULTS

SHAPE = (2, 3)  # (H, d)
WEIGHTS = (0.5, 0.3, 0.2)
N_GUIDED = 2000
# Sampler settings (levels from 20 down to 0.01, options). Unguided biases at these settings are the
# sampler's own: comparisons are against rejection from the same unguided sampler, or use the ODE, whose
# unguided bias here is < 2% of an sd (measured with n = 40 000).
SETTINGS = {"euler": (50, {}), "pc": (50, {}), "langevin": (30, {"n_steps_each": 10}), "ode": (25, {})}


def geometric(n: int, sigma_min: float = 0.01, sigma_max: float = 20.0) -> torch.Tensor:
    """``n`` geometric levels from sigma_max to sigma_min, then 0 (float64)."""
    levels = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64))
    return torch.cat([levels, levels.new_zeros(1)])


def linear_loss(x: torch.Tensor) -> torch.Tensor:
    """``-sum_t sum_i w_i x[t, i]``: the first-order portfolio loss of a (B, H, d) window, (B,)."""
    return -(x * torch.tensor(WEIGHTS, dtype=x.dtype)).sum((1, 2))


def noise(n: int, sigmas: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Generator]:
    g = torch.Generator().manual_seed(seed)
    return sigmas[0] * torch.randn(n, *SHAPE, generator=g, dtype=torch.float64), g


def guided(oracle, guidance, name, seed=0, n=N_GUIDED, **kw):
    """``n`` guided draws of the sampler ``name`` at its SETTINGS: (SampleOutput, sigmas)."""
    levels, opts = SETTINGS[name]
    sigmas = geometric(levels)
    x, g = noise(n, sigmas, seed)
    out = sample_stress(oracle, x, sigmas, guidance, loss_fn=linear_loss, sampler=name, generator=g, **opts, **kw)
    return out, sigmas


def rejection(oracle, name, sigmas, level, n_draws, seed):
    """Rejection sampling from the unguided sampler: draws (m, H, d) with loss >= level, and the NFE per draw."""
    _, opts = SETTINGS[name]
    x, g = noise(n_draws, sigmas, seed)
    out = get_sampler(name)(oracle, x, sigmas, generator=g, **{**STRESS_SAMPLER_DEFAULTS.get(name, {}), **opts})
    return out.x[linear_loss(out.x) >= level], out.nfe


def _truncated(mu, cov, a, n, level, mode, seed):
    """Exact draws of N(mu, cov) given a^T x >= level ("exceed") or <= level ("cap"), (n, D).

    L = a^T x is N(m, v); x | L is Gaussian with mean mu + S a (L - m) / v and covariance S - S a a^T S / v,
    so draw L from the truncated normal and x | L from that conditional."""
    m, v = float(a @ mu), float(a @ cov @ a)
    z = (level - m) / math.sqrt(v)
    lo, hi = (z, np.inf) if mode == "exceed" else (-np.inf, z)
    rng = np.random.default_rng(seed)
    loss = torch.as_tensor(stats.truncnorm.rvs(lo, hi, loc=m, scale=math.sqrt(v), size=n, random_state=rng))
    sa = cov @ a
    cond_cov = cov - torch.outer(sa, sa) / v
    evals, evecs = torch.linalg.eigh(cond_cov)
    root = evecs * evals.clamp_min(0).sqrt()
    resid = torch.as_tensor(rng.standard_normal((n, len(mu))))
    return mu + sa * (loss[:, None] - m) / v + resid @ root.T


@pytest.fixture(scope="session")
def gauss():
    """N(mu, S) on (2, 3) windows, eigenvalues about 0.3 ... 1.9; the loss a^T x with a = -w repeated over t."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    cov = a @ a.T / 6 + 0.3 * torch.eye(6, dtype=torch.float64)
    mu = 0.3 * torch.randn(6, generator=g, dtype=torch.float64)
    avec = -torch.tensor(WEIGHTS, dtype=torch.float64).repeat(SHAPE[0])
    ns = SimpleNamespace(mu=mu, cov=cov, a=avec, oracle=GaussianMixture(torch.ones(1), mu[None], cov[None]))
    ns.loss_mean, ns.loss_sd = float(avec @ mu), float(avec @ cov @ avec) ** 0.5
    ns.truncated = lambda n, level, mode="exceed", seed=0: _truncated(mu, cov, avec, n, level, mode, seed)
    return ns


def compare(guided: torch.Tensor, ref: torch.Tensor, *, seed: int = 0, allowance: float = 0.0,
            w1_allowance: float = 0.0, corr_allowance: float = 0.0, loss_fn=linear_loss) -> dict:
    """Distances between guided (n, D) and reference (m, D) draws, each divided by its tolerance.

    Tolerances (a statistic passes when its ratio is <= 1):
    * loss W1 (of ``loss_fn``, default the linear loss): the null distribution of the two-sample
      Wasserstein-1 of the losses (both samples from the same law) is estimated by 100 random splits of
      the pooled losses into sizes n and m; tolerance = its mean + 5 of its standard deviations;
    * per-coordinate mean and sd, and the correlation matrix: the standard error of each statistic is
      bootstrapped on the reference (100 resamples) and scaled to the difference of two independent
      estimates, se_diff = se_ref sqrt(1 + m / n); tolerance = 5 se_diff (two-sided p ~ 6e-7 each, so the
      27 statistics together fail by chance with p < 2e-5 under normality);
    * ``allowance`` (a stated systematic bias, in units of the reference sd of each statistic's coordinates)
      is added to the mean and sd tolerances where a known approximation is tested, ``w1_allowance`` (in
      units of the reference loss sd) to the W1 tolerance and ``corr_allowance`` to the correlations'.
    """
    rng = np.random.default_rng(seed)
    g, r = guided.reshape(len(guided), -1).numpy(), ref.reshape(len(ref), -1).numpy()
    n, m = len(g), len(r)
    lg, lr = loss_fn(guided.reshape(n, *SHAPE)).numpy(), loss_fn(ref.reshape(m, *SHAPE)).numpy()
    pooled = np.concatenate([lg, lr])
    null = [stats.wasserstein_distance(p[:n], p[n:]) for p in (rng.permutation(pooled) for _ in range(100))]
    w1 = stats.wasserstein_distance(lg, lr)

    def stat(x):
        return x.mean(0), x.std(0, ddof=1), np.corrcoef(x.T)[np.triu_indices(x.shape[1], 1)]

    boot = [stat(r[rng.integers(0, m, m)]) for _ in range(100)]
    scale = math.sqrt(1 + m / n)
    sd_ref = r.std(0, ddof=1)
    out = {"w1": w1, "w1_ratio": w1 / (np.mean(null) + 5 * np.std(null) + w1_allowance * lr.std())}
    extras = [("mean", allowance * sd_ref), ("sd", allowance * sd_ref), ("corr", corr_allowance)]
    for k, (name, extra) in enumerate(extras):
        se = np.std([b[k] for b in boot], axis=0) * scale
        diff = np.abs(stat(g)[k] - stat(r)[k])
        out[name] = float(diff.max())
        out[name + "_ratio"] = float((diff / (5 * se + extra)).max())
    return out


def assert_close(result: dict) -> None:
    bad = {k: v for k, v in result.items() if k.endswith("_ratio") and v > 1}
    assert not bad, result


@pytest.fixture(scope="session")
def tools():
    return SimpleNamespace(geometric=geometric, linear_loss=linear_loss, noise=noise, compare=compare,
                           assert_close=assert_close, guided=guided, rejection=rejection, settings=SETTINGS,
                           shape=SHAPE, weights=WEIGHTS)
