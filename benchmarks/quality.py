"""Out-of-sample quality of ScoreGenerator vs GARCH and the Gaussian copula (issue 9 protocol).

Protocol (stated once, here): fit on embedded data up to 2016-12-31; model selection on
2017-01-01..2018-12-31 (``--period val``); the reported figures on 2019-01-01..end of data
(``--period report``, includes March 2020). A second selection fold with a crash in it: fit up to
2007-12-31, test on 2008-2009 (``--period crisis``, embedded sp500 only). H = 20-day paths at
every 5th trading day, 500 scenarios per date; 1-day VaR backtest of the equal-weight book on
every day of the period (500 scenarios per day). Baselines are fitted once on the same training
data and filtered through the context with fixed parameters (no re-fitting), exactly like
ScoreGenerator.

Usage::

    python benchmarks/quality.py --period val --seeds 0 1 2 --tag default
    python benchmarks/quality.py --period val --seeds 0 --tag small -o width=64 -o depth=1

Writes benchmarks/results/quality_<data>_<period>_<tag>.csv (one row per generator and seed; the
``dm_<baseline>.<score>`` columns are Diebold-Mariano p-values of the model's per-date energy score
and CRPS against each baseline, and of its 1-day pinball losses), its per-date scores in
``..._<tag>_dates.csv``, with the daily VaR backtest (``--var-n`` > 0) the model's per-day pinball losses in
``..._<tag>_days.csv``, and appends a line to benchmarks/results/quality_log.csv. Baseline rows and
per-date (per-day) scores are cached per (data, period) in benchmarks/results/baselines_<data>_<period>.csv
and ``..._dates.csv`` (``..._days.csv``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import platform
import sys
import time

import numpy as np
import pandas as pd
import torch

from _common import RESULTS, cached_fit, model_arguments, preset_key  # same directory
from finscore import load_prices, to_returns
from finscore._rng import spawn_seeds
from finscore.baselines import GARCH, GaussianCopula
from finscore.presets import SAMPLING_FIELDS
from finscore.risk import backtest
from finscore.scenarios import Scenarios
from finscore.validation import evaluate

TRAIN_END = "2016-12-31"
#: period -> (training end, first test date, last test date or None for the end of the data). "crisis" is a
#: second model-selection fold with a crash in it (2008-2009, models trained through 2007): the validation
#: years 2017-2018 have none, so they cannot tell how a candidate behaves when volatility explodes.
PERIODS = {"val": (TRAIN_END, "2017-01-01", "2018-12-31"), "report": (TRAIN_END, "2019-01-01", None),
           "crisis": ("2007-12-31", "2008-01-01", "2009-12-31")}


def _value(s: str):
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        return s


def parse_overrides(items: list[str]) -> dict:
    """``field=value`` strings (``-o``) to ScoreConfig overrides; ``state.x=v`` go into ``{"state": {x: v}}``."""
    overrides = {k: _value(v) for k, v in (kv.split("=", 1) for kv in items)}
    state = {k.split(".", 1)[1]: overrides.pop(k) for k in list(overrides) if k.startswith("state.")}
    if state:
        overrides["state"] = state
    return overrides


def _var_from_origins(ev, name, var_method):
    """1-day VaR of the equal-weight book at the evaluation origins (every ``stride`` days): a cheap
    coverage check (``--var-n 0``); ``--var-n`` > 0 or ``backtest.py`` backtest every day instead.

    Returns (summary dict, per-date pinball losses {"pinball95": (T,), "pinball99": (T,)}): the per-date
    losses feed the Diebold-Mariano test against the baselines (``diebold_mariano_columns``).
    """
    from finscore.risk import coverage, pinball_loss, var

    port, real = ev.portfolio_paths[name][:, :, 0], ev.realized_paths[:, 0]
    out, per_date = {}, {}
    for lv in (0.95, 0.99):
        v = var(port, lv, method=var_method)  # (T,)
        hits = real < -v
        key = f"var{int(lv * 100)}"
        per_date[f"pinball{int(lv * 100)}"] = loss = np.asarray(pinball_loss(real, v, lv), dtype=np.float64)
        out.update({f"{key}.rate": hits.mean(), f"{key}.kupiec_p": coverage.kupiec(hits, lv).pvalue,
                    f"{key}.p_ind": coverage.christoffersen_independence(hits).pvalue,
                    f"{key}.p_cc": coverage.christoffersen(hits, lv).pvalue,
                    f"{key}.pinball": float(loss.mean())})
    return out, per_date


def score_generator(name, gen, returns, period, seed, *, n, stride, fit, var_n, var_method):
    """(summary row, per-origin scores, per-day pinball losses of the daily VaR backtest or None with
    ``var_n == 0``, where the origins' own pinball losses are columns of the per-origin frame)."""
    train_end, start, end = PERIODS[period]
    t0 = time.perf_counter()
    ev = evaluate({name: gen}, returns, train_end=train_end, test_start=start, test_end=end, horizon=20,
                  stride=stride, n_scenarios=n, seed=seed, fit=fit, progress=False)
    t_eval = time.perf_counter() - t0
    col = ev.table[name]
    row = {"generator": name, "seed": seed, **{f"score.{k}": v for k, v in col["score"].items()},
           **{f"dist.{k}": v for k, v in col["distance"].items()}}
    dates = ev.scores[ev.scores["generator"] == name].assign(seed=seed)
    if var_n == 0:
        summary, per_date = _var_from_origins(ev, name, var_method)
        row.update(summary)
        dates = dates.assign(**per_date)
        row["seconds_eval"] = row["seconds_total"] = t_eval
        return row, dates, None
    bt = backtest(gen, returns.loc[:end] if end else returns, "equal", start, levels=(0.95, 0.99), horizon_days=1,
                  n_scenarios=var_n, seed=seed, progress=False, var_method=var_method)
    summ = bt.summary(n_sim=200)
    for lv in (0.95, 0.99):
        r = summ.loc[lv]
        row.update({f"var{int(lv * 100)}.rate": r["rate"], f"var{int(lv * 100)}.kupiec_p": r["kupiec_p"],
                    f"var{int(lv * 100)}.p_ind": r["christoffersen_p_ind"], f"var{int(lv * 100)}.p_cc": r["p_cc"],
                    f"var{int(lv * 100)}.pinball": r["mean_pinball"]})
    row["seconds_eval"] = t_eval
    row["seconds_total"] = time.perf_counter() - t0
    days = pd.DataFrame({"date": bt.realized.index, "generator": name, "seed": seed,
                         **{f"pinball{int(lv * 100)}": bt.losses(lv)["pinball"].to_numpy() for lv in (0.95, 0.99)}})
    return row, dates, days


def diebold_mariano_columns(model: pd.DataFrame, base: pd.DataFrame, stride: int, horizon: int = 20) -> dict:
    """Two-sided Diebold-Mariano p-values (Harvey correction) of the per-date energy score and CRPS of one
    model run against each baseline; the 20-day paths of origins ``stride`` days apart overlap, so the
    loss differences are autocorrelated up to lag ``ceil(horizon / stride) - 1``. Also of the 1-day pinball
    losses at the origins (``pinball95``, ``pinball99``) where both frames have them (lag 0: one day each)."""
    from finscore.risk import diebold_mariano

    h = -(-horizon // stride)
    lags = {"energy_score": h, "crps": h, "pinball95": 1, "pinball99": 1}
    out = {}
    for name, b in base.groupby("generator"):
        pair = model.merge(b, on="date", suffixes=("", "_b"))
        if len(pair) != len(model):
            raise ValueError(f"per-date scores of {name} do not cover the model's {len(model)} dates")
        for k, h in lags.items():
            if k in pair and f"{k}_b" in pair:
                out[f"dm_{name}.{k}"] = diebold_mariano(pair[k], pair[f"{k}_b"], h=h).pvalue
    return out


def baselines(key, returns, period, *, n, stride, var_n, var_method, refresh=False):
    """(one row per baseline, per-date scores, per-day pinball losses of the daily backtest or None); cached,
    and recomputed when a file is missing or the per-date file lacks the origins' pinball losses (written
    since 2026-12-06; the same seed gives the same figures)."""
    path, path_dates = RESULTS / f"baselines_{key}_{period}.csv", RESULTS / f"baselines_{key}_{period}_dates.csv"
    path_days = RESULTS / f"baselines_{key}_{period}_days.csv"
    if path.exists() and path_dates.exists() and not refresh:
        cached = pd.read_csv(path_dates, parse_dates=["date"])
        if var_n and path_days.exists():
            return pd.read_csv(path), cached, pd.read_csv(path_days, parse_dates=["date"])
        if not var_n and "pinball99" in cached:
            return pd.read_csv(path), cached, None
    train = returns.loc[:PERIODS[period][0]]
    rows, dates, days = [], [], []
    for name, gen in (("garch", GARCH()), ("copula", GaussianCopula())):
        gen.fit(train)
        row, d, dd = score_generator(name, gen, returns, period, 0, n=n, stride=stride, fit=False, var_n=var_n,
                                     var_method=var_method)
        rows.append(row)
        dates.append(d)
        days.append(dd)
        print(f"{name}: ES {row['score.energy_score']:.4f} CRPS {row['score.crps']:.5f}", flush=True)
    out, out_dates = pd.DataFrame(rows), pd.concat(dates, ignore_index=True)
    out_days = pd.concat(days, ignore_index=True) if var_n else None
    out.to_csv(path, index=False)
    out_dates.to_csv(path_dates, index=False)
    if out_days is not None:
        out_days.to_csv(path_days, index=False)
    return out, out_dates, out_days


def _fitted(data, preset, seed, overrides, returns, train_end=TRAIN_END, pretrain=None):
    """Fit on ``returns`` up to ``train_end``, or reuse the model fitted with the same data, preset settings,
    seed, training overrides and training end. Sampling overrides (``SAMPLING_FIELDS``) are left out of the
    cache key and applied to the model as it is loaded or fitted.

    ``pretrain``: (name, returns) of a panel to pre-train on (up to ``train_end``, same settings and seed);
    the model for ``data`` is then fine-tuned from it (``init_from``).
    """
    training = {k: v for k, v in overrides.items() if k not in SAMPLING_FIELDS}  # sampling ones: see cached_fit
    parts = [data, preset, preset_key(preset), seed, sorted(training.items())]
    if train_end != TRAIN_END:  # keys of models trained to the main split stay what they were
        parts.append(f"train_end={train_end}")
    extra = {}
    if pretrain is not None:
        name, rets = pretrain
        parts.append(f"pretrain={name}")
        extra["init_from"] = _fitted(name, preset, seed, overrides, rets, train_end)
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]
    return cached_fit(RESULTS / "models" / key, returns.loc[:train_end], preset=preset, seed=seed, **overrides, **extra)


class _Pooled:
    """Scenarios pooled from several fitted generators (``--members``): ``n`` split evenly across the members,
    each sampling with its own child seed. Enough of the protocol for ``evaluate(fit=False)``."""

    def __init__(self, members):
        self.members = members
        self.assets_, self.fit_end_ = members[0].assets_, members[0].fit_end_
        self.min_context = max(m.min_context for m in members)

    def sample_many(self, n, horizon, contexts, seed=None):
        k = len(self.members)
        sizes = [n // k + (i < n % k) for i in range(k)]
        draws = [m.sample_many(size, horizon, contexts, seed=np.random.default_rng(s))
                 for m, size, s in zip(self.members, sizes, spawn_seeds(seed, k))]
        order = np.argsort(np.concatenate([np.arange(size) for size in sizes]), kind="stable")  # interleaved, so
        # that the first scenarios of a date (the stylized facts use a prefix) come from every member
        return [Scenarios(np.concatenate([d[i].values for d in draws])[order], draws[0][i].assets, draws[0][i].start,
                          {"members": k}) for i in range(len(contexts))]


def add_train_start(p: argparse.ArgumentParser) -> None:
    """The ``--train-start YYYY`` flag (read by :func:`train_start`)."""
    p.add_argument("--train-start", default=None, metavar="YYYY",
                   help="drop the data before this year: a short training history for every model (the results' "
                        "and caches' data name becomes <data>_from<YYYY>)")


def train_start(p: argparse.ArgumentParser, args: argparse.Namespace,
                returns: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """(returns, data name): those of ``args.data`` from ``--train-start`` on, named ``<data>_from<YYYY>``."""
    if args.train_start is None:
        return returns, args.data
    if not (args.train_start.isdigit() and len(args.train_start) == 4):
        p.error(f"--train-start takes a year (YYYY), got {args.train_start!r}")
    return returns.loc[args.train_start:], f"{args.data}_from{args.train_start}"


def wins(model: pd.Series, base: pd.Series) -> int:
    keys = [k for k in model.index if k.startswith("dist.")]
    return int(sum(model[k] < base[k] for k in keys))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_arguments(p)
    p.add_argument("--period", choices=sorted(PERIODS), default="val")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--stride", type=int, default=5)
    p.add_argument("--var-n", type=int, default=500,
                   help="scenarios per day of the daily 1-day VaR backtest; 0: VaR at the evaluation origins only")
    p.add_argument("--var-method", choices=("empirical", "predictive"), default="empirical",
                   help="VaR estimator from the scenarios (finscore.risk.var): 'empirical', the one of every run "
                        "in quality.md before 2026-12-07, so that runs stay comparable; 'predictive', the one "
                        "backtest.py uses, exceeded at the nominal rate by a correct model")
    p.add_argument("--members", type=int, default=1,
                   help="pool the scenarios of this many models (seed s: training seeds members*s .. members*s+members-1, "
                        "n split evenly); 1: one model per seed")
    p.add_argument("--refresh-baselines", action="store_true")
    add_train_start(p)
    p.add_argument("--pretrain", default=None,
                   help="embedded data set to pre-train on (same settings, up to the training end); "
                        "the model for --data is fine-tuned from it")
    args = p.parse_args(argv)
    if args.members < 1:
        p.error(f"--members must be a positive integer, got {args.members}")
    if args.members > 1 and args.var_n:
        p.error("--members > 1 needs --var-n 0: the daily VaR backtest takes a single generator")
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    overrides = parse_overrides(args.override)
    returns = to_returns(load_prices(args.data))
    returns, name = train_start(p, args, returns)
    tag_b = ("" if args.var_n else "_origins") + ("" if args.var_method == "empirical" else f"_{args.var_method}")
    base, base_dates, base_days = baselines(name + tag_b, returns, args.period, n=args.n, stride=args.stride,
                                            var_n=args.var_n, var_method=args.var_method,
                                            refresh=args.refresh_baselines)
    rows, dates, days = [], [], []
    pretrain = None if args.pretrain is None else (args.pretrain, to_returns(load_prices(args.pretrain)))
    train_end = PERIODS[args.period][0]
    for seed in args.seeds:
        t0 = time.perf_counter()
        fitted = [_fitted(name, args.preset, args.members * seed + j, overrides, returns, train_end, pretrain)
                  for j in range(args.members)]
        gen = fitted[0] if args.members == 1 else _Pooled(fitted)
        fit_s = time.perf_counter() - t0
        row, per_date, per_day = score_generator("finscore", gen, returns, args.period, seed, n=args.n,
                                                 stride=args.stride, fit=False, var_n=args.var_n,
                                                 var_method=args.var_method)
        steps, dsm = zip(*((m.train_result_.best_step, m.train_result_.best_val_loss) for m in fitted))
        row.update(seconds_fit=fit_s, best_step=steps[0] if len(steps) == 1 else np.mean(steps),  # members: mean
                   best_val_dsm=np.mean(dsm),
                   **diebold_mariano_columns(per_date, base_dates, args.stride))
        if per_day is not None:  # the daily backtest's pinball losses (one day each: lag 0)
            row.update(diebold_mariano_columns(per_day.drop(columns="seed"), base_days, 1, horizon=1))
            days.append(per_day)
        rows.append(row)
        dates.append(per_date)
        g, c = base.set_index("generator").loc["garch"], base.set_index("generator").loc["copula"]
        r = pd.Series(row)
        print(f"seed {seed}: ES {row['score.energy_score']:.4f} (garch {g['score.energy_score']:.4f}, "
              f"copula {c['score.energy_score']:.4f}) CRPS {row['score.crps']:.5f} (garch {g['score.crps']:.5f}) "
              f"VaR95 {row['var95.rate']:.3f} VaR99 {row['var99.rate']:.3f} pinball99 {row['var99.pinball']:.6f} "
              f"(garch {g['var99.pinball']:.6f}) wins vs copula {wins(r, c)}, vs garch {wins(r, g)}; DM p vs garch "
              f"ES {row['dm_garch.energy_score']:.2f} CRPS {row['dm_garch.crps']:.2f} "
              f"pinball99 {row.get('dm_garch.pinball99', float('nan')):.2f}; "
              f"fit {fit_s:.0f}s total {time.perf_counter() - t0:.0f}s", flush=True)
    out = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    out.insert(0, "tag", args.tag)
    if args.members > 1:
        overrides["members"] = args.members
    out["overrides"] = json.dumps(overrides)
    out["var_method"] = args.var_method
    out.to_csv(RESULTS / f"quality_{name}_{args.period}_{args.tag}.csv", index=False)
    pd.concat([base_dates, *dates], ignore_index=True).to_csv(
        RESULTS / f"quality_{name}_{args.period}_{args.tag}_dates.csv", index=False)
    if days:  # the model's rows only: the baselines' are in their cache file (baselines_<key>_<period>_days.csv)
        pd.concat(days, ignore_index=True).to_csv(
            RESULTS / f"quality_{name}_{args.period}_{args.tag}_days.csv", index=False)
    model = pd.DataFrame(rows)
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), "tag": args.tag, "data": name, "period": args.period,
               "preset": args.preset, "overrides": json.dumps(overrides), "seeds": " ".join(map(str, args.seeds)),
               "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
               **{f"{k}_mean": model[k].mean() for k in ("score.energy_score", "score.crps", "var95.rate",
                                                           "var99.rate", "var99.pinball")},
               "es_std": model["score.energy_score"].std(ddof=0),
               "wins_copula": np.mean([wins(r, base.set_index("generator").loc["copula"]) for _, r in model.iterrows()]),
               "wins_garch": np.mean([wins(r, base.set_index("generator").loc["garch"]) for _, r in model.iterrows()]),
               "command": " ".join(["python", "benchmarks/quality.py", *(argv or sys.argv[1:])])}
    log = RESULTS / "quality_log.csv"
    pd.DataFrame([summary]).to_csv(log, mode="a", header=not log.exists(), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
