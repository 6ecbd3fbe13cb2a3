"""Exact stress scenarios by rejection, against the closed-form tail of a Gaussian."""

import numpy as np
import pytest
from scipy import stats

from finscore.errors import DataError
from finscore.scenarios import Scenarios
from finscore.stress import VaRGuidance, sample_rejection


class GaussianModel:
    """One asset, one day, daily log return ~ N(0, s^2): the loss tail is a truncated normal."""

    s = 0.02

    def sample(self, n, horizon=None, context=None, seed=None):
        rng = np.random.default_rng(seed)
        return Scenarios(rng.normal(0.0, self.s, size=(n, 1, 1)), ("A",), None, {"generator": "gauss"})


def log_loss(scen):  # -r: the log-return loss, monotone in the book loss 1 - exp(r)
    return -scen.values[:, 0, 0]


def test_tail_matches_the_truncated_normal():
    n, alpha, s = 4000, 0.95, GaussianModel.s
    scen = sample_rejection(GaussianModel(), n, VaRGuidance("equal", alpha=alpha), seed=0)
    info = scen.metadata["stress"]
    assert scen.values.shape == (n, 1, 1) and info["method"] == "rejection"
    assert info["draws"] == 80_020  # ceil((n + 1) / (1 - alpha))
    level = info["level"][0]
    assert np.all(1 - np.exp(-log_loss(scen)) >= level)
    z = stats.norm.ppf(alpha)
    # threshold: the empirical 95% quantile of 80,020 draws; its sd is
    # sqrt(a (1 - a) / m) / pdf(z) * s ~ 1.4e-4 (in log-return units, ~ book units here); 4 sd
    assert abs(-np.log(1 - level) - s * z) < 4 * np.sqrt(alpha * (1 - alpha) / info["draws"]) / stats.norm.pdf(z) * s
    # mean of the kept losses: E[-r | -r >= s z] = s pdf(z) / (1 - a); MC sd of the mean of n draws
    # from the truncated normal is its sd / sqrt(n); 4 sd (plus the threshold's own error, 4 sd above)
    tail = stats.truncnorm(z, np.inf, scale=s)
    tol = 4 * tail.std() / np.sqrt(n) + 4 * 1.4e-4
    assert abs(log_loss(scen).mean() - tail.mean()) < tol


def test_cap_mode_and_explicit_loss():
    cap = sample_rejection(GaussianModel(), 500, VaRGuidance("equal", alpha=0.9, mode="cap"), seed=1)
    assert np.all(1 - np.exp(-log_loss(cap)) <= cap.metadata["stress"]["level"][0])
    big = sample_rejection(GaussianModel(), 50, VaRGuidance("equal", loss=0.04), seed=2, chunk=5_000)
    assert np.all(1 - np.exp(-log_loss(big)) >= 0.04) and big.values.shape[0] == 50
    assert 0 < big.metadata["stress"]["accept_rate"] < 0.05  # P(-r >= ~2 s) ~ 2.2%
    with pytest.raises(DataError, match="only .* of 10000 unguided draws"):
        sample_rejection(GaussianModel(), 50, VaRGuidance("equal", loss=0.15), seed=3, max_draws=10_000)
    with pytest.raises(DataError, match="max_draws"):
        sample_rejection(GaussianModel(), 1000, VaRGuidance("equal", alpha=0.999), max_draws=10_000)
    with pytest.raises(ValueError, match="n must be"):
        sample_rejection(GaussianModel(), 0, VaRGuidance("equal"))
    for kw in ({"max_draws": 0}, {"chunk": -5}):  # "need at least one array" / blamed on n before
        with pytest.raises(ValueError, match=f"{next(iter(kw))} must be a positive integer"):
            sample_rejection(GaussianModel(), 5, VaRGuidance("equal", loss=0.01), **kw)


def test_an_infeasible_loss_is_refused_before_drawing():
    class Named(GaussianModel):
        assets_ = ("A",)

        def sample(self, *a, **k):
            raise AssertionError("drew scenarios for a loss no long-only book can reach")

    with pytest.raises(ValueError, match="infeasible loss=1.5 with mode='exceed'"):
        sample_rejection(Named(), 5, VaRGuidance("equal", loss=1.5))


def test_reproducible():
    g = VaRGuidance("equal", alpha=0.9)
    a = sample_rejection(GaussianModel(), 100, g, seed=5).values
    assert np.array_equal(a, sample_rejection(GaussianModel(), 100, g, seed=5).values)
