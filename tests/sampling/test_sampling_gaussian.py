"""Every sampler, driven by the exact denoiser of N(mu, S) in D = 6, against closed forms.

With the exact Gaussian denoiser each sampler is a linear-Gaussian recursion, so the mean and covariance of its
output — discretisation, corrector and start-from-N(0, sigma_max^2 I) biases included — are known exactly
(``sampler_moments`` in conftest.py). Two claims per setting:
  1. the samples match that closed form within 5 Monte-Carlo standard errors, with no empirical allowance
     (mean: sqrt(T_ii / n); covariance: sqrt((T_ii T_jj + T_ij^2) / n) for Gaussian samples, T the target);
  2. the closed form is within a stated bound of (mu, S) at "fine" settings (the sampler converges to the target),
     and more than 5 se away from it at "coarse" settings (so claim 1 can tell the algorithm from the target).
"""

import itertools

import pytest
import torch

from finscore.sampling import SAMPLERS, sample_dpmpp_2m, sample_heun
from finscore.sampling.oracles import GaussianMixture

N_SAMPLES = 5000
SIGMA_MIN = 0.01

# case: (sampler, schedule (kind, levels, sigma_max), options, bound on the closed form's deviation from (mu, S)
# relative to sd_i resp. sd_i sd_j, or None for a coarse setting whose deviation must exceed 5 se).
# The bounds are the closed-form deviations rounded up (they are deterministic, not measured).
CASES = {
    "euler-fine": ("euler", ("geometric", 400, 20.0), {}, 0.02),  # 1.9%: O(1 / levels) Euler-Maruyama bias
    "euler-coarse": ("euler", ("geometric", 30, 20.0), {}, None),  # 31%
    # PC keeps an O(snr^2) corrector bias at any number of levels: 3.1% at snr = 0.16, 31% at snr = 0.5.
    "pc-default": ("pc", ("geometric", 100, 20.0), {}, 0.035),
    "pc-snr0.5": ("pc", ("geometric", 50, 20.0), {"snr": 0.5}, None),
    "langevin-fine": ("langevin", ("geometric", 100, 20.0), {"n_steps_each": 10, "eps": 2 * SIGMA_MIN**2}, 0.015),
    "langevin-coarse": ("langevin", ("geometric", 10, 20.0), {"n_steps_each": 10}, None),  # lags the levels: 65%
    "ode-fine": ("ode", ("geometric", 60, 500.0), {}, 0.01),  # 0.9%
    "ode-coarse": ("ode", ("geometric", 10, 20.0), {}, None),  # 23%
}


def _schedule(spec, geometric_sigmas, karras_sigmas):
    kind, levels, sigma_max = spec
    return (geometric_sigmas if kind == "geometric" else karras_sigmas)(levels, SIGMA_MIN, sigma_max)


def _sample(name, gaussian6, sigmas, seed=11, **opts):
    g = torch.Generator().manual_seed(seed)
    x = sigmas[0] * torch.randn(N_SAMPLES, *gaussian6.shape, generator=g, dtype=torch.float64)
    return SAMPLERS[name](gaussian6.oracle, x, sigmas, generator=g, **opts).x.reshape(N_SAMPLES, -1)


def _standard_errors(mean, cov, n):
    var = cov.diag()
    return (var / n).sqrt(), ((var[:, None] * var[None] + cov**2) / n).sqrt()


def _relative_deviation(mean, cov, gaussian6):
    """max |mean - mu| / sd and max |cov - S| / (sd_i sd_j)."""
    sd = gaussian6.cov.diag().sqrt()
    return float(((mean - gaussian6.mu).abs() / sd).max()), float(((cov - gaussian6.cov).abs() / sd.outer(sd)).max())


