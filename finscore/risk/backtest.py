"""Rolling VaR / ES backtest of any generator: batched forecasts over chunks of dates."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from finscore._typing import Seed
from finscore.data.checks import check_date, check_positive_int, check_returns
from finscore.errors import DataError, NumericalError
from finscore.protocol import warn_look_ahead
from finscore.risk.measures import check_levels, check_var_method
from finscore.risk.result import BacktestResult, var_es_frames
from finscore.scenarios import portfolio_weights

DEFAULT_CONTEXT = 250  # one trading year of context unless the generator needs more


def backtest(
    generator,
    returns: pd.DataFrame,
    weights,
    start,
    levels: Sequence[float] = (0.95, 0.975, 0.99),
    horizon_days: int = 1,
    n_scenarios: int = 1000,
    refit_every: int | None = None,
    end=None,
    context_length: int | None = None,
    chunk_size: int = 50,
    seed: Seed = 0,
    progress: bool = True,
    var_method: str = "predictive",
) -> BacktestResult:
    """Rolling out-of-sample VaR / ES backtest of a scenario generator.

    At each date t from ``start`` (to ``end``, or the last date with ``horizon_days`` rows
    after it) the generator forecasts ``n_scenarios`` paths conditional on the last
    ``context_length`` rows up to and including t; VaR and ES of the buy-and-hold portfolio's
    ``horizon_days`` simple return are compared with the realized return over
    t+1..t+horizon_days, ``sum_i w_i (exp(sum r_i) - 1)``. Forecasts go through
    ``generator.sample_many`` over chunks of ``chunk_size`` dates (one batched pass for
    generators that support it).

    Fitting: with ``refit_every`` the generator is refitted on all rows up to and including
    t at the first date and every ``refit_every`` dates after (expanding window). Otherwise
    a fitted generator is used as is (its training data should end before ``start``) and an
    unfitted one is fitted once on the rows strictly before ``start``.

    VaR and ES come from each date's scenarios by ``var_method`` (:func:`~finscore.risk.var`).
    The default ``"predictive"`` estimator is exceeded by an outcome from the scenarios' own
    law with probability ``1 - level``; the scenario set's ``"empirical"`` quantile is exceeded
    more often (1.20% instead of 1% for 99% VaR from 500 scenarios), so a correct model would
    fail the coverage tests as the sample grows. :meth:`BacktestResult.with_var_method`
    recomputes a result by the other estimator without sampling again.

    With ``horizon_days > 1`` forecasts overlap (one per day), so exceedances are
    autocorrelated: the coverage tests in :meth:`BacktestResult.summary` assume
    independence and their p-values are then too small.

    Parameters
    ----------
    generator : BaseGenerator-like with ``sample_many(n, horizon, contexts, seed)``, ``fit`` and ``min_context``.
    returns : DataFrame (n_dates, n_assets) of daily log returns, DatetimeIndex.
    weights : ``"equal"``, a sequence aligned with ``returns.columns`` or a mapping asset -> weight.
    start, end : first / last forecast date (anything ``pd.Timestamp`` accepts).
    levels : VaR / ES confidence levels in (0, 1).
    horizon_days : days of the forecast return (>= 1).
    n_scenarios : scenarios per forecast; below ``level / (1 - level)`` (99 at 99%) no estimator can reach
        the nominal exceedance rate at that level, and a warning says so.
    refit_every : refit period in forecast dates, or None.
    context_length : rows of context per forecast; default ``max(generator.min_context, 250)``.
    chunk_size : dates per ``sample_many`` call.
    seed : each ``sample_many`` call gets a SeedSequence whose i-th child is child ``i0 + i`` of
        ``SeedSequence(seed)`` (i0: the chunk's first date), so with the BaseGenerator default
        (context i uses child i) results do not depend on ``chunk_size``; a batched override
        may tie results to the chunking but stays reproducible for a fixed ``chunk_size``.
    progress : show a tqdm progress bar.
    var_method : VaR estimator from the scenarios, ``"predictive"`` (default) or ``"empirical"``.

    Returns
    -------
    BacktestResult indexed by forecast date.
    """
    returns = check_returns(returns, name="returns", reject_prices=True)
    assets = tuple(map(str, returns.columns))
    w = pd.Series(portfolio_weights(weights, assets), index=assets)
    check_var_method(var_method)
    lv = tuple(float(x) for x in check_levels(levels))
    if len(set(lv)) != len(lv):
        raise ValueError(f"levels contain duplicates: {list(lv)}")
    horizon_days, n_scenarios, chunk_size = (check_positive_int(v, k) for k, v in
                                             (("horizon_days", horizon_days), ("n_scenarios", n_scenarios),
                                              ("chunk_size", chunk_size)))
    if n_scenarios < 2:
        raise ValueError(f"n_scenarios must be at least 2 to estimate VaR / ES, got {n_scenarios}")
    # no quantile of n scenarios is exceeded less often than the largest, with probability 1 / (n + 1): a level
    # needs 1 / (n + 1) <= 1 - level, i.e. n >= level / (1 - level) scenarios (99 at 99%)
    need = {x: int(np.ceil(x / (1.0 - x) - 1e-9)) for x in lv}
    coarse = [x for x in lv if n_scenarios < need[x]]
    if coarse:
        warnings.warn(f"n_scenarios={n_scenarios} cannot resolve VaR at {coarse}: there VaR is the largest "
                      f"scenario loss, which a correct model's outcome exceeds with probability 1 / (n + 1) = "
                      f"{1 / (n_scenarios + 1):.2%}, more than 1 - level; use at least "
                      f"{max(need[x] for x in coarse)} scenarios",
                      stacklevel=2)
    refit_every = None if refit_every is None else check_positive_int(refit_every, "refit_every")
    if not callable(getattr(generator, "sample_many", None)):
        raise TypeError("generator must have a sample_many method (finscore.protocol.BaseGenerator), "
                        f"got {type(generator).__name__}")
    min_ctx = int(getattr(generator, "min_context", 1))
    if context_length is None:
        ctx_len = max(min_ctx, DEFAULT_CONTEXT)
    else:
        ctx_len = check_positive_int(context_length, "context_length")
    if ctx_len < min_ctx:
        raise ValueError(f"context_length={ctx_len} is below {type(generator).__name__}.min_context={min_ctx}")
    positions = _forecast_positions(returns.index, start, end, horizon_days, ctx_len)

    if refit_every is None and not hasattr(generator, "assets_"):
        generator.fit(returns.loc[returns.index < pd.Timestamp(start)])
    elif refit_every is None and set(map(str, generator.assets_)) != set(assets):
        raise DataError(f"generator was fitted on assets {list(generator.assets_)} but returns has {list(assets)}")
    if refit_every is None:
        warn_look_ahead(generator, returns.index[positions[0]], label=type(generator).__name__,
                        first_is="the first forecast origin", biased="the backtest is", stacklevel=3)

    root = _root_seed(seed)
    port = np.empty((len(positions), n_scenarios))
    from tqdm.auto import tqdm

    with tqdm(total=len(positions), desc="backtest", unit="date", disable=not progress) as bar:
        for i0, i1 in _chunks(len(positions), chunk_size, refit_every):
            if refit_every is not None and i0 % refit_every == 0:
                generator.fit(returns.iloc[: positions[i0] + 1])
            dates = returns.index[positions[i0:i1]]
            contexts = [returns.iloc[p - ctx_len + 1: p + 1] for p in positions[i0:i1]]
            port[i0:i1] = _forecast(generator, contexts, dates, n_scenarios, horizon_days, w, root, i0)
            bar.update(i1 - i0)

    index = returns.index[positions]
    meta = {"generator": type(generator).__name__, "generator_repr": repr(generator),
            "seed": seed if isinstance(seed, (int, np.integer, type(None))) else repr(seed),
            "n_scenarios": n_scenarios, "context_length": ctx_len, "refit_every": refit_every,
            "chunk_size": chunk_size, "overlapping": horizon_days > 1, "var_method": var_method}
    var_frame, es_frame = var_es_frames(port, lv, index, var_method)
    return BacktestResult(
        var=var_frame, es=es_frame,
        realized=pd.Series(_realized(returns, w, positions, horizon_days), index=index, name="realized"),
        scenario_returns=port, levels=lv, horizon_days=horizon_days, weights=w, metadata=meta,
    )


def _forecast_positions(index: pd.DatetimeIndex, start, end, horizon_days: int, ctx_len: int) -> np.ndarray:
    """Row positions of the forecast dates; errors name the date and the rows needed."""
    start = check_date(start, "start")
    end = None if end is None else check_date(end, "end")
    p0 = int(index.searchsorted(start))
    last = len(index) - 1 - horizon_days  # the last date with horizon_days realized rows after it
    if end is not None:
        last = min(last, int(index.searchsorted(end, side="right")) - 1)
    if p0 > last:
        until = "" if end is None else f" and be <= end {end.date()}"
        raise DataError(f"no forecast dates: start {start.date()} must leave {horizon_days} day(s) of realized "
                        f"returns before the end of the data ({index[-1].date()}){until}")
    if p0 + 1 < ctx_len:
        first_ok = index[ctx_len - 1].date() if ctx_len <= len(index) else "never (not enough data)"
        raise DataError(
            f"start {index[p0].date()} has only {p0 + 1} rows of history up to and including it, but "
            f"context_length={ctx_len} rows are needed; the earliest possible start is {first_ok}"
        )
    return np.arange(p0, last + 1)


def _chunks(n: int, chunk_size: int, refit_every: int | None):
    """(i0, i1) date ranges of at most chunk_size, never crossing a refit date."""
    i0 = 0
    while i0 < n:
        i1 = min(n, i0 + chunk_size)
        if refit_every is not None:
            i1 = min(i1, (i0 // refit_every + 1) * refit_every)
        yield i0, i1
        i0 = i1


def _root_seed(seed: Seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    return np.random.SeedSequence(seed)


def _child_seeds(root: np.random.SeedSequence, first: int) -> np.random.SeedSequence:
    """A SeedSequence whose ``spawn(m)`` yields children first..first+m-1 of ``root`` (stateless)."""
    return np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key, n_children_spawned=first)


def _forecast(generator, contexts, dates, n: int, horizon_days: int, w: pd.Series, root, i0: int) -> np.ndarray:
    """Scenario portfolio returns over horizon_days for each context: ndarray (len(contexts), n)."""
    name = type(generator).__name__
    try:
        scens = generator.sample_many(n, horizon_days, contexts, seed=_child_seeds(root, i0))
    except NumericalError as exc:
        for j, ctx in enumerate(contexts):  # locate the failing date (error path only)
            try:
                generator.sample_many(n, horizon_days, [ctx], seed=_child_seeds(root, i0 + j))
            except NumericalError:
                raise NumericalError(f"{name} produced non-finite scenarios for the forecast at "
                                     f"{dates[j].date()}: {exc}") from exc
        raise NumericalError(f"{name} produced non-finite scenarios for a forecast between "
                             f"{dates[0].date()} and {dates[-1].date()}: {exc}") from exc
    if len(scens) != len(contexts):
        raise DataError(f"{name}.sample_many returned {len(scens)} scenario sets for {len(contexts)} contexts")
    out = np.empty((len(contexts), n))
    for j, scen in enumerate(scens):
        if scen.n_scenarios != n or scen.horizon < horizon_days:
            raise DataError(f"{name} returned scenarios of shape {scen.values.shape} at {dates[j].date()}; "
                            f"expected ({n}, >= {horizon_days}, {len(w)})")
        out[j] = scen.portfolio_returns(w)[:, horizon_days - 1]
        if not np.all(np.isfinite(out[j])):
            raise NumericalError(f"{name} produced non-finite portfolio returns for the forecast at {dates[j].date()}")
    return out


def _realized(returns: pd.DataFrame, w: pd.Series, positions: np.ndarray, horizon_days: int) -> np.ndarray:
    """Buy-and-hold portfolio simple return over rows p+1..p+horizon_days: ndarray (len(positions),)."""
    cum = np.vstack([np.zeros((1, returns.shape[1])), np.cumsum(returns.to_numpy(), axis=0)])
    log_sum = cum[positions + 1 + horizon_days] - cum[positions + 1]
    return np.expm1(log_sum) @ w.to_numpy()
