"""skfolio interop: a finscore generator as SyntheticData's distribution estimator."""

import numpy as np
import pytest

pytest.importorskip("skfolio")

from sklearn.base import clone  # noqa: E402
from skfolio import RiskMeasure  # noqa: E402
from skfolio.optimization import MeanRisk  # noqa: E402
from skfolio.prior import SyntheticData  # noqa: E402

from finscore.baselines import GARCH, GaussianCopula, HistoricalSimulation, SkfolioAdapter  # noqa: E402
from finscore.errors import NotFittedError  # noqa: E402


@pytest.fixture(scope="module")
def simple_returns(small_returns):
    return np.expm1(small_returns.iloc[-750:])  # skfolio works in simple returns


def test_mean_cvar_with_finscore_prior(simple_returns):
    prior = SyntheticData(distribution_estimator=SkfolioAdapter(GaussianCopula(), random_state=0), n_samples=2000)
    model = MeanRisk(risk_measure=RiskMeasure.CVAR, prior_estimator=prior).fit(simple_returns)
    w = model.weights_
    assert w.shape == (simple_returns.shape[1],)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)
    assert (w > -1e-8).all()
    assert model.prior_estimator_.return_distribution_.returns.shape == (2000, simple_returns.shape[1])


def test_sample_is_simple_return_over_horizon(simple_returns):
    adapter = SkfolioAdapter(GARCH(), horizon=5, random_state=3).fit(simple_returns)
    # fitted on log returns log1p(X)
    np.testing.assert_allclose(adapter.generator_.history_.to_numpy(), np.log1p(simple_returns.iloc[-1:].to_numpy()))
    draws = adapter.sample(n_samples=400)
    logs = adapter.generator_.sample(400, 5, seed=np.random.default_rng(3)).values
    np.testing.assert_allclose(draws, np.expm1(logs.sum(axis=1)))
    assert draws.shape == (400, simple_returns.shape[1]) and (draws > -1).all()
    assert list(adapter.feature_names_in_) == list(simple_returns.columns)


def test_ndarray_input_clone_and_errors(simple_returns):
    adapter = SkfolioAdapter(HistoricalSimulation(method="bootstrap"), random_state=0)
    twin = clone(adapter)
    assert twin.generator is not adapter.generator and twin.get_params(deep=False)["horizon"] == 1
    with pytest.raises(NotFittedError):
        twin.sample(3)
    twin.fit(simple_returns.to_numpy())
    assert twin.sample(10).shape == (10, simple_returns.shape[1]) and twin.n_features_in_ == 4
    assert not hasattr(adapter, "generator_")  # the original estimator and generator stay unfitted
    with pytest.raises(ValueError, match="horizon"):
        SkfolioAdapter(GaussianCopula(), horizon=0).fit(simple_returns)
    with pytest.raises(ValueError, match="-1"):
        SkfolioAdapter(GaussianCopula()).fit(simple_returns - 2.0)