@pytest.mark.parametrize("case", sorted(CASES))
def test_samples_match_the_closed_form_of_the_discretised_sampler(
    case, gaussian6, geometric_sigmas, karras_sigmas, sampler_moments
):
    name, spec, opts, bound = CASES[case]
    sigmas = _schedule(spec, geometric_sigmas, karras_sigmas)
    mean, cov, _ = sampler_moments(gaussian6, name, sigmas, **opts)
    se_mean, se_cov = _standard_errors(mean, cov, N_SAMPLES)

    y = _sample(name, gaussian6, sigmas, **opts)
    z_mean, z_cov = (y.mean(0) - mean).abs() / se_mean, (torch.cov(y.T) - cov).abs() / se_cov
    assert z_mean.max() <= 5 and z_cov.max() <= 5, (z_mean, z_cov)

    if bound is not None:  # the sampler is close to the target at these settings
        assert max(_relative_deviation(mean, cov, gaussian6)) <= bound
    else:  # the discretisation's bias is far outside Monte-Carlo error: the check above is sharp
        assert ((cov - gaussian6.cov).abs() / se_cov).max() > 5


def _ode_gains(gaussian6, sigmas, sampler=sample_heun):
    """Black-box gains of a deterministic sampler's map (Heun's by default): x = mu + sigma_max u_k (u_k the
    eigenvectors) maps to mu + g_k u_k."""
    u = gaussian6.eigvecs
    x = (gaussian6.mu + sigmas[0] * u.T).reshape(-1, *gaussian6.shape)
    out = sampler(gaussian6.oracle, x, sigmas).x.reshape(len(u), -1) - gaussian6.mu
    return torch.diagonal(u.T @ out.T) / sigmas[0]


