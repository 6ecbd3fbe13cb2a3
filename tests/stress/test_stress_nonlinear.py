"""A nonlinear loss: guided draws against exact rejection from the Gaussian, and what each correction does.

The loss ``L = u1 + exp(kappa u1) u2`` (``u_t`` the linear loss of day t) mimics a volatility recursion: a
bad first day scales the second day's loss. Linearised at Tweedie's mean it understates the loss's spread
and the plain guidance overshoots the tail; the normal scores and the posterior draws
(``VaRGuidance(normal_scores=True, posterior_draws=32)``, the defaults) are the corrections. They are
approximations: with a stronger nonlinearity (kappa = 2) or alpha = 0.99 the corrected draws undershoot
the loss somewhat (measured: loss mean 6.45 against 6.87 at kappa 2), so the test keeps kappa = 1.
"""

import pytest
import torch

from finscore.stress import VaRGuidance, sample_stress

KAPPA = 1.0
WEIGHTS = (0.5, 0.3, 0.2)  # the book of conftest (checked in ``exact``)
N_EXACT = 400_000  # exact Gaussian draws; at alpha 0.95 about 20 000 pass the threshold


def nonlinear_loss(x: torch.Tensor) -> torch.Tensor:
    """``u1 + exp(kappa u1) u2`` of (B, 2, 3) windows, (B,); ``u_t = -w^T x[:, t]``."""
    w = torch.tensor(WEIGHTS, dtype=x.dtype)
    u1, u2 = -(x[:, 0] * w).sum(-1), -(x[:, 1] * w).sum(-1)
    return u1 + torch.exp(KAPPA * u1) * u2


@pytest.fixture(scope="module")
def exact(gauss, tools):
    """(level, draws (m, 2, 3) of N(mu, S) with nonlinear_loss >= level): exact rejection at alpha = 0.95."""
    assert tools.weights == WEIGHTS and tools.shape == (2, 3)
    g = torch.Generator().manual_seed(5)
    x = gauss.mu + torch.randn(N_EXACT, 6, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(gauss.cov).T
    x = x.reshape(-1, 2, 3)
    loss = nonlinear_loss(x)
    level = float(torch.quantile(loss, 0.95))
    return level, x[loss >= level]


def run(gauss, tools, level, **kw):
    """2000 guided ODE draws of the Gaussian's exact denoiser with ``nonlinear_loss >= level``."""
    levels, _ = tools.settings["ode"]
    sigmas = tools.geometric(levels)
    x, g = tools.noise(2000, sigmas, 0)
    return sample_stress(gauss.oracle, x, sigmas, VaRGuidance(tools.weights, alpha=0.95, loss=level, **kw),
                         loss_fn=nonlinear_loss, sampler="ode", generator=g)


def test_corrected_guidance_matches_exact_rejection(gauss, tools, exact):
    # The defaults against exact rejection. Tolerances: conftest.compare (W1 of the nonlinear loss against its
    # permutation null, per-coordinate means, sds and correlations at 5 bootstrap standard errors).
    level, ref = exact
    out = run(gauss, tools, level)
    info = out.info["stress"]
    assert info["normal_scores"] and info["posterior_draws"] == 32
    assert bool((nonlinear_loss(out.x) >= level).all())
    tools.assert_close(tools.compare(out.x, ref, loss_fn=nonlinear_loss))  # measured: every ratio <= 0.78


def test_plain_linearisation_overshoots(gauss, tools, exact):
    # Without the corrections the same run is far off (measured: loss mean 3.70 against 3.51, W1 of the
    # loss 2.7 times its tolerance, coordinate means 2.1 times theirs): the test above does not pass by a
    # loose tolerance.
    level, ref = exact
    out = run(gauss, tools, level, normal_scores=False, posterior_draws=0)
    result = tools.compare(out.x, ref, loss_fn=nonlinear_loss)
    assert result["w1_ratio"] > 2, result
    assert float(nonlinear_loss(out.x).mean()) > float(nonlinear_loss(ref).mean())
