"""Scoring rules agree with scoringrules (reference implementation) and known closed forms."""

import time

import numpy as np
import pytest
import scoringrules as sr

from finscore.errors import DataError
from finscore.validation import crps_ensemble, energy_score, variogram_score

RTOL = 1e-8


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def test_crps_matches_scoringrules(rng):
    obs, fct = rng.normal(size=300), rng.standard_t(4, size=(300, 101))
    np.testing.assert_allclose(crps_ensemble(obs, fct), sr.crps_ensemble(obs, fct), rtol=RTOL)
    np.testing.assert_allclose(crps_ensemble(obs, fct, fair=True), sr.crps_ensemble(obs, fct, estimator="fair"),
                               rtol=RTOL)
    # one member: CRPS = |x - y|
    np.testing.assert_allclose(crps_ensemble(obs, fct[:, :1]), np.abs(fct[:, 0] - obs), rtol=1e-14)


def test_energy_score_matches_scoringrules(rng):
    obs, fct = rng.normal(size=(6, 12)), rng.standard_t(4, size=(6, 60, 12))
    np.testing.assert_allclose(energy_score(obs, fct), sr.es_ensemble(obs, fct), rtol=RTOL)
    dup = fct[:, rng.integers(0, 10, size=60)]  # repeated members (bootstrap ensembles): zero distances
    np.testing.assert_allclose(energy_score(obs, dup), sr.es_ensemble(obs, dup), rtol=RTOL)
    # D = 1: the energy score is the CRPS
    np.testing.assert_allclose(energy_score(obs[:, :1], fct[:, :, :1]), crps_ensemble(obs[:, 0], fct[:, :, 0]),
                               rtol=1e-10)


def test_energy_score_large_ensemble_is_fast(rng):
    obs, fct = rng.normal(size=(3, 400)), rng.normal(size=(3, 500, 400))
    t0 = time.perf_counter()
    es = energy_score(obs, fct)
    assert time.perf_counter() - t0 < 5.0  # ~0.03 s per date on one thread
    ref = sr.es_ensemble(obs[:1, :], fct[:1, :80, :])  # a cheap spot check of a sub-ensemble
    np.testing.assert_allclose(energy_score(obs[:1], fct[:1, :80]), ref, rtol=RTOL)
    assert es.shape == (3,) and np.all(es > 0)


def test_variogram_matches_scoringrules(rng):
    obs, fct = rng.normal(size=(4, 6)), rng.normal(size=(4, 40, 6))
    np.testing.assert_allclose(variogram_score(obs, fct), sr.vs_ensemble(obs, fct), rtol=RTOL)
    w = rng.uniform(size=(6, 6))
    np.testing.assert_allclose(variogram_score(obs, fct, p=1.0, w=w), sr.vs_ensemble(obs, fct, w, p=1.0),
                               rtol=RTOL)


def test_scores_prefer_the_true_distribution(rng):
    obs = rng.normal(size=(200, 5))
    good, wide = rng.normal(size=(200, 100, 5)), 2.0 * rng.normal(size=(200, 100, 5))
    assert energy_score(obs, good).mean() < energy_score(obs, wide).mean()
    assert crps_ensemble(obs[:, 0], good[:, :, 0]).mean() < crps_ensemble(obs[:, 0], wide[:, :, 0]).mean()


def test_shape_errors(rng):
    with pytest.raises(DataError, match="shape"):
        energy_score(rng.normal(size=(3, 4)), rng.normal(size=(3, 10, 5)))
    with pytest.raises(DataError, match="finite"):
        crps_ensemble(np.array([np.nan]), np.zeros((1, 3)))
    with pytest.raises(DataError, match="w must"):
        variogram_score(rng.normal(size=(2, 3)), rng.normal(size=(2, 5, 3)), w=np.ones((2, 2)))
