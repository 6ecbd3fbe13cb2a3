"""Every kind of bad price input: a specific error naming asset and date, or a reported repair."""

import warnings

import numpy as np
import pandas as pd
import pytest

from finscore.data import load_prices
from finscore.errors import DataError


def _repair(frame, match, **kw):
    """Load with strict=False; exactly one UserWarning; return the frame."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = load_prices(frame, strict=False, **kw)
    user = [w for w in caught if issubclass(w.category, UserWarning)]
    assert len(user) == 1 and match in str(user[0].message)
    assert not out.isna().any().any()
    return out


def test_clean_input_passes_without_warning(prices):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = load_prices(prices)
    assert out.attrs["repairs"] == [] and out.attrs["missing"] == {"A": 0, "B": 0, "C": 0}


@pytest.mark.parametrize("value", [0.0, -3.0])
def test_non_positive_price(prices, value):
    prices.iloc[4, 1] = value
    with pytest.raises(DataError, match=rf"asset 'B' has 1 non-positive price\(s\), first {value} on 2020-01-07"):
        load_prices(prices)
    out = _repair(prices, "non-positive")
    assert out.iloc[4, 1] == prices.iloc[3, 1]  # forward-filled
    assert "treated as missing" in out.attrs["repairs"][0]


def test_infinite_price(prices):
    prices.iloc[7, 2] = np.inf
    with pytest.raises(DataError, match=r"asset 'C' has 1 infinite price\(s\), first inf on 2020-01-10"):
        load_prices(prices)
    assert _repair(prices, "infinite").iloc[7, 2] == prices.iloc[6, 2]


def test_nan_price_without_forward_fill(prices):
    prices.iloc[5, 0] = np.nan
    with pytest.raises(DataError, match=r"asset 'A' has 1 consecutive missing \(NaN\) price\(s\) from 2020-01-08 to 2020-01-08, more than max_ffill=0"):
        load_prices(prices, max_ffill=0)


def test_nan_gap_within_max_ffill_is_filled_and_counted(prices):
    prices.iloc[5:8, 0] = np.nan
    out = load_prices(prices, max_ffill=3)
    assert (out.iloc[5:8, 0] == prices.iloc[4, 0]).all()
    assert out.attrs["missing"]["A"] == 3 and out.attrs["repairs"] == []


def test_nan_gap_longer_than_max_ffill(prices):
    prices.iloc[5:11, 1] = np.nan  # 6 dates > default max_ffill=5
    with pytest.raises(DataError, match=r"asset 'B' has 6 consecutive missing \(NaN\) price\(s\) from 2020-01-08 to 2020-01-15, more than max_ffill=5"):
        load_prices(prices)
    out = _repair(prices, "consecutive missing")
    assert (out.iloc[5:11, 1] == prices.iloc[4, 1]).all()


def test_duplicate_dates(prices):
    dup = pd.concat([prices.iloc[:10], prices.iloc[[9]] * 1.01, prices.iloc[10:]])
    with pytest.raises(DataError, match=r"duplicate dates \(1 dates repeated\), first 2020-01-14"):
        load_prices(dup)
    out = _repair(dup, "duplicate dates")
    assert len(out) == 30 and out.loc["2020-01-14", "A"] == pytest.approx(prices.iloc[9, 0] * 1.01)


def test_unsorted_dates(prices):
    shuffled = prices.iloc[[0, 1, 3, 2] + list(range(4, 30))]
    with pytest.raises(DataError, match=r"dates are not sorted: 2020-01-03 comes after 2020-01-06"):
        load_prices(shuffled)
    pd.testing.assert_frame_equal(_repair(shuffled, "sorted by date"), prices, check_freq=False)


def test_non_numeric_values(prices):
    bad = prices.astype({"B": object})
    bad.iloc[3, 1] = "n/a"
    with pytest.raises(DataError, match=r"column 'B' is not numeric: 1 values such as 'n/a' on 2020-01-06"):
        load_prices(bad)
    assert _repair(bad, "not numeric").iloc[3, 1] == prices.iloc[2, 1]


def test_text_column(prices):
    bad = prices.assign(sector="tech")
    with pytest.raises(DataError, match=r"column 'sector' is not numeric: 30 values such as 'tech' on 2020-01-01"):
        load_prices(bad)
    assert list(_repair(bad, "dropped the column").columns) == ["A", "B", "C"]


def test_boolean_column(prices):
    with pytest.raises(DataError, match="column 'flag' is boolean"):
        load_prices(prices.assign(flag=True))


def test_duplicate_asset_columns(prices):
    bad = pd.concat([prices, prices[["A"]]], axis=1)
    with pytest.raises(DataError, match=r"duplicate asset columns \['A'\]"):
        load_prices(bad)


def test_empty_frame():
    empty = pd.DataFrame(index=pd.DatetimeIndex([], name="date"), columns=["A"], dtype=float)
    with pytest.raises(DataError, match=r"price frame is empty \(0 rows, 1 columns\)"):
        load_prices(empty)


def test_one_row_frame(prices):
    with pytest.raises(DataError, match=r"has only 1 date\(s\) \(2020-01-01\); at least 2 are needed"):
        load_prices(prices.iloc[:1])


def test_missing_requested_asset(prices):
    with pytest.raises(DataError, match=r"requested asset\(s\) \['Z'\] not in price frame; available: \['A', 'B', 'C'\]"):
        load_prices(prices, assets=["A", "Z"])


def test_assets_select_and_order(prices):
    assert list(load_prices(prices, assets=["C", "A"]).columns) == ["C", "A"]


def test_window_longer_than_history(prices):
    with pytest.raises(DataError, match=r"requested start 2019-06-01 is before the history of price frame, which begins on 2020-01-01"):
        load_prices(prices, start="2019-06-01")
    with pytest.raises(DataError, match=r"requested end 2021-01-01 is after the history of price frame, which ends on 2020-02-11"):
        load_prices(prices, end="2021-01-01")


def test_start_after_end_and_no_dates_in_range(prices):
    with pytest.raises(DataError, match="start 2020-02-01 is after end 2020-01-15"):
        load_prices(prices, start="2020-02-01", end="2020-01-15")
    with pytest.raises(DataError, match="no dates between 2020-01-04 and 2020-01-05"):
        load_prices(prices, start="2020-01-04", end="2020-01-05")


def test_asset_history_shorter_than_requested_window(prices):
    prices.iloc[:12, 2] = np.nan  # C starts on 2020-01-17
    with pytest.raises(DataError, match=r"asset 'C': requested start 2020-01-01 is outside its history, which begins on 2020-01-17"):
        load_prices(prices, start="2020-01-01")
    out = _repair(prices, "outside its history", start="2020-01-01")
    assert out.index[0] == pd.Timestamp("2020-01-17")


def test_late_starting_asset_trims_the_panel_and_says_so(prices):
    prices.iloc[:12, 2] = np.nan
    with pytest.warns(UserWarning, match=r"panel starts on 2020-01-17, the first price of 'C'"):
        out = load_prices(prices)
    assert out.index[0] == pd.Timestamp("2020-01-17") and out.attrs["trimmed"]


def test_min_history_drops_only_when_asked(prices):
    prices.iloc[:20, 2] = np.nan  # C has 10 prices
    with pytest.warns(UserWarning, match=r"dropped asset 'C' \(10 prices < min_history=15\)"):
        out = load_prices(prices, min_history=15)
    assert list(out.columns) == ["A", "B"] and len(out) == 30
    assert out.attrs["dropped"] == {"C": "10 prices < min_history=15"}


def test_all_nan_asset(prices):
    prices["C"] = np.nan
    with pytest.raises(DataError, match=r"asset 'C' has no prices between 2020-01-01 and 2020-02-11"):
        load_prices(prices)


@pytest.mark.parametrize(("kw", "msg"), [({"max_ffill": -1}, "max_ffill must be an integer >= 0"),
                                         ({"min_history": 0}, "min_history must be an integer >= 1"),
                                         ({"start": "garbage"}, "cannot parse start='garbage'")])
def test_bad_arguments(prices, kw, msg):
    with pytest.raises(DataError, match=msg):
        load_prices(prices, **kw)


def test_every_repair_is_reported(prices):
    bad = prices.copy()
    bad.iloc[2, 0] = -1.0
    bad.iloc[8, 1] = np.inf
    bad = pd.concat([bad, bad.iloc[[5]]]).iloc[::-1]  # duplicate date + reversed order
    out = _repair(bad, "4 change(s)")
    assert len(out.attrs["repairs"]) == 4
