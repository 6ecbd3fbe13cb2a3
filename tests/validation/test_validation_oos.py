"""Out-of-sample evaluation protocol on tiny fake generators (no network, no training)."""

import io
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from finscore.errors import DataError, NotFittedError
from finscore.validation import DISTANCE_GROUPS, evaluate, forecast_origins

from _validation_fakes import Counting, IIDGaussian

H, STRIDE, N_DAYS = 5, 5, 3000


@pytest.fixture(scope="module")
def returns():
    idx = pd.bdate_range("2010-01-01", periods=N_DAYS, name="date")
    vals = np.random.default_rng(0).standard_normal((N_DAYS, 3)) * [0.01, 0.02, 0.015]
    return pd.DataFrame(vals, index=idx, columns=["A", "B", "C"])


@pytest.fixture(scope="module")
def result(returns):
    gens = {"good": IIDGaussian(1.0), "wide": IIDGaussian(np.sqrt(2.0))}  # double variance
    return evaluate(gens, returns, train_end=returns.index[349], test_start=returns.index[350], horizon=H,
                    stride=STRIDE, n_scenarios=200, seed=0, progress=False), gens


def test_correct_variance_ranks_first(result):
    # ~530 non-overlapping test windows. Paired t-statistics of the per-date score differences over
    # 6 data seeds (at 329 dates) were ES -12..-19, variogram -5..-8, CRPS -1.1..-4.5 (the 1-d portfolio
    # CRPS separates sigma from sqrt(2) sigma by only ~3.5% in expectation); at 530 dates CRPS has t ~ -4.
    res, _ = result
    s = res.table.loc["score"]
    assert s.loc["energy_score", "good"] < s.loc["energy_score", "wide"]
    assert s.loc["crps", "good"] < s.loc["crps", "wide"]
    assert s.loc["variogram_score", "good"] < s.loc["variogram_score", "wide"]
    d = res.table.loc["distance"]
    assert d.loc["wasserstein_daily", "good"] < d.loc["wasserstein_daily", "wide"]


def test_table_scores_and_facts_layout(result, returns):
    res, _ = result
    assert res.table.index.names == ["kind", "metric"] and list(res.table.columns) == ["good", "wide", "real"]
    assert tuple(res.table.loc["distance"].index) == DISTANCE_GROUPS
    assert res.table.loc["score", "real"].isna().all() and res.table.loc["fact", "real"].notna().any()
    t = len(res.dates)
    assert t == len(range(350, N_DAYS - H, STRIDE))
    assert list(res.scores.columns) == ["date", "generator", "energy_score", "crps", "variogram_score"]
    assert len(res.scores) == 2 * t and np.isfinite(res.scores.iloc[:, 2:].to_numpy()).all()
    assert set(res.facts) == {"real", "good", "wide"}
    assert res.windows["real"].shape == (t, H, 3) and res.windows["good"].shape == (t * 100, H, 3)
    assert res.portfolio_paths["good"].shape == (t, 200, H) and res.realized_paths.shape == (t, H)


def test_no_look_ahead(result, returns):
    res, gens = result
    # realized windows are the H rows strictly after each origin
    p = returns.index.get_loc(res.dates[3])
    np.testing.assert_array_equal(res.windows["real"][3], returns.to_numpy()[p + 1: p + 1 + H])
    # contexts end at the origin and hold the last 250 rows (default max(min_context, 250))
    seen = gens["good"].seen_
    assert [s[1] for s in seen] == list(res.dates)
    assert all(n == 250 and first == returns.index[returns.index.get_loc(last) - 249] for first, last, n in seen)
    # the generator was fitted on data up to train_end only
    assert gens["good"].fit_end_ == returns.index[349]
    assert res.dates[0] > returns.index[349] and res.dates[-1] + pd.offsets.BDay(H) <= returns.index[-1]


def test_deterministic_and_chunked(returns):
    kw = dict(train_end=returns.index[349], test_start=returns.index[400], horizon=H, stride=20, n_scenarios=50,
              seed=7, progress=False, dates_per_call=4)
    g = Counting(1.0)
    a = evaluate({"g": g}, returns, **kw)
    b = evaluate({"g": IIDGaussian(1.0)}, returns, **kw)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert g.calls_ == int(np.ceil(len(a.dates) / 4))


def test_fit_subset_and_errors(returns):
    kw = dict(train_end=returns.index[349], test_start=returns.index[360], horizon=H, stride=50, n_scenarios=20,
              progress=False)
    pre = IIDGaussian().fit(returns)  # fitted on everything: look-ahead warning
    with pytest.warns(UserWarning, match="look-ahead"):
        evaluate({"pre": pre, "new": IIDGaussian()}, returns, fit=["new"], **kw)
    with pytest.raises(NotFittedError):
        evaluate({"x": IIDGaussian()}, returns, fit=False, **kw)
    with pytest.raises(DataError, match="after train_end"):
        evaluate({"x": IIDGaussian()}, returns, **{**kw, "test_start": returns.index[300]})
    with pytest.raises(DataError, match="reserved"):
        evaluate({"real": IIDGaussian()}, returns, **kw)
    with pytest.raises(DataError, match="realized"):
        forecast_origins(returns.index, returns.index[349], returns.index[N_DAYS - 3], None, H, 1)
    pos = forecast_origins(returns.index, returns.index[349], returns.index[350], returns.index[380], H, 10)
    assert list(pos) == [350, 360, 370]  # 380 - 5 = 375 is the last origin with H days up to test_end


def test_figures(result):
    res, _ = result
    figs = [res.qq_plot(), res.acf_plot(), res.acf_plot("acf_sq"), res.leverage_plot(), res.correlation_heatmaps(),
            res.tail_dependence_heatmaps(), res.tail_dependence_heatmaps("upper"), res.fan_chart(),
            res.fan_chart(res.dates[0] + pd.Timedelta(days=1))]
    for fig in figs:
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and (ax.get_ylabel() or ax is not fig.axes[0])
        assert any(ax.get_legend() is not None for ax in fig.axes) or len(fig.axes) > 2
    with pytest.raises(DataError, match="before the first"):
        res.fan_chart(res.dates[0] - pd.Timedelta(days=30))
    with warnings.catch_warnings():  # renders without warnings (e.g. missing glyphs, layout failures)
        warnings.simplefilter("error")
        for fig in (figs[0], figs[4], figs[7]):
            fig.savefig(io.BytesIO(), format="png", dpi=50)
