"""ULA / MALA against closed forms (Roberts & Tweedie 1996): ULA's step-size bias on a Gaussian, MALA's
exactness (also after step adaptation and under a hard constraint), and Langevin's failure to mix between
well-separated modes without annealing.

Independence: every check uses B independent chains and only their last state, so the B values are i.i.d. and
the usual standard errors apply (no autocorrelation correction needed).
"""

import math

import pytest
import scipy.stats
import torch

from finscore.errors import NumericalError
from finscore.sampling import mala, ula
from finscore.sampling.oracles import GaussianMixture

N_CHAINS = 4000


@pytest.fixture(scope="module")
def gaussian4():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64)
    cov = a @ a.T / 4 + 0.5 * torch.eye(4, dtype=torch.float64)
    return cov, GaussianMixture(torch.ones(1), torch.zeros(1, 4), cov[None])


def _assert_cov(x, target, k=5.0):
    """Entrywise |cov_hat - target| <= k se, se = sqrt((T_ii T_jj + T_ij^2) / n) (Gaussian, mean known 0)."""
    n, var = len(x), target.diag()
    se = ((var[:, None] * var[None] + target**2) / n).sqrt()
    z = ((x.T @ x / n - target) / se).abs()
    assert (z <= k).all(), z
    return se


def _ula_step(cov):
    return 0.5 * float(torch.linalg.eigvalsh(cov)[0])  # inside ULA's stability limit h < 2 lambda_min


def test_ula_has_the_closed_form_step_bias(gaussian4):
    """x' = x + h grad log p + sqrt(2h) z on N(0, S) is a Gaussian AR(1) whose stationary covariance solves
    C = (I - h P) C (I - h P) + 2h I, P = S^-1, i.e. C = S (I - h P / 2)^-1 exactly."""
    cov, target = gaussian4
    h = _ula_step(cov)
    out = ula(target.log_prob_and_grad, torch.zeros(N_CHAINS, 4, dtype=torch.float64), step_size=h, n_steps=300,
              generator=0)
    eye = torch.eye(4, dtype=torch.float64)
    biased = cov @ torch.linalg.inv(eye - h * torch.linalg.inv(cov) / 2)
    se = _assert_cov(out.x, biased)
    assert ((biased - cov).abs() / se).max() > 6  # the bias is far outside Monte-Carlo error: S is rejected
    assert out.n_grad_evals == 300 and out.accept_rate == 1.0 and out.step_size == pytest.approx(h)
    # 300 steps: the slowest mode contracts by (1 - h / lambda_max)^300 < 1e-6, so the chains are stationary.


def test_mala_removes_the_bias_after_adaptation(gaussian4):
    """From a far too large step (5.0, acceptance ~0), Robbins-Monro on log h reaches the target acceptance during
    the 300 burn-in steps; the 300 frozen steps then sample S itself (MALA leaves it invariant at any h)."""
    cov, target = gaussian4
    out = mala(target.log_prob_and_grad, torch.zeros(N_CHAINS, 4, dtype=torch.float64), step_size=5.0,
               n_steps=600, generator=1)
    _assert_cov(out.x, cov)
    assert out.n_grad_evals == 601 and out.info["n_adapt"] == 300
    # The frozen-phase rate averages 1.2M accept/reject draws (se < 0.002 even with autocorrelation); the rest of
    # the 0.02 is the Robbins-Monro residual (gain 300^-0.6 = 0.03 on a batch-mean acceptance). Measured: 0.5748.
    assert abs(out.accept_rate - 0.574) < 0.02
    assert out.info["accept_rate_per_chain"].shape == (N_CHAINS,)
    assert torch.all(out.info["step_size_per_chain"] == out.step_size)  # scalar step: shared and frozen
    assert 0.3 < out.step_size < 2 * float(torch.linalg.eigvalsh(cov)[0])  # shrunk from 5.0 to a sane scale


