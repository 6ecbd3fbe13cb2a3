"""Prices to returns and back: log returns ``log(P_t / P_{t-1})``, simple returns ``P_t / P_{t-1} - 1``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from finscore.data.checks import check_prices, check_returns
from finscore.errors import DataError

_KINDS = ("log", "simple")


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise DataError(f"kind must be one of {_KINDS}, got {kind!r}")


def to_returns(prices: pd.DataFrame, kind: str = "log") -> pd.DataFrame:
    """Daily returns of a validated price panel; the first date is dropped.

    Parameters
    ----------
    prices : DataFrame (n_dates, n_assets) of positive, finite prices, sorted unique dates.
    kind : ``"log"`` (default) or ``"simple"``.

    Returns
    -------
    DataFrame (n_dates - 1, n_assets), float64, same columns, index = ``prices.index[1:]``.
    """
    _check_kind(kind)
    prices = check_prices(prices, name="prices", min_rows=2)
    values = prices.to_numpy()
    ratio = values[1:] / values[:-1]
    out = np.log(ratio) if kind == "log" else ratio - 1.0
    return pd.DataFrame(out, index=prices.index[1:], columns=prices.columns)


def convert_returns(returns: pd.DataFrame, *, to: str) -> pd.DataFrame:
    """Convert daily log returns to simple (``to="simple"``: ``exp(r) - 1``) or back (``to="log"``: ``log1p(R)``).

    Parameters
    ----------
    returns : DataFrame (n_dates, n_assets); simple returns must be > -1.
    """
    _check_kind(to)
    returns = check_returns(returns, name="returns", min_rows=1)
    if to == "simple":
        return np.expm1(returns)
    low = returns.to_numpy() <= -1.0
    if low.any():
        i, j = np.argwhere(low)[0]
        raise DataError(f"simple return <= -100% for asset {returns.columns[j]!r} on {returns.index[i].date()}")
    return np.log1p(returns)
