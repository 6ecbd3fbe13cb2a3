"""Validation of user-supplied price and return frames: specific errors, never a silent drop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from finscore.errors import DataError


def check_positive_int(value, name: str) -> int:
    """``value`` as an int if it is a positive integer (a Python or numpy int, not a bool), else a ValueError
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_int(value, name: str, low: int = 1) -> int:
    """``value`` as an int if it is an integer (a Python or numpy int, not a bool) >= ``low``, else a ``DataError``
    (a ValueError) naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise DataError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_date(value, name: str) -> pd.Timestamp:
    """``value`` (a string, date or Timestamp) as a Timestamp, else a ``DataError`` naming the argument ``name``."""
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{name}: cannot read {value!r} as a date ({exc})") from None
    if t is pd.NaT:
        raise DataError(f"{name}: {value!r} is not a date")
    return t


def check_returns(returns: pd.DataFrame, *, name: str = "returns", min_rows: int = 2,
                  reject_prices: bool = False) -> pd.DataFrame:
    """Validate a (n_dates, n_assets) frame of daily returns and return it as float64.

    Raises ``DataError`` naming the asset and date for: a non-DataFrame, a non-datetime
    index, duplicate or unsorted dates, non-numeric columns, NaN/inf values, fewer than
    ``min_rows`` rows, duplicate asset names. The returned frame has string column names and a tz-naive index
    (a tz-aware one keeps its local dates). With ``reject_prices``, also for a column that looks
    like prices (every value positive with a median above 0.5: no daily return series looks like that).
    """
    if not isinstance(returns, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame (dates × assets), got {type(returns).__name__}")
    if returns.shape[1] == 0:
        raise DataError(f"{name} has no asset columns")
    if len(returns) < min_rows:
        raise DataError(f"{name} has {len(returns)} rows; at least {min_rows} are needed")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise DataError(f"{name} must have a DatetimeIndex, got {type(returns.index).__name__}")
    names = pd.Index([str(c) for c in returns.columns])  # assets are known by their names as strings
    dup_cols = names[names.duplicated()].tolist()
    if dup_cols:
        raise DataError(f"{name} has duplicate asset columns: {dup_cols}")
    dup = duplicate_dates(returns.index)
    if len(dup):
        raise DataError(f"{name} has duplicate dates, first {dup[0].date()}")
    pos = first_unsorted(returns.index)
    if pos is not None:
        raise DataError(f"{name} dates are not sorted: {returns.index[pos].date()} comes after {returns.index[pos - 1].date()}")
    for col in returns.columns:
        if not pd.api.types.is_numeric_dtype(returns[col]) or pd.api.types.is_bool_dtype(returns[col]):
            raise DataError(f"{name} column {col!r} is not numeric (dtype {returns[col].dtype})")
    values = returns.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(values[i, j]) else "infinite"
        raise DataError(
            f"{name} has {int(bad.sum())} missing/non-finite values; first: {kind} for asset "
            f"{returns.columns[j]!r} on {returns.index[i].date()}"
        )
    if reject_prices:
        med = np.median(values, axis=0)
        pricey = np.flatnonzero((values > 0).all(axis=0) & (med > 0.5))
        if pricey.size:
            j = int(pricey[0])
            raise DataError(f"{name} column {returns.columns[j]!r} looks like prices, not returns (every value "
                            f"positive, median {med[j]:.4g}); convert prices with finscore.data.to_returns")
    out = returns.astype(np.float64).set_axis(names, axis=1)
    if out.index.tz is not None:
        out.index = out.index.tz_localize(None)  # each date's local calendar day, as load_prices keeps it
    return out


def check_same_assets(frame: pd.DataFrame, assets, *, name: str = "context") -> pd.DataFrame:
    """Return ``frame`` with columns ordered as ``assets``; error naming missing or extra assets."""
    assets = list(assets)
    missing = [a for a in assets if a not in frame.columns]
    extra = [a for a in frame.columns if a not in assets]
    if missing or extra:
        raise DataError(f"{name} assets do not match the fitted assets: missing {missing}, unexpected {extra}")
    return frame[assets]


def duplicate_dates(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Distinct dates that occur more than once in ``index``, in order of first repetition."""
    return index[index.duplicated()].unique()


def first_unsorted(index: pd.DatetimeIndex) -> int | None:
    """Position ``i`` of the first date not strictly after ``index[i - 1]``, or None if sorted."""
    if len(index) < 2:
        return None
    steps = np.diff(index.asi8) <= 0
    return int(np.argmax(steps)) + 1 if steps.any() else None


def check_prices(prices: pd.DataFrame, *, name: str = "prices", min_rows: int = 2) -> pd.DataFrame:
    """Validate a (n_dates, n_assets) price frame: :func:`check_returns` plus strictly positive prices.

    Raises ``DataError`` naming the asset and date of the first non-positive price.
    """
    prices = check_returns(prices, name=name, min_rows=min_rows)
    values = prices.to_numpy()
    bad = values <= 0
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(
            f"{name} has {int(bad.sum())} non-positive values; first: {float(values[i, j])!r} for asset "
            f"{prices.columns[j]!r} on {prices.index[i].date()}"
        )
    return prices
