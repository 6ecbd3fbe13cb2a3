"""``finscore demo``: the main job on the embedded data, end to end, in minutes on a laptop CPU.

Trains the ``fast`` preset on the 20 embedded S&P 500 stocks (2005 to ``--train-end``), saves it,
then writes the validation report: out-of-sample scores and stylized facts against GARCH, the Gaussian
copula and filtered historical simulation, 1-day VaR/ES backtests of the equal-weight book, and guided
stress scenarios checked against rejection sampling.
"""

from __future__ import annotations

import argparse
import sys
import time

from finscore.cli._common import check_out, date_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="train the fast preset on the embedded data and write reports/demo.pdf")
    p.add_argument("--out", default="reports/demo.pdf", help="output PDF (default: %(default)s)")
    p.add_argument("--model-dir", default="reports/demo-model", help="where the trained model is saved")
    p.add_argument("--train-end", default="2021-12-31", type=date_arg,
                   help="last training date; the report covers the dates after it (default: %(default)s)")
    p.add_argument("--preset", default="fast", choices=["default", "fast", "tiny"])
    p.add_argument("--n", type=int, default=200, help="scenarios per evaluation / backtest date")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite the model and the report if they exist")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd
    import torch

    from finscore.baselines import GARCH, GaussianCopula, HistoricalSimulation
    from finscore.data import load_prices, to_returns
    from finscore.generator import ScoreGenerator
    from finscore.report.pipeline import validation_report
    from finscore.train.checkpoint import check_checkpoint_destination

    check_out(args.out, args.force, suffix=".pdf")  # fail before minutes of training, not after
    check_checkpoint_destination(args.model_dir, overwrite=args.force)
    t0 = time.perf_counter()
    say = lambda m: print(f"[{time.perf_counter() - t0:5.0f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731
    torch.set_num_threads(max(1, torch.get_num_threads()))
    returns = to_returns(load_prices("sp500", start="2005-01-01"))
    train = returns.loc[: pd.Timestamp(args.train_end)]
    say(f"training the {args.preset!r} preset on {train.shape[1]} stocks, {train.index[0].date()}..{train.index[-1].date()}")
    gen = ScoreGenerator(preset=args.preset, seed=args.seed).fit(train)
    gen.save(args.model_dir, overwrite=args.force)
    say(f"saved the model to {args.model_dir}; evaluating against GARCH, Gaussian copula and FHS")
    path = validation_report(
        args.out, gen, returns, baselines={"garch": GARCH(), "copula": GaussianCopula(), "fhs": HistoricalSimulation()},
        train_end=args.train_end, stride=10, n_scenarios=args.n, backtest_scenarios=args.n, levels=(0.95, 0.99),
        stress_alpha=0.95, stress_n=200, data_name="sp500 (embedded)", seed=args.seed, log=say, overwrite=args.force)
    say(f"wrote {path}")
    print(path)
    return 0
