"""Price files (CSV, Parquet) and in-memory frames in wide or long form.

Wide form: one date column (or a DatetimeIndex) and one column per asset.
Long form: a date column, an asset column and a price column (names below,
case-insensitive); it is detected automatically and pivoted to wide form.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from finscore.errors import DataError, DataSourceError

DATE_NAMES = ("date", "datetime", "timestamp", "time", "day")
ASSET_NAMES = ("asset", "ticker", "symbol", "instrument", "name", "id")
PRICE_NAMES = ("price", "adj_close", "adj close", "adjclose", "adjusted_close", "close", "value", "px_last")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def _find(columns, names) -> str | None:
    """First column whose lower-cased, stripped name is in ``names`` (in ``names`` order)."""
    lookup = {str(c).strip().lower(): c for c in columns}
    return next((lookup[n] for n in names if n in lookup), None)


def read_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame exactly as stored (no cleaning).

    Raises
    ------
    DataSourceError
        The file does not exist, has an unsupported suffix, or cannot be parsed.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataSourceError(f"price file not found: {path}")
    if not path.is_file():
        raise DataSourceError(f"price source {path} is not a file")
    name = path.name.lower()
    try:
        if name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(path)
        if name.endswith(CSV_SUFFIXES):
            sep = "\t" if name.endswith(".tsv") else ","
            _check_header(pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0].tolist(), path)
            return pd.read_csv(path, sep=sep)
    except DataError:
        raise
    except Exception as exc:  # pandas / pyarrow / codec errors all mean "cannot parse"
        raise DataSourceError(f"cannot parse price file {path}: {type(exc).__name__}: {exc}") from exc
    raise DataSourceError(
        f"unsupported price file type {path.name!r}; use one of {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def _check_header(cells: list, path: Path) -> None:
    """A CSV's first row must be a header: no repeated names (pandas would rename them silently), and not a row of
    data (which would be read as the names and lost)."""
    names = ["" if pd.isna(c) else str(c).strip() for c in cells]
    repeated = sorted({c for c in names if c and names.count(c) > 1})  # pandas names empty ones "Unnamed: k"
    if repeated:
        raise DataError(f"price file {path} repeats the column name(s) {repeated} in its header; give each asset "
                        "one column")
    numbers = pd.to_numeric(pd.Series(cells[1:], dtype=object), errors="coerce")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' format-inference warnings for a name that is no date
        first_is_date = pd.notna(pd.to_datetime(names[0], errors="coerce"))
    if len(cells) > 1 and numbers.notna().all() and first_is_date:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise DataError(f"price file {path} has no header: its first row ({shown}) is data; add a header row (the "
                        "date column's name, then one name per asset)")


def _local_timestamp(value) -> pd.Timestamp:
    """One value as a tz-naive timestamp of its local wall time (NaT if unparsable)."""
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    return t if t is pd.NaT or t.tz is None else t.tz_localize(None)


def parse_dates(values, *, name: str, column: str = "date") -> pd.DatetimeIndex:
    """Parse ``values`` to a tz-naive DatetimeIndex named ``date``.

    Raises ``DataError`` naming the first missing or unparsable value and its row.
    """
    if isinstance(values, pd.DatetimeIndex):
        idx = values
        if idx.hasnans:
            raise DataError(f"{name} has a missing date (NaT) in its index at row {int(np.argmax(idx.isna()))}")
    else:
        if pd.api.types.is_numeric_dtype(pd.Series(values)):
            raise DataError(f"{name} column {column!r} holds numbers, not dates; put the dates in the first column")
        raw = pd.Series(np.asarray(values, dtype=object))
        missing = raw.isna().to_numpy()
        if missing.any():
            raise DataError(f"{name} has a missing date in column {column!r} at row {int(np.argmax(missing))}")
        try:
            idx = pd.DatetimeIndex(pd.to_datetime(raw, errors="coerce"))
        except (ValueError, TypeError):  # mixed UTC offsets (e.g. across daylight saving): each value's local date
            idx = pd.DatetimeIndex([_local_timestamp(v) for v in raw])
        bad = idx.isna()
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{name} has an unparsable date {raw.iloc[i]!r} in column {column!r} at row {i}")
    if idx.tz is not None:
        idx = idx.tz_localize(None)  # keep the local calendar date of each timestamp
    # daily data: a time of day (e.g. a close stamped 16:00) is dropped, so two rows of one day are duplicate dates
    return pd.DatetimeIndex(idx.normalize(), name="date")


def _pivot_long(frame: pd.DataFrame, date_col, asset_col, price_col, *, name: str, strict: bool, repairs: list[str]):
    blank = (frame[asset_col].isna() | (frame[asset_col].astype(str).str.strip() == "")).to_numpy()
    if blank.any():
        raise DataError(f"{name} (long form) has a missing asset name in column {asset_col!r} at row "
                        f"{int(np.argmax(blank))}")
    long = pd.DataFrame(
        {"date": parse_dates(frame[date_col], name=name, column=str(date_col)), "asset": frame[asset_col].astype(str)}
    )
    long["price"] = frame[price_col].to_numpy()
    dup = long.duplicated(["date", "asset"], keep="last")
    if dup.any():
        first = long[dup].iloc[0]
        msg = f"{name} (long form) has {int(dup.sum())} duplicate (date, asset) rows; first: asset {first['asset']!r} on {first['date'].date()}"
        if strict:
            raise DataError(msg)
        repairs.append(msg + " -> kept the last row of each")
        long = long[~dup]
    wide = long.pivot(index="date", columns="asset", values="price")
    wide.columns.name = None
    return wide[list(pd.unique(long["asset"]))]  # assets in order of first appearance; dates sorted


def to_wide(frame: pd.DataFrame, *, name: str, strict: bool = True, repairs: list[str] | None = None) -> pd.DataFrame:
    """Turn a wide or long price frame into wide form with a parsed ``date`` index.

    Parameters
    ----------
    frame : DataFrame, either (n_dates, n_assets) with a DatetimeIndex or a date column,
        or long form (n_rows, 3) with date, asset and price columns.
    name : label used in error messages (the source).
    strict : if False, duplicate (date, asset) rows of a long frame keep the last one and are reported.
    repairs : list that receives a message for every repair.

    Returns
    -------
    DataFrame (n_dates, n_assets), index ``date``; values not yet validated.
    """
    repairs = [] if repairs is None else repairs
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataError(f"{name} is empty ({frame.shape[0]} rows, {frame.shape[1]} columns)")
    has_index = isinstance(frame.index, pd.DatetimeIndex)
    date_col = None if has_index else _find(frame.columns, DATE_NAMES)
    asset_col, price_col = _find(frame.columns, ASSET_NAMES), _find(frame.columns, PRICE_NAMES)
    # numeric asset ids (PERMNO-style) are long form too when the dates repeat, as no wide frame's do
    dates_repeat = frame.index.has_duplicates if has_index else (
        date_col is not None and bool(frame[date_col].duplicated().any()))
    is_long = (asset_col is not None and price_col is not None and asset_col != price_col
               and (not pd.api.types.is_numeric_dtype(frame[asset_col]) or dates_repeat))
    if is_long:
        if has_index:
            frame = frame.rename_axis("__date__").reset_index()
            date_col = "__date__"
        if date_col is None:
            raise DataError(f"{name} looks like long form ({asset_col!r}, {price_col!r}) but has no date column")
        return _pivot_long(frame, date_col, asset_col, price_col, name=name, strict=strict, repairs=repairs)
    if has_index:
        wide = frame.copy()
    elif date_col is None and not isinstance(frame.index, pd.RangeIndex):  # dates in a non-parsed index
        wide = frame.copy()
        wide.index = parse_dates(frame.index, name=name, column=str(frame.index.name or "index"))
    else:
        date_col = frame.columns[0] if date_col is None else date_col
        wide = frame.drop(columns=[date_col])
        wide.index = parse_dates(frame[date_col], name=name, column=str(date_col))
    wide.index = parse_dates(wide.index, name=name)
    wide.columns = [str(c) for c in wide.columns]
    if wide.shape[1] == 0:
        raise DataError(f"{name} has a date column but no asset columns")
    return wide
