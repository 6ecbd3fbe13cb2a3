"""Yahoo Finance prices via ``yfinance``, cached on disk one ticker per file.

Source strings look like ``"yahoo:AAPL,MSFT"``. Each ticker's adjusted closes are cached as
``<cache_dir>/<TICKER>.parquet`` with a JSON sidecar recording the requested range and the
download time. A request is served from the cache when the cached range covers it (an
open-ended cache counts as current for :data:`CACHE_TTL`). Offline use: with
``FINSCORE_OFFLINE=1`` no download is tried; a download that fails falls back to the cache
with a warning; with no cache either, ``DataSourceError`` says so.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from finscore._io import atomic_path, atomic_write_text
from finscore.errors import DataSourceError

PREFIX = "yahoo:"
CACHE_TTL = pd.Timedelta(days=1)
_TICKER = re.compile(r"^[A-Z0-9^][A-Z0-9.^=_-]{0,19}$")


def parse_source(source: str) -> list[str]:
    """Tickers of a ``"yahoo:T1,T2"`` source string, upper-cased and validated."""
    tickers = [t.strip().upper() for t in source[len(PREFIX):].split(",") if t.strip()]
    if not tickers:
        raise DataSourceError(f"no tickers in {source!r}; write e.g. 'yahoo:AAPL,MSFT'")
    bad = [t for t in tickers if not _TICKER.match(t)]
    if bad:
        raise DataSourceError(f"invalid Yahoo ticker(s) {bad} in {source!r}")
    if len(set(tickers)) < len(tickers):
        raise DataSourceError(f"duplicate tickers in {source!r}")
    return tickers


def default_cache_dir() -> Path:
    """``$FINSCORE_CACHE_DIR/yahoo`` or ``$XDG_CACHE_HOME/finscore/yahoo`` (default ``~/.cache``)."""
    if os.environ.get("FINSCORE_CACHE_DIR"):
        return Path(os.environ["FINSCORE_CACHE_DIR"]).expanduser() / "yahoo"
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "finscore" / "yahoo"


def _download(tickers: list[str], start, end) -> pd.DataFrame:
    """Thin wrapper over ``yfinance.download``: adjusted closes, DataFrame (n_dates, n_tickers).

    ``start``/``end`` are inclusive ``Timestamp`` or None (whole history / up to today).
    Tests replace this function (or ``yfinance.download``); nothing else touches the network.
    """
    import yfinance

    kw = {"period": "max"} if start is None else {"start": start.strftime("%Y-%m-%d")}
    if end is not None:
        kw["end"] = (end + pd.Timedelta(days=1)).strftime("%Y-%m-%d")  # yfinance's end is exclusive
    raw = yfinance.download(tickers, auto_adjust=True, progress=False, threads=False, multi_level_index=True, **kw)
    if raw is None or raw.empty:
        return pd.DataFrame()
    close = raw["Close"] if isinstance(raw.columns, pd.MultiIndex) else raw[["Close"]].set_axis(tickers, axis=1)
    return close if isinstance(close, pd.DataFrame) else close.to_frame(tickers[0])


def _covers(meta: dict, start, end, now) -> bool:
    c0 = None if meta.get("start") is None else pd.Timestamp(meta["start"])
    c1 = None if meta.get("end") is None else pd.Timestamp(meta["end"])
    ok_start = c0 is None or (start is not None and c0 <= start)
    fetched = pd.Timestamp(meta["downloaded"]).tz_localize(None)
    # a request that ends before the download day got final prices; one that ends later is current only while
    # the download is recent (a range asked up to a future end, or to today, was cut at the download)
    current = (end is not None and end < fetched.normalize()) or now - fetched < CACHE_TTL
    ok_end = current if c1 is None else (end is not None and c1 >= end and current)
    return ok_start and ok_end


def _read_cache(folder: Path, ticker: str):
    data, meta = folder / f"{ticker}.parquet", folder / f"{ticker}.json"
    if not (data.is_file() and meta.is_file()):
        return None, None
    try:
        return pd.read_parquet(data)[ticker], json.loads(meta.read_text(encoding="utf-8"))
    except Exception as exc:  # a corrupt cache is a miss, not a crash
        warnings.warn(f"ignoring unreadable Yahoo cache for {ticker} in {folder}: {exc}", UserWarning, stacklevel=3)
        return None, None


def _write_cache(folder: Path, ticker: str, series: pd.Series, start, end, now) -> None:
    # the range file goes first: if the new prices are written and their range is not, the cache is a miss, not
    # the old range claimed for the new prices
    (folder / f"{ticker}.json").unlink(missing_ok=True)
    with atomic_path(folder / f"{ticker}.parquet") as tmp:
        series.rename_axis("date").to_frame(ticker).to_parquet(tmp)
    meta = {"start": None if start is None else str(start.date()), "end": None if end is None else str(end.date()),
            "downloaded": now.isoformat()}
    atomic_write_text(folder / f"{ticker}.json", json.dumps(meta))


def load_yahoo(source: str, start=None, end=None, *, cache_dir=None, offline: bool | None = None) -> pd.DataFrame:
    """Adjusted closes for a ``"yahoo:T1,T2"`` source, from the cache or Yahoo Finance.

    Parameters
    ----------
    source : ``"yahoo:"`` followed by comma-separated tickers.
    start, end : inclusive date bounds (None: whole history / up to today).
    cache_dir : cache folder (default :func:`default_cache_dir`).
    offline : never download (default: ``FINSCORE_OFFLINE`` environment variable is set to 1/true).

    Returns
    -------
    DataFrame (n_dates, n_tickers), union of the tickers' dates (gaps are NaN; cleaned later).
    """
    tickers = parse_source(source)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if offline is None:
        offline = os.environ.get("FINSCORE_OFFLINE", "").strip().lower() in ("1", "true", "yes")
    t0 = None if start is None else pd.Timestamp(start)
    t1 = None if end is None else pd.Timestamp(end)
    now = pd.Timestamp(datetime.now(timezone.utc)).tz_localize(None)
    cached = {t: _read_cache(folder, t) for t in tickers}
    need = [t for t in tickers if cached[t][0] is None or not _covers(cached[t][1], t0, t1, now)]
    series, reason = {t: cached[t][0] for t in tickers if t not in need}, "offline (FINSCORE_OFFLINE)"
    if need and not offline:
        try:
            fresh, reason = _download(need, t0, t1), "no data returned"
        except Exception as exc:  # network, rate limit, parsing: all fall back to the cache
            fresh, reason = pd.DataFrame(), f"{type(exc).__name__}: {exc}"
        for t in need:
            s = fresh[t].dropna() if t in fresh.columns else pd.Series(dtype=float)
            if len(s):
                s.index = pd.DatetimeIndex(s.index).tz_localize(None) if s.index.tz else pd.DatetimeIndex(s.index)
                _write_cache(folder, t, s, t0, t1, now)
                series[t] = s
    for t in need:
        if t in series:
            continue
        if cached[t][0] is None:
            raise DataSourceError(
                f"cannot get Yahoo prices for {t}: download failed ({reason}) and there is no cached copy in "
                f"{folder}. Connect once to warm the cache, or load a CSV/Parquet file instead."
            )
        warnings.warn(f"Yahoo download of {t} failed ({reason}); using the cached copy from "
                      f"{cached[t][1].get('downloaded')} (may not cover the requested dates)", UserWarning, stacklevel=2)
        series[t] = cached[t][0]
    frame = pd.DataFrame({t: series[t] for t in tickers}).sort_index()
    frame.index.name = "date"
    return frame
