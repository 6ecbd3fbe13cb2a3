"""Stylized-fact distances: zero for identical inputs, positive otherwise, scale errors penalised."""

import numpy as np
import pandas as pd
import pytest

from finscore.errors import DataError
from finscore.validation import DISTANCE_GROUPS, fact_distances, stylized_facts

REQUIRED = ("kurtosis", "tail_quantiles", "acf_returns", "acf_abs", "acf_sq", "leverage", "correlation",
            "tail_dependence", "wasserstein_daily", "wasserstein_horizon", "hill", "gain_loss", "aggregational")


@pytest.fixture(scope="module")
def real():
    rng = np.random.default_rng(0)
    cov = [[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]
    return rng.multivariate_normal(np.zeros(3), cov, size=(600, 20)) * 0.01


def test_identical_inputs_give_zero(real):
    d = fact_distances(real, real.copy())
    assert isinstance(d, pd.Series) and set(REQUIRED) <= set(d.index) and tuple(d.index) == DISTANCE_GROUPS
    np.testing.assert_allclose(d.to_numpy(), 0.0, atol=1e-12)


def test_different_inputs_give_positive(real, gjr):
    gen = gjr(12_000, 3, omega=0.05, alpha=0.05, gamma=0.15, beta=0.85, seed=1).reshape(600, 20, 3) * 0.01
    d = fact_distances(real, gen)
    assert np.all(np.isfinite(d)) and np.all(d > 0)


def test_scale_error_only_hits_scale_dependent_groups(real):
    d = fact_distances(real, 2.0 * real)
    invariant = ["kurtosis", "hill", "acf_returns", "acf_abs", "acf_sq", "leverage", "gain_loss", "aggregational",
                 "correlation", "tail_dependence"]
    np.testing.assert_allclose(d[invariant].to_numpy(), 0.0, atol=1e-9)
    # Z -> 2Z in real-std units moves every quantile by |z|: W1 = E|Z| = sqrt(2 / pi) for Gaussian data
    # (sample of 12000 values per asset; the sample mean absolute value has se ~ 0.6 / sqrt(12000); 5 se ~ 0.03)
    assert d["wasserstein_daily"] == pytest.approx(np.sqrt(2 / np.pi), abs=0.03)
    assert d["wasserstein_horizon"] > 0.5 and d["tail_quantiles"] > 2.0


def test_precomputed_facts_and_errors(real):
    f = stylized_facts(real)
    pd.testing.assert_series_equal(fact_distances(real, real[:300], real_facts=f), fact_distances(real, real[:300]))
    with pytest.raises(DataError, match="horizon"):
        fact_distances(real, real[:, :10])
