"""Findings of the executive summary: pass / warn / fail flags against stated thresholds.

Each check compares one number with a threshold written next to it in the report, so a
validator can see what was tested and redo it. Checks whose inputs are missing are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd

from finscore.report.format import fmt, fmt_pvalue

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
SCORE_NAMES = {"energy_score": "energy score", "crps": "CRPS", "variogram_score": "variogram score"}


@dataclass(frozen=True)
class Thresholds:
    """Pass criteria of the findings table.

    Parameters
    ----------
    pvalue : coverage tests (Kupiec, Christoffersen conditional coverage) pass when p > pvalue.
    score_tolerance : a mean score (lower is better) passes when model <= baseline * (1 + tolerance).
    scores : which scores of the evaluation table are checked.
    fact_win_share : the stylized-fact check passes when the model's distance is smaller than the
        baseline's in at least this share of the distance groups.
    baselines : names compared against (default: every other generator / backtest).
    """

    pvalue: float = 0.05
    score_tolerance: float = 0.0
    scores: tuple[str, ...] = ("energy_score", "crps")
    fact_win_share: float = 0.5
    baselines: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.pvalue < 1:
            raise ValueError(f"pvalue must be in (0, 1), got {self.pvalue}")
        if not 0 <= self.fact_win_share <= 1:
            raise ValueError(f"fact_win_share must be in [0, 1], got {self.fact_win_share}")
        if not np.isfinite(self.score_tolerance) or self.score_tolerance < 0:
            raise ValueError(f"score_tolerance must be finite and >= 0, got {self.score_tolerance}")
        for name in ("scores", "baselines"):  # a string would be read letter by letter
            value = getattr(self, name)
            if isinstance(value, str) or (value is not None and not isinstance(value, tuple)):
                raise ValueError(f"{name} must be a tuple of names, got {value!r}")
        unknown = sorted(set(self.scores) - set(SCORE_NAMES))
        if unknown:
            raise ValueError(f"scores: unknown {unknown}; choose from {sorted(SCORE_NAMES)}")

    @classmethod
    def coerce(cls, value: "Thresholds | Mapping[str, Any] | None") -> "Thresholds":
        """Thresholds from None (defaults), an instance, or a mapping of field overrides."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {f.name for f in fields(cls)})
            if unknown:
                raise ValueError(f"findings_thresholds: unknown fields {unknown}")
            return replace(cls(), **{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        raise TypeError(f"findings_thresholds must be Thresholds, a dict or None, got {type(value).__name__}")


def compute_findings(model_name: str, *, table: pd.DataFrame | None = None,
                     backtest_summary: pd.DataFrame | None = None, thresholds: Thresholds | None = None
                     ) -> pd.DataFrame:
    """The findings table: one row per check.

    Parameters
    ----------
    model_name : the model's column in ``table``.
    table : ``EvaluationResult.table`` (rows (kind, metric), one column per generator), or None.
    backtest_summary : ``BacktestResult.summary()`` of the model's backtest (one row per level), or None.
    thresholds : pass criteria (default :class:`Thresholds`).

    Returns
    -------
    DataFrame with columns area, check, threshold, value, result (PASS / WARN / FAIL).
    """
    t = thresholds or Thresholds()
    rows: list[dict[str, str]] = []
    if table is not None and model_name in table.columns:
        rows += _score_rows(model_name, table, t)
        rows += _fact_rows(model_name, table, t)
    if backtest_summary is not None:
        rows += _backtest_rows(backtest_summary, t)
    return pd.DataFrame(rows, columns=["area", "check", "threshold", "value", "result"])


def baselines_of(model_name: str, names, t: Thresholds) -> list[str]:
    """The baselines the model is compared with: ``t.baselines`` (each must be among ``names``), or all others."""
    others = [n for n in names if n not in (model_name, "real")]
    if t.baselines is None:
        return others
    missing = sorted(set(t.baselines) - set(others))
    if missing:
        raise ValueError(f"findings_thresholds.baselines names {missing}, which were not evaluated; they are {others}")
    return [n for n in others if n in t.baselines]


def _score_rows(model: str, table: pd.DataFrame, t: Thresholds) -> list[dict[str, str]]:
    rows = []
    for score in t.scores:
        if ("score", score) not in table.index:
            continue
        mine = float(table.loc[("score", score), model])
        for base in baselines_of(model, table.columns, t):
            theirs = float(table.loc[("score", score), base])
            ok = mine <= theirs * (1 + t.score_tolerance)
            tol = f" x (1 + {fmt(t.score_tolerance)})" if t.score_tolerance else ""
            rows.append(dict(area="benchmarking", check=f"mean {SCORE_NAMES.get(score, score)} vs {base}",
                             threshold=f"<= {base}{tol} (lower is better)",
                             value=f"{fmt(mine)} vs {fmt(theirs)}", result=PASS if ok else FAIL))
    return rows


def _fact_rows(model: str, table: pd.DataFrame, t: Thresholds) -> list[dict[str, str]]:
    if "distance" not in table.index.get_level_values(0):
        return []
    dist = table.loc["distance"]
    rows = []
    for base in baselines_of(model, table.columns, t):
        pair = dist[[model, base]].dropna()
        if pair.empty:
            continue
        wins = int((pair[model] < pair[base]).sum())
        ok = wins >= t.fact_win_share * len(pair)
        rows.append(dict(area="benchmarking", check=f"stylized-fact distance wins vs {base}",
                         threshold=f">= {fmt(t.fact_win_share)} of {len(pair)} groups",
                         value=f"{wins} of {len(pair)}", result=PASS if ok else FAIL))
    return rows


def _backtest_rows(summary: pd.DataFrame, t: Thresholds) -> list[dict[str, str]]:
    rows = []
    zone_result = {"green": PASS, "yellow": WARN, "red": FAIL}
    for level, s in summary.iterrows():
        lv = f"VaR {float(level):.1%}"
        for col, name in (("kupiec_p", "Kupiec unconditional coverage"),
                          ("p_cc", "Christoffersen conditional coverage")):
            p = float(s[col])
            ok = np.isfinite(p) and p > t.pvalue
            rows.append(dict(area="outcomes", check=f"{lv}: {name}", threshold=f"p > {fmt(t.pvalue)}",
                             value="p < 0.001" if p < 1e-3 else f"p = {fmt_pvalue(p)}", result=PASS if ok else FAIL))
        zone = str(s["traffic_light"])
        rows.append(dict(area="outcomes", check=f"{lv}: Basel traffic light",
                         threshold="green (yellow: warn)",
                         value=f"{zone} ({int(s['exceedances'])} exc. / {fmt(float(s['expected']), digits=3)} exp.)",
                         result=zone_result.get(zone, FAIL)))
    return rows


def verdict(findings: pd.DataFrame) -> str:
    """One sentence counting the results."""
    if findings.empty:
        return "No quantitative checks were run: neither an evaluation nor a backtest of the model was supplied."
    counts = findings["result"].value_counts()
    n = len(findings)
    return (f"{counts.get(PASS, 0)} of {n} checks pass, {counts.get(WARN, 0)} give a warning and "
            f"{counts.get(FAIL, 0)} fail against the thresholds stated in the table.")
