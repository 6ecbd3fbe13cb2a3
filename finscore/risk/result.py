"""The :class:`BacktestResult` container, its summary table, and comparison of several backtests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from finscore.errors import DataError
from finscore.risk import coverage
from finscore.risk.es_tests import ESTestResult, acerbi_szekely
from finscore.risk.losses import diebold_mariano, fz0_loss, model_confidence_set, pinball_loss
from finscore.risk.measures import es, var

_NO_ES_TEST = ESTestResult(*[float("nan")] * 9, n_sim=0)  # the ES tests where some ES forecast is not a loss


def var_es_frames(scenario_returns: np.ndarray, levels: tuple[float, ...], index: pd.Index,
                  method: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """VaR and ES DataFrames (n_dates, n_levels) of each date's scenario returns (n_dates, n_scenarios) by the
    VaR ``method`` (:func:`finscore.risk.var`), indexed by ``index`` with the levels as columns."""
    columns = pd.Index(levels, name="level")
    return (pd.DataFrame(var(scenario_returns, list(levels), method=method), index=index, columns=columns),
            pd.DataFrame(es(scenario_returns, list(levels), method=method), index=index, columns=columns))


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Rolling VaR / ES forecasts of a portfolio and their realized outcomes.

    Rows are forecast dates t (the last date of each context); the outcome of row t is the
    buy-and-hold portfolio return over the next ``horizon_days`` rows of the data.

    Attributes
    ----------
    var, es : DataFrame (n_dates, n_levels), positive loss numbers (fractions of portfolio
        value), columns = levels.
    realized : Series (n_dates,) of realized portfolio simple returns.
    scenario_returns : ndarray (n_dates, n_scenarios) of each date's scenario portfolio returns.
    levels : tuple of confidence levels.
    horizon_days : forecast horizon in trading days (> 1: overlapping forecasts).
    weights : Series (n_assets,) of portfolio weights.
    metadata : dict of provenance (generator, seed, n_scenarios, context_length, var_method, ...).
    """

    var: pd.DataFrame
    es: pd.DataFrame
    realized: pd.Series
    scenario_returns: np.ndarray
    levels: tuple[float, ...]
    horizon_days: int
    weights: pd.Series
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def exceedances(self) -> pd.DataFrame:
        """Boolean DataFrame (n_dates, n_levels): realized loss above the VaR forecast."""
        return self.var.apply(lambda v: self.realized < -v).astype(bool)

    @property
    def n_obs(self) -> int:
        return len(self.realized)

    def with_var_method(self, method: str) -> BacktestResult:
        """The same backtest with VaR and ES recomputed from ``scenario_returns`` by ``method``.

        ``"predictive"`` or ``"empirical"`` (see :func:`finscore.risk.var`); nothing is sampled again.
        """
        v, e = var_es_frames(self.scenario_returns, self.levels, self.var.index, method)
        return replace(self, var=v, es=e, metadata={**self.metadata, "var_method": method})

    def losses(self, level: float) -> pd.DataFrame:
        """Per-date ``pinball`` (VaR) and ``fz0`` (joint VaR–ES) losses at ``level``: DataFrame (n_dates, 2)."""
        lv = self._level(level)
        y, v, e = self.realized.to_numpy(), self.var[lv].to_numpy(), self.es[lv].to_numpy()
        return pd.DataFrame(
            {"pinball": pinball_loss(y, v, lv), "fz0": fz0_loss(y, v, e, lv)}, index=self.realized.index
        )

    def summary(self, *, n_sim: int = 1000, seed: int | None = None) -> pd.DataFrame:
        """One row per level: coverage tests, traffic light, Acerbi–Szekely tests, mean losses.

        Coverage tests assume independent exceedances; with ``horizon_days > 1`` the
        overlapping forecasts make them dependent and the p-values too small.
        ``n_sim`` H0 simulations give the Acerbi–Szekely p-values (seed: the backtest's).
        ``es_nonpositive`` counts the dates whose ES forecast is not a loss (ES <= 0); where it is not 0,
        the FZ0 loss and the Acerbi–Szekely tests are undefined and ``mean_fz0`` and ``as_*`` are NaN.
        """
        seed = self.metadata.get("seed", 0) if seed is None else seed
        seed = seed if isinstance(seed, (int, np.integer)) else 0
        rows = {}
        for lv in self.levels:
            hits = self.exceedances[lv].to_numpy()
            x, n = int(hits.sum()), hits.size
            uc, cc = coverage.kupiec(hits, lv), coverage.christoffersen(hits, lv)
            ind = coverage.christoffersen_independence(hits)
            es_bad = int((self.es[lv] <= 0).sum())  # no forecast loss: FZ0 and the ES tests are undefined there
            z = _NO_ES_TEST if es_bad else acerbi_szekely(
                self.realized.to_numpy(), self.var[lv].to_numpy(), self.es[lv].to_numpy(), self.scenario_returns,
                lv, n_sim=n_sim, seed=seed)
            loss = self.losses(lv)
            rows[lv] = {
                "n_obs": n, "exceedances": x, "rate": x / n, "expected": n * (1 - lv),
                "kupiec_lr": uc.statistic, "kupiec_p": uc.pvalue,
                "christoffersen_lr_ind": ind.statistic, "christoffersen_p_ind": ind.pvalue,
                "lr_cc": cc.statistic, "p_cc": cc.pvalue,
                "binomial_p": coverage.binomial_test(hits, lv).pvalue,
                "traffic_light": coverage.traffic_light(x, n, lv),
                "as_z1": z.z1, "as_z1_p": z.p1, "as_z2": z.z2, "as_z2_p": z.p2, "as_z3": z.z3, "as_z3_p": z.p3,
                "mean_pinball": float(loss["pinball"].mean()), "mean_fz0": float(loss["fz0"].mean(skipna=False)),
                "es_nonpositive": es_bad,
            }
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "level"
        return out

    def to_frame(self) -> pd.DataFrame:
        """Wide per-date frame for CSV output: realized, then var_/es_/exceed_<level> columns."""
        cols = {"realized": self.realized}
        for lv in self.levels:
            cols[f"var_{lv:g}"] = self.var[lv]
            cols[f"es_{lv:g}"] = self.es[lv]
            cols[f"exceed_{lv:g}"] = self.exceedances[lv]
        return pd.DataFrame(cols)

    def plot(self, level: float | None = None, ax=None):
        """Returns against -VaR / -ES, exceedances marked (:func:`~finscore.risk.figures.plot_var_backtest`)."""
        from finscore.risk.figures import plot_var_backtest

        return plot_var_backtest(self, level, ax=ax)

    def plot_traffic_light(self, ax=None):
        """Exceedance counts against the Basel zones (see :func:`finscore.risk.figures.plot_traffic_light`)."""
        from finscore.risk.figures import plot_traffic_light

        return plot_traffic_light(self, ax=ax)

    def _level(self, level: float) -> float:
        for lv in self.levels:
            if np.isclose(lv, float(level)):
                return lv
        raise ValueError(f"level {level} was not backtested; levels are {list(self.levels)}")

    def __repr__(self) -> str:
        span = f"{self.realized.index[0].date()}..{self.realized.index[-1].date()}" if self.n_obs else "empty"
        return (f"BacktestResult(n_obs={self.n_obs}, {span}, levels={list(self.levels)}, "
                f"horizon_days={self.horizon_days}, generator={self.metadata.get('generator', '?')})")


