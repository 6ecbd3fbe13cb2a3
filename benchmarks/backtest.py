"""Rolling 1-day VaR / ES backtest of ScoreGenerator and every baseline on the same dates (issue 7).

Protocol: embedded data, equal-weight book; every model is fitted once on the rows strictly
before ``--start`` (no refits: the backtest's own rule for an unfitted generator) and then
forecasts, at each trading day t from ``--start`` to the end of the data, ``--n`` scenarios
conditional on the history up to and including t. VaR / ES at 95%, 97.5% and 99% are compared
with the realized return of t+1. Models: ScoreGenerator (default preset), GARCH (GJR-GARCH(1,1)-t
+ Gaussian copula), Gaussian copula, filtered historical simulation (fhs) and the stationary block
bootstrap.

Usage::

    python benchmarks/backtest.py                       # sp500, from 2019-01-01, 500 scenarios/day
    python benchmarks/backtest.py --models garch copula --n 1000

Writes, under benchmarks/results/: ``backtest_<data>_<model>.csv`` (per-date realized, VaR, ES,
exceedances), ``backtest_<data>_summary.csv`` (coverage, traffic light, Acerbi–Szekely, losses per
model and level), ``backtest_<data>_compare.csv`` (Diebold–Mariano p-values and the model
confidence set on the FZ0 loss per level) and ``backtest_<data>.md`` (the tables with the
command, machine and date). VaR / ES come from the scenarios by the backtest's default ``"predictive"``
estimator; the summary and the report also give every model's coverage by the scenario set's
``"empirical"`` quantile, recomputed from the same scenarios (``BacktestResult.with_var_method``).
The fitted ScoreGenerator is cached in results/models/.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from functools import partial

import pandas as pd

from _common import RESULTS, cached_fit, header, md_table, prepare, preset_key  # same directory
from finscore._io import atomic_write_text
from finscore.baselines import GARCH, GaussianCopula, HistoricalSimulation
from finscore.risk import backtest, compare_backtests

LEVELS = (0.95, 0.975, 0.99)
MODELS = ("finscore", "garch", "copula", "fhs", "bootstrap")


BASELINES = {"garch": GARCH, "copula": GaussianCopula, "fhs": HistoricalSimulation,
             "bootstrap": partial(HistoricalSimulation, method="bootstrap")}


def make(name: str, data: str, start: str, seed: int, train: pd.DataFrame):
    if name == "finscore":
        path = RESULTS / "models" / f"backtest-{data}-{start}-default-{preset_key('default')}-s{seed}"
        return cached_fit(path, train, preset="default", seed=seed)
    if name not in BASELINES:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return BASELINES[name]().fit(train)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--start", default="2019-01-01")
    p.add_argument("--n", type=int, default=500, help="scenarios per forecast date")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    returns = prepare(args.data, args.threads)
    train = returns.loc[returns.index < pd.Timestamp(args.start)]
    results, summaries, empirical, timing = {}, [], [], {}
    for name in args.models:
        t0 = time.perf_counter()
        gen = make(name, args.data, args.start, args.seed, train)
        t1 = time.perf_counter()
        res = backtest(gen, returns, "equal", args.start, levels=LEVELS, n_scenarios=args.n, seed=args.seed,
                       progress=True)
        t2 = time.perf_counter()
        timing[name] = {"fit_s": t1 - t0, "backtest_s": t2 - t1}
        res.to_frame().to_csv(RESULTS / f"backtest_{args.data}_{name}.csv")
        s = res.summary(n_sim=1000, seed=args.seed)
        s.insert(0, "model", name)
        s.insert(1, "var_method", "predictive")
        summaries.append(s.reset_index())
        e = res.with_var_method("empirical").summary(n_sim=1000, seed=args.seed)
        e.insert(0, "model", name)
        e.insert(1, "var_method", "empirical")
        empirical.append(e.reset_index())
        results[name] = res
        print(f"{name}: {res.n_obs} dates, fit {t1 - t0:.0f}s, backtest {t2 - t1:.0f}s", flush=True)
        print(s[["exceedances", "expected", "kupiec_p", "p_cc", "traffic_light", "as_z2_p",
                 "mean_pinball", "mean_fz0"]].to_string(), flush=True)
    summary, summary_emp = pd.concat(summaries, ignore_index=True), pd.concat(empirical, ignore_index=True)
    pd.concat([summary, summary_emp], ignore_index=True).to_csv(RESULTS / f"backtest_{args.data}_summary.csv",
                                                                index=False)
    compares = []
    if len(results) >= 2:
        for lv in LEVELS:
            c = compare_backtests(results, lv, loss="fz0", seed=args.seed)
            c.insert(0, "level", lv)
            compares.append(c.reset_index())
        pd.concat(compares, ignore_index=True).to_csv(RESULTS / f"backtest_{args.data}_compare.csv", index=False)

    first = next(iter(results.values()))
    span = f"{first.realized.index[0].date()} to {first.realized.index[-1].date()}"
    lines = [
        *header(f"Rolling 1-day VaR / ES backtest, `{args.data}`, equal-weight book", "backtest.py",
                argv if argv is not None else sys.argv[1:]),
        f"Forecast dates: {first.n_obs} ({span}); {args.n} scenarios per date; every model fitted once "
        f"on the {len(train)} daily returns before {args.start}, no refits; seed {args.seed}.",
        "",
        ("VaR and ES by the predictive estimator (`finscore.risk.var(..., method=\"predictive\")`), whose "
         "exceedance by a draw from the scenarios' own law is the nominal rate; the last section gives the "
         "coverage by the scenario set's empirical quantile, from the same scenarios (nominal "
         f"{100 * (args.n + 1 - math.ceil(args.n * 0.99 - 1e-9)) / (args.n + 1):.2f}% instead of 1% at 99% "
         f"from {args.n} scenarios)."),
        "",
        "Generated by the script; see `benchmarks/quality.md` for how to read the model rows.",
    ]
    for lv in LEVELS:
        s = summary[summary["level"] == lv].set_index("model")
        t = pd.DataFrame({
            "exceedances": s["exceedances"].astype(int),
            "rate": s["rate"].map(lambda v: f"{100 * v:.2f}%"),
            "Kupiec p": s["kupiec_p"], "Christoffersen p_ind": s["christoffersen_p_ind"], "p_cc": s["p_cc"],
            "traffic light": s["traffic_light"], "AS Z2": s["as_z2"], "AS Z2 p": s["as_z2_p"],
            "mean pinball": s["mean_pinball"].map(lambda v: f"{v:.6f}"),
            "mean FZ0": s["mean_fz0"].map(lambda v: f"{v:.4f}"),
        })
        if compares:
            c = next(c for c in compares if c["level"].iloc[0] == lv).set_index("model")
            if "in_mcs" in c:
                t["MCS p (FZ0)"] = c["mcs_pvalue"]
                t["in 90% MCS"] = c["in_mcs"]
            if "finscore" in c.index:
                t["DM p vs finscore (FZ0)"] = [
                    "–" if m == "finscore" else f"{c.loc[m, 'dm_p_finscore']:.3g}"
                    + (" (finscore lower)" if c.loc["finscore", f"dm_stat_{m}"] < 0 else " (finscore higher)")
                    for m in t.index]
        t.index.name = "model"
        lines += ["", f"## {100 * lv:g}% (expected exceedances {s['expected'].iloc[0]:.1f})", "", md_table(t)]
    t = summary_emp.assign(
        rate=summary_emp["rate"].map(lambda v: f"{100 * v:.2f}%"),
        mean_pinball=summary_emp["mean_pinball"].map(lambda v: f"{v:.6f}"),
    )[["level", "model", "exceedances", "rate", "kupiec_p", "christoffersen_p_ind", "p_cc", "traffic_light",
       "mean_pinball"]].set_index("level")
    lines += ["", "## The empirical quantile (the scenario set's own VaR), same scenarios", "",
              "A correct model's expected exceedance rate by this estimator is `(n + 1 - ceil(n level)) / (n + 1)`.",
              "", md_table(t)]
    lines += ["", "## Time", "", "Seconds; fit_s is the load time when the fitted ScoreGenerator came from the cache.",
              "", md_table(pd.DataFrame(timing).T.rename_axis("model"), "{:.1f}")]
    atomic_write_text(RESULTS / f"backtest_{args.data}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'backtest_{args.data}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
