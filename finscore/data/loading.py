"""``load_prices``: one entry point over embedded sets, files, frames and Yahoo Finance."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

from finscore.data import alignment, cleaning
from finscore.data.checks import check_date
from finscore.data.embedded import DATASETS, EMBEDDED_DEFAULT_START, read_embedded
from finscore.data.sources import read_file, to_wide
from finscore.data.yahoo import PREFIX, load_yahoo
from finscore.errors import DataError, DataSourceError


def _read_source(source, start, end, cache_dir) -> tuple[pd.DataFrame, str]:
    """Raw frame and a label for messages; no cleaning."""
    if isinstance(source, pd.DataFrame):
        return source, "price frame"
    if not isinstance(source, (str, os.PathLike)):
        raise DataSourceError(f"source must be a dataset name, a path, 'yahoo:TICKERS' or a DataFrame, got {type(source).__name__}")
    text = os.fspath(source)
    if isinstance(source, str) and text.lower().startswith(PREFIX):
        return load_yahoo(text, start, end, cache_dir=cache_dir), text
    if isinstance(source, str) and text in DATASETS:
        return read_embedded(text), text
    path = Path(text).expanduser()
    if path.exists() or path.suffix or os.sep in text:
        return read_file(path), str(path)
    raise DataSourceError(
        f"unknown price source {text!r}: not an embedded dataset ({', '.join(DATASETS)}), "
        "not an existing file, and not 'yahoo:TICKER1,TICKER2'"
    )


def _summary_warning(name: str, frame: pd.DataFrame) -> None:
    notes = list(frame.attrs["repairs"])
    notes += [f"dropped asset {a!r} ({why})" for a, why in frame.attrs["dropped"].items()]
    notes += frame.attrs["trimmed"]
    if notes:
        shown = "; ".join(notes[:5]) + (f"; ... and {len(notes) - 5} more" if len(notes) > 5 else "")
        warnings.warn(f"{name}: {len(notes)} change(s) to the raw data: {shown} "
                      "(see frame.attrs['repairs'], ['dropped'], ['trimmed'])", UserWarning, stacklevel=3)


def load_prices(
    source,
    start=None,
    end=None,
    assets=None,
    *,
    strict: bool = True,
    max_ffill: int = 5,
    min_history: int | None = None,
    cache_dir=None,
) -> pd.DataFrame:
    """Load a clean daily price panel aligned on one calendar.

    Parameters
    ----------
    source : str, path or DataFrame
        An embedded name (``"sp500"``, ``"sp500_index"``, ``"factors"``; see
        :func:`list_datasets`), a CSV/Parquet path in wide form (date × assets) or long form
        (date, asset, price columns; detected), ``"yahoo:AAPL,MSFT"`` (yfinance, cached on
        disk), or a DataFrame in wide or long form.
    start, end : date-like, optional
        Inclusive bounds. Embedded sets default to ``start="2000-01-01"`` because 1990s
        prices were rounded to 3 decimals (spurious zero returns; see ``data/README.md``).
    assets : list of str, optional
        Columns to keep, in this order; a missing one is an error.
    strict : bool
        True: bad input raises ``DataError`` naming asset and date. False: repair (sort,
        de-duplicate, treat bad prices as missing, fill long gaps, trim) and report each
        repair in ``attrs["repairs"]`` plus one ``UserWarning``.
    max_ffill : int
        Longest run of consecutive missing dates that is forward-filled (policy in
        :mod:`finscore.data.alignment`).
    min_history : int, optional
        Drop assets with fewer prices than this in the range (reported); None never drops.
    cache_dir : path, optional
        Yahoo cache folder (default ``~/.cache/finscore/yahoo``).

    Returns
    -------
    DataFrame (n_dates, n_assets)
        float64 prices, DatetimeIndex named ``date``, no NaN. ``attrs``: ``source``,
        ``repairs`` (list of str), ``missing`` (asset -> forward-filled dates), ``dropped``
        (asset -> reason), ``trimmed`` (messages).

    Raises
    ------
    DataSourceError
        Unknown source, missing/unparsable file, Yahoo unreachable without a cache.
    DataError
        Invalid data or arguments (message names the asset and date).
    """
    embedded = isinstance(source, str) and source in DATASETS
    raw, name = _read_source(source, start, end, cache_dir)
    repairs: list[str] = []
    frame = to_wide(raw, name=name, strict=strict, repairs=repairs)
    frame = cleaning.fix_dates(frame, name=name, strict=strict, repairs=repairs)
    implicit_start = embedded and start is None
    if implicit_start and end is not None and check_date(end, "end") < pd.Timestamp(EMBEDDED_DEFAULT_START):
        raise DataError(f"end {pd.Timestamp(end).date()} is before the default start {EMBEDDED_DEFAULT_START} of "
                        f"embedded data (1990s prices are rounded, see data/README.md); pass start explicitly")
    frame = cleaning.select(frame, name=name, assets=assets, end=end,
                            start=max(pd.Timestamp(EMBEDDED_DEFAULT_START), frame.index[0]) if implicit_start else start)
    frame = cleaning.fix_columns(frame, name=name, strict=strict, repairs=repairs)
    frame = cleaning.mask_bad_values(frame, name=name, strict=strict, repairs=repairs)
    frame = alignment.align(frame, name=name, strict=strict, max_ffill=max_ffill, min_history=min_history,
                            start=None if implicit_start else start, end=end, repairs=repairs)
    frame.index.name = "date"
    frame.columns.name = None
    frame.attrs.update(source=name, repairs=repairs)
    _summary_warning(name, frame)
    return frame
