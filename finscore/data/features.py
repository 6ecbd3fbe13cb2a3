"""Causal conditioning features: the value at date t uses returns up to and including t only.

All inputs are daily log returns, DataFrame (n_dates, n_assets) or Series (n_dates,).
Rolling features are NaN until ``window`` dates are available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from finscore.data.checks import check_returns
from finscore.errors import DataError


def _frame(returns, name: str = "returns") -> tuple[pd.DataFrame, bool]:
    """(validated DataFrame, whether the input was a Series)."""
    if isinstance(returns, pd.Series):
        return check_returns(returns.to_frame(returns.name or "value"), name=name, min_rows=1), True
    return check_returns(returns, name=name, min_rows=1), False


def _window(window, n_min: int = 1) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < n_min:
        raise DataError(f"window must be an integer >= {n_min}, got {window!r}")
    return int(window)


def ewma_volatility(returns, lam: float = 0.94):
    """RiskMetrics EWMA volatility: ``s2_t = lam s2_{t-1} + (1 - lam) r_t^2``, ``s2_0 = r_0^2`` (J.P. Morgan 1996).

    Parameters
    ----------
    returns : DataFrame (n_dates, n_assets) or Series (n_dates,) of daily log returns.
    lam : decay in (0, 1).

    Returns
    -------
    Same type and shape: daily volatility ``s_t`` (not annualised), including ``r_t``.
    """
    if not 0.0 < float(lam) < 1.0:
        raise DataError(f"lam must be in (0, 1), got {lam!r}")
    frame, series = _frame(returns)
    out = np.sqrt((frame**2).ewm(alpha=1.0 - float(lam), adjust=False).mean())
    return out.iloc[:, 0] if series else out


def realized_volatility(returns, window: int):
    """Realized volatility ``sqrt(mean(r_{t-window+1..t}^2))`` (zero-mean convention).

    Returns
    -------
    Same type and shape as ``returns``; NaN for the first ``window - 1`` dates.
    """
    window = _window(window)
    frame, series = _frame(returns)
    out = np.sqrt((frame**2).rolling(window, min_periods=window).mean())
    return out.iloc[:, 0] if series else out


def drawdown(returns: pd.Series) -> pd.Series:
    """Drawdown of the wealth ``W_t = exp(sum_{s<=t} r_s)`` from its running peak (``W_0 = 1`` counts).

    Parameters
    ----------
    returns : Series (n_dates,) of daily log returns (e.g. an index), or a one-column DataFrame.

    Returns
    -------
    Series (n_dates,) of ``W_t / max(1, max_{s<=t} W_s) - 1``, in ``(-1, 0]``.
    """
    if isinstance(returns, pd.DataFrame):
        if returns.shape[1] != 1:
            raise DataError(f"drawdown needs one return series, got {returns.shape[1]} columns; pass e.g. the index returns")
        returns = returns.iloc[:, 0]
    frame, _ = _frame(returns)
    log_wealth = frame.iloc[:, 0].cumsum()
    peak = np.maximum(log_wealth.cummax(), 0.0)
    return np.expm1(log_wealth - peak).rename("drawdown")


def cross_sectional_dispersion(returns: pd.DataFrame) -> pd.Series:
    """Cross-sectional standard deviation (ddof=0) of the assets' returns on each date.

    Returns
    -------
    Series (n_dates,) named ``dispersion``.
    """
    frame, _ = _frame(returns)
    if frame.shape[1] < 2:
        raise DataError("cross-sectional dispersion needs at least 2 assets")
    return frame.std(axis=1, ddof=0).rename("dispersion")


def average_correlation(returns: pd.DataFrame, window: int) -> pd.Series:
    """Mean pairwise Pearson correlation of the assets over the last ``window`` dates.

    Uses ``sum_{i != j} corr_ij = ||sum_i z_i||^2 / window - m`` with ``z_i`` the standardised
    window of asset i (ddof=0), so memory is O(n_dates * n_assets * window). Assets that are
    constant within a window are left out of that window's average (``m`` = the others).

    Returns
    -------
    Series (n_dates,) named ``avg_corr``; NaN for the first ``window - 1`` dates or when
    fewer than 2 assets vary within the window.
    """
    window = _window(window, 2)
    frame, _ = _frame(returns)
    if frame.shape[1] < 2:
        raise DataError("average correlation needs at least 2 assets")
    out = np.full(len(frame), np.nan)
    if len(frame) >= window:
        x = sliding_window_view(frame.to_numpy(), window, axis=0)  # (N, d, window)
        centred = x - x.mean(axis=2, keepdims=True)
        sd = np.sqrt((centred**2).mean(axis=2, keepdims=True))
        ok = sd[..., 0] > 1e-12 * np.maximum(np.abs(x).max(axis=2), 1e-300)
        z = np.where(ok[..., None], centred / np.where(sd > 0, sd, 1.0), 0.0)
        m = ok.sum(axis=1).astype(float)
        total = (z.sum(axis=1) ** 2).sum(axis=1) / window
        with np.errstate(invalid="ignore", divide="ignore"):
            out[window - 1:] = np.where(m >= 2, (total - m) / (m * (m - 1)), np.nan)
    return pd.Series(out, index=frame.index, name="avg_corr")


def market_features(returns: pd.DataFrame, *, index_returns: pd.Series | None = None,
                    window: int = 20, lam: float = 0.94) -> pd.DataFrame:
    """Standard global conditioning features, all causal.

    Parameters
    ----------
    returns : DataFrame (n_dates, n_assets >= 2) of daily log returns.
    index_returns : Series (n_dates,) of market index log returns on the same dates;
        default: the equal-weight average of ``returns``.
    window : rolling window for realized volatility and average correlation.
    lam : EWMA decay.

    Returns
    -------
    DataFrame (n_dates, 5): ``ewma_vol``, ``realized_vol`` (of the market series),
    ``drawdown`` (of the market series), ``dispersion``, ``avg_corr``; the first
    ``window - 1`` rows contain NaN.
    """
    frame, _ = _frame(returns)
    market = frame.mean(axis=1).rename("market") if index_returns is None else index_returns
    if isinstance(market, pd.DataFrame):
        market = market.iloc[:, 0]
    if not market.index.equals(frame.index):
        raise DataError("index_returns must have exactly the same dates as returns")
    return pd.DataFrame({
        "ewma_vol": ewma_volatility(market, lam),
        "realized_vol": realized_volatility(market, window),
        "drawdown": drawdown(market),
        "dispersion": cross_sectional_dispersion(frame),
        "avg_corr": average_correlation(frame, window),
    })
