"""The one generator protocol shared by :class:`~finscore.ScoreGenerator` and every baseline.

``__init__`` only stores hyperparameters; ``fit(returns) -> self`` sets attributes ending
in ``_``; ``sample(n, horizon, context=None, seed=None) -> Scenarios`` draws scenario paths
conditional on ``context`` (default: the end of the fitted data).
"""

from __future__ import annotations

import inspect
import warnings
from abc import ABC, abstractmethod
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

from finscore._rng import spawn_seeds
from finscore._typing import Seed
from finscore.data.checks import check_positive_int, check_returns, check_same_assets
from finscore.errors import DataError, NotFittedError
from finscore.scenarios import Scenarios


@runtime_checkable
class ScenarioGenerator(Protocol):
    """Structural type of every finscore generator."""

    def fit(self, returns: pd.DataFrame) -> "ScenarioGenerator": ...

    def sample(self, n: int, horizon: int, context: pd.DataFrame | None = None, seed: Seed = None) -> Scenarios: ...


def warn_look_ahead(generator: Any, first: pd.Timestamp, *, label: str, first_is: str, biased: str,
                    stacklevel: int) -> None:
    """UserWarning when ``generator`` was fitted on data after ``first``, the first date it forecasts from.

    The message reads "<label> was fitted on data up to <fit_end_>, after <first_is> <first>: <biased>
    look-ahead biased"; ``stacklevel`` counts this function's frame.
    """
    fit_end = getattr(generator, "fit_end_", None)
    if fit_end is not None and pd.Timestamp(fit_end) > first:
        warnings.warn(f"{label} was fitted on data up to {pd.Timestamp(fit_end).date()}, after {first_is} "
                      f"{first.date()}: {biased} look-ahead biased", stacklevel=stacklevel)


def check_contexts(contexts: Any) -> None:
    """TypeError for one DataFrame (or Series) passed where ``sample_many`` takes a sequence of them."""
    if isinstance(contexts, (pd.DataFrame, pd.Series)):
        raise TypeError("contexts must be a sequence of DataFrames (one per forecast origin), got one "
                        f"{type(contexts).__name__}; for a single context pass [context] or call sample()")


class BaseGenerator(ABC):
    """Shared plumbing: parameter introspection, fitted checks, context resolution, batched forecasts.

    Subclasses implement :meth:`_fit` and :meth:`_sample`; they set ``min_context`` (rows of
    history a forecast needs) as a class attribute or property.
    """

    min_context: int = 1

    # ------------------------------------------------------------ params
    def get_params(self) -> dict[str, Any]:
        """Hyperparameters passed to ``__init__`` (scikit-learn convention)."""
        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self" and hasattr(self, k)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # --------------------------------------------------------------- fit
    def fit(self, returns: pd.DataFrame) -> "BaseGenerator":
        """Fit on a (n_dates, n_assets) frame of daily log returns; returns ``self``."""
        returns = check_returns(returns, name="returns", min_rows=max(2, self.min_context + 1), reject_prices=True)
        flat = np.flatnonzero(np.ptp(returns.to_numpy(), axis=0) == 0)
        if len(flat):  # no volatility, correlation or tail to fit
            j = int(flat[0])
            raise DataError(f"returns column {returns.columns[j]!r} is constant ({float(returns.iloc[0, j])!r} on "
                            "every date): no generator can fit it; drop the asset")
        self.assets_ = tuple(map(str, returns.columns))
        self._fit(returns)
        self.history_ = returns.iloc[-max(self.min_context, 1):].copy()
        self.fit_end_ = returns.index[-1]
        return self

    @abstractmethod
    def _fit(self, returns: pd.DataFrame) -> None: ...

    def _check_fitted(self) -> None:
        if not hasattr(self, "assets_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(returns) first")

    # ------------------------------------------------------------ sample
    def sample(self, n: int, horizon: int, context: pd.DataFrame | None = None, seed: Seed = None) -> Scenarios:
        """Draw ``n`` scenario paths of ``horizon`` days after the last date of ``context``.

        Parameters
        ----------
        n : number of scenarios.
        horizon : number of days per path.
        context : DataFrame (n_dates >= min_context, n_assets) of recent daily log returns,
            or None for the end of the training data.
        seed : int, numpy Generator or None.

        Returns
        -------
        Scenarios with values of shape (n, horizon, n_assets).
        """
        self._check_fitted()
        n, horizon = _check_n_horizon(n, horizon)
        ctx = self._resolve_context(context)
        values = np.asarray(self._sample(n, horizon, ctx, seed), dtype=np.float64)
        return self._wrap(values, ctx, seed)

    def sample_many(
        self, n: int, horizon: int, contexts: Sequence[pd.DataFrame], seed: Seed = None
    ) -> list[Scenarios]:
        """Forecast for many contexts (e.g. every date of a backtest): one Scenarios per context.

        The default loops over contexts with independent child seeds; generators with a
        batched path (ScoreGenerator) override it. Context ``i`` always gets child seed ``i``.
        """
        check_contexts(contexts)
        seeds = spawn_seeds(seed, len(contexts))
        return [self.sample(n, horizon, context=c, seed=np.random.default_rng(s)) for c, s in zip(contexts, seeds)]

    @abstractmethod
    def _sample(self, n: int, horizon: int, context: pd.DataFrame, seed: Seed) -> np.ndarray:
        """Return ndarray (n, horizon, n_assets) of log returns."""

    # ---------------------------------------------------------- helpers
    def _resolve_context(self, context: pd.DataFrame | None) -> pd.DataFrame:
        if context is None:
            return self.history_
        context = check_returns(context, name="context", min_rows=1, reject_prices=True)
        context = check_same_assets(context, self.assets_, name="context")
        if len(context) < self.min_context:
            raise DataError(
                f"context has {len(context)} rows but {type(self).__name__} needs at least {self.min_context}"
            )
        return context

    def _wrap(self, values: np.ndarray, ctx: pd.DataFrame, seed: Seed, **extra: Any) -> Scenarios:
        if not np.all(np.isfinite(values)):
            from finscore.errors import NumericalError

            raise NumericalError(f"{type(self).__name__} produced non-finite scenarios")
        meta = {"generator": type(self).__name__, "params": _jsonable(self.get_params()),
                "seed": _seed_record(seed), **extra}
        return Scenarios(values, self.assets_, ctx.index[-1] if len(ctx) else None, meta)


def _seed_record(seed: Seed) -> Any:
    """What the scenarios' metadata records of ``seed``: an int (numpy ints included) or None as given, a
    SeedSequence's entropy and spawn key, else "generator" (a numpy Generator's state is not recorded)."""
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return "generator"


def _check_n_horizon(n: int, horizon: int) -> tuple[int, int]:
    return check_positive_int(n, "n"), check_positive_int(horizon, "horizon")


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        out[k] = v if isinstance(v, (int, float, str, bool, type(None), list, tuple, dict)) else repr(v)
    return out
