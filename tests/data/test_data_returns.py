"""to_returns / convert_returns and check_prices."""

import numpy as np
import pandas as pd
import pytest

import finscore
from finscore.data import check_prices, convert_returns, to_returns
from finscore.errors import DataError


def test_log_and_simple_returns(prices):
    log = finscore.to_returns(prices)
    simple = to_returns(prices, kind="simple")
    assert log.index.equals(prices.index[1:]) and list(log.columns) == ["A", "B", "C"]
    np.testing.assert_allclose(log.to_numpy(), np.diff(np.log(prices.to_numpy()), axis=0), atol=1e-14)
    np.testing.assert_allclose(simple.to_numpy(), prices.pct_change().iloc[1:].to_numpy(), rtol=1e-12)
    pd.testing.assert_frame_equal(convert_returns(log, to="simple"), simple)
    pd.testing.assert_frame_equal(convert_returns(simple, to="log"), log)


def test_bad_kind(prices):
    with pytest.raises(DataError, match=r"kind must be one of \('log', 'simple'\), got 'pct'"):
        to_returns(prices, kind="pct")


def test_to_returns_rejects_non_positive_prices(prices):
    prices.iloc[3, 0] = 0.0
    with pytest.raises(DataError, match=r"non-positive values; first: 0.0 for asset 'A' on 2020-01-06"):
        to_returns(prices)


def test_to_returns_rejects_nan_and_one_row(prices):
    prices.iloc[3, 2] = np.nan
    with pytest.raises(DataError, match=r"NaN for asset 'C' on 2020-01-06"):
        to_returns(prices)
    with pytest.raises(DataError, match="prices has 1 rows; at least 2 are needed"):
        to_returns(prices.iloc[:1])


def test_simple_return_below_minus_one():
    r = pd.DataFrame({"A": [0.1, -1.5]}, index=pd.to_datetime(["2020-01-01", "2020-01-02"]))
    with pytest.raises(DataError, match=r"simple return <= -100% for asset 'A' on 2020-01-02"):
        convert_returns(r, to="log")


def test_check_prices_passes_clean(prices):
    assert check_prices(prices).equals(prices)
