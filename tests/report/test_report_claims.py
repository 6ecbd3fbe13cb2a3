"""What the report says about the fit, the look-ahead and the comparisons: only what the numbers show."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from report_fakes import returns_frame

from finscore.baselines import GARCH, GaussianCopula, HistoricalSimulation
from finscore.report.findings import Thresholds, baselines_of
from finscore.report.pdf import _context
from finscore.report.sections_results import _comparison, _specific, benchmarking
from finscore.risk import backtest
from finscore.validation import evaluate


class Flow:
    """Records what a section writes."""

    width = 6.3  # inches, as layout.Flow's A4 text width

    def __init__(self):
        self.text, self.tables = [], []

    def section(self, title):
        pass

    def paragraph(self, text, **kw):
        self.text.append(text)

    def bullets(self, items, **kw):
        self.text.extend(items)

    def table(self, frame, **kw):
        self.tables.append(frame)

    def figure(self, *a, **kw):
        pass


@pytest.fixture(scope="module")
def returns():
    return returns_frame(700, 3, seed=4)


def _evaluate(gens, returns, split, fit):
    return evaluate(gens, returns, train_end=returns.index[split - 1], test_start=returns.index[split], horizon=5,
                    stride=20, n_scenarios=60, seed=0, progress=False, fact_scenarios=20, fit=fit)


def test_a_model_fitted_through_the_first_origin_is_not_called_look_ahead(returns):
    """Trained on rows up to the first origin t, its targets end at t: no overlap with t + 1.. (warn_look_ahead's
    strict >); the report said "look-ahead biased" and "partly in-sample" here."""
    model = GaussianCopula().fit(returns.iloc[:401])  # through returns.index[400]
    ev = _evaluate({"finscore": model, "hs": HistoricalSimulation()}, returns, 400, fit=["hs"])
    assert ev.dates[0] == model.fit_end_
    bts = {"finscore": backtest(model, returns, "equal", returns.index[400], levels=(0.95,), n_scenarios=100,
                                end=returns.index[460], seed=0, progress=False)}
    notes = _specific(_context(model, ev, bts, None, "finscore", "t", 0, None, ()))
    assert not any("look-ahead" in n or "in-sample" in n for n in notes)


def test_the_fit_dates_stated_are_the_generators_own(returns):
    model = GaussianCopula().fit(returns.iloc[:300])  # a saved model, fitted before the split
    ev = _evaluate({"finscore": model, "hs": HistoricalSimulation()}, returns, 400, fit=["hs"])
    assert ev.config["fit_end"] == {"finscore": str(returns.index[299].date()), "hs": str(returns.index[399].date())}
    flow = Flow()
    benchmarking(flow, _context(model, ev, {}, None, "finscore", "t", 0, None, ()))
    first = flow.text[0]
    assert "Every generator" not in first  # not every one was fitted up to the split
    assert f"{returns.index[299].date()} (finscore), {returns.index[399].date()} (hs)" in first


def test_an_expanding_window_backtest_is_not_called_in_sample(returns):
    """refit_every refits the model in place up to each refit date: its later fit end is no look-ahead."""
    model = GaussianCopula().fit(returns.iloc[:400])
    ev = _evaluate({"finscore": model}, returns, 400, fit=[])
    bts = {"finscore": backtest(model, returns, "equal", returns.index[400], levels=(0.95,), n_scenarios=100,
                                end=returns.index[520], refit_every=40, seed=0, progress=False)}
    assert model.fit_end_ > returns.index[400]  # refitted in place
    notes = _specific(_context(model, ev, bts, None, "finscore", "t", 0, None, ()))
    assert not any("look-ahead" in n or "in-sample" in n for n in notes)


def test_a_diebold_mariano_tie_names_no_winner(returns):
    model = GaussianCopula().fit(returns.iloc[:400])
    bt = backtest(model, returns, "equal", returns.index[400], levels=(0.99,), n_scenarios=100, end=returns.index[500],
                  seed=0, progress=False)
    flow = Flow()
    _comparison(flow, _context(model, None, {"finscore": bt, "same": bt}, None, "finscore", "t", 0, None, ()))
    assert flow.tables[-1]["lower FZ0 loss"].tolist() == ["tie"]  # said "same" before


def test_findings_thresholds_are_checked():
    with pytest.raises(ValueError, match=r"scores: unknown \['energy'\]"):
        Thresholds(scores=("energy",))
    for bad in ({"scores": "crps"}, {"baselines": "garch"}):  # strings were read letter by letter
        with pytest.raises(ValueError, match="must be a tuple of names"):
            Thresholds(**bad)
    with pytest.raises(ValueError, match=r"names \['GARCHX'\], which were not evaluated"):
        baselines_of("m", ["m", "garch", "real"], Thresholds(baselines=("GARCHX",)))


def test_a_baseline_under_review_is_not_described_as_a_diffusion_model(returns):
    from finscore.report.sections_front import conceptual_soundness

    flow = Flow()
    conceptual_soundness(flow, _context(GARCH().fit(returns.iloc[:300]), None, {}, None, "garch", "t", 0, None, ()))
    text = " ".join(flow.text)
    assert "GARCH" in text and "not a score-based diffusion model" in text and "score matching" not in text


def test_a_training_curve_without_a_finite_training_loss_is_not_drawn():
    from finscore.report.model_info import describe_model

    model = GaussianCopula()
    model.train_result_ = SimpleNamespace(history=pd.DataFrame({"step": [0, 100], "train_loss": [np.nan, np.nan],
                                                                "val_loss": [1.0, 0.5]}))
    assert describe_model(model, "m").history is None  # an IndexError in the report before


def test_the_pipeline_checks_and_stops_its_backtest_at_test_end(returns, tmp_path, monkeypatch):
    from finscore.report import pipeline

    with pytest.raises(ValueError, match="horizon must be a positive integer, got 0"):
        pipeline.validation_report(tmp_path / "r.pdf", GaussianCopula(), returns, train_end=returns.index[399],
                                   horizon=0)
    with pytest.raises(ValueError, match=r"findings_thresholds.baselines names \['garch'\], which are not among"):
        pipeline.validation_report(tmp_path / "r.pdf", GaussianCopula(), returns, train_end=returns.index[399],
                                   baselines={"hs": HistoricalSimulation()},
                                   findings_thresholds={"baselines": ["garch"]})
    seen = {}

    class Stop(Exception):
        pass

    def capture(gen, rets, weights, start, *, end=None, **kw):
        seen["end"] = end
        raise Stop

    monkeypatch.setattr("finscore.validation.evaluate", lambda *a, **k: None)  # imported inside the pipeline
    monkeypatch.setattr("finscore.risk.backtest", capture)
    with pytest.raises(Stop):
        pipeline.validation_report(tmp_path / "r.pdf", GaussianCopula(), returns, train_end=returns.index[399],
                                   test_end=returns.index[600], progress=False)
    assert seen["end"] == returns.index[599]  # its 1-day outcome is on test_end, not the day after


def test_evaluate_checks_context_length_and_dates(returns):
    for bad in (0, -5, 2.5, True):  # 0 fell back to 250, True gave one row
        with pytest.raises(ValueError, match="context_length must be a positive integer"):
            evaluate({"hs": HistoricalSimulation()}, returns, train_end=returns.index[399],
                     test_start=returns.index[400], context_length=bad, progress=False)
    with pytest.raises(ValueError, match="train_end: cannot read '2016-13-45' as a date"):
        evaluate({"hs": HistoricalSimulation()}, returns, train_end="2016-13-45", test_start=returns.index[400],
                 progress=False)
