"""EBM refinement on known energies: MALA targets exp(-E) exactly, ULA has its closed-form step bias."""

import math

import pytest
import torch
from scipy import stats

from finscore.stress import refine

N = 4000


def _gaussian_energy(mu, cov):
    """E(x) = (x - mu)^T S^-1 (x - mu) / 2 on windows (B, H, d) flattened to D."""
    prec = torch.linalg.inv(cov)

    def energy(x):
        z = x.reshape(len(x), -1) - mu
        return 0.5 * ((z @ prec) * z).sum(1)

    return energy


def _check_moments(y, mu, cov):
    """|mean - mu| <= 5 sqrt(S_ii / n) and |cov - S| <= 5 sqrt((S_ii S_jj + S_ij^2) / n), entrywise."""
    n, var = len(y), cov.diag()
    assert ((y.mean(0) - mu).abs() <= 5 * (var / n).sqrt()).all()
    assert ((torch.cov(y.T) - cov).abs() <= 5 * ((var[:, None] * var[None] + cov**2) / n).sqrt()).all()


def test_mala_removes_a_deliberate_bias(gauss):
    """Starts drawn from N(mu + 1, S / 4) (shifted, too narrow): 300 MALA steps recover N(mu, S)."""
    g = torch.Generator().manual_seed(0)
    chol = torch.linalg.cholesky(gauss.cov)
    start = (gauss.mu + 1.0 + 0.5 * torch.randn(N, 6, generator=g, dtype=torch.float64) @ chol.T).reshape(N, 2, 3)
    energy = _gaussian_energy(gauss.mu, gauss.cov)
    with pytest.raises(AssertionError):
        _check_moments(start.reshape(N, 6), gauss.mu, gauss.cov)  # the bias is visible before
    res = refine(start, energy, method="mala", n_steps=300, generator=g)
    _check_moments(res.x.reshape(N, 6), gauss.mu, gauss.cov)
    assert res.method == "mala" and 0.45 < res.accept_rate < 0.7  # adapted towards 0.574
    assert res.n_grad_evals == 300 + 1 + 2 and res.x.shape == start.shape
    # energies before / after: at stationarity 2E ~ chi2(6), so E[E] = 3 with sd sqrt(3) per draw
    assert res.energy_before.shape == (N,) and res.energy_before.mean() > 5
    assert abs(res.energy_after.mean() - 3.0) < 5 * math.sqrt(3.0 / N)


def test_ula_has_its_closed_form_step_bias():
    """ULA on N(0, 1) with step h is stationary at variance 1 / (1 - h / 2) (Roberts & Tweedie 1996);
    at h = 0.4 that is 1.25, 10 standard errors away from 1, while MALA with the same step gets 1."""
    g = torch.Generator().manual_seed(1)
    start = torch.randn(N, 1, generator=g, dtype=torch.float64)

    def energy(x):
        return 0.5 * x.square().sum(1)

    ula = refine(start, energy, method="ula", step_size=0.4, n_steps=60, generator=g)
    mala = refine(start, energy, method="mala", step_size=0.4, n_steps=60, generator=g, adapt=False)
    se = math.sqrt(2 / N)  # sd of a sample variance of normal draws, relative to the variance
    assert ula.accept_rate == 1.0 and abs(ula.x.var() - 1.25) < 5 * 1.25 * se
    assert abs(mala.x.var() - 1.0) < 5 * se and 0 < mala.accept_rate < 1


def test_constrained_mala_targets_the_truncated_law():
    """MALA with proposals outside {x >= 1} rejected targets N(0, 1) truncated to [1, inf) exactly."""
    g = torch.Generator().manual_seed(2)
    start = 1.0 + torch.rand(N, 1, generator=g, dtype=torch.float64)
    res = refine(start, lambda x: 0.5 * x.square().sum(1), n_steps=150, generator=g,
                 constraint=lambda x: x[:, 0] >= 1.0)
    truth = stats.truncnorm(1.0, math.inf)
    assert bool((res.x >= 1.0).all())
    assert abs(res.x.mean() - truth.mean()) < 5 * truth.std() / math.sqrt(N)


def test_energy_or_log_prob_and_grad_give_the_same_chain(gauss):
    energy = _gaussian_energy(gauss.mu, gauss.cov)
    prec = torch.linalg.inv(gauss.cov)

    def log_prob_and_grad(x):
        z = x.reshape(len(x), -1) - gauss.mu
        return -0.5 * ((z @ prec) * z).sum(1), -(z @ prec).reshape(x.shape)

    start = gauss.mu.reshape(1, 2, 3).repeat(8, 1, 1)
    a = refine(start, energy, n_steps=20, generator=5)
    b = refine(start, log_prob_and_grad, n_steps=20, generator=5)
    torch.testing.assert_close(a.x, b.x)
    assert a.accept_rate == b.accept_rate


def test_bad_arguments():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="method"):
        refine(x, lambda y: y.sum(1), method="hmc")
    with pytest.raises(ValueError, match="constraint needs method='mala'"):
        refine(x, lambda y: y.sum(1), method="ula", constraint=lambda y: y[:, 0] > -1)
    with pytest.raises(ValueError, match="shape \\(B,\\)"):
        refine(x, lambda y: y.sum())
