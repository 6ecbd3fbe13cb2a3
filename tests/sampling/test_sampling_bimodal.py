"""Annealed samplers recover the mode weights of 0.3 N(-4, 0.5^2) + 0.7 N(4, 0.5^2) from its exact noisy score
(Song & Ermon 2019, Sec. 3.2: annealing is what lets Langevin-type samplers get the weights right).

Tolerance on the weight of the right mode: 5 se, se = sqrt(w (1 - w) / n), plus (i) a bound on the bias of starting
from N(0, sigma_max^2) rather than p_sigma_max — every sampler is a Markov kernel, so the output's total variation
error is at most TV(prior, p_sigma_max) <= sqrt(KL / 2) (Pinsker), KL <= sum_k w_k KL(N(m_k, s^2 + sigma^2) || N(0,
sigma^2)) by convexity — and (ii) each sampler's discretisation bias, which has no closed form for a mixture and was
measured offline (n = 200 000, se 0.001, another seed; prior effect included): euler -0.003, pc -0.003, ode -0.003,
annealed Langevin -0.013 (its per-level ULA bias and lag); the allowances below round these up with margin.
The Gaussian tests (test_sampling_gaussian.py) check the same samplers against exact closed forms.
"""

import math

import pytest
import torch

from finscore.sampling import SAMPLERS

N_SAMPLES = 10_000
SIGMA_MAX, SIGMA_MIN = 200.0, 0.05
SETTINGS = {  # name: (levels, options, allowance)
    "euler": (300, {}, 0.01),
    "pc": (150, {}, 0.01),
    "ode": (30, {}, 0.005),
    "langevin": (40, {"n_steps_each": 25, "eps": 0.5 * SIGMA_MIN**2}, 0.015),
}


def _prior_tv_bound(weights, means, sd, sigma):
    kl = sum(
        float(w) * (float(m) ** 2 / sigma**2 + sd**2 / sigma**2 - math.log1p(sd**2 / sigma**2)) / 2
        for w, m in zip(weights, means)
    )
    return math.sqrt(kl / 2)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_annealed_samplers_recover_mode_weights(name, bimodal, geometric_sigmas):
    levels, opts, allowance = SETTINGS[name]
    sigmas = geometric_sigmas(levels, SIGMA_MIN, SIGMA_MAX)
    g = torch.Generator().manual_seed(5)
    x = sigmas[0] * torch.randn(N_SAMPLES, 1, 1, generator=g, dtype=torch.float64)
    y = SAMPLERS[name](bimodal.oracle, x, sigmas, generator=g, **opts).x.flatten()

    w_true = float(bimodal.weights[1])
    tv = _prior_tv_bound(bimodal.weights, bimodal.means, bimodal.sd, SIGMA_MAX)  # = 0.010
    w_hat = float((y > 0).double().mean())
    assert abs(w_hat - w_true) <= 5 * math.sqrt(w_true * (1 - w_true) / N_SAMPLES) + tv + allowance
    # Each mode is located and shaped right: conditional mean within 5 se = 5 sd / sqrt(n_k), plus 0.03 (the
    # ODE's largest measured offset) and sd within 10% (8 se: se of sd / 0.5 is about 1 / sqrt(2 n_k) < 0.013).
    for sign, mean in ((-1, bimodal.means[0]), (1, bimodal.means[1])):
        mode = y[y * sign > 0]
        assert abs(float(mode.mean() - mean)) <= 5 * bimodal.sd / math.sqrt(len(mode)) + 0.03
        assert abs(float(mode.std()) / bimodal.sd - 1) < 0.1
