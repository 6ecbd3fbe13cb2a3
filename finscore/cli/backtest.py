"""``finscore backtest``: rolling VaR / ES backtest of a saved model or a baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

from finscore.cli._common import (
    check_out,
    date_arg,
    load_generator,
    load_returns,
    parse_weights,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="rolling VaR / ES backtest with coverage and ES tests")
    p.add_argument("model", metavar="MODEL",
                   help="saved ScoreGenerator directory or a baseline: garch, copula, fhs, bootstrap")
    p.add_argument("--data", default="sp500", help="embedded data set name or a CSV/Parquet price file")
    p.add_argument("--start", required=True, type=date_arg, help="first forecast date (YYYY-MM-DD)")
    p.add_argument("--end", default=None, type=date_arg, help="last forecast date (default: the end of the data)")
    p.add_argument("--weights", default="equal", help="'equal' or comma-separated weights in the data's asset order")
    p.add_argument("--levels", default="0.95,0.975,0.99", help="comma-separated VaR / ES levels in (0, 1)")
    p.add_argument("--horizon-days", type=int, default=1, help="days of the forecast return (>1: overlapping)")
    p.add_argument("--n", type=int, default=1000, help="scenarios per forecast date")
    p.add_argument("--refit-every", type=int, default=None, help="refit the model every N forecast dates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--var-method", choices=("predictive", "empirical"), default="predictive",
                   help="VaR from the scenarios: 'predictive' (exceeded at the nominal rate by a correct model) "
                        "or the scenario set's 'empirical' quantile")
    p.add_argument("--out", default="backtest.csv",
                   help="per-date CSV (realized, VaR, ES, exceedances); the summary goes to <out>_summary.csv")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, data_start=None, data_end=None)


def run(args: argparse.Namespace) -> int:
    from finscore._io import atomic_path
    from finscore.risk import backtest

    try:
        levels = [float(v) for v in args.levels.split(",")]
    except ValueError as exc:
        raise ValueError(f"--levels must be comma-separated numbers, got {args.levels!r}") from exc
    out = Path(args.out)
    summary_path = out.with_name(f"{out.stem}_summary.csv")
    for path in (out, summary_path):
        check_out(path, args.force, suffix=".csv")  # written by pandas through a temporary file: no compression
    returns = load_returns(args)
    weights = parse_weights(args.weights, returns.shape[1])
    result = backtest(load_generator(args.model), returns, weights, args.start, levels=levels,
                      horizon_days=args.horizon_days, n_scenarios=args.n, refit_every=args.refit_every,
                      end=args.end, seed=args.seed, progress=not args.quiet, var_method=args.var_method)
    summary = result.summary()
    for path, frame in ((out, result.to_frame()), (summary_path, summary)):
        with atomic_path(path, overwrite=True) as tmp:
            frame.to_csv(tmp)
    print(summary.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out} ({result.n_obs} forecast dates) and {summary_path}")
    return 0
