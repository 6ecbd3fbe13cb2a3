"""VaRGuidance validation, the portfolio loss, VaR / feasibility helpers and the entry point's contract."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from finscore.errors import DataError
from finscore.stress import (VaRGuidance, check_feasible, cost_ratio, estimate_var, loss_bounds,
                             portfolio_loss_fn, sample_stress)


@pytest.mark.parametrize("weights, match", [
    ([0.5, float("nan"), 0.5], "finite"),
    ([0.0, 0.0, 0.0], "all zero"),
    ([], "non-empty"),
    ([1.0, float("inf")], "finite"),
    ("value", "equal"),
])
def test_bad_weights(weights, match):
    with pytest.raises(DataError, match=match):
        VaRGuidance(weights)


def test_weights_of_wrong_length_or_unknown_names():
    with pytest.raises(DataError, match="length 4 but the model has 3"):
        VaRGuidance([0.25] * 4).bind(3)
    with pytest.raises(DataError, match="not in the scenarios"):
        VaRGuidance({"AAA": 1.0, "ZZZ": 1.0}).bind(["AAA", "BBB"])
    with pytest.raises(DataError, match="by asset name"):
        VaRGuidance({"AAA": 1.0}).bind(2)
    np.testing.assert_allclose(VaRGuidance({"BBB": 2.0}).bind(["AAA", "BBB"]), [0.0, 2.0])
    np.testing.assert_allclose(VaRGuidance("equal").bind(4), [0.25] * 4)
    # the entry point's default loss binds the weights to the window's d
    sigmas = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)
    with pytest.raises(DataError, match="length 4"):
        sample_stress(lambda x, s: x, torch.zeros(2, 2, 3, dtype=torch.float64), sigmas, VaRGuidance([0.25] * 4))


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1, float("nan"), "0.9"])
def test_alpha_outside_unit_interval(alpha):
    with pytest.raises(ValueError, match="alpha"):
        VaRGuidance("equal", alpha=alpha)


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "both"}, "mode"),
    ({"strength": 0.0}, "strength"),
    ({"temperature": -1.0}, "temperature"),
    ({"horizon_days": 0}, "horizon_days"),
    ({"n_pilot": 0}, "n_pilot"),
    ({"loss": float("nan")}, "loss"),
    ({"finish": "hmc"}, "finish"),
    ({"finish_steps": 1}, "finish_steps"),
    ({"posterior_draws": 3}, "posterior_draws must be an even int >= 0"),
    ({"posterior_draws": -2}, "posterior_draws"),
    ({"posterior_draws": True}, "posterior_draws"),
    ({"normal_scores": 1}, "normal_scores must be True or False"),
    ({"horizon_days": True}, "horizon_days"),
    ({"finish_steps": True}, "finish_steps"),
    ({"loss": "0.05"}, "loss must be a real number, got '0.05'"),
    ({"strength": None}, "strength must be a real number"),
    ({"weights": {"AAA": None, "BBB": 1.0}}, "weights\\['AAA'\\] must be a real number, got None"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VaRGuidance(**{"weights": "equal", **kwargs})


def test_numpy_integers_are_integers():
    g = VaRGuidance("equal", horizon_days=np.int64(5), n_pilot=np.int32(100), finish_steps=np.int64(10),
                    posterior_draws=np.int16(8), loss=np.float32(0.05))
    assert (g.horizon_days, g.n_pilot, g.finish_steps, g.posterior_draws) == (5, 100, 10, 8)
    assert all(type(v) is int for v in (g.horizon_days, g.n_pilot, g.finish_steps, g.posterior_draws))
    assert g == VaRGuidance("equal", horizon_days=5, n_pilot=100, finish_steps=10, posterior_draws=8,
                            loss=float(np.float32(0.05)))  # hashable specs compare equal


def test_infeasible_explicit_levels():
    """A long-only book cannot lose 100% or more; a short-only book's loss is above -sum |w| (checked when
    the guidance builds its portfolio loss, whose units the explicit level is in)."""
    with pytest.raises(ValueError, match="infeasible loss"):
        VaRGuidance([0.6, 0.4], loss=1.0).loss_fn(2)
    with pytest.raises(ValueError, match="infeasible cap"):
        VaRGuidance([-0.6, -0.4], mode="cap", loss=-1.0).loss_fn(2)
    with pytest.raises(ValueError, match="infeasible loss"):
        sample_stress(lambda x, s: x, torch.zeros(2, 1, 3), torch.tensor([1.0, 0.0]), VaRGuidance("equal", loss=2.0))
    VaRGuidance([0.6, -0.4], loss=5.0).loss_fn(2)  # long-short: any loss is possible
    with pytest.raises(ValueError, match="sigmas ending in 0 \\(a full run\\), got a last level 0.5"):
        sample_stress(lambda x, s: x, torch.zeros(2, 1, 3), torch.tensor([1.0, 0.5]), VaRGuidance("equal"))
    assert loss_bounds([0.6, 0.4]) == (-math.inf, 1.0) and loss_bounds([-0.6, -0.4]) == (-1.0, math.inf)


def test_infeasible_cap_under_the_model(gauss, tools):
    """A cap below every pilot draw's loss has probability ~0 under the model: DataError naming the cap.
    Windows are daily log returns / 0.01, so the book's loss is about 0.01 times the linear loss."""
    sigmas = tools.geometric(10)
    x, g = tools.noise(50, sigmas, 0)
    low, high = (0.01 * (gauss.loss_mean + k * gauss.loss_sd) for k in (-10, 10))
    guidance = VaRGuidance(tools.weights, mode="cap", loss=low, n_pilot=200)
    loss_fn = guidance.loss_fn(3, scale=0.01)
    with pytest.raises(DataError, match="infeasible cap"):
        sample_stress(gauss.oracle, x, sigmas, guidance, loss_fn=loss_fn, sampler="ode", generator=g)
    far = VaRGuidance(tools.weights, loss=high, n_pilot=200)
    with pytest.warns(RuntimeWarning, match="none of 200 pilot draws"):
        out = sample_stress(gauss.oracle, x, sigmas, far, loss_fn=loss_fn, sampler="ode", generator=g)
    assert out.info["stress"]["pilot_accept"] == [0.0]


