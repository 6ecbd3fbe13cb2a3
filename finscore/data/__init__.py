"""Data layer: load and clean price panels, returns, causal features, windows and scaling.

Pipeline: :func:`load_prices` -> :func:`to_returns` -> :func:`market_features` ->
:func:`make_windows` -> :func:`split_windows` -> :class:`Scaler` (train dates only) ->
:class:`WindowDataset` (torch; imported lazily).
"""

from __future__ import annotations

from typing import Any

from finscore.data.alignment import align
from finscore.data.checks import check_prices, check_returns, check_same_assets
from finscore.data.embedded import DATASETS, EMBEDDED_DEFAULT_START, embedded_path, list_datasets
from finscore.data.features import (
    average_correlation,
    cross_sectional_dispersion,
    drawdown,
    ewma_volatility,
    market_features,
    realized_volatility,
)
from finscore.data.loading import load_prices
from finscore.data.returns import convert_returns, to_returns
from finscore.data.scaling import Scaler
from finscore.data.summary import describe_prices
from finscore.data.windows import Windows, make_windows, split_windows

__all__ = [
    "DATASETS",
    "EMBEDDED_DEFAULT_START",
    "Scaler",
    "WindowDataset",
    "Windows",
    "align",
    "average_correlation",
    "check_prices",
    "check_returns",
    "check_same_assets",
    "convert_returns",
    "cross_sectional_dispersion",
    "describe_prices",
    "drawdown",
    "embedded_path",
    "ewma_volatility",
    "list_datasets",
    "load_prices",
    "make_windows",
    "market_features",
    "realized_volatility",
    "split_windows",
    "to_returns",
]


def __getattr__(name: str) -> Any:
    if name == "WindowDataset":  # torch-backed: import on first use
        from finscore.data.dataset import WindowDataset

        return WindowDataset
    raise AttributeError(f"module 'finscore.data' has no attribute {name!r}")
