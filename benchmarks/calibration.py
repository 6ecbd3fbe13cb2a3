"""Where the 20-day forecasts of the equal-weight book are too narrow or too wide: ScoreGenerator vs GARCH.

The proper scores of ``quality.py`` say who wins; this says why, per half-year of a test period (same
protocol, origins and fitted models as ``quality.py``). For every generator and half-year:

* ``crps``: mean CRPS of the 20-day simple return of the book (the score ``quality.py`` reports);
* ``sd``: mean over origins of the forecast standard deviation of that return; ``sd1``: the same for the
  book's first-day return (the spread of one day, before the horizon's dynamics);
* ``z2``: mean squared standardized error ``((realized - forecast mean) / sd)^2`` (1 when the spread is
  right on average; above 1: too narrow); ``z2_1``: the same for the first day;
* ``cover90``: share of origins whose realized return lies inside the central 90% forecast interval;
* ``vr20``: variance ratio of the book's daily log returns (the mean of the assets'),
  ``var(sum of 20 days) / (20 var(one day))``,
  within the forecast windows (below 1: mean reversion narrows the 20-day spread);
* ``rho``: average pairwise correlation of the daily returns within the windows.

``vr20`` and ``rho`` of the generators are pooled over the first 100 scenarios of every origin; the realized row pools the realized windows of the half-year the same way (one
window per origin, so it is noisy: about 25 origins per half-year); the first row pools the training
period's windows (every ``--stride`` days), what the network was fitted to.

Usage::

    python benchmarks/calibration.py --period report --seed 0

Writes ``benchmarks/results/calibration_<data>_<period>_<tag>.md`` (with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import header, md_table, model_arguments, prepare, publish
from quality import PERIODS, _fitted, parse_overrides

from finscore.baselines import GARCH
from finscore.correlation import window_variance_ratio
from finscore.validation import evaluate


def window_stats(windows: np.ndarray) -> tuple[float, float]:
    """(vr20, rho) of windows (N, H, d) of daily log returns, demeaned by the pooled mean of each asset.

    ``vr20`` is the mean over windows of ``(sum of the book's H returns)^2`` over ``H`` times the mean of their
    squares (``1 + 2 sum_k (1 - k/H) acf_k`` for a stationary book); ``rho`` the average
    off-diagonal entry of the correlation matrix of the pooled daily returns.
    """
    x = windows - windows.mean(axis=(0, 1))  # (N, H, d)
    book = x.mean(axis=2)  # (N, H)
    vr = float(window_variance_ratio(book[:, :, None])[0])
    flat = x.reshape(-1, x.shape[2])
    corr = np.corrcoef(flat, rowvar=False)
    d = corr.shape[0]
    rho = float((corr.sum() - d) / (d * (d - 1)))
    return vr, rho


def half_year_table(ev, fact_scenarios: int) -> pd.DataFrame:
    """One row per (half-year, generator) plus the realized rows; see the module docstring."""
    half = pd.Index([f"{d.year}H{1 + (d.month > 6)}" for d in ev.dates])
    real_end = ev.realized_paths[:, -1]  # (T,)
    rows = []
    for name, paths in ev.portfolio_paths.items():
        end = paths[:, :, -1]  # (T, M)
        mean, sd = end.mean(axis=1), end.std(axis=1, ddof=1)
        sd1 = paths[:, :, 0].std(axis=1, ddof=1)
        z1 = (ev.realized_paths[:, 0] - paths[:, :, 0].mean(axis=1)) / sd1
        lo, hi = np.quantile(end, [0.05, 0.95], axis=1)
        crps = ev.scores.loc[ev.scores["generator"] == name, "crps"].to_numpy()
        pool = ev.windows[name].reshape(len(ev.dates), fact_scenarios, *ev.windows[name].shape[1:])
        for h in half.unique():
            m = np.asarray(half == h)
            vr, rho = window_stats(pool[m].reshape(-1, *pool.shape[2:]))
            rows.append({"half": h, "model": name, "origins": int(m.sum()), "crps": crps[m].mean(),
                         "sd": sd[m].mean(), "sd1": sd1[m].mean(), "z2_1": np.mean(z1[m] ** 2),
                         "z2": np.mean(((real_end[m] - mean[m]) / sd[m]) ** 2),
                         "cover90": np.mean((real_end[m] >= lo[m]) & (real_end[m] <= hi[m])), "vr20": vr,
                         "rho": rho})
    for h in half.unique():
        m = np.asarray(half == h)
        vr, rho = window_stats(ev.windows["real"][m])
        rows.append({"half": h, "model": "realized", "origins": int(m.sum()), "crps": np.nan,
                     "sd": np.nan, "sd1": np.nan, "z2_1": np.nan, "z2": np.nan, "cover90": np.nan, "vr20": vr, "rho": rho})
    order = {name: k for k, name in enumerate([*ev.portfolio_paths, "realized"])}
    out = pd.DataFrame(rows)
    return out.sort_values(["half", "model"], key=lambda s: s.map(order) if s.name == "model" else s)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_arguments(p)
    p.add_argument("--period", choices=sorted(PERIODS), default="report")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--stride", type=int, default=5)
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    train_end, start, end = PERIODS[args.period]
    gen = _fitted(args.data, args.preset, args.seed, overrides, returns, train_end)
    fact_scenarios, horizon = 100, 20
    ev = evaluate({"finscore": gen, "garch": GARCH()}, returns, train_end=train_end, test_start=start,
                  test_end=end, horizon=horizon, stride=args.stride, n_scenarios=args.n, seed=args.seed,
                  fit={"garch"}, progress=False, fact_scenarios=fact_scenarios)
    table = half_year_table(ev, fact_scenarios)
    values = returns.loc[:train_end].to_numpy()
    train_windows = np.stack([values[a: a + horizon] for a in range(0, len(values) - horizon + 1, args.stride)])
    vr, rho = window_stats(train_windows)
    table = pd.concat([pd.DataFrame([{"half": "training", "model": "realized", "origins": len(train_windows),
                                      "vr20": vr, "rho": rho}]), table], ignore_index=True)
    overall = (table[table["model"] != "realized"].groupby("model", sort=False)
               .apply(lambda t: pd.Series({"crps": np.average(t["crps"], weights=t["origins"]),
                                           "z2_1": np.average(t["z2_1"], weights=t["origins"]),
                                           "z2": np.average(t["z2"], weights=t["origins"]),
                                           "cover90": np.average(t["cover90"], weights=t["origins"])})))
    lines = header(f"Calibration of the 20-day equal-weight book, `{args.data}`, {args.period} period",
                   "calibration.py", sys.argv[1:] if argv is None else argv)
    lines += [(f"Origins: {len(ev.dates)} ({ev.dates[0].date()} to {ev.dates[-1].date()}), every {args.stride} days; "
              f"{args.n} scenarios each; models trained to {train_end}; preset {args.preset}, seed {args.seed}, "
              f"overrides {overrides or 'none'}."), "", "Columns: see the script's docstring.", "",
              md_table(table.set_index("half")), "", "Whole period (origin-weighted):", "",
              md_table(overall), "", ""]
    publish(lines, f"calibration_{args.data}_{args.period}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
