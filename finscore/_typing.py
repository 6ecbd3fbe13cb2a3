"""Shape-carrying type aliases used in signatures and docstrings.

Canonical layouts (one everywhere, broadcast with :func:`finscore._utils.append_dims`):

* ``Prices``   DataFrame (n_dates, n_assets), DatetimeIndex named ``date``.
* ``Returns``  DataFrame (n_dates, n_assets) of daily log returns.
* ``Window``   ndarray/Tensor (batch, horizon, n_assets): time on axis 1, assets on axis 2.
* ``Sigma``    Tensor (batch,) of noise levels.
* ``Cond``     Tensor (batch, n_cond) of global conditioning features.
* ``AssetCond`` Tensor (batch, n_assets, n_asset_cond) of per-asset conditioning features.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import numpy as np
import pandas as pd

Prices = pd.DataFrame
Returns = pd.DataFrame
Window = Any  # ndarray or Tensor of shape (batch, horizon, n_assets)
Sigma = Any  # Tensor of shape (batch,)
Cond = Any  # Tensor of shape (batch, n_cond)
AssetCond = Any  # Tensor of shape (batch, n_assets, n_asset_cond)
Seed = Union[int, np.random.Generator, np.random.SeedSequence, None]
# A denoiser D(x, sigma, **extra_args) -> denoised estimate of the clean window.
Denoiser = Callable[..., Any]
