"""``finscore report``: evaluate, backtest and stress a model against baselines and write the validation PDF."""

from __future__ import annotations

import argparse
import sys

from finscore.cli._common import BASELINES, add_data_args, date_arg, load_generator, load_returns, parse_weights


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a PDF model-validation report (SR 11-7 structure)")
    p.add_argument("model", metavar="MODEL", help="checkpoint directory written by `finscore fit`, or a baseline name")
    add_data_args(p)
    p.add_argument("--out", required=True, help="output PDF, e.g. reports/sp500.pdf")
    p.add_argument("--baselines", default="garch,copula,fhs",
                   help=f"comma-separated baselines from {sorted(BASELINES)}, or '' for none (default: %(default)s)")
    p.add_argument("--train-end", default=None, type=date_arg,
                   help="last training date (default: the model's last fitted date)")
    p.add_argument("--test-start", default=None, type=date_arg,
                   help="first forecast date (default: the day after --train-end)")
    p.add_argument("--test-end", default=None, type=date_arg,
                   help="last date of realized data used (default: end of the data)")
    p.add_argument("--horizon", type=int, default=None, help="days per evaluated path (default: the model's, else 20)")
    p.add_argument("--n", type=int, default=500, help="scenarios per evaluation date")
    p.add_argument("--stride", type=int, default=5, help="trading days between evaluation dates")
    p.add_argument("--backtest-n", type=int, default=1000, help="scenarios per backtest date")
    p.add_argument("--levels", default="0.95,0.975,0.99", help="comma-separated VaR / ES levels")
    p.add_argument("--weights", default="equal", help="'equal' or comma-separated weights in the data's asset order")
    p.add_argument("--stress-alpha", type=float, default=0.95, help="VaR level of the stress scenarios")
    p.add_argument("--stress-n", type=int, default=200, help="number of guided stress scenarios")
    p.add_argument("--no-stress", action="store_true", help="skip the stress scenarios")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore.report.pipeline import validation_report

    try:
        levels = tuple(float(v) for v in args.levels.split(","))
    except ValueError as exc:
        raise ValueError(f"--levels must be comma-separated numbers, got {args.levels!r}") from exc
    names = [b.strip().lower() for b in args.baselines.split(",") if b.strip()]
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ValueError(f"--baselines: unknown {unknown}; choose from {sorted(BASELINES)}")
    returns = load_returns(args)
    path = validation_report(
        args.out, load_generator(args.model), returns, baselines={b: load_generator(b) for b in names},
        train_end=args.train_end, test_start=args.test_start, test_end=args.test_end, horizon=args.horizon,
        stride=args.stride, n_scenarios=args.n, backtest_scenarios=args.backtest_n, levels=levels,
        weights=parse_weights(args.weights, returns.shape[1]), stress=not args.no_stress,
        stress_alpha=args.stress_alpha, stress_n=args.stress_n, data_name=args.data, seed=args.seed,
        progress=not args.quiet, log=None if args.quiet else lambda m: print(f"report: {m}", file=sys.stderr),
        overwrite=args.force)
    print(f"wrote {path}")
    return 0
