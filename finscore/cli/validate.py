"""``finscore validate``: out-of-sample comparison of a saved model with GARCH / copula / FHS baselines."""

from __future__ import annotations

import argparse

from finscore.cli._common import (
    BASELINES,
    add_data_args,
    check_out,
    date_arg,
    load_generator,
    load_returns,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="score a saved model and baselines on rolling out-of-sample dates")
    p.add_argument("model", help="checkpoint directory written by `finscore fit`, or 'none' for baselines only")
    add_data_args(p)
    p.add_argument("--baselines", default="garch,copula,fhs",
                   help=f"comma-separated baselines from {sorted(BASELINES)}, or '' for none (default: %(default)s)")
    p.add_argument("--train-end", required=True, type=date_arg,
                   help="last training date (YYYY-MM-DD); baselines are fitted up to it")
    p.add_argument("--test-start", required=True, type=date_arg,
                   help="first forecast date (YYYY-MM-DD), after --train-end")
    p.add_argument("--test-end", default=None, type=date_arg,
                   help="last date of realized data used (default: end of the data)")
    p.add_argument("--horizon", type=int, default=None, help="days per path (default: the model's, else 20)")
    p.add_argument("--n", type=int, default=500, help="scenarios per forecast date")
    p.add_argument("--stride", type=int, default=5, help="trading days between forecast dates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scores", default=None, help="optional CSV file for the per-date scores")
    p.add_argument("--out", required=True, help="CSV file for the comparison table (metric × generator)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore._io import atomic_path
    from finscore.validation import evaluate

    for path in filter(None, (args.out, args.scores)):
        check_out(path, args.force, suffix=".csv")  # written by pandas through a temporary file: no compression
    names = [b.strip().lower() for b in args.baselines.split(",") if b.strip()]
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise ValueError(f"--baselines: unknown {unknown}; choose from {sorted(BASELINES)}")
    gens = {} if args.model.lower() == "none" else {"score": load_generator(args.model)}
    gens.update({b: load_generator(b) for b in names})
    if not gens:
        raise ValueError("nothing to validate: MODEL is 'none' and --baselines is empty")
    horizon = args.horizon if args.horizon is not None else getattr(gens.get("score"), "horizon", None) or 20
    returns = load_returns(args)
    res = evaluate(gens, returns, train_end=args.train_end, test_start=args.test_start, test_end=args.test_end,
                   horizon=horizon, stride=args.stride, n_scenarios=args.n, seed=args.seed,
                   fit=names + (["score"] if args.model.lower() in BASELINES else []),  # a baseline as MODEL: fit it
                   progress=not args.quiet)
    with atomic_path(args.out, overwrite=args.force) as tmp:
        res.table.to_csv(tmp, float_format="%.6g")
    if args.scores:
        with atomic_path(args.scores, overwrite=args.force) as tmp:
            res.scores.to_csv(tmp, index=False, float_format="%.6g")
    print(res.table.loc["score"].to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {args.out} ({res.config['n_dates']} test dates from {res.dates[0].date()})")
    return 0
