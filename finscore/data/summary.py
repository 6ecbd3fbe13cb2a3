"""Per-asset summary of a price panel (used by ``finscore data info``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from finscore.data.returns import to_returns

TRADING_DAYS = 252


def describe_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """Return statistics per asset from daily log returns.

    Parameters
    ----------
    prices : DataFrame (n_dates, n_assets) from :func:`finscore.data.load_prices`
        (``attrs["missing"]`` supplies the forward-filled counts when present).

    Returns
    -------
    DataFrame (n_assets, 10), index = assets; columns ``missing`` (forward-filled dates),
    ``ann_mean`` (252 × mean log return), ``ann_vol`` (sqrt(252) × std, ddof=1),
    ``min_ret``/``min_date``, ``max_ret``/``max_date`` (daily log returns),
    ``excess_kurt`` (unbiased, as ``pandas.Series.kurt``), ``zero_days`` (returns exactly 0),
    ``zero_frac``.
    """
    r = to_returns(prices, kind="log")
    missing = prices.attrs.get("missing", {})
    return pd.DataFrame({
        "missing": pd.Series({a: int(missing.get(a, 0)) for a in r.columns}),
        "ann_mean": r.mean() * TRADING_DAYS,
        "ann_vol": r.std(ddof=1) * np.sqrt(TRADING_DAYS),
        "min_ret": r.min(),
        "min_date": r.idxmin().dt.date,
        "max_ret": r.max(),
        "max_date": r.idxmax().dt.date,
        "excess_kurt": r.kurt(),
        "zero_days": (r == 0).sum(),
        "zero_frac": (r == 0).mean(),
    }).loc[list(r.columns)]