def test_mala_at_the_ula_step_is_exact(gaussian4):
    """Same h as test_ula_has_the_closed_form_step_bias (where ULA is > 6 se off): the Metropolis correction
    removes the bias, so the chains sample S within 5 se."""
    cov, target = gaussian4
    h = _ula_step(cov)
    out = mala(target.log_prob_and_grad, torch.zeros(N_CHAINS, 4, dtype=torch.float64), step_size=h,
               n_steps=300, generator=2, adapt=False)
    _assert_cov(out.x, cov)
    assert out.step_size == h and out.info["n_adapt"] == 0 and 0.5 < out.accept_rate < 1
    # 300 steps: even with acceptance ~0.9, (1 - 0.9 h / lambda_max)^300 < 1e-18: the chains are stationary.


def test_mala_per_chain_step_adapts_per_chain(gaussian4):
    _, target = gaussian4
    steps = torch.full((64,), 0.01, dtype=torch.float64)
    out = mala(target.log_prob_and_grad, torch.zeros(64, 4, dtype=torch.float64), step_size=steps, n_steps=200,
               generator=3)
    per_chain = out.info["step_size_per_chain"]
    assert per_chain.shape == (64,) and per_chain.unique().numel() > 1 and (per_chain > 0.05).all()
    # Each chain tracks the target on its own (100 noisy Robbins-Monro steps: measured rates 0.60-0.62).
    assert abs(out.accept_rate - 0.574) < 0.1 and out.step_size == pytest.approx(float(per_chain.mean()))


def test_mala_with_constraint_targets_the_truncated_density():
    """N(0, 1) restricted to x >= a: mean phi(a) / (1 - Phi(a)); 5 se with se = sd_trunc / sqrt(n)."""
    a = 1.5

    def log_prob_and_grad(x):
        return -0.5 * x[:, 0] ** 2, -x

    out = mala(log_prob_and_grad, torch.full((N_CHAINS, 1), 2.0, dtype=torch.float64), step_size=0.5,
               n_steps=600, generator=4, constraint=lambda x: x[:, 0] >= a)
    truncated = scipy.stats.truncnorm(a, math.inf)
    mean, var, _, kurt = (float(v) for v in truncated.stats(moments="mvsk"))
    x = out.x[:, 0]
    assert (x >= a).all()
    assert abs(float(x.mean()) - mean) <= 5 * math.sqrt(var / N_CHAINS)
    # se of the sample variance: sqrt((mu4 - var^2) / n) with mu4 = (kurt + 3) var^2
    assert abs(float(x.var()) - var) <= 5 * math.sqrt((kurt + 2) * var**2 / N_CHAINS)
    assert 0.4 < out.accept_rate < 0.75


def test_mala_rejects_infeasible_start_and_bad_constraints():
    def log_prob_and_grad(x):
        return -x[:, 0] ** 2 / 2, -x

    with pytest.raises(ValueError, match=r"violate the constraint \(chains \[0, 1, 2\]"):
        mala(log_prob_and_grad, torch.zeros(3, 1), step_size=0.1, n_steps=10, constraint=lambda x: x[:, 0] > 1)
    with pytest.raises(ValueError, match="bool Tensor"):
        mala(log_prob_and_grad, torch.zeros(3, 1), step_size=0.1, n_steps=10, constraint=lambda x: x > -1)
    with pytest.raises(ValueError, match="n_adapt"):
        mala(log_prob_and_grad, torch.zeros(3, 1), step_size=0.1, n_steps=10, n_adapt=10)
    with pytest.raises(ValueError, match="target_accept"):
        mala(log_prob_and_grad, torch.zeros(3, 1), step_size=0.1, n_steps=10, target_accept=1.0)


