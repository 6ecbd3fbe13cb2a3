"""Findings table: each check against its threshold, on hand-made evaluation tables and backtest summaries."""

import numpy as np
import pandas as pd
import pytest

from finscore.report import Thresholds, compute_findings
from finscore.report.findings import verdict


def table(model_scores, base_scores, model_dist, base_dist):
    idx = pd.MultiIndex.from_tuples([("score", "energy_score"), ("score", "crps"), ("score", "variogram_score")]
                                    + [("distance", f"g{i}") for i in range(len(model_dist))], names=["kind", "metric"])
    return pd.DataFrame({"finscore": [*model_scores, *model_dist], "garch": [*base_scores, *base_dist],
                         "real": np.nan}, index=idx)


def summary(rows):
    cols = ["kupiec_p", "p_cc", "traffic_light", "exceedances", "expected"]
    return pd.DataFrame(rows, columns=cols, index=pd.Index([0.95, 0.99], name="level"))


def test_score_and_fact_checks():
    t = table([1.0, 0.5, 9.0], [1.1, 0.4, 1.0], [0.1, 0.2, 0.3], [0.2, 0.1, 0.4])
    f = compute_findings("finscore", table=t)
    assert f["check"].tolist() == ["mean energy score vs garch", "mean CRPS vs garch",
                                   "stylized-fact distance wins vs garch"]
    assert f["result"].tolist() == ["PASS", "FAIL", "PASS"]  # variogram not checked by default; 2 of 3 wins
    assert f.loc[2, "value"] == "2 of 3"
    loose = compute_findings("finscore", table=t, thresholds=Thresholds(score_tolerance=0.3, fact_win_share=0.9))
    assert loose["result"].tolist() == ["PASS", "PASS", "FAIL"]  # 0.5 <= 0.4 * 1.3; 2 of 3 < 0.9


def test_baseline_selection_and_missing_model_column():
    t = table([1.0, 0.5, 9.0], [1.1, 0.4, 1.0], [0.1], [0.2]).assign(copula=1.0)
    only = compute_findings("finscore", table=t, thresholds=Thresholds(baselines=("copula",)))
    assert all(c.endswith("copula") for c in only["check"])
    assert compute_findings("absent", table=t).empty


def test_backtest_checks_use_pvalue_and_traffic_light():
    s = summary([[0.20, 0.04, "green", 5, 5.0], [0.01, np.nan, "yellow", 6, 2.5]])
    f = compute_findings("finscore", backtest_summary=s)
    assert len(f) == 6
    assert f["result"].tolist() == ["PASS", "FAIL", "PASS", "FAIL", "FAIL", "WARN"]
    assert f.loc[3, "check"] == "VaR 99.0%: Kupiec unconditional coverage"
    assert compute_findings("finscore", backtest_summary=s, thresholds=Thresholds(pvalue=0.01))["result"][1] == "PASS"
    assert summary([[0.5, 0.5, "red", 9, 1.0], [0.5, 0.5, "red", 9, 1.0]]).pipe(
        lambda x: compute_findings("m", backtest_summary=x))["result"].tolist().count("FAIL") == 2


def test_thresholds_validation_and_coercion():
    assert Thresholds.coerce(None) == Thresholds()
    assert Thresholds.coerce({"pvalue": 0.1, "scores": ["crps"]}) == Thresholds(pvalue=0.1, scores=("crps",))
    with pytest.raises(ValueError, match="unknown fields"):
        Thresholds.coerce({"alpha": 0.1})
    with pytest.raises(ValueError, match="pvalue"):
        Thresholds(pvalue=1.5)
    with pytest.raises(TypeError):
        Thresholds.coerce(0.05)


def test_verdict_counts():
    f = pd.DataFrame({"result": ["PASS", "PASS", "WARN", "FAIL"]})
    assert verdict(f).startswith("2 of 4 checks pass, 1 give a warning and 1 fail")
    assert "No quantitative checks" in verdict(f.iloc[:0])
