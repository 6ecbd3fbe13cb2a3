"""Out-of-sample comparison of scenario generators: rolling conditional forecasts scored against what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

import numpy as np
import pandas as pd

from finscore._rng import spawn_seeds
from finscore._typing import Seed
from finscore.data.checks import check_date, check_positive_int, check_returns
from finscore.errors import DataError, NotFittedError
from finscore.protocol import warn_look_ahead
from finscore.scenarios import portfolio_weights
from finscore.validation.distances import fact_distances
from finscore.validation.scoring import crps_ensemble, energy_score, variogram_score
from finscore.validation.stylized import fact_summary, stylized_facts

SCORES = ("energy_score", "crps", "variogram_score")


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Output of :func:`evaluate`.

    Attributes
    ----------
    table : DataFrame, MultiIndex rows (kind, metric) with kind in {"score", "distance", "fact"},
        columns = generator names + "real". Scores are means over test dates; distances are
        :func:`~finscore.validation.fact_distances`; fact rows are :func:`~finscore.validation.stylized.fact_summary`
        values (the "real" column holds the realized test windows' values, NaN for scores and distances).
    scores : tidy DataFrame with columns date, generator, energy_score, crps, variogram_score (one row per date).
    facts : dict name -> :func:`~finscore.validation.stylized.stylized_facts` dict, for every generator and "real".
    windows : dict name -> ndarray (N, H, d) of the pooled windows the facts were computed on.
    portfolio_paths : dict generator -> ndarray (T, M, H) cumulative simple portfolio returns per test date.
    realized_paths : ndarray (T, H) realized cumulative simple portfolio returns.
    dates : DatetimeIndex (T,) forecast origins (last observed date of each forecast).
    assets : tuple of asset names.
    config : dict of the evaluation settings.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    facts: dict[str, dict]
    windows: dict[str, np.ndarray]
    portfolio_paths: dict[str, np.ndarray]
    realized_paths: np.ndarray
    dates: pd.DatetimeIndex
    assets: tuple[str, ...]
    config: dict[str, Any] = field(default_factory=dict)

    def qq_plot(self, **kw):
        """QQ plot of pooled standardized daily returns, each generator vs real (Figure)."""
        return _figures().qq_plot(self.windows, **kw)

    def acf_plot(self, key: str = "acf_abs", **kw):
        """Curves of the pooled within-window ACF (``acf_abs``, ``acf_sq`` or ``acf_returns``) (Figure)."""
        return _figures().fact_curves(self.facts, key, **kw)

    def leverage_plot(self, **kw):
        """Leverage curves corr(r_t, r^2_{t+k}) (Figure)."""
        return _figures().fact_curves(self.facts, "leverage", **kw)

    def correlation_heatmaps(self, **kw):
        """Daily correlation matrices, real vs each generator (Figure)."""
        return _figures().matrix_heatmaps(self.facts, "correlation", self.assets, **kw)

    def tail_dependence_heatmaps(self, tail: str = "lower", **kw):
        """Empirical tail-dependence matrices at 5%, real vs each generator (Figure)."""
        return _figures().matrix_heatmaps(self.facts, f"tail_{tail}", self.assets, **kw)

    def fan_chart(self, date=None, **kw):
        """Fan chart of cumulative equal-weight (or ``weights``) paths vs realized at ``date`` (default: middle)."""
        i = len(self.dates) // 2 if date is None else int(self.dates.get_indexer([pd.Timestamp(date)], method="pad")[0])
        if i < 0:
            raise DataError(f"date {date} is before the first test date {self.dates[0].date()}")
        paths = {name: p[i] for name, p in self.portfolio_paths.items()}
        return _figures().fan_chart(paths, self.realized_paths[i], self.dates[i], **kw)


def _figures():
    from finscore.validation import figures  # matplotlib only when a figure is asked for

    return figures


def forecast_origins(index: pd.DatetimeIndex, train_end, test_start, test_end, horizon: int, stride: int) -> np.ndarray:
    """Integer positions of the forecast origins: every ``stride`` rows from the first date >= test_start
    whose next ``horizon`` rows exist and end on or before ``test_end``."""
    train_end, test_start = check_date(train_end, "train_end"), check_date(test_start, "test_start")
    test_end = None if test_end is None else check_date(test_end, "test_end")
    if test_start <= train_end:
        raise DataError(f"test_start {test_start.date()} must come after train_end {train_end.date()}")
    last = len(index) - 1 if test_end is None else int(index.searchsorted(test_end, side="right")) - 1
    first = int(index.searchsorted(test_start, side="left"))
    pos = np.arange(first, last - horizon + 1, stride)
    if len(pos) == 0:
        raise DataError(f"no test date in [{test_start.date()}, {test_end or index[-1].date()}] has {horizon} "
                        "days of realized data after it; move test_start earlier or shorten the horizon")
    return pos


def evaluate(generators: Mapping[str, Any], returns: pd.DataFrame, *, train_end, test_start, test_end=None,
             horizon: int = 20, stride: int = 5, n_scenarios: int = 500, weights="equal",
             context_length: int | None = None, seed: Seed = 0, fit: bool | Collection[str] = True,
             progress: bool = True, dates_per_call: int = 16, fact_scenarios: int = 100) -> EvaluationResult:
    """Fit, forecast at rolling test dates, and score every generator against the realized paths.

    Protocol. Each generator is fitted on ``returns`` up to ``train_end`` (if ``fit`` is True, or
    its name is in ``fit``). Forecast origins are every ``stride`` trading days from ``test_start``
    whose next ``horizon`` days are observed (and end by ``test_end``). At each origin t the
    generator sees the last ``context_length`` rows up to and including t (default
    ``max(min_context, 250)``) and draws ``n_scenarios`` H-day paths, via ``sample_many`` over
    ``dates_per_call`` origins at a time. Scores, per date (lower is better):

    * ``energy_score`` of the H x d path, every asset divided by its training-period daily std
      (so all assets count equally);
    * ``crps`` of the H-day simple return of the buy-and-hold ``weights`` portfolio;
    * ``variogram_score`` (p = 0.5) of the H-day log returns, each divided by its training std x sqrt(H).

    Stylized-fact distances compare the realized windows at the origins (N = T) with the pool
    of the first ``fact_scenarios`` generated windows of every origin (N = T x fact_scenarios).

    Parameters
    ----------
    generators : dict name -> generator following :class:`~finscore.protocol.BaseGenerator`.
    returns : DataFrame (n_dates, n_assets) of daily log returns.
    train_end, test_start, test_end : dates (test_start must be after train_end).
    horizon, stride, n_scenarios : H, days between origins, scenarios per origin.
    weights : portfolio weights for the CRPS ("equal", sequence or mapping; see Scenarios.weights_vector).
    context_length : rows of history given to each forecast.
    seed : int, Generator or None; generator k gets child seed k, its j-th call child j of that.
    fit : True (fit all), False (all pre-fitted) or the names of the generators to fit.
    progress : show a progress bar.

    Returns
    -------
    EvaluationResult
    """
    from tqdm.auto import tqdm

    returns = check_returns(returns, name="returns", reject_prices=True)
    if not generators or not isinstance(generators, Mapping):
        raise DataError("generators must be a non-empty dict name -> generator")
    if "real" in generators:
        raise DataError("'real' is reserved for the realized data; rename that generator")
    for name, v in (("horizon", horizon), ("stride", stride), ("n_scenarios", n_scenarios),
                    ("dates_per_call", dates_per_call), ("fact_scenarios", fact_scenarios)):
        check_positive_int(v, name)
    to_fit = set(generators) if fit is True else set() if fit is False else set(fit)
    if to_fit - set(generators):
        raise DataError(f"fit names unknown generators {sorted(to_fit - set(generators))}")
    assets = tuple(map(str, returns.columns))
    w = portfolio_weights(weights, assets)
    train_end = check_date(train_end, "train_end")
    if context_length is not None:
        check_positive_int(context_length, "context_length")
    train = returns.loc[:train_end]
    if len(train) < 2:
        raise DataError(f"only {len(train)} rows of returns up to train_end {train_end}")
    sd = train.std(ddof=0).to_numpy()
    if np.any(sd <= 0):
        raise DataError(f"assets {[a for a, s in zip(assets, sd) if s <= 0]} have zero training-period volatility")
    origins = forecast_origins(returns.index, train_end, test_start, test_end, horizon, stride)
    values = returns.to_numpy(np.float64)
    realized = np.stack([values[p + 1: p + 1 + horizon] for p in origins])  # (T, H, d)
    dates = returns.index[origins]
    starts = range(0, len(origins), dates_per_call)
    bar = tqdm(total=len(generators) * len(starts), desc="evaluate", disable=not progress)
    rows, pools, paths = [], {}, {}
    fit_ends = {}
    for (name, gen), gseed in zip(generators.items(), spawn_seeds(seed, len(generators))):
        _prepare(name, gen, train, dates[0], name in to_fit)
        end = getattr(gen, "fit_end_", None)  # recorded now: a later backtest may refit the generator in place
        fit_ends[name] = None if end is None else str(pd.Timestamp(end).date())
        length = context_length or max(int(getattr(gen, "min_context", 1)), 250)
        pool, port = [], []
        for a, cseed in zip(starts, spawn_seeds(gseed, len(starts))):
            chunk = origins[a: a + dates_per_call]
            ctxs = [returns.iloc[max(0, p - length + 1): p + 1] for p in chunk]
            out = gen.sample_many(n_scenarios, horizon, ctxs, seed=np.random.default_rng(cseed))
            sim = np.stack([_scenario_values(s, assets, (n_scenarios, horizon), name) for s in out])
            scores, cum = _score_chunk(sim, realized[a: a + len(chunk)], sd, w)
            rows.append(pd.DataFrame({"date": returns.index[chunk], "generator": name, **scores}))
            pool.append(sim[:, :fact_scenarios].reshape(-1, horizon, len(assets)))
            port.append(cum)
            bar.update()
        pools[name], paths[name] = np.concatenate(pool), np.concatenate(port)
    bar.close()
    scores = pd.concat(rows, ignore_index=True)
    realized_paths = np.exp(np.cumsum(realized, axis=1)) @ w - w.sum()
    facts, table = _fact_table(realized, pools, scores)
    config = dict(train_end=str(pd.Timestamp(train_end).date()), test_start=str(pd.Timestamp(test_start).date()),
                  test_end=None if test_end is None else str(pd.Timestamp(test_end).date()), horizon=int(horizon),
                  stride=int(stride), n_scenarios=int(n_scenarios), n_dates=len(dates), weights=w.tolist(),
                  context_length=context_length, seed=seed if isinstance(seed, (int, type(None))) else "generator",
                  fit_end=fit_ends)
    return EvaluationResult(table, scores, facts, {"real": realized, **pools}, paths, realized_paths, dates,
                            assets, config)


def _prepare(name: str, gen, train: pd.DataFrame, first_origin: pd.Timestamp, fit: bool) -> None:
    if fit:
        gen.fit(train)
        return
    if not hasattr(gen, "assets_"):
        raise NotFittedError(f"generator {name!r} is not fitted; pass fit=True or include {name!r} in fit")
    warn_look_ahead(gen, first_origin, label=f"generator {name!r}", first_is="the first test date",
                    biased="its scores are", stacklevel=4)


def _scenario_values(scen, assets: tuple[str, ...], shape: tuple[int, int], name: str) -> np.ndarray:
    got = tuple(scen.assets)
    if sorted(got) != sorted(assets):
        raise DataError(f"generator {name!r} returned assets {list(got)}, expected {list(assets)}")
    if scen.values.shape[:2] != shape:
        raise DataError(f"generator {name!r} returned scenarios of shape {scen.values.shape[:2]}, expected {shape}")
    return scen.values if got == assets else scen.values[:, :, [got.index(a) for a in assets]]


def _score_chunk(sim: np.ndarray, obs: np.ndarray, sd: np.ndarray, w: np.ndarray):
    """Scores of sim (c, M, H, d) against obs (c, H, d); also the cumulative portfolio paths (c, M, H)."""
    c, m, h, d = sim.shape
    es = energy_score((obs / sd).reshape(c, h * d), (sim / sd).reshape(c, m, h * d))
    cum = np.exp(np.cumsum(sim, axis=2)) @ w - w.sum()
    realized = np.exp(np.cumsum(obs, axis=1)) @ w - w.sum()
    crps = crps_ensemble(realized[:, -1], cum[:, :, -1])
    agg = sd * np.sqrt(h)
    vs = variogram_score(obs.sum(axis=1) / agg, sim.sum(axis=2) / agg)
    return {"energy_score": es, "crps": crps, "variogram_score": vs}, cum


def _fact_table(realized: np.ndarray, pools: dict[str, np.ndarray], scores: pd.DataFrame):
    facts = {"real": stylized_facts(realized)}
    cols = {}
    for name, pool in pools.items():
        facts[name] = stylized_facts(pool)
        mean_scores = scores.loc[scores["generator"] == name, list(SCORES)].mean()
        dist = fact_distances(realized, pool, real_facts=facts["real"], generated_facts=facts[name])
        cols[name] = pd.concat({"score": mean_scores, "distance": dist,
                                "fact": pd.Series(fact_summary(facts[name]), dtype=np.float64)})
    table = pd.DataFrame(cols)
    real = pd.concat({"fact": pd.Series(fact_summary(facts["real"]), dtype=np.float64)})
    table["real"] = real.reindex(table.index)
    table.index.names = ["kind", "metric"]
    return facts, table
