"""Yahoo source: cache miss -> download -> cache; cache hit; offline with and without a cache."""

import numpy as np
import pandas as pd
import pytest

from finscore.data import load_prices, yahoo
from finscore.errors import DataSourceError


def _fake_close(tickers, start=None, end=None):
    idx = pd.bdate_range("2021-01-04", "2021-03-31", name="Date")
    rng = np.random.default_rng(len(tickers))
    return pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(idx), len(tickers))), axis=0)),
                        index=idx, columns=list(tickers))


@pytest.fixture
def calls(monkeypatch):
    """Replace the network wrapper; record the tickers of each call."""
    log = []

    def fake(tickers, start, end):
        log.append(list(tickers))
        return _fake_close(tickers, start, end)

    monkeypatch.setattr(yahoo, "_download", fake)
    return log


def test_cache_miss_downloads_then_hit_reuses(calls, tmp_path):
    first = load_prices("yahoo:AAPL,msft", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    assert calls == [["AAPL", "MSFT"]] and list(first.columns) == ["AAPL", "MSFT"]
    assert (tmp_path / "AAPL.parquet").is_file() and (tmp_path / "MSFT.json").is_file()
    second = load_prices("yahoo:MSFT,AAPL", start="2021-02-01", end="2021-03-31", cache_dir=tmp_path)
    assert calls == [["AAPL", "MSFT"]]  # served from cache
    pd.testing.assert_frame_equal(second[["AAPL", "MSFT"]], first.loc["2021-02-01":], check_freq=False)


def test_partial_cache_downloads_only_missing_ticker(calls, tmp_path):
    load_prices("yahoo:AAPL", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    load_prices("yahoo:AAPL,IBM", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    assert calls == [["AAPL"], ["IBM"]]


def test_cache_not_covering_request_is_a_miss(calls, tmp_path):
    load_prices("yahoo:AAPL", start="2021-02-01", end="2021-03-31", cache_dir=tmp_path)
    load_prices("yahoo:AAPL", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    assert calls == [["AAPL"], ["AAPL"]]


def test_offline_with_warm_cache_works(calls, tmp_path, monkeypatch):
    warm = load_prices("yahoo:AAPL", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    monkeypatch.setenv("FINSCORE_OFFLINE", "1")
    monkeypatch.setattr(yahoo, "_download", lambda *a: pytest.fail("offline mode must not download"))
    again = load_prices("yahoo:AAPL", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, warm, check_freq=False)


def test_offline_without_cache_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("FINSCORE_OFFLINE", "1")
    with pytest.raises(DataSourceError, match=r"cannot get Yahoo prices for AAPL: download failed \(offline.*no cached copy"):
        load_prices("yahoo:AAPL", cache_dir=tmp_path)


def test_network_failure_without_cache_fails_clearly(tmp_path, monkeypatch):
    def down(*a):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(yahoo, "_download", down)
    with pytest.raises(DataSourceError, match=r"AAPL: download failed \(ConnectionError: no route to host\)"):
        load_prices("yahoo:AAPL", cache_dir=tmp_path)


def test_network_failure_with_stale_cache_warns_and_uses_it(calls, tmp_path, monkeypatch):
    load_prices("yahoo:AAPL", start="2021-01-04", end="2021-03-31", cache_dir=tmp_path)
    monkeypatch.setattr(yahoo, "_download", lambda *a: pd.DataFrame())  # yfinance returns empty when offline
    with pytest.warns(UserWarning, match="Yahoo download of AAPL failed .* using the cached copy"):
        out = load_prices("yahoo:AAPL", start="2021-01-04", cache_dir=tmp_path)  # open end: cache does not cover
    assert out.index[-1] == pd.Timestamp("2021-03-31")


def test_download_wrapper_extracts_adjusted_close(monkeypatch):
    """Patch yfinance.download itself: the MultiIndex (Price, Ticker) layout of yfinance >= 0.2.48."""
    import yfinance

    seen = {}

    def fake_download(tickers, **kw):
        seen.update(kw)
        close = _fake_close(tickers)
        cols = pd.MultiIndex.from_product([["Close", "Open"], list(tickers)], names=["Price", "Ticker"])
        return pd.DataFrame(np.hstack([close.to_numpy(), close.to_numpy() * 0 + 1]), index=close.index, columns=cols)

    monkeypatch.setattr(yfinance, "download", fake_download)
    out = yahoo._download(["AAPL", "MSFT"], pd.Timestamp("2021-01-04"), pd.Timestamp("2021-03-31"))
    assert list(out.columns) == ["AAPL", "MSFT"] and (out > 1).all().all()
    assert seen["start"] == "2021-01-04" and seen["end"] == "2021-04-01" and seen["auto_adjust"] is True
    yahoo._download(["AAPL"], None, None)
    assert seen["period"] == "max"


@pytest.mark.parametrize(("source", "msg"), [("yahoo:", "no tickers"), ("yahoo:AA PL", "invalid Yahoo ticker"),
                                             ("yahoo:A,a", "duplicate tickers")])
def test_bad_yahoo_source(source, msg):
    with pytest.raises(DataSourceError, match=msg):
        load_prices(source)


class _Clock:
    """Stands in for yahoo.datetime: ``now`` is set by the test."""

    t = None

    @classmethod
    def now(cls, tz=None):
        return cls.t


def test_a_range_cut_at_the_download_is_current_only_while_recent(calls, tmp_path, monkeypatch):
    """Asked up to 2021-03-31 during the day of 2021-03-15, the download ends there: a day later the same request
    must download again (before, the recorded end 2021-03-31 covered it for ever)."""
    from datetime import datetime, timezone

    monkeypatch.setattr(yahoo, "datetime", _Clock)
    _Clock.t = datetime(2021, 3, 15, 15, 0, tzinfo=timezone.utc)
    ask = {"start": "2021-01-04", "end": "2021-03-31", "cache_dir": tmp_path}
    load_prices("yahoo:AAPL", **ask)
    _Clock.t = datetime(2021, 3, 15, 18, 0, tzinfo=timezone.utc)
    load_prices("yahoo:AAPL", **ask)
    assert len(calls) == 1  # within the day: the cached copy
    _Clock.t = datetime(2021, 4, 10, 12, 0, tzinfo=timezone.utc)
    load_prices("yahoo:AAPL", **ask)
    assert len(calls) == 2
    _Clock.t = datetime(2021, 6, 1, 12, 0, tzinfo=timezone.utc)
    load_prices("yahoo:AAPL", **ask)  # downloaded after 2021-03-31: final, served from the cache
    assert len(calls) == 2


def test_an_interrupted_cache_write_is_a_miss_not_a_wrong_range(calls, tmp_path, monkeypatch):
    wide = {"start": "2021-01-04", "end": "2021-03-31", "cache_dir": tmp_path}
    load_prices("yahoo:AAPL", **wide)
    real = yahoo.atomic_write_text

    def fails(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(yahoo, "atomic_write_text", fails)  # the prices are written, their range is not
    with pytest.raises(OSError, match="disk full"):
        load_prices("yahoo:AAPL", start="2020-06-01", end="2021-03-31", cache_dir=tmp_path)
    monkeypatch.setattr(yahoo, "atomic_write_text", real)
    load_prices("yahoo:AAPL", **wide)
    assert len(calls) == 3  # downloaded again (before: the old range served with the new file's prices)
