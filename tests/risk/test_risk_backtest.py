"""The rolling backtest: closed-form coverage with a Gaussian fake, batching, seeds, refits, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from risk_fakes import GaussianIID, NaNAfter, gaussian_returns, lognormal_var_es
from scipy import stats

from finscore.errors import DataError, NumericalError
from finscore.risk import backtest, var


@pytest.fixture(scope="module")
def calibrated():
    returns = gaussian_returns(750, sigma=0.01, seed=1)
    gen = GaussianIID(sigma=0.01).fit(returns.iloc[:250])
    return backtest(gen, returns, "equal", returns.index[250], levels=(0.95, 0.99), progress=False)


def test_var_matches_closed_form(calibrated):
    res, n = calibrated, calibrated.metadata["n_scenarios"]
    assert res.n_obs == 499  # dates 250..748: the last date needs one realized day after it
    for level in res.levels:
        v, e = lognormal_var_es(0.01, level)
        z = stats.norm.ppf(level)
        se = np.sqrt(level * (1 - level) / n) / (stats.norm.pdf(z) / 0.01) / np.sqrt(res.n_obs)
        # the predictive VaR lies between two order statistics: bias at most one order statistic's spacing
        bias = v - lognormal_var_es(0.01, level - 1 / n)[0]
        assert abs(res.var[level].mean() - v) < 5 * se + bias  # 5 standard errors of the mean over dates
        assert abs(res.es[level].mean() - e) < 5 * 3 * se + bias  # ES se < 3x the VaR se here
        assert (res.es[level] >= res.var[level]).all()


def test_coverage_of_a_correct_model(calibrated):
    summary = calibrated.summary(n_sim=300)
    assert list(summary.index) == [0.95, 0.99]
    # correct model: deterministic seeds; counts within the binomial 99.9% interval
    for level, row in summary.iterrows():
        lo, hi = stats.binom.interval(0.999, row.n_obs, 1 - level)
        assert lo <= row.exceedances <= hi
        assert row.kupiec_p > 0.001 and row.traffic_light != "red"
    assert summary.loc[0.99, "expected"] == pytest.approx(499 * 0.01)


def test_var_method(calibrated):
    res, lv = calibrated, list(calibrated.levels)
    assert res.metadata["var_method"] == "predictive"  # the default
    np.testing.assert_allclose(res.var.to_numpy(), var(res.scenario_returns, lv, method="predictive"))
    emp = res.with_var_method("empirical")  # recomputed from the same scenarios
    assert emp.metadata["var_method"] == "empirical" and res.metadata["var_method"] == "predictive"
    np.testing.assert_array_equal(emp.scenario_returns, res.scenario_returns)
    # position level (n + 1) is at or above ceil(n level): the predictive VaR is never below the empirical one
    assert (res.var >= emp.var).all().all() and (res.var > emp.var).any().any()
    returns = gaussian_returns(750, sigma=0.01, seed=1)  # the fixture's backtest, run by the empirical estimator
    direct = backtest(GaussianIID(sigma=0.01).fit(returns.iloc[:250]), returns, "equal", returns.index[250],
                      levels=(0.95, 0.99), progress=False, var_method="empirical")
    pd.testing.assert_frame_equal(direct.var, emp.var)
    pd.testing.assert_frame_equal(direct.es, emp.es)
    assert direct.with_var_method("predictive").var.equals(res.var)
    with pytest.raises(ValueError, match="method must be one of"):
        res.with_var_method("quantile")
    with pytest.raises(ValueError, match="method must be one of"):
        backtest(GaussianIID(), returns, "equal", returns.index[250], progress=False, var_method="quantile")


def test_misspecified_model_is_rejected():
    returns = gaussian_returns(550, sigma=0.01, seed=2)
    gen = GaussianIID(sigma=0.005).fit(returns.iloc[:250])  # half the true volatility
    res = backtest(gen, returns, "equal", returns.index[250], levels=(0.99,), n_scenarios=400, progress=False)
    row = res.summary(n_sim=200).loc[0.99]
    assert row.traffic_light == "red"
    assert row.kupiec_p < 1e-6 and row.binomial_p < 1e-6
    assert row.as_z2_p < 0.01 and row.as_z2 < 0


def test_batched_chunks_and_seeds():
    returns = gaussian_returns(320, n_assets=2, seed=3)
    start = returns.index[260]
    runs = {}
    for chunk in (7, 50):
        gen = GaussianIID().fit(returns.iloc[:250])
        runs[chunk] = backtest(gen, returns, [0.3, 0.7], start, n_scenarios=200, chunk_size=chunk, progress=False)
        assert gen.sample_many_calls == int(np.ceil(runs[chunk].n_obs / chunk))
    pd.testing.assert_frame_equal(runs[7].var, runs[50].var)  # date i gets child seed i whatever the chunking
    np.testing.assert_array_equal(runs[7].scenario_returns, runs[50].scenario_returns)
    other = backtest(GaussianIID().fit(returns.iloc[:250]), returns, [0.3, 0.7], start, n_scenarios=200,
                     seed=1, progress=False)
    assert not np.allclose(other.var, runs[50].var)


class Recorder(GaussianIID):
    min_context = 30

    def sample_many(self, n, horizon, contexts, seed=None):
        self.seen = getattr(self, "seen", []) + [(c.index[0], c.index[-1], len(c)) for c in contexts]
        return super().sample_many(n, horizon, contexts, seed)


def test_contexts_are_causal_and_sized():
    returns = gaussian_returns(120, seed=4)
    gen = Recorder().fit(returns.iloc[:40])
    res = backtest(gen, returns, "equal", returns.index[60], context_length=40, n_scenarios=100, progress=False)
    assert [s[1] for s in gen.seen] == list(res.realized.index)  # context ends on the forecast date
    assert all(n == 40 for _, _, n in gen.seen)
    # the default context is max(min_context, 250) rows
    gen = Recorder().fit(returns.iloc[:40])
    with pytest.raises(DataError, match="context_length=250"):
        backtest(gen, returns, "equal", returns.index[60], progress=False)


def test_refit_schedule_and_initial_fit():
    returns = gaussian_returns(140, seed=5)
    gen = GaussianIID()
    res = backtest(gen, returns, "equal", returns.index[60], refit_every=20, context_length=30, chunk_size=15,
                   n_scenarios=100, progress=False)
    dates = res.realized.index
    assert gen.fit_calls_ == [dates[0], dates[20], dates[40], dates[60]]  # refit on data up to t, expanding
    assert gen.sample_many_calls == 8  # chunks 15+5 per refit block of 20, and a final 19 = 15 + 4
    # unfitted generator without refit_every: fitted once on the rows strictly before start
    gen = GaussianIID()
    backtest(gen, returns, "equal", returns.index[60], context_length=30, n_scenarios=100, progress=False)
    assert gen.fit_calls_ == [returns.index[59]]


def test_multi_day_horizon_realized_return():
    returns = gaussian_returns(80, n_assets=2, seed=6)
    w = np.array([0.3, 0.7])
    res = backtest(GaussianIID().fit(returns.iloc[:30]), returns, w, returns.index[40], horizon_days=3,
                   context_length=30, n_scenarios=100, end=returns.index[-1], progress=False)
    assert res.realized.index[-1] == returns.index[-4] and res.metadata["overlapping"]
    t = returns.index.get_loc(res.realized.index[5])
    expected = w @ (np.exp(returns.iloc[t + 1: t + 4].sum()) - 1)
    assert res.realized.iloc[5] == pytest.approx(expected)
    # 3-day scenario returns have sqrt(3) the 1-day spread
    assert res.var[0.99].mean() == pytest.approx(np.sqrt(3) * 0.01 * np.sqrt(0.58) * 2.33, rel=0.15)


def test_too_few_scenarios_for_a_level_are_flagged():
    # the largest of n scenario losses is exceeded with probability 1 / (n + 1): above 1% below 99 scenarios
    returns = gaussian_returns(100, seed=7)
    gen = GaussianIID().fit(returns.iloc[:30])
    kw = {"end": returns.index[44], "context_length": 30, "progress": False}
    with pytest.warns(UserWarning, match=r"n_scenarios=98 cannot resolve VaR at \[0.99\].*1.01%.*at least 99 scenarios"):
        backtest(gen, returns, "equal", returns.index[40], levels=(0.95, 0.99), n_scenarios=98, **kw)
    with pytest.warns(UserWarning, match=r"n_scenarios=10 cannot resolve VaR at \[0.95, 0.99\].*at least 99"):
        backtest(gen, returns, "equal", returns.index[40], levels=(0.95, 0.99), n_scenarios=10, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backtest(gen, returns, "equal", returns.index[40], levels=(0.95, 0.99), n_scenarios=99, **kw)


def test_end_limits_the_forecast_dates():
    returns = gaussian_returns(100, seed=7)
    res = backtest(GaussianIID().fit(returns.iloc[:30]), returns, "equal", returns.index[40], end=returns.index[49],
                   context_length=30, n_scenarios=100, progress=False)
    assert list(res.realized.index) == list(returns.index[40:50])


@pytest.fixture(scope="module")
def small():
    returns = gaussian_returns(100, n_assets=2, seed=8)
    return returns, GaussianIID().fit(returns.iloc[:30])


@pytest.mark.parametrize("start", [None, "not a date"])
def test_start_that_is_not_a_date(small, start):
    returns, gen = small
    with pytest.raises(DataError, match=f"start: .*{start!r}"):
        backtest(gen, returns, "equal", start, context_length=30, progress=False)


def test_a_generator_fitted_past_the_first_origin_is_flagged(small):
    returns, gen = small  # fitted on the first 30 rows: no warning from origin 50 on (20 scenarios resolve 95%)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backtest(gen, returns, "equal", returns.index[50], context_length=30, n_scenarios=20, levels=(0.95,), progress=False)
    late = GaussianIID().fit(returns.iloc[:80])
    with pytest.warns(UserWarning, match=f"up to {returns.index[79].date()}.*{returns.index[50].date()}.*look-ahead"):
        backtest(late, returns, "equal", returns.index[50], context_length=30, n_scenarios=20, levels=(0.95,), progress=False)
    with warnings.catch_warnings():  # refitting at each origin never looks ahead
        warnings.simplefilter("error")
        backtest(late, returns, "equal", returns.index[50], context_length=30, n_scenarios=20, levels=(0.95,), refit_every=10,
                 progress=False)


def test_weights_that_do_not_match_the_assets(small):
    returns, gen = small
    with pytest.raises(DataError, match="length 3 but there are 2 assets"):
        backtest(gen, returns, [0.2, 0.3, 0.5], returns.index[50], context_length=30, progress=False)
    with pytest.raises(DataError, match="not in the scenarios: \\['XYZ'\\]"):
        backtest(gen, returns, {"XYZ": 1.0}, returns.index[50], context_length=30, progress=False)


def test_start_before_enough_history(small):
    returns, gen = small
    with pytest.raises(DataError) as err:
        backtest(gen, returns, "equal", returns.index[10], context_length=30, progress=False)
    msg = str(err.value)
    assert str(returns.index[10].date()) in msg and "11 rows" in msg and "context_length=30" in msg
    assert str(returns.index[29].date()) in msg  # the earliest feasible start
    with pytest.raises(DataError, match="no forecast dates"):
        backtest(gen, returns, "equal", returns.index[-1], context_length=30, progress=False)


@pytest.mark.parametrize("levels", [(0.95, 1.0), (0.0,), (99,), (0.95, 0.95)])
def test_levels_outside_unit_interval(small, levels):
    returns, gen = small
    with pytest.raises(ValueError, match="levels"):
        backtest(gen, returns, "equal", returns.index[50], levels=levels, context_length=30, progress=False)


def test_other_argument_errors(small):
    returns, gen = small
    for kwargs, match in [({"horizon_days": 0}, "horizon_days"), ({"n_scenarios": 1.5}, "n_scenarios"), ({"n_scenarios": 1}, "at least 2"),
                          ({"context_length": 3}, "min_context"), ({"refit_every": 0}, "refit_every")]:
        with pytest.raises(ValueError, match=match):
            backtest(gen, returns, "equal", returns.index[50], progress=False, **{"context_length": 30, **kwargs})
    with pytest.raises(TypeError, match="sample_many"):
        backtest(object(), returns, "equal", returns.index[50], context_length=30, progress=False)
    other = returns.rename(columns={"A1": "B1"})
    with pytest.raises(DataError, match="fitted on assets"):
        backtest(gen, other, "equal", returns.index[50], context_length=30, progress=False)


def test_generator_returning_nan_names_the_date(small):
    returns, _ = small
    bad = returns.index[63]
    gen = NaNAfter(bad).fit(returns.iloc[:30])
    msg = f"NaNAfter produced non-finite scenarios for the forecast at {bad.date()}"
    with pytest.raises(NumericalError, match=msg):
        backtest(gen, returns, "equal", returns.index[50], context_length=30, chunk_size=10, progress=False)


def test_lazy_top_level_export():
    import finscore
    import finscore.risk

    assert finscore.backtest is finscore.risk.backtest
