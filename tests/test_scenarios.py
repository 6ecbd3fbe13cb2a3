"""Scenarios container: round trips, portfolio arithmetic against hand computations, errors."""

import numpy as np
import pandas as pd
import pytest

from finscore.errors import DataError
from finscore.scenarios import Scenarios, portfolio_weights


@pytest.fixture
def scen():
    rng = np.random.default_rng(0)
    return Scenarios(rng.normal(0, 0.01, (7, 5, 3)), ("A", "B", "C"), pd.Timestamp("2020-03-13"),
                     {"generator": "test", "seed": 0})


def test_shape_properties(scen):
    assert (scen.n_scenarios, scen.horizon, scen.n_assets) == (7, 5, 3)
    assert len(scen) == 7 and "start=2020-03-13" in repr(scen)


def test_frame_round_trip(scen):
    frame = scen.to_frame()
    assert frame.shape == (35, 3) and frame.index.names == ["scenario", "step"]
    assert frame.loc[(2, 4), "B"] == scen.values[2, 4, 1]
    back = Scenarios.from_frame(frame, scen.start, scen.metadata)
    np.testing.assert_array_equal(back.values, scen.values)


def test_parquet_round_trip(scen, tmp_path):
    path = tmp_path / "s.parquet"
    scen.to_parquet(path)
    back = Scenarios.from_parquet(path)
    np.testing.assert_array_equal(back.values, scen.values)
    assert back.assets == scen.assets and back.start == scen.start and back.metadata == scen.metadata
    with pytest.raises(FileExistsError):
        scen.to_parquet(path, overwrite=False)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_from_parquet_rejects_foreign_file(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1.0]}).to_parquet(path)
    with pytest.raises(DataError, match="not a finscore scenario file"):
        Scenarios.from_parquet(path)
    with pytest.raises(FileNotFoundError):
        Scenarios.from_parquet(tmp_path / "missing.parquet")


def test_portfolio_pnl_matches_hand_computation(scen):
    w = np.array([0.5, 0.3, 0.2])
    growth = np.exp(scen.values.sum(axis=1))  # (n, d) gross return per asset over the horizon
    expected = 1e6 * ((growth - 1) @ w)
    np.testing.assert_allclose(scen.portfolio_pnl(w, value=1e6), expected, rtol=1e-12)
    # one-day P&L: sum_i w_i (exp(r_i1) - 1)
    np.testing.assert_allclose(scen.portfolio_pnl(w, horizon=1), (np.exp(scen.values[:, 0]) - 1) @ w, rtol=1e-12)
    daily = scen.portfolio_returns(w, cumulative=False)
    np.testing.assert_allclose(np.prod(1 + daily, axis=1) - 1, scen.portfolio_returns(w)[:, -1], rtol=1e-10)


@pytest.mark.parametrize("horizon", [0, 2.5, True, 10_000])
def test_horizon_must_be_whole_days_inside_the_paths(scen, horizon):
    with pytest.raises(ValueError, match=f"whole number of days in \\[1, {scen.horizon}\\], got {horizon!r}"):
        scen.portfolio_pnl("equal", horizon=horizon)
    with pytest.raises(ValueError, match="whole number of days"):
        scen.aggregate(horizon)
    assert scen.aggregate(np.int64(1)).shape == (scen.n_scenarios, scen.n_assets)


def test_price_paths(scen):
    paths = scen.price_paths(pd.Series({"C": 3.0, "A": 1.0, "B": 2.0}))
    assert paths.shape == (7, 6, 3)
    np.testing.assert_allclose(paths[:, 0], np.tile([1.0, 2.0, 3.0], (7, 1)))
    np.testing.assert_allclose(np.log(paths[:, -1] / paths[:, 0]), scen.aggregate(), rtol=1e-12)
    with pytest.raises(DataError, match="positive"):
        scen.price_paths([1.0, -2.0, 3.0])


@pytest.mark.parametrize(
    "weights, match",
    [([1.0, 2.0], "length 2 but there are 3"), ([np.nan, 1, 1], "non-finite for \\['A'\\]"),
     ([0, 0, 0], "all zero"), ({"Z": 1.0}, "not in the scenarios"), ("half", "must be 'equal'")],
)
def test_bad_weights(weights, match):
    with pytest.raises(DataError, match=match):
        portfolio_weights(weights, ("A", "B", "C"))


