"""PilotNormalScore: the pilot's smoothed normal scores against closed forms, the table against the exact sum."""

import math

import pytest
import torch

from finscore.stress.normal_score import PilotNormalScore


def normal_pilot(p=4000, m=1.0, s=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return m + s * torch.randn(1, p, generator=g, dtype=torch.float64)


def test_normal_pilot_gives_the_standardised_loss():
    # Pilot N(m, s^2): F_h is the empirical CDF smoothed by N(0, h^2), so psi(L) -> (L - m) / sqrt(s^2 + h^2).
    # Pointwise tolerance: 5 sd of the empirical CDF, sqrt(F (1 - F) / P), mapped through Phi^-1 (/ phi(psi)).
    m, s, p = 1.0, 2.0, 4000
    score = PilotNormalScore(normal_pilot(p, m, s), torch.zeros(61, dtype=torch.long))
    loss = torch.linspace(m - 3 * s, m + 3 * s, 61, dtype=torch.float64)
    h = float(score.bandwidth[0])
    expected = (loss - m) / math.sqrt(s**2 + h**2)
    f = torch.special.ndtr(expected)
    tol = 5 * (f * (1 - f) / p).sqrt() / torch.exp(-0.5 * expected**2) * math.sqrt(2 * math.pi)
    assert bool(((score(loss) - expected).abs() <= tol).all())


def test_table_matches_the_exact_sum_and_its_slope():
    # Two contexts, one heavy tailed (lognormal). Measured: value error 4e-7, slope error 0.3% (|psi| < 8).
    g = torch.Generator().manual_seed(0)
    pilot = torch.stack([torch.randn(1000, generator=g, dtype=torch.float64).exp(),
                         3 * torch.randn(1000, generator=g, dtype=torch.float64) + 1])
    groups = torch.tensor([0] * 2000 + [1] * 2000)
    score = PilotNormalScore(pilot, groups)
    loss = torch.cat([torch.linspace(-1, 30, 2000), torch.linspace(-40, 50, 2000)]).double().requires_grad_()
    value = score(loss)
    (slope,) = torch.autograd.grad(value.sum(), loss)
    exact, exact_slope = score._exact(loss.detach(), groups, slope=True)
    central = exact.abs() < 8
    assert float((value.detach() - exact)[central].abs().max()) < 1e-5
    steep = central & (exact_slope > 1e-3)
    assert int(steep.sum()) > 1000
    assert float(((slope - exact_slope) / exact_slope)[steep].abs().max()) < 0.02


def test_strictly_increasing_and_finite_far_beyond_the_pilot():
    pilot = normal_pilot(500)
    loss = torch.cat([torch.linspace(-1e4, -50, 50), torch.linspace(-40, 40, 4001),
                      torch.linspace(50, 1e4, 50)]).double().requires_grad_()
    score = PilotNormalScore(pilot, torch.zeros(len(loss), dtype=torch.long))
    value = score(loss)
    (slope,) = torch.autograd.grad(value.sum(), loss)
    assert bool(torch.isfinite(value).all()) and bool(torch.isfinite(slope).all())
    assert bool((value.diff() > 0).all())
    assert bool((slope > 0).all())


def test_level_and_dtype():
    score = PilotNormalScore(normal_pilot(500), torch.zeros(3, dtype=torch.long))
    median = float(normal_pilot(500).median())
    lv = score.level(torch.tensor([median] * 3))
    assert lv.dtype == torch.float64 and float(lv.abs().max()) < 0.1
    assert score(torch.zeros(3, dtype=torch.float32)).dtype == torch.float32


@pytest.mark.parametrize("pilot, match", [
    (torch.zeros(3), "pilot must be"),
    (torch.zeros(2, 1), "pilot must be"),
    (torch.tensor([[0.0, float("nan")]]), "pilot must be"),
])
def test_bad_pilot(pilot, match):
    with pytest.raises(ValueError, match=match):
        PilotNormalScore(pilot, torch.zeros(1, dtype=torch.long))


def test_bad_grid():
    with pytest.raises(ValueError, match="grid must be an int >= 16"):
        PilotNormalScore(normal_pilot(10), torch.zeros(1, dtype=torch.long), grid=4)


def test_non_finite_losses_are_a_numerical_error():
    from finscore.errors import NumericalError

    score = PilotNormalScore(normal_pilot(500), torch.zeros(2, dtype=torch.long))
    for bad in (math.nan, math.inf):  # an IndexError and a NaN score before
        with pytest.raises(NumericalError, match="1 non-finite portfolio loss"):
            score(torch.tensor([0.0, bad], dtype=torch.float64))
