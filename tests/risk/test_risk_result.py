"""BacktestResult: summary table, frames, figures; compare_backtests with DM and the MCS."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from risk_fakes import GaussianIID, gaussian_returns

from finscore.errors import DataError
from finscore.risk import BacktestResult, backtest, compare_backtests

matplotlib.use("Agg")

SUMMARY_COLUMNS = [
    "n_obs", "exceedances", "rate", "expected", "kupiec_lr", "kupiec_p", "christoffersen_lr_ind",
    "christoffersen_p_ind", "lr_cc", "p_cc", "binomial_p", "traffic_light", "as_z1", "as_z1_p", "as_z2",
    "as_z2_p", "as_z3", "as_z3_p", "mean_pinball", "mean_fz0", "es_nonpositive",
]


@pytest.fixture(scope="module")
def data():
    return gaussian_returns(400, n_assets=2, sigma=0.01, seed=11)


def run(data, sigma, seed=0):
    gen = GaussianIID(sigma=sigma).fit(data.iloc[:100])
    return backtest(gen, data, "equal", data.index[100], context_length=50, n_scenarios=300, seed=seed, progress=False)


@pytest.fixture(scope="module")
def results(data):
    return {"right": run(data, 0.01), "close": run(data, 0.011, seed=1), "narrow": run(data, 0.004, seed=2)}


def test_summary_and_frames(results):
    res = results["right"]
    summary = res.summary(n_sim=200)
    assert list(summary.columns) == SUMMARY_COLUMNS and summary.index.name == "level"
    assert list(summary.index) == [0.95, 0.975, 0.99]
    numeric = summary.drop(columns="traffic_light").to_numpy(dtype=float)
    assert np.all(np.isfinite(numeric))
    exc = res.exceedances
    assert exc.shape == (res.n_obs, 3) and (exc.dtypes == bool).all()
    assert (summary["exceedances"] == exc.sum()).all()
    assert res.var.shape == res.es.shape == (res.n_obs, 3) and res.realized.name == "realized"
    frame = res.to_frame()
    assert list(frame.columns[:4]) == ["realized", "var_0.95", "es_0.95", "exceed_0.95"]
    assert summary.equals(res.summary(n_sim=200))  # reproducible AS simulations
    assert "BacktestResult(n_obs=299" in repr(res)


@pytest.mark.parametrize("realized", [1.0, -0.9])
def test_summary_with_zero_or_all_exceedances(results, realized):
    res = results["right"]
    edge = BacktestResult(res.var, res.es, pd.Series(realized, index=res.realized.index, name="realized"),
                          res.scenario_returns, res.levels, 1, res.weights, res.metadata)
    summary = edge.summary(n_sim=100)
    assert (summary["exceedances"] == (0 if realized > 0 else res.n_obs)).all()
    assert np.all(np.isfinite(summary.drop(columns="traffic_light").to_numpy(dtype=float)))
    assert set(summary["traffic_light"]) == {"green" if realized > 0 else "red"}


def test_figures(results):
    import matplotlib.pyplot as plt

    res = results["right"]
    fig = res.plot(0.99)
    ax = fig.axes[0]
    assert "%" in ax.get_ylabel() and ax.get_xlabel() and ax.get_legend() is not None
    assert len(ax.get_legend().get_texts()) == 4
    fig2 = res.plot_traffic_light()
    ax2 = fig2.axes[0]
    assert "exceedances" in ax2.get_xlabel() and ax2.get_ylabel() == "VaR level"
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == ["green", "yellow", "red", "observed"]
    plt.close("all")
    with pytest.raises(ValueError, match="not backtested"):
        res.plot(0.9)


def test_compare_two_and_three(results):
    two = compare_backtests({k: results[k] for k in ("right", "narrow")}, 0.99)
    assert {"dm_p_narrow", "dm_stat_narrow", "mean_fz0", "mean_pinball", "exceedances"} <= set(two.columns)
    assert "in_mcs" not in two.columns
    assert two.loc["right", "dm_p_narrow"] == pytest.approx(two.loc["narrow", "dm_p_right"])
    assert two.loc["right", "dm_stat_narrow"] < 0 and two.loc["right", "dm_p_narrow"] < 0.05
    three = compare_backtests(results, 0.99, reps=200)
    assert three.loc["right", "in_mcs"] and not three.loc["narrow", "in_mcs"]
    pinball = compare_backtests(results, 0.975, loss="pinball", reps=200)
    assert pinball.loc["narrow", "mean_pinball"] > pinball.loc["right", "mean_pinball"]


def test_compare_errors(results):
    with pytest.raises(ValueError, match="at least two"):
        compare_backtests({"right": results["right"]}, 0.99)
    with pytest.raises(ValueError, match="not backtested"):
        compare_backtests(results, 0.9)
    with pytest.raises(ValueError, match="loss must be"):
        compare_backtests(results, 0.99, loss="mse")


def test_compare_refuses_different_books(data, results):
    gen = GaussianIID(sigma=0.01).fit(data.iloc[:100])
    other_book = backtest(gen, data, [1.0, 0.0], data.index[100], context_length=50, n_scenarios=300, progress=False)
    with pytest.raises(DataError, match=f"'right' and 'first' realized different portfolio returns on "
                                        f"{data.index[100].date()}"):
        compare_backtests({"right": results["right"], "first": other_book}, 0.99)
    longer = backtest(gen, data, "equal", data.index[100], context_length=50, n_scenarios=300, horizon_days=5,
                      progress=False)
    with pytest.raises(DataError, match="different horizons \\(1 and 5 days\\)"):
        compare_backtests({"right": results["right"], "5d": longer}, 0.99)


def test_an_es_forecast_that_is_not_a_loss(results):
    """FZ0 and the ES tests are undefined where ES <= 0: the summary says so, and the FZ0 comparison refuses
    rather than drop those dates (which would favour the model that caused them)."""
    res = results["right"]
    es = res.es.copy()
    es.iloc[[3, 7], :] = -0.001
    odd = BacktestResult(res.var, es, res.realized, res.scenario_returns, res.levels, 1, res.weights, res.metadata)
    summary = odd.summary(n_sim=100)
    assert (summary["es_nonpositive"] == 2).all()
    assert summary[["mean_fz0", "as_z1", "as_z2_p", "as_z3"]].isna().all().all()
    ok = summary.drop(columns=["traffic_light", "mean_fz0"]).filter(regex="^(?!as_)").to_numpy(dtype=float)
    assert np.all(np.isfinite(ok))  # coverage tests and pinball are unaffected
    pair = {"odd": odd, "narrow": results["narrow"]}
    with pytest.raises(DataError, match=f"FZ0 is undefined for 'odd' on 2 of {res.n_obs} dates .* the first on "
                                        f"{res.realized.index[3].date()}"):
        compare_backtests(pair, 0.99)
    table = compare_backtests(pair, 0.99, loss="pinball")
    assert np.isnan(table.loc["odd", "mean_fz0"]) and np.isfinite(table.loc["odd", "dm_p_narrow"])