def compare_backtests(
    results: dict[str, BacktestResult], level: float, *, loss: str = "fz0", mcs_size: float = 0.1,
    reps: int = 1000, seed: int = 0,
) -> pd.DataFrame:
    """Compare several backtests of the same portfolio on their common dates.

    Parameters
    ----------
    results : mapping model name -> BacktestResult (at least two).
    level : the VaR / ES level to compare (must be in every result).
    loss : ``"fz0"`` (joint VaR–ES, Patton et al. 2019) or ``"pinball"`` (VaR only).
    mcs_size, reps, seed : model confidence set settings (used with more than two models).

    Returns
    -------
    DataFrame indexed by model: ``exceedances``, ``mean_pinball``, ``mean_fz0``, then
    ``dm_p_<other>``: the two-sided Diebold–Mariano p-value of the row model against each
    other model (``dm_stat_<other>`` < 0 means the row model has lower loss), and with more
    than two models ``mcs_pvalue`` and ``in_mcs``.
    """
    if loss not in ("fz0", "pinball"):
        raise ValueError(f"loss must be 'fz0' or 'pinball', got {loss!r}")
    if len(results) < 2:
        raise ValueError(f"compare_backtests needs at least two results, got {len(results)}")
    common = None
    for res in results.values():
        common = res.realized.index if common is None else common.intersection(res.realized.index)
    if len(common) < 3:
        raise DataError(f"the backtests share only {len(common)} forecast dates; at least 3 are needed")
    (ref_name, ref), *others = results.items()
    for name, res in others:  # the losses are comparable only for one book over one horizon
        if res.horizon_days != ref.horizon_days:
            raise DataError(f"backtests {ref_name!r} and {name!r} forecast different horizons "
                            f"({ref.horizon_days} and {res.horizon_days} days)")
        a, b = ref.realized.loc[common].to_numpy(), res.realized.loc[common].to_numpy()
        bad = np.abs(a - b) > 1e-9 * (1.0 + np.abs(a))
        if bad.any():
            first = common[int(np.argmax(bad))]
            raise DataError(f"backtests {ref_name!r} and {name!r} realized different portfolio returns on "
                            f"{first.date()} (other weights or data?); compare backtests of the same book")
    per = {name: res.losses(res._level(level)).loc[common] for name, res in results.items()}
    for name in results if loss == "fz0" else ():  # dropping those dates would favour the model that caused them
        undefined = per[name]["fz0"].isna()
        if undefined.any():
            raise DataError(f"FZ0 is undefined for {name!r} on {int(undefined.sum())} of {len(common)} dates (its "
                            f"ES forecast is not a loss; the first on {undefined.idxmax().date()}); compare with "
                            "loss='pinball'")
    table = pd.DataFrame({
        "exceedances": {n: int(r.exceedances[r._level(level)].loc[common].sum()) for n, r in results.items()},
        "mean_pinball": {n: float(per[n]["pinball"].mean()) for n in results},
        "mean_fz0": {n: float(per[n]["fz0"].mean(skipna=False)) for n in results},
    })
    h = max(r.horizon_days for r in results.values())
    series = pd.DataFrame({n: per[n][loss] for n in results})
    for b in results:  # columns in the order of ``results``; NaN on the diagonal
        table[f"dm_stat_{b}"], table[f"dm_p_{b}"] = np.nan, np.nan
    for a, b in itertools.permutations(results, 2):
        dm = diebold_mariano(series[a], series[b], h=h)
        table.loc[a, [f"dm_stat_{b}", f"dm_p_{b}"]] = dm.statistic, dm.pvalue
    if len(results) > 2:
        table = table.join(model_confidence_set(series, size=mcs_size, reps=reps, seed=seed))
    table.index.name = "model"
    return table
