"""(context, target) windows over a return panel and a look-ahead-free split by date.

A window with origin t (the last context date) holds ``context`` = the L returns up to and
including t, ``target`` = the next H returns, and ``features`` = the conditioning-feature row
at t. Splits keep whole windows: a train window's target ends on or before ``train_end``;
val/test windows have their origin on or after the previous boundary, so no target date is
shared across splits and nothing after a boundary reaches an earlier split.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from finscore.data.checks import check_int, check_returns
from finscore.errors import DataError


@dataclass(frozen=True, eq=False)
class Windows:
    """A set of N windows over d assets (arrays are float64).

    Attributes
    ----------
    context : ndarray (N, L, d) returns up to and including the origin.
    target : ndarray (N, H, d) returns after the origin.
    features : ndarray (N, F) or None, feature row at the origin date.
    origin : DatetimeIndex (N,) last context date.
    assets : tuple of d asset names.
    target_end : DatetimeIndex (N,) last target date.
    feature_names : tuple of F names or None.
    """

    context: np.ndarray
    target: np.ndarray
    features: np.ndarray | None
    origin: pd.DatetimeIndex
    assets: tuple[str, ...]
    target_end: pd.DatetimeIndex
    feature_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.origin)

    def subset(self, mask) -> "Windows":
        """Windows selected by a boolean mask (N,) or integer positions."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask, dtype=int)
        return replace(self, context=self.context[idx], target=self.target[idx],
                       features=None if self.features is None else self.features[idx],
                       origin=self.origin[idx], target_end=self.target_end[idx])


def _feature_rows(features, origin: pd.DatetimeIndex) -> tuple[np.ndarray, tuple[str, ...]]:
    feats = features.to_frame() if isinstance(features, pd.Series) else features
    if not isinstance(feats, pd.DataFrame):
        raise DataError(f"features must be a DataFrame (n_dates, n_features), got {type(features).__name__}")
    if isinstance(feats.index, pd.DatetimeIndex) and feats.index.tz is not None:
        feats = feats.tz_localize(None)  # local dates, as the returns keep them
    if feats.index.has_duplicates:  # .loc would return every row of a repeated date and shift the others
        first = pd.Timestamp(feats.index[feats.index.duplicated()][0])
        raise DataError(f"features have duplicate dates, first {first.date()}")
    missing = origin.difference(feats.index)
    if len(missing):
        raise DataError(f"features have no row for origin date {missing[0].date()} ({len(missing)} origins missing)")
    rows = feats.loc[origin]
    values = np.array(rows.to_numpy(dtype=np.float64))  # own, writable copy
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"feature {rows.columns[j]!r} is NaN/inf at origin {origin[i].date()}; "
                        "use a longer context (>= the feature window) or start the returns later")
    return values, tuple(map(str, feats.columns))


def make_windows(returns: pd.DataFrame, context: int, horizon: int, *, stride: int = 1, features=None) -> Windows:
    """Slide (context, target) windows over a return panel.

    Parameters
    ----------
    returns : DataFrame (T, d) of daily log returns.
    context : L >= 0 dates of history per window (the origin is the L-th).
    horizon : H >= 1 target dates per window.
    stride : step between consecutive origins, in dates.
    features : DataFrame (T', F) indexed by date, optional; the row at each origin becomes
        ``Windows.features`` (must be finite there).

    Returns
    -------
    Windows with N = floor((T - max(L, 1) - H) / stride) + 1 windows; origins at positions
    ``max(L, 1) - 1, + stride, ...``.
    """
    returns = check_returns(returns, name="returns", min_rows=2)
    L = check_int(context, "context", 0)
    H = check_int(horizon, "horizon")
    stride = check_int(stride, "stride")
    T = len(returns)
    first = max(L, 1) - 1
    if first + H >= T:
        raise DataError(f"a window of context {L} + horizon {H} dates is longer than the history: "
                        f"{T} dates from {returns.index[0].date()} to {returns.index[-1].date()}")
    pos = np.arange(first, T - H, stride)
    values = returns.to_numpy()
    block = values[pos[:, None] + np.arange(1 - L, H + 1)[None, :]]  # (N, L + H, d)
    origin = returns.index[pos]
    feats, names = (None, None) if features is None else _feature_rows(features, origin)
    return Windows(context=block[:, :L], target=block[:, L:], features=feats, origin=origin,
                   assets=tuple(map(str, returns.columns)), target_end=returns.index[pos + H], feature_names=names)


def split_windows(windows: Windows, train_end, val_end=None) -> tuple[Windows, Windows, Windows]:
    """Split by date with no window straddling a boundary.

    train: ``target_end <= train_end``; val: ``origin >= train_end`` and ``target_end <= val_end``;
    test: ``origin >= val_end`` (``>= train_end`` when ``val_end`` is None; val is then empty).
    Windows straddling a boundary belong to no split.

    Returns
    -------
    (train, val, test) Windows.
    """
    t1 = pd.Timestamp(train_end)
    t2 = None if val_end is None else pd.Timestamp(val_end)
    if t2 is not None and t2 <= t1:
        raise DataError(f"val_end {t2.date()} must be after train_end {t1.date()}")
    train = windows.subset(windows.target_end <= t1)
    if len(train) == 0:
        first = windows.target_end.min() if len(windows) else None
        raise DataError(f"no training window ends on or before train_end {t1.date()} "
                        f"(the earliest window ends on {first.date() if first is not None else 'n/a'})")
    if t2 is None:
        return train, windows.subset(np.zeros(len(windows), bool)), windows.subset(windows.origin >= t1)
    val = windows.subset((windows.origin >= t1) & (windows.target_end <= t2))
    return train, val, windows.subset(windows.origin >= t2)


def __getattr__(name: str):
    if name == "WindowDataset":  # torch is imported only when the dataset is asked for
        from finscore.data.dataset import WindowDataset

        return WindowDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