def test_invalid_values_rejected():
    with pytest.raises(DataError, match="shape"):
        Scenarios(np.zeros((3, 4)), ("A",))
    bad = np.zeros((2, 3, 2))
    bad[1, 2, 0] = np.nan
    with pytest.raises(DataError, match="scenario 1, step 2, asset 'A'"):
        Scenarios(bad, ("A", "B"))
    with pytest.raises(DataError, match="2 asset names for 3"):
        Scenarios(np.zeros((1, 1, 3)), ("A", "B"))


@pytest.mark.parametrize("w", [[0.5, 0.3, 0.2], [0.4, 0.4, 0.4], [1.0, -1.0, 0.0]])
def test_daily_returns_compound_to_the_cumulative_ones_for_any_book(scen, w):
    """Weights are positions as fractions of the book, the rest cash: a 1.2x long book and a dollar-neutral one
    (all collateral) too. Before, the daily returns left the cash out (double for a 2x book, inf for sum 0)."""
    daily = scen.portfolio_returns(w, cumulative=False)
    np.testing.assert_allclose(np.prod(1 + daily, axis=1) - 1, scen.portfolio_returns(w)[:, -1], rtol=1e-10)
    first = (np.exp(scen.values[:, 0]) - 1) @ np.asarray(w)  # day 1: sum_i w_i (exp(r_i1) - 1) per unit of book
    np.testing.assert_allclose(daily[:, 0], first, rtol=1e-12)


def test_a_book_that_loses_everything_has_no_daily_returns():
    crash = Scenarios(np.log([[[0.4], [1.0]]]), ("A",))  # -60% on day 1
    np.testing.assert_allclose(crash.portfolio_returns([2.0])[0], [-1.2, -1.2])  # 2x: -120%
    with pytest.raises(DataError, match="loses all its value in 1 scenario"):
        crash.portfolio_returns([2.0], cumulative=False)


def test_from_frame_needs_the_full_grid(scen):
    frame = scen.to_frame()
    swapped = pd.concat([frame.iloc[:-1], frame.iloc[[0]]])  # a duplicate row for a missing one: same count
    with pytest.raises(DataError, match="not the full grid of 7 scenarios × 5 steps"):
        Scenarios.from_frame(swapped)
    text = frame.set_axis(frame.index.set_levels(frame.index.levels[1].astype(str), level=1))
    with pytest.raises(DataError, match="labels must be integers"):  # "10" would sort before "2"
        Scenarios.from_frame(text)
    shifted = frame.set_axis(frame.index.set_levels(frame.index.levels[0] + 100, level=0))  # a shard's ids
    np.testing.assert_array_equal(Scenarios.from_frame(shifted).values, scen.values)


def test_bad_names_weights_and_values(scen):
    with pytest.raises(DataError, match="assets must be a sequence of names, got the string 'ABC'"):
        Scenarios(np.zeros((1, 1, 3)), "ABC")
    with pytest.raises(DataError, match=r"weights name an asset twice: \['A'\]"):
        scen.portfolio_pnl(pd.Series([0.5, 0.7], index=["A", "A"]))
    with pytest.raises(DataError, match="weights must be numbers"):
        scen.portfolio_pnl(["a", "b", "c"])
    for value in (np.nan, "1", True):
        with pytest.raises(DataError, match="value must be a finite number"):
            scen.portfolio_pnl("equal", value=value)
    assert scen.portfolio_pnl({"A": 1.0}).shape == (7,)  # a mapping may leave assets out (weight 0)
    with pytest.raises(DataError, match=r"missing \['B', 'C'\], not in the scenarios \[\]"):
        scen.price_paths(pd.Series({"A": 100.0}))
    with pytest.raises(DataError, match=r"missing \[\], not in the scenarios \['ZZZ'\]"):
        scen.price_paths(pd.Series({"A": 1.0, "B": 2.0, "C": 3.0, "ZZZ": 4.0}))
