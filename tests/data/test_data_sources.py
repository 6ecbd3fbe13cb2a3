"""File and frame sources: CSV / Parquet, wide / long form, unreadable inputs."""

import numpy as np
import pandas as pd
import pytest

from finscore.data import load_prices
from finscore.errors import DataError, DataSourceError


def _long(prices):
    return prices.rename_axis("Date").reset_index().melt(id_vars="Date", var_name="Ticker", value_name="Close")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_wide_file_roundtrip(prices, tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    if suffix == ".parquet":
        prices.to_parquet(path)
    else:
        prices.to_csv(path)
    out = load_prices(path)
    pd.testing.assert_frame_equal(out, prices, check_freq=False, rtol=1e-12)
    assert out.attrs["source"] == str(path) and out.attrs["repairs"] == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_form_is_detected_and_pivoted(prices, tmp_path, suffix):
    long = _long(prices).sample(frac=1.0, random_state=0)  # shuffled rows
    path = tmp_path / f"long{suffix}"
    long.to_parquet(path, index=False) if suffix == ".parquet" else long.to_csv(path, index=False)
    out = load_prices(str(path))
    assert list(out.columns) == list(pd.unique(long["Ticker"]))
    pd.testing.assert_frame_equal(out[["A", "B", "C"]], prices, check_freq=False)


def test_dataframe_sources_wide_and_long(prices):
    pd.testing.assert_frame_equal(load_prices(prices), prices, check_freq=False)
    pd.testing.assert_frame_equal(load_prices(_long(prices))[["A", "B", "C"]], prices, check_freq=False)
    with_col = prices.reset_index()  # date as a column
    pd.testing.assert_frame_equal(load_prices(with_col), prices, check_freq=False)


def test_long_form_with_numeric_asset_ids(prices, tmp_path):
    # PERMNO-style ids: numeric, but the dates repeat, so the file is long form, not a wide one with an "id" asset
    long = _long(prices).replace({"Ticker": {"A": 10107, "B": 14593, "C": 93436}}).rename(columns={"Ticker": "id"})
    path = tmp_path / "permno.csv"
    long.to_csv(path, index=False)
    for source in (path, long):
        out = load_prices(source)
        assert list(out.columns) == ["10107", "14593", "93436"]
        np.testing.assert_allclose(out.to_numpy(), prices.to_numpy())


def test_long_form_duplicate_rows(prices):
    long = _long(prices)
    dup = pd.concat([long, long.iloc[[3]].assign(Close=1.0)])
    with pytest.raises(DataError, match=r"duplicate \(date, asset\) rows; first: asset 'A' on 2020-01-06"):
        load_prices(dup)
    with pytest.warns(UserWarning, match="duplicate"):
        out = load_prices(dup, strict=False)
    assert out.loc["2020-01-06", "A"] == 1.0 and "kept the last row" in out.attrs["repairs"][0]


def test_missing_file(tmp_path):
    with pytest.raises(DataSourceError, match=r"price file not found: .*nope\.csv"):
        load_prices(tmp_path / "nope.csv")


def test_unknown_source_string():
    with pytest.raises(DataSourceError, match="unknown price source 'sp600'.*embedded dataset"):
        load_prices("sp600")


def test_unparsable_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataSourceError, match=r"cannot parse price file .*bad\.parquet"):
        load_prices(path)


def test_unparsable_gzip_csv(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataSourceError, match=r"cannot parse price file .*bad\.csv\.gz"):
        load_prices(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "prices.xlsx"
    path.write_text("x")
    with pytest.raises(DataSourceError, match=r"unsupported price file type 'prices.xlsx'"):
        load_prices(path)


def test_unparsable_date_names_row(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,A\n2020-01-01,1.0\nnot-a-date,2.0\n2020-01-03,3.0\n")
    with pytest.raises(DataError, match=r"unparsable date 'not-a-date' in column 'date' at row 1"):
        load_prices(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataSourceError, match=r"cannot parse price file .*empty\.csv"):
        load_prices(path)


def test_header_only_file_is_empty(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("date,A,B\n")
    with pytest.raises(DataError, match=r"is empty \(0 rows"):
        load_prices(path)


def test_bad_source_type():
    with pytest.raises(DataSourceError, match="source must be .* got ndarray"):
        load_prices(np.ones((3, 2)))


def test_string_date_index_is_parsed(prices):
    as_text = prices.set_axis(prices.index.strftime("%Y-%m-%d"), axis=0)
    pd.testing.assert_frame_equal(load_prices(as_text), prices, check_freq=False)


def test_numeric_first_column_is_not_a_date(tmp_path):
    path = tmp_path / "nodate.csv"
    path.write_text("A,B\n1.0,2.0\n1.1,2.1\n")
    with pytest.raises(DataError, match="column 'A' holds numbers, not dates"):
        load_prices(path)


def test_missing_date_value(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,A\n2020-01-01,1.0\n,2.0\n")
    with pytest.raises(DataError, match="missing date in column 'date' at row 1"):
        load_prices(path)


def test_wide_frame_with_asset_named_like_long_columns(prices):
    wide = prices.rename(columns={"A": "ticker", "B": "close"})
    assert list(load_prices(wide).columns) == ["ticker", "close", "C"]


def test_a_csv_without_header_is_refused(tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("2020-01-02,100,50\n2020-01-03,101,51\n2020-01-06,102,52\n")
    with pytest.raises(DataError, match=r"has no header: its first row \(2020-01-02, 100, 50\) is data"):
        load_prices(path)


def test_repeated_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("date,A,A\n2020-01-02,100,50\n2020-01-03,101,51\n2020-01-06,102,52\n")
    with pytest.raises(DataError, match=r"repeats the column name\(s\) \['A'\]"):
        load_prices(path)


def test_numeric_asset_names_are_a_header(prices, tmp_path):
    path = tmp_path / "codes.csv"
    prices.set_axis(["7203", "6758", "9984"], axis=1).to_csv(path)
    assert list(load_prices(path).columns) == ["7203", "6758", "9984"]


def test_a_time_of_day_is_dropped(prices, tmp_path):
    stamped = prices.set_axis(prices.index + pd.Timedelta(hours=16), axis=0)
    pd.testing.assert_frame_equal(load_prices(stamped), prices, check_freq=False)
    path = tmp_path / "intraday.csv"
    path.write_text("date,A\n2020-01-02 09:30,1.0\n2020-01-02 16:00,1.1\n2020-01-03 16:00,1.2\n")
    with pytest.raises(DataError, match="duplicate dates .* first 2020-01-02"):  # two rows of one day
        load_prices(path)


def test_mixed_utc_offsets_keep_each_local_date(tmp_path):
    path = tmp_path / "dst.csv"  # New York midnights across the 2020 switch to daylight saving time
    path.write_text("date,A\n2020-03-06T00:00:00-05:00,1.0\n2020-03-09T00:00:00-04:00,1.1\n"
                    "2020-03-10T00:00:00-04:00,1.2\n")
    assert [str(d.date()) for d in load_prices(path).index] == ["2020-03-06", "2020-03-09", "2020-03-10"]


def test_long_form_without_an_asset_name(prices):
    long = _long(prices)
    long.loc[5, "Ticker"] = np.nan
    with pytest.raises(DataError, match="missing asset name in column 'Ticker' at row 5"):
        load_prices(long)


def test_a_bad_end_of_embedded_data_is_named():
    with pytest.raises(DataError, match="end: cannot read 'garbage' as a date"):
        load_prices("sp500", end="garbage")
