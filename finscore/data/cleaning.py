"""Validation and repair of a wide price frame: dates, columns, values, date range.

Every function takes ``strict``: when True, bad input raises ``DataError`` naming the
asset and date; when False, it is repaired and a message is appended to ``repairs``
(:func:`finscore.data.load_prices` stores them in ``frame.attrs["repairs"]`` and emits
one ``UserWarning``). Nothing is dropped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from finscore.data.checks import duplicate_dates, first_unsorted
from finscore.errors import DataError

#: Calendar days a requested start/end may fall before/after the data without error (weekends, holidays).
DATE_TOLERANCE = pd.Timedelta(days=7)


def _fail_or_repair(msg: str, fix: str, *, strict: bool, repairs: list[str]) -> None:
    if strict:
        raise DataError(msg + "; pass strict=False to repair")
    repairs.append(f"{msg} -> {fix}")


def fix_dates(frame: pd.DataFrame, *, name: str, strict: bool, repairs: list[str]) -> pd.DataFrame:
    """Duplicate dates (repair: keep the last row) and unsorted dates (repair: sort)."""
    dup = duplicate_dates(frame.index)
    if len(dup):
        msg = f"{name} has duplicate dates ({len(dup)} dates repeated), first {dup[0].date()}"
        _fail_or_repair(msg, "kept the last row of each date", strict=strict, repairs=repairs)
        frame = frame[~frame.index.duplicated(keep="last")]
    pos = first_unsorted(frame.index)
    if pos is not None:
        msg = f"{name} dates are not sorted: {frame.index[pos].date()} comes after {frame.index[pos - 1].date()}"
        _fail_or_repair(msg, "sorted by date", strict=strict, repairs=repairs)
        frame = frame.sort_index(kind="stable")
    return frame


def fix_columns(frame: pd.DataFrame, *, name: str, strict: bool, repairs: list[str]) -> pd.DataFrame:
    """Duplicate asset names (repair: keep first) and non-numeric values (repair: set to NaN)."""
    dup = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dup:
        _fail_or_repair(f"{name} has duplicate asset columns {dup}", "kept the first of each", strict=strict, repairs=repairs)
        frame = frame.loc[:, ~frame.columns.duplicated()]
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            _fail_or_repair(f"{name} column {col!r} is boolean, not prices", "dropped the column", strict=strict, repairs=repairs)
            continue
        if not pd.api.types.is_numeric_dtype(s):
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() & s.notna()
            if bad.any():
                first = int(np.argmax(bad.to_numpy()))
                msg = (f"{name} column {col!r} is not numeric: {int(bad.sum())} values such as "
                       f"{s.iloc[first]!r} on {frame.index[first].date()}")
                if num.notna().any():
                    _fail_or_repair(msg, "set them to missing (NaN)", strict=strict, repairs=repairs)
                else:
                    _fail_or_repair(msg, "dropped the column (no numeric values)", strict=strict, repairs=repairs)
                    continue
            s = num
        out[col] = s.astype("float64")
    if not out:
        raise DataError(f"{name} has no numeric price columns")
    return pd.DataFrame(out, index=frame.index)


def select(frame: pd.DataFrame, *, name: str, assets=None, start=None, end=None) -> pd.DataFrame:
    """Keep the requested assets (error if one is missing) and dates in ``[start, end]``.

    A ``start`` more than :data:`DATE_TOLERANCE` before the first
    date (or ``end`` after the last) raises: the requested window is longer than the history.
    """
    if assets is not None:
        assets = [assets] if isinstance(assets, str) else [str(a) for a in assets]
        if not assets:
            raise DataError(f"assets for {name} is an empty list")
        missing = [a for a in assets if a not in frame.columns]
        if missing:
            raise DataError(f"requested asset(s) {missing} not in {name}; available: {list(frame.columns)}")
        if len(set(assets)) < len(assets):
            raise DataError(f"requested assets contain duplicates: {assets}")
        frame = frame[assets]
    try:
        t0 = None if start is None else pd.Timestamp(start)
        t1 = None if end is None else pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise DataError(f"cannot parse start={start!r} / end={end!r} as dates: {exc}") from exc
    if t0 is not None and t1 is not None and t0 > t1:
        raise DataError(f"start {t0.date()} is after end {t1.date()}")
    first, last = frame.index[0], frame.index[-1]
    if t0 is not None and t0 < first - DATE_TOLERANCE:
        raise DataError(f"requested start {t0.date()} is before the history of {name}, which begins on {first.date()}")
    if t1 is not None and t1 > last + DATE_TOLERANCE:
        raise DataError(f"requested end {t1.date()} is after the history of {name}, which ends on {last.date()}")
    out = frame.loc[t0:t1]
    if len(out) == 0:
        raise DataError(f"{name} has no dates between {start} and {end}; it covers {first.date()} to {last.date()}")
    return out


def mask_bad_values(frame: pd.DataFrame, *, name: str, strict: bool, repairs: list[str]) -> pd.DataFrame:
    """Infinite and non-positive prices: error naming asset and date (repair: set to NaN, then forward-filled)."""
    values = frame.to_numpy()
    for label, test in (("infinite", np.isinf), ("non-positive", lambda v: v <= 0)):
        bad = test(values)
        for j in np.flatnonzero(bad.any(axis=0)):
            rows = np.flatnonzero(bad[:, j])
            msg = (f"{name} asset {frame.columns[j]!r} has {len(rows)} {label} price(s), first "
                   f"{float(values[rows[0], j])!r} on {frame.index[rows[0]].date()}")
            _fail_or_repair(msg, "treated as missing and forward-filled", strict=strict, repairs=repairs)
        values = np.where(bad, np.nan, values)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)
