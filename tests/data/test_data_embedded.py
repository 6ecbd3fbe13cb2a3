"""Embedded datasets: location, default start, the 1990s zero-return wart, list_datasets."""

import numpy as np
import pandas as pd
import pytest

import finscore
from finscore.data import embedded, list_datasets, load_prices
from finscore.errors import DataSourceError

SP500 = ["AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
         "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM"]


def test_load_sp500_is_the_20_stock_panel_from_2000():
    p = finscore.load_prices("sp500")
    assert list(p.columns) == SP500
    assert p.index.name == "date" and isinstance(p.index, pd.DatetimeIndex)
    assert p.index[0] == pd.Timestamp("2000-01-03") and p.index[-1] == pd.Timestamp("2022-12-28")
    assert p.dtypes.eq(np.float64).all() and np.isfinite(p.to_numpy()).all()
    raw = pd.read_csv(embedded.embedded_path("sp500"), index_col=0, parse_dates=True).loc["2000":]
    np.testing.assert_array_equal(p.to_numpy(), raw.to_numpy())


def test_explicit_start_overrides_default():
    p = load_prices("sp500", start="1990-01-01", end="1990-12-31", assets=["AAPL", "RRC"])
    assert p.index[0] == pd.Timestamp("1990-01-02") and list(p.columns) == ["AAPL", "RRC"]


def test_factors_default_start_is_their_first_date():
    p = load_prices("factors")
    assert p.index[0] == pd.Timestamp("2014-01-02") and p.shape == (2264, 5)


def test_zero_return_wart_is_small_from_2000():
    full = load_prices("sp500", start="1990-01-01")
    zeros_full = (np.log(full).diff().iloc[1:] == 0).sum()
    p = load_prices("sp500")
    zeros_2000 = (np.log(p).diff().iloc[1:] == 0).sum()
    assert zeros_full["RRC"] == 1078 and zeros_2000["RRC"] < 130  # 955 of RRC's zero days are pre-2000
    # from 2000 every asset has < 3% zero-return days; the full period is far worse in total
    assert (zeros_2000 / (len(p) - 1)).max() < 0.03
    assert zeros_2000.sum() < 0.5 * zeros_full.sum()


def test_list_datasets():
    table = list_datasets()
    assert list(table.index) == ["sp500", "sp500_index", "factors"]
    assert table.loc["sp500", "n_assets"] == 20 and table.loc["sp500", "n_dates"] == 8313
    assert table.loc["factors", "first_date"] == "2014-01-02"


def test_package_copy_is_preferred_then_repo(tmp_path, monkeypatch):
    pkg = tmp_path / "_embedded"
    pkg.mkdir()
    (pkg / "sp500_index.csv.gz").write_bytes(embedded.embedded_path("sp500_index").read_bytes())
    monkeypatch.setattr(embedded, "data_dirs", lambda: [pkg, tmp_path / "data"])
    assert embedded.embedded_path("sp500_index") == pkg / "sp500_index.csv.gz"


def test_missing_embedded_files_give_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "data_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(DataSourceError, match=r"embedded dataset 'sp500' \(sp500_dataset.csv.gz\) not found; searched"):
        embedded.embedded_path("sp500")


def test_unknown_embedded_name():
    with pytest.raises(DataSourceError, match="unknown embedded dataset 'nope'"):
        embedded.embedded_path("nope")


def test_end_before_default_start_asks_for_explicit_start():
    from finscore.errors import DataError

    with pytest.raises(DataError, match="end 1995-12-31 is before the default start 2000-01-01"):
        load_prices("sp500", end="1995-12-31")
