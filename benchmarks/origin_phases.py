"""Does the VaR comparison at every 5th day carry over to the other days? The daily backtest split by phase.

``quality.py`` scores the 1-day VaR at its forecast origins only: every 5th trading day from the first
test date (phase 0). ``backtest.py`` forecasts every day. This script reads the per-date files of the
daily backtest (``results/backtest_<data>_<model>.csv``, run first) and compares the pinball loss of two
models on each of the five phases (days 0, 5, 10, ...; 1, 6, 11, ...; ...) and on all days, with a
Diebold-Mariano test per phase: if the phases disagree, the origins alone are too few to rank the models.
A second table splits the days by the baseline's 95% VaR into terciles (calm, middle, turbulent): where
the model's VaR sits against the baseline's in each state, and which one the pinball loss prefers there.

Usage::

    python benchmarks/origin_phases.py                      # finscore vs garch, sp500

Writes benchmarks/results/origin_phases_<data>.md. Reads files only: no model is fitted or sampled.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import RESULTS, header, md_table, publish  # same directory

from finscore.risk import diebold_mariano, pinball_loss

PHASES = 5


def read(data: str, model: str, levels) -> pd.DataFrame:
    """``model``'s per-date daily-backtest file of ``data``: date index; realized, var_<level>, exceed_<level>."""
    path = RESULTS / f"backtest_{data}_{model}.csv"
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python benchmarks/backtest.py --data {data}` first")
    frame = pd.read_csv(path, parse_dates=["date"], index_col="date")
    missing = [f"var_{lv:g}" for lv in levels if f"var_{lv:g}" not in frame]
    if missing:
        raise SystemExit(f"{path} has no column(s) {missing}; levels there: "
                         f"{[c[4:] for c in frame if c.startswith('var_')]}")
    return frame


def losses(frame: pd.DataFrame, level: float) -> np.ndarray:
    """Per-date pinball loss (T,) of the VaR at ``level`` in a backtest file."""
    return np.asarray(pinball_loss(frame["realized"].to_numpy(), frame[f"var_{level:g}"].to_numpy(), level))


def _relative(a: np.ndarray, b: np.ndarray) -> str:
    """Mean of ``a`` over mean of ``b``, minus 1, as a signed percentage."""
    return f"{100 * (a.mean() / b.mean() - 1):+.1f}%"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--model", default="finscore")
    p.add_argument("--against", default="garch")
    p.add_argument("--levels", type=float, nargs="+", default=[0.95, 0.975, 0.99])
    args = p.parse_args(argv)
    needed = sorted({*args.levels, 0.95})  # the states are terciles of the baseline's 95% VaR
    a_frame, b_frame = read(args.data, args.model, needed), read(args.data, args.against, needed)
    if not a_frame.index.equals(b_frame.index):
        raise SystemExit(f"the backtests of {args.model} and {args.against} cover different dates")
    state = pd.qcut(b_frame["var_0.95"].to_numpy(), 3, labels=["calm", "middle", "turbulent"])
    rows, states = [], []
    for lv in args.levels:
        a, b = losses(a_frame, lv), losses(b_frame, lv)
        parts = {f"phase {k}": np.arange(k, len(a), PHASES) for k in range(PHASES)} | {"all days": np.arange(len(a))}
        for name, idx in parts.items():
            rows.append({"level": lv, "days": name, "n": len(idx), args.model: a[idx].mean(),
                         args.against: b[idx].mean(), "difference": _relative(a[idx], b[idx]),
                         "DM p": diebold_mariano(a[idx], b[idx]).pvalue})
        for name in state.categories:
            m = np.asarray(state == name)
            col = f"var_{lv:g}"
            states.append({"level": lv, f"{args.against} VaR 95 tercile": name, "n": int(m.sum()),
                           "median VaR ratio": float(np.median((a_frame[col] / b_frame[col]).to_numpy()[m])),
                           f"exceedances {args.model}": int(a_frame[f"exceed_{lv:g}"].to_numpy()[m].sum()),
                           f"exceedances {args.against}": int(b_frame[f"exceed_{lv:g}"].to_numpy()[m].sum()),
                           "pinball difference": _relative(a[m], b[m]),
                           "DM p": diebold_mariano(a[m], b[m]).pvalue})
    table, by_state = pd.DataFrame(rows).set_index("level"), pd.DataFrame(states).set_index("level")
    lines = header(f"Pinball loss of the daily VaR backtest by 5-day phase, `{args.data}`", "origin_phases.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [(f"From `results/backtest_{args.data}_{args.model}.csv` and `..._{args.against}.csv`. Phase 0 is "
               "the day set of `quality.py`'s forecast origins (every 5th trading day from the first test date); "
               "difference = mean loss of the model over that of the baseline, minus 1 (negative: the model "
               "is better); DM p: two-sided Diebold–Mariano p-value (Harvey correction) on that phase's days."),
              "", md_table(table, "{:.4g}"), "",
              (f"By state: the days split into terciles of {args.against}'s 95% VaR; median VaR ratio = median over "
               f"those days of {args.model}'s VaR over {args.against}'s at that level."), "",
              md_table(by_state, "{:.4g}"), ""]
    publish(lines, f"origin_phases_{args.data}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