def test_guidance_is_a_frozen_hashable_spec():
    spec = VaRGuidance(np.array([0.5, 0.5]), alpha=0.975)
    assert spec.weights == (0.5, 0.5) and hash(spec) == hash(VaRGuidance([0.5, 0.5], alpha=0.975))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.alpha = 0.9
    assert VaRGuidance("equal", alpha=0.99).pilot_size == 2000
    assert VaRGuidance("equal", alpha=0.999).pilot_size == 20000
    assert VaRGuidance("equal", alpha=0.9).pilot_size == 1000
    assert VaRGuidance("equal", loss=0.1).pilot_size == 1000


def test_portfolio_loss_is_the_buy_and_hold_loss():
    """-sum_i w_i (exp(sum_{t<h} r_ti) - 1) of plain returns r = loc + scale x, per row."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4, 3))
    w, scale, loc = np.array([0.5, 0.3, 0.2]), rng.uniform(0.01, 0.03, size=(5, 3)), 0.001
    r = loc + scale[:, None, :] * x
    for h in (None, 2):
        expected = -(w * np.expm1(r[:, : (h or 4)].sum(1))).sum(1)
        got = portfolio_loss_fn(w, scale=torch.tensor(scale), loc=loc, horizon_days=h)(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    with pytest.raises(DataError, match="horizon_days=5 exceeds"):
        portfolio_loss_fn(w, horizon_days=5)(torch.tensor(x))


def test_var_and_feasibility_helpers():
    losses = np.arange(1, 101, dtype=float)
    assert estimate_var(losses, 0.95) == 95.0 and estimate_var(torch.tensor(losses), 0.99) == 99.0
    with pytest.raises(DataError, match="finite"):
        estimate_var([1.0, float("nan")], 0.9)
    assert check_feasible(losses, 90.5, "exceed") == 0.1 and check_feasible(losses, 10.0, "cap") == 0.1
    with pytest.raises(DataError, match="infeasible cap \\(context 2\\)"):
        check_feasible(losses, 0.5, "cap", where=" (context 2)")
    assert cost_ratio(0.01, 200.0, 50.0) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="accept_prob"):
        cost_ratio(0.0, 1.0, 1.0)


def test_entry_point_contract(gauss, tools):
    """Deterministic given the generator, explicit level without pilot, and clear errors for bad arguments."""
    sigmas = tools.geometric(10)
    spec = VaRGuidance(tools.weights, loss=0.01 * (gauss.loss_mean + gauss.loss_sd), n_pilot=0)
    loss_fn = spec.loss_fn(3, scale=0.01)
    runs = []
    for _ in range(2):
        x, g = tools.noise(64, sigmas, 5)
        runs.append(sample_stress(gauss.oracle, x, sigmas, spec, loss_fn=loss_fn, sampler="euler", generator=g))
    torch.testing.assert_close(runs[0].x, runs[1].x, rtol=0, atol=0)
    info = runs[0].info["stress"]
    assert info["pilot_nfe"] == 0 and info["pilot_accept"] == [] and info["level"] == [spec.loss]
    assert not info["normal_scores"] and info["posterior_draws"] == 0  # both need a pilot
    assert info["nfe"] == runs[0].nfe == 10 and info["cost"] == 30.0
    x = runs[0].x
    with pytest.raises(TypeError, match="VaRGuidance"):
        sample_stress(gauss.oracle, x, sigmas, {"alpha": 0.99})
    with pytest.raises(ValueError, match="groups"):
        sample_stress(gauss.oracle, x, sigmas, spec, loss_fn=loss_fn, groups=torch.zeros(3))
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_stress(gauss.oracle, x, sigmas, spec, loss_fn=loss_fn, sampler="ddim")
    with pytest.raises(ValueError, match="shape \\(B,\\)"):
        sample_stress(gauss.oracle, x, sigmas, spec, loss_fn=lambda y: y.sum(1))
