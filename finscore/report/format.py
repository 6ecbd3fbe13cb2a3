"""Turning numbers and frames into short strings for report tables (3-4 significant digits)."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

MISSING = "–"


def fmt(value: Any, *, digits: int = 4) -> str:
    """Short display string: ``digits`` significant digits (whole units from 10^(digits-1) up), scientific
    only for very large / small values.

    None and NaN give "–"; booleans "yes" / "no"; integers are printed in full; strings unchanged.
    """
    if value is None:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return MISSING
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0.0:
            return "0"
        if abs(v) >= 10 ** (digits + 2) or abs(v) < 1e-3:
            return f"{v:.{digits - 1}e}"
        if abs(v) >= 10 ** (digits - 1):
            return f"{v:.0f}"  # whole units: no spurious trailing zeros
        return f"{v:.{digits}g}"
    return str(value)


def fmt_pvalue(p: Any) -> str:
    """p-values: three decimals, "<0.001" below that."""
    if p is None or (isinstance(p, (float, np.floating)) and math.isnan(p)):
        return MISSING
    return "<0.001" if float(p) < 1e-3 else f"{float(p):.3f}"


def fmt_pct(value: Any, *, digits: int = 2) -> str:
    """A fraction as a percentage with ``digits`` decimals ("1.23%")."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return MISSING
    return f"{100 * float(value):.{digits}f}%"


def format_frame(frame: pd.DataFrame, *, index: bool = True, index_name: str | None = None,
                 formatters: Mapping[str, Any] | None = None, digits: int = 4) -> pd.DataFrame:
    """A DataFrame of display strings; the index becomes the first column when ``index`` is True.

    ``formatters`` maps column names to callables (e.g. :func:`fmt_pvalue`); other cells use :func:`fmt`.
    MultiIndex rows are joined with " / ".
    """
    formatters = dict(formatters or {})
    out = pd.DataFrame(index=range(len(frame)))
    if index:
        labels = [" / ".join(map(str, i)) if isinstance(i, tuple) else fmt(i) for i in frame.index]
        out[index_name or (frame.index.name or "")] = labels
    for col in frame.columns:
        f = formatters.get(col, lambda v: fmt(v, digits=digits))
        out[str(col)] = [f(v) for v in frame[col].tolist()]
    return out


def flatten_dict(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level with dotted keys ({"state": {"a": 1}} -> {"state.a": 1})."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_dict(v, f"{key}."))
        else:
            out[key] = v
    return out


def key_value_frame(d: Mapping[str, Any], *, key: str = "item", value: str = "value") -> pd.DataFrame:
    """Two-column frame of display strings from a mapping (nested mappings flattened, sequences joined)."""
    rows = []
    for k, v in flatten_dict(d).items():
        if isinstance(v, (list, tuple, np.ndarray)):
            v = ", ".join(fmt(x) for x in v)
        rows.append((str(k), fmt(v)))
    return pd.DataFrame(rows, columns=[key, value])


def side_by_side(frame: pd.DataFrame) -> pd.DataFrame:
    """Fold a long two-column frame into four columns (first half left, second half right)."""
    half = (len(frame) + 1) // 2
    left, right = frame.iloc[:half].reset_index(drop=True), frame.iloc[half:].reset_index(drop=True)
    right = right.reindex(range(half)).fillna("")
    right.columns = [f"{c} " for c in frame.columns]  # distinct names, same header text
    return pd.concat([left, right], axis=1)
