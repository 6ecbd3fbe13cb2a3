"""Contract tests run over every baseline: shape, finiteness, determinism, validation, sample_many."""

import pickle

import numpy as np
import pandas as pd
import pytest

from finscore.baselines import GARCH, GaussianCopula, HistoricalSimulation
from finscore.errors import DataError, NotFittedError
from finscore.scenarios import Scenarios

BASELINES = {
    "copula-empirical": lambda: GaussianCopula(),
    "copula-t": lambda: GaussianCopula(marginals="t"),
    "garch-t-gauss": lambda: GARCH(),
    "garch-skewt-t": lambda: GARCH(dist="skewt", copula="t", mean="zero"),
    "garch-dcc": lambda: GARCH(dcc=True),
    "fhs": lambda: HistoricalSimulation(),
    "bootstrap": lambda: HistoricalSimulation(method="bootstrap", block_size=5),
}
INVALID = [
    GaussianCopula(marginals="normal"),
    GARCH(dist="normal"),
    GARCH(copula="clayton"),
    GARCH(mean="ar"),
    GARCH(copula="t", dcc=True),
    HistoricalSimulation(method="mc"),
    HistoricalSimulation(method="bootstrap", block_size=0.5),
    HistoricalSimulation(ewma_lambda=1.0),
]


@pytest.fixture(scope="module", params=list(BASELINES))
def fitted(request, small_returns):
    return BASELINES[request.param]().fit(small_returns)


def test_shape_finite_and_metadata(fitted, small_returns):
    scen = fitted.sample(50, 7, seed=0)
    assert isinstance(scen, Scenarios)
    assert scen.values.shape == (50, 7, small_returns.shape[1])
    assert np.isfinite(scen.values).all()
    assert scen.assets == tuple(small_returns.columns)
    assert scen.start == small_returns.index[-1]
    assert scen.metadata["generator"] == type(fitted).__name__
    # daily log returns of sane size: nothing beyond ±100% a day
    assert np.abs(scen.values).max() < 1.0


def test_seed_determinism(fitted):
    a = fitted.sample(20, 5, seed=1).values
    np.testing.assert_array_equal(a, fitted.sample(20, 5, seed=1).values)
    np.testing.assert_array_equal(a, fitted.sample(20, 5, seed=np.random.default_rng(1)).values)
    assert not np.array_equal(a, fitted.sample(20, 5, seed=2).values)


def test_context_with_wrong_assets_raises(fitted, small_returns):
    ctx = small_returns.iloc[-60:]
    with pytest.raises(DataError, match="missing"):
        fitted.sample(5, 2, context=ctx.drop(columns=ctx.columns[0]))
    with pytest.raises(DataError, match="unexpected"):
        fitted.sample(5, 2, context=ctx.assign(EXTRA=0.0))
    # reordered columns are fine: aligned to the fitted order
    same = fitted.sample(5, 2, context=ctx, seed=3).values
    np.testing.assert_array_equal(same, fitted.sample(5, 2, context=ctx[ctx.columns[::-1]], seed=3).values)


def test_context_none_equals_last_fitted_rows(fitted, small_returns):
    a = fitted.sample(10, 3, seed=4).values
    # filtering from the fitted state at the context's first date reproduces the fitted recursion
    np.testing.assert_allclose(a, fitted.sample(10, 3, context=small_returns.iloc[-100:], seed=4).values, rtol=1e-9)


def test_bad_n_and_horizon(fitted):
    for n, h in ((0, 5), (5, 0), (2.5, 1), (True, 1)):
        with pytest.raises(ValueError):
            fitted.sample(n, h)


def test_sample_many(fitted, small_returns):
    contexts = [small_returns.iloc[i - 250:i] for i in (600, 900, len(small_returns))]
    out = fitted.sample_many(30, 4, contexts, seed=5)
    assert len(out) == 3
    assert all(s.values.shape == (30, 4, small_returns.shape[1]) for s in out)
    assert [s.start for s in out] == [c.index[-1] for c in contexts]
    again = fitted.sample_many(30, 4, contexts, seed=5)
    for s, t in zip(out, again):
        np.testing.assert_array_equal(s.values, t.values)