def test_heun_is_exactly_the_discretised_linear_map(gaussian6, karras_sigmas, sampler_moments):
    """EDM Alg. 1 on a Gaussian is linear: x_out - mu = U diag(gain) U^T (x - mu), gain a product of Heun factors."""
    sigmas = karras_sigmas(18, 0.002, 80.0)
    _, _, gain = sampler_moments(gaussian6, "ode", sigmas)
    x = 80 * torch.randn(32, *gaussian6.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sample_heun(gaussian6.oracle, x, sigmas)
    expected = gaussian6.mu + ((x.reshape(32, -1) - gaussian6.mu) @ gaussian6.eigvecs) * gain @ gaussian6.eigvecs.T
    torch.testing.assert_close(out.x.reshape(32, -1), expected, rtol=1e-10, atol=1e-10)
    assert out.nfe == 2 * 18 - 1


def test_pf_ode_with_few_heun_steps_is_accurate_and_second_order(gaussian6, karras_sigmas):
    """EDM settings (18 Karras steps, rho = 7, sigma in [0.002, 80], 35 NFE). The exact flow maps
    x(sigma_max) - mu to sqrt(lam / (lam + sigma_max^2)) (x - mu) along each eigenvector; Heun's relative error in that
    gain (= in the output sd) is 3.9-5.4% at 18 steps, and halving the step divides it by about 4 (second order)."""
    exact = (gaussian6.lam / (gaussian6.lam + 80.0**2)).sqrt()
    errors = [(_ode_gains(gaussian6, karras_sigmas(n, 0.002, 80.0)) / exact - 1).abs().max() for n in (18, 36, 72)]
    assert errors[0] < 0.06 and errors[1] < 0.015
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.3 < coarse / fine < 4.7, errors  # Euler (first order) would give about 2


def test_pf_ode_with_18_heun_steps_recovers_the_gaussian(gaussian6, karras_sigmas, sampler_moments):
    """Samples from the 18-step EDM PF-ODE vs (mu, S): 5 se plus the closed-form discretisation bias, which is
    at most 2.2% of sd for the mean and 10% of sd_i sd_j for the covariance (over-dispersed: Heun's gain is too
    large), so "few steps" is accurate to a few percent in scale, not to Monte-Carlo precision."""
    sigmas = karras_sigmas(18, 0.002, 80.0)
    mean, cov, _ = sampler_moments(gaussian6, "ode", sigmas)
    mean_dev, cov_dev = _relative_deviation(mean, cov, gaussian6)
    assert mean_dev < 0.025 and cov_dev < 0.105
    y = _sample("ode", gaussian6, sigmas)
    se_mean, se_cov = _standard_errors(mean, cov, N_SAMPLES)  # of the samples' (closed-form) law
    assert ((y.mean(0) - gaussian6.mu).abs() <= 5 * se_mean + (mean - gaussian6.mu).abs()).all()
    assert ((torch.cov(y.T) - gaussian6.cov).abs() <= 5 * se_cov + (cov - gaussian6.cov).abs()).all()


@pytest.mark.parametrize("step_rule", ["batch", "sample"])
def test_pc_corrector_step_rules_have_their_closed_form_bias(step_rule):
    """One PC level on N(0, I_D), D = 6, started exactly from p_sigma = N(0, v I), v = 1 + sigma^2: with x = sqrt(v) w,
    the corrector step is w' = (1 - c R) w + sqrt(2 c R) z, c = 2 snr^2, then the final denoising divides x by v.
    Batch rule: R = (mean||z|| / mean||w||)^2 -> 1, so E w'^2 = (1 - c)^2 + 2c = 1 + c^2. Per-sample rule:
    R = ||z||^2 / ||w||^2 and chi-square moments (E||w||^-2 = 1 / (D - 2), E||z||^4 = D (D + 2)) give
    E||w'||^2 / D = 1 + 8 c / (D - 2) + c^2 (D + 2) / (D - 2). Output variance: v * that / v^2.
    Tolerance: 5 se of the mean of ||y||^2 / D over n independent samples (se from the samples themselves); the
    per-sample rule's bias is about 24 se, the batch rule's c^2 = 0.3% about 0.6 se."""
    d, n, sigma, snr = 6, 20_000, 0.1, 0.16
    oracle = GaussianMixture(torch.ones(1), torch.zeros(1, d), torch.eye(d)[None])
    v, c = 1 + sigma**2, 2 * snr**2
    g = torch.Generator().manual_seed(4)
    x = v**0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    y = SAMPLERS["pc"](oracle, x, torch.tensor([sigma, 0.0]), generator=g, snr=snr, step_rule=step_rule).x
    inflation = 1 + c**2 if step_rule == "batch" else 1 + 8 * c / (d - 2) + c**2 * (d + 2) / (d - 2)
    stat = y.square().mean(1)  # ||y||^2 / D per sample
    se = float(stat.std()) / n**0.5
    assert abs(float(stat.mean()) - inflation / v) <= 5 * se
    if step_rule == "sample":  # the check can tell the per-sample rule's bias from no bias
        assert abs(float(stat.mean()) - 1 / v) > 5 * se


def test_dpmpp_2m_is_second_order_and_beats_heun_at_equal_evaluations(gaussian6, karras_sigmas):
    """DPM-Solver++(2M) on the EDM schedule, against the exact flow's gain (as for Heun above). The errors are
    deterministic: 6.1% at 18 steps (18 evaluations), 1.3% at 36, then divided by 4.2-4.8 per halving (second
    order). Heun with about as many evaluations (9 steps: 17; 18 steps: 35) is off by 27% and 5.4%."""
    exact = (gaussian6.lam / (gaussian6.lam + 80.0**2)).sqrt()

    def error(n, sampler):
        return float((_ode_gains(gaussian6, karras_sigmas(n, 0.002, 80.0), sampler) / exact - 1).abs().max())

    errors = [error(n, sample_dpmpp_2m) for n in (18, 36, 72, 144)]
    heun = [error(n, sample_heun) for n in (9, 18, 36)]
    assert errors[0] < 0.065 and errors[1] < 0.014
    for coarse, fine in itertools.pairwise(errors):
        assert 3.3 < coarse / fine < 5.0, errors
    assert errors[0] < heun[0] / 4 and errors[1] < heun[1] / 4, (errors, heun)
