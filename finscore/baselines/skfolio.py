"""scikit-learn / skfolio adapter: any finscore generator as a ``distribution_estimator``.

Example
-------
>>> from skfolio import RiskMeasure
>>> from skfolio.optimization import MeanRisk
>>> from skfolio.prior import SyntheticData
>>> prior = SyntheticData(distribution_estimator=SkfolioAdapter(GaussianCopula()), n_samples=2000)
>>> MeanRisk(risk_measure=RiskMeasure.CVAR, prior_estimator=prior).fit(X)  # X: simple returns
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from finscore._rng import as_generator
from finscore.errors import NotFittedError


class SkfolioAdapter(BaseEstimator):
    """Wrap a finscore generator so skfolio's ``SyntheticData`` can fit and sample it.

    skfolio passes SIMPLE returns; with ``log_transform=True`` (default, as skfolio's
    ``VineCopula``) they are converted with ``log1p`` before fitting the generator, which
    works in daily log returns. ``sample`` returns SIMPLE returns over ``horizon`` days,
    ``exp(sum of daily log returns) - 1``, unconditional on anything but the end of the
    fitted data (the generator's default context).

    Parameters
    ----------
    generator : finscore BaseGenerator (unfitted; it is copied, never fitted in place).
    horizon : int >= 1, days per sampled return.
    log_transform : bool, treat ``X`` as simple returns and convert to log returns.
    random_state : int, numpy Generator or None; seed of :meth:`sample`.

    Attributes
    ----------
    generator_ : the fitted copy of ``generator``.
    n_features_in_ : int; ``feature_names_in_`` ndarray of str when ``X`` is a DataFrame.
    """

    def __init__(self, generator=None, horizon: int = 1, log_transform: bool = True, random_state=None) -> None:
        self.generator = generator
        self.horizon = horizon
        self.log_transform = log_transform
        self.random_state = random_state

    def __sklearn_clone__(self) -> "SkfolioAdapter":
        # finscore generators are not sklearn estimators: copy them through their own params.
        gen = self.generator
        gen = None if gen is None else type(gen)(**gen.get_params())
        return type(self)(gen, self.horizon, self.log_transform, self.random_state)

    def fit(self, X, y=None) -> "SkfolioAdapter":
        """Fit the wrapped generator on ``X`` (n_observations, n_assets) of returns; returns ``self``."""
        if self.generator is None:
            raise ValueError("SkfolioAdapter needs a finscore generator, e.g. SkfolioAdapter(GaussianCopula())")
        if not isinstance(self.horizon, (int, np.integer)) or isinstance(self.horizon, bool) or self.horizon < 1:
            raise ValueError(f"horizon must be a positive integer, got {self.horizon!r}")
        frame = _as_frame(X)
        if self.log_transform:
            if (frame.to_numpy() <= -1).any():
                raise ValueError("simple returns must be > -1 for log_transform=True")
            frame = np.log1p(frame)
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.generator_ = type(self.generator)(**self.generator.get_params()).fit(frame)
        return self

    def sample(self, n_samples: int = 1) -> np.ndarray:
        """Draw ndarray (n_samples, n_assets) of simple returns over ``horizon`` days."""
        if not hasattr(self, "generator_"):
            raise NotFittedError("SkfolioAdapter is not fitted yet: call fit(X) first")
        scen = self.generator_.sample(int(n_samples), int(self.horizon), seed=as_generator(self.random_state))
        return np.expm1(scen.values.sum(axis=1))


def _as_frame(X) -> pd.DataFrame:
    """Returns as a DataFrame with string columns and a DatetimeIndex (business days if none)."""
    if isinstance(X, pd.DataFrame):
        frame = X.astype(np.float64)
    else:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-D (n_observations, n_assets), got shape {arr.shape}")
        frame = pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])
    if not isinstance(frame.index, pd.DatetimeIndex):
        frame.index = pd.bdate_range("2000-01-03", periods=len(frame), name="date")
    frame.columns = [str(c) for c in frame.columns]
    return frame
