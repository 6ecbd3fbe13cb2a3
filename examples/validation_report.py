"""Validation report: a PDF that benchmarks a ScoreGenerator against GARCH and a Gaussian copula.

Shows :func:`finscore.report.validation_report`, one call from a fitted model and a return
history to a model-validation PDF (SR 11-7 structure): out-of-sample energy score / CRPS /
variogram score and stylized-fact distances against the baselines, 1-day VaR / ES backtests of
the equal-weight book with coverage and ES tests, guided stress scenarios checked against
rejection sampling, and a pass / fail executive summary. The baselines are fitted on the same
training period as the model (data up to ``--train-end``); the test period runs to ``--test-end``.

Run (fits the "fast" preset on 2005-2019, tests on 2020; about 20 minutes on one CPU core, less with
more cores or a GPU, which is used when present)::

    python examples/validation_report.py
    python examples/validation_report.py --preset tiny --n 50 --backtest-n 100 --test-end 2020-03-31   # smoke run

    finscore fit --data sp500 --end 2019-12-31 --preset fast --out runs/model   # fit once, then reuse:
    python examples/validation_report.py --model runs/model --test-end 2022-12-31 --stride 5 --backtest-n 1000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import finscore as fs
from finscore.report import validation_report

OUT_DIR = Path(__file__).resolve().parent / "output" / "validation_report"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="fast", choices=["default", "fast", "tiny"], help="model preset to fit")
    p.add_argument("--model", default=None, help="load a model saved with ScoreGenerator.save instead of fitting")
    p.add_argument("--out-dir", default=str(OUT_DIR), help="folder for the PDF")
    p.add_argument("--start", default="2005-01-01", help="first date of the data")
    p.add_argument("--train-end", default="2019-12-31", help="last training date (a loaded model: its own)")
    p.add_argument("--test-end", default="2020-12-31", help="last date of the test period")
    p.add_argument("--n", type=int, default=250, help="scenarios per evaluation date")
    p.add_argument("--stride", type=int, default=10, help="trading days between evaluation dates")
    p.add_argument("--backtest-n", type=int, default=250, help="scenarios per backtest date")
    p.add_argument("--stress-n", type=int, default=100, help="guided stress scenarios (0: no stress section)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    returns = fs.to_returns(fs.load_prices("sp500", start=args.start, end=args.test_end))

    if args.model:
        gen = fs.ScoreGenerator.load(args.model)
        gen.progress = not args.quiet
        returns = returns[list(gen.assets_)]
        print(f"loaded {args.model}: {len(gen.assets_)} assets, trained to {gen.fit_end_.date()}")
    else:
        train = returns.loc[: pd.Timestamp(args.train_end)]
        print(f"fitting the {args.preset!r} preset on {train.shape[1]} stocks, "
              f"{train.index[0].date()}..{train.index[-1].date()}")
        gen = fs.ScoreGenerator(preset=args.preset, seed=args.seed, progress=not args.quiet).fit(train)

    path = validation_report(
        out_dir / "validation_report.pdf", gen, returns,
        baselines={"garch": fs.GARCH(), "gaussian copula": fs.GaussianCopula()},
        train_end=gen.fit_end_, test_end=args.test_end, stride=args.stride, n_scenarios=args.n,
        backtest_scenarios=args.backtest_n, levels=(0.95, 0.99), stress=args.stress_n > 0,
        stress_alpha=0.99, stress_n=max(args.stress_n, 2), data_name="sp500 (embedded)", seed=args.seed,
        progress=not args.quiet, log=print, overwrite=True,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