def test_plain_langevin_stays_in_its_starting_mode(bimodal):
    """Without annealing, ULA at the data scale never crosses the ~32-nat barrier between the modes of
    0.3 N(-4, 0.5^2) + 0.7 N(4, 0.5^2): chains started in the minority mode all stay there (true mass on the
    right: 0.7), and the same holds for MALA. (Contrast test_sampling_bimodal.py.)"""
    start = torch.full((1000, 1, 1), -4.0, dtype=torch.float64)
    for sampler, kw in ((ula, {}), (mala, {"adapt": True})):
        out = sampler(bimodal.oracle.log_prob_and_grad, start, step_size=0.05, n_steps=1000, generator=5, **kw)
        assert (out.x < 0).all()
        assert abs(float(out.x.mean()) + 4) < 0.1  # it samples the left mode only


def test_ula_non_finite_raises_with_step():
    def exploding(x):
        return -(x**2).sum(1), 10 * x  # grad of log p points outwards: ULA diverges

    with pytest.raises(NumericalError, match=r"ula: x became non-finite at step \d+"):
        ula(exploding, torch.ones(4, 2), step_size=1.0, n_steps=500, generator=0)


def test_mala_rejects_non_finite_proposals():
    def log_prob_and_grad(x):  # finite on |x| < 3, NaN beyond: proposals there must be rejected
        inside = x.abs().amax(1) < 3
        logp = torch.where(inside, -0.5 * (x**2).sum(1), torch.nan)
        return logp, torch.where(inside[:, None], -x, torch.nan)

    out = mala(log_prob_and_grad, torch.zeros(500, 2, dtype=torch.float64), step_size=1.0, n_steps=100, generator=0)
    assert torch.isfinite(out.x).all() and (out.x.abs() < 3).all()


@pytest.mark.parametrize("sampler", [ula, mala])
def test_reproducible_and_validated(sampler, gaussian4):
    _, target = gaussian4
    x0 = torch.zeros(8, 4, dtype=torch.float64)
    a = sampler(target.log_prob_and_grad, x0, step_size=0.1, n_steps=20, generator=torch.Generator().manual_seed(0))
    b = sampler(target.log_prob_and_grad, x0, step_size=0.1, n_steps=20, generator=torch.Generator().manual_seed(0))
    c = sampler(target.log_prob_and_grad, x0, step_size=0.1, n_steps=20, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    with pytest.raises(ValueError, match="step_size"):
        sampler(target.log_prob_and_grad, x0, step_size=-1.0, n_steps=5)
    with pytest.raises(ValueError, match="n_steps"):
        sampler(target.log_prob_and_grad, x0, step_size=0.1, n_steps=0)
    with pytest.raises(ValueError, match="log_prob_and_grad"):
        sampler(lambda x: (x.sum(1), x[:, :1]), x0, step_size=0.1, n_steps=5)


@pytest.mark.parametrize("sampler", [ula, mala])
def test_log_prob_and_grad_may_use_autograd(sampler):
    """The callee may flip requires_grad on its argument (in place) and use autograd, even when the caller runs
    under torch.no_grad(): the chains stay plain tensors and match an analytic gradient exactly."""

    def with_autograd(x):
        x = x.requires_grad_(True)
        logp = -0.5 * (x**2).sum(1)
        (grad,) = torch.autograd.grad(logp.sum(), x)
        return logp, grad

    def analytic(x):
        return -0.5 * (x**2).sum(1), -x

    x0 = torch.zeros(16, 3)
    out = sampler(with_autograd, x0, step_size=0.5, n_steps=20, generator=0)
    with torch.no_grad():
        out_no_grad = sampler(with_autograd, x0, step_size=0.5, n_steps=20, generator=0)
    reference = sampler(analytic, x0, step_size=0.5, n_steps=20, generator=0)
    for o in (out, out_no_grad):
        assert not o.x.requires_grad and o.x.grad_fn is None
        assert not any(v.requires_grad for v in o.info.values() if isinstance(v, torch.Tensor))
        assert torch.equal(o.x, reference.x)
    assert not x0.requires_grad and torch.equal(x0, torch.zeros(16, 3))  # the caller's tensor is untouched
