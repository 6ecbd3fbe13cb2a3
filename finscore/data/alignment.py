"""Alignment of assets on one common calendar, with an explicit missing-data policy.

Policy (applied by :func:`align`, in this order):

1. ``min_history``: if given, assets with fewer than ``min_history`` prices in the
   selected range are dropped (and reported); assets are never dropped otherwise.
2. Common span: the panel runs from the latest first price to the earliest last price
   of the remaining assets. If ``start``/``end`` were given explicitly and an asset's
   history begins after ``start`` (ends before ``end``) by more than a week, that is an
   error in strict mode (the requested window is longer than its history).
3. Gaps inside the span are forward-filled for at most ``max_ffill`` consecutive dates;
   a longer gap is an error naming the asset and dates (strict=False: filled and reported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from finscore.data.cleaning import DATE_TOLERANCE
from finscore.errors import DataError


def nan_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of True in a 1-d boolean array (n,)."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    return starts, np.flatnonzero(d == -1) - starts


def _check_int(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise DataError(f"{name} must be an integer >= {low}, got {value!r}")


def _drop_short(frame, *, name, min_history, strict, repairs, dropped):
    counts = frame.notna().sum()
    for asset, n in counts.items():
        if min_history is not None and n < min_history:
            dropped[asset] = f"{n} prices < min_history={min_history}"
        elif n == 0:
            msg = f"{name} asset {asset!r} has no prices between {frame.index[0].date()} and {frame.index[-1].date()}"
            if strict:
                raise DataError(msg + "; pass min_history or strict=False to drop it")
            repairs.append(msg + " -> dropped the asset")
            dropped[asset] = "no prices"
    if len(dropped) == frame.shape[1]:
        raise DataError(f"{name}: every asset was dropped ({dropped})")
    return frame.drop(columns=list(dropped))


def _common_span(frame, *, name, start, end, strict, repairs, trimmed):
    firsts = frame.apply(pd.Series.first_valid_index)
    lasts = frame.apply(pd.Series.last_valid_index)
    checks = [(start, firsts, 1, "begins on", "start"), (end, lasts, -1, "ends on", "end")]
    for bound, dates, sign, verb, label in checks:
        if bound is None:
            continue
        late = dates[sign * (dates - pd.Timestamp(bound)) > DATE_TOLERANCE]
        for asset, date in late.items():
            msg = (f"{name} asset {asset!r}: requested {label} {pd.Timestamp(bound).date()} is outside its "
                   f"history, which {verb} {date.date()}")
            if strict:
                raise DataError(msg + "; change the dates, pass min_history to drop the asset, or strict=False to trim")
            repairs.append(msg + " -> trimmed the panel to its history")
    t0, t1 = firsts.max(), lasts.min()
    if t0 > t1:
        raise DataError(f"{name}: the assets' histories do not overlap (latest start {t0.date()} > earliest end {t1.date()})")
    if t0 > frame.index[0]:
        trimmed.append(f"panel starts on {t0.date()}, the first price of {firsts.idxmax()!r} (data begin {frame.index[0].date()})")
    if t1 < frame.index[-1]:
        trimmed.append(f"panel ends on {t1.date()}, the last price of {lasts.idxmin()!r} (data end {frame.index[-1].date()})")
    return frame.loc[t0:t1]


def _fill_gaps(frame, *, name, max_ffill, strict, repairs):
    mask = frame.isna().to_numpy()
    for j, asset in enumerate(frame.columns):
        starts, lengths = nan_runs(mask[:, j])
        long = np.flatnonzero(lengths > max_ffill)
        for k in long:
            a, n = starts[k], lengths[k]
            msg = (f"{name} asset {asset!r} has {n} consecutive missing (NaN) price(s) from "
                   f"{frame.index[a].date()} to {frame.index[a + n - 1].date()}, more than max_ffill={max_ffill}")
            if strict:
                raise DataError(msg + "; raise max_ffill, fix the data, or pass strict=False")
            repairs.append(msg + " -> forward-filled")
    return frame.ffill(), dict(zip(frame.columns, mask.sum(axis=0).tolist()))


def align(
    frame: pd.DataFrame,
    *,
    name: str,
    strict: bool = True,
    max_ffill: int = 5,
    min_history: int | None = None,
    start=None,
    end=None,
    repairs: list[str] | None = None,
) -> pd.DataFrame:
    """Apply the missing-data policy of this module to a wide price frame.

    Parameters
    ----------
    frame : DataFrame (n_dates, n_assets) of positive prices or NaN, sorted unique dates.
    name : source label for messages.
    strict : raise on policy violations (False: repair and report in ``repairs``).
    max_ffill : longest run of missing dates forward-filled, >= 0.
    min_history : drop assets with fewer prices than this (None: never drop).
    start, end : the dates the user asked for explicitly (None: not asked).
    repairs : list receiving one message per repair.

    Returns
    -------
    DataFrame (n_span, n_kept) without NaN; ``attrs`` holds ``missing`` (asset -> number of
    forward-filled dates), ``dropped`` (asset -> reason) and ``trimmed`` (messages).
    """
    repairs = [] if repairs is None else repairs
    _check_int(max_ffill, "max_ffill", 0)
    if min_history is not None:
        _check_int(min_history, "min_history", 1)
    dropped: dict[str, str] = {}
    trimmed: list[str] = []
    frame = _drop_short(frame, name=name, min_history=min_history, strict=strict, repairs=repairs, dropped=dropped)
    frame = _common_span(frame, name=name, start=start, end=end, strict=strict, repairs=repairs, trimmed=trimmed)
    frame, missing = _fill_gaps(frame, name=name, max_ffill=max_ffill, strict=strict, repairs=repairs)
    if len(frame) < 2:
        raise DataError(f"{name} has only {len(frame)} date(s) ({frame.index[0].date()}); at least 2 are needed")
    frame.attrs.update(missing=missing, dropped=dropped, trimmed=trimmed)
    return frame