@pytest.mark.parametrize("name", list(BASELINES))
def test_unfitted_raises(name):
    gen = BASELINES[name]()
    with pytest.raises(NotFittedError):
        gen.sample(5, 2)


@pytest.mark.parametrize("gen", INVALID, ids=repr)
def test_invalid_hyperparameters_raise_at_fit(gen, small_returns):
    with pytest.raises(ValueError):
        gen.fit(small_returns.iloc[-200:])


@pytest.mark.parametrize("name", list(BASELINES))
def test_params_round_trip_and_init_stores_only(name):
    gen = BASELINES[name]()
    clone = type(gen)(**gen.get_params())
    assert clone.get_params() == gen.get_params()
    assert not [k for k in vars(gen) if k.endswith("_")]


def test_fit_rejects_bad_returns(small_returns):
    bad = small_returns.copy()
    bad.iloc[10, 1] = np.nan
    with pytest.raises(DataError, match="JPM"):
        GARCH().fit(bad)
    const = small_returns.assign(JPM=0.0)
    with pytest.raises(DataError, match="JPM"):
        GARCH().fit(const)
    with pytest.raises(DataError):
        GaussianCopula().fit(pd.DataFrame(small_returns.to_numpy()))
    with pytest.raises(DataError, match="at least 100"):
        GARCH().fit(small_returns.iloc[:50])


def test_one_context_given_to_sample_many(fitted, small_returns):
    with pytest.raises(TypeError, match="sequence of DataFrames .* got one DataFrame.*\\[context\\]"):
        fitted.sample_many(5, 3, small_returns.iloc[-250:])


def test_prices_given_for_returns_are_refused(small_returns, fitted):
    prices = 100.0 * np.exp(small_returns.cumsum())  # what load_prices gives, before to_returns
    with pytest.raises(DataError, match=f"column {prices.columns[0]!r} looks like prices.*to_returns"):
        HistoricalSimulation().fit(prices)
    with pytest.raises(DataError, match="context column .* looks like prices"):
        fitted.sample(5, 3, context=prices.iloc[-300:])


def test_pickle_round_trip(fitted):
    twin = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(twin.sample(10, 3, seed=6).values, fitted.sample(10, 3, seed=6).values)


def test_asset_names_and_time_zones_are_normalized(small_returns):
    """Integer column names and a tz-aware index (a yfinance frame) are the same data: assets are known by their
    names as strings, dates by their local calendar day."""
    odd = small_returns.set_axis(range(small_returns.shape[1]), axis=1)
    odd.index = odd.index.tz_localize("America/New_York")
    gen = GaussianCopula().fit(odd)
    assert gen.assets_ == tuple(map(str, range(small_returns.shape[1])))
    assert gen.fit_end_ == small_returns.index[-1] and gen.fit_end_.tz is None
    scen = gen.sample(5, 3, context=odd.iloc[-60:], seed=0)
    assert scen.start == small_returns.index[-1] and scen.assets == gen.assets_


def test_the_seed_is_recorded(small_returns):
    gen = GaussianCopula().fit(small_returns)
    assert gen.sample(2, 2, seed=np.int64(7)).metadata["seed"] == 7
    assert gen.sample(2, 2, seed=np.random.SeedSequence(7)).metadata["seed"] == {"entropy": 7, "spawn_key": []}
    assert gen.sample(2, 2, seed=np.random.default_rng(7)).metadata["seed"] == "generator"
    assert gen.sample(2, 2).metadata["seed"] is None


def test_a_constant_asset_is_refused_by_every_generator(small_returns):
    const = small_returns.assign(JPM=0.001)
    for make in BASELINES.values():
        with pytest.raises(DataError, match=r"column 'JPM' is constant \(0.001 on every date\)"):
            make().fit(const)
