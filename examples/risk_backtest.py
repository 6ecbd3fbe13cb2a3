"""Risk backtest: rolling 1-day VaR / ES of a ScoreGenerator against a GJR-GARCH baseline.

Shows :func:`finscore.backtest` on the embedded S&P 500 stocks: at every date of the test
period each model forecasts ``--n`` one-day scenarios from the last year of returns, the VaR
and ES of an equal-weight book are compared with the next day's realized return, and
:meth:`BacktestResult.summary` runs the regulators' tests (Kupiec, Christoffersen, Basel traffic
light, Acerbi-Szekely). ``finscore.risk.compare_backtests`` then ranks the two models by the
FZ0 (joint VaR-ES) loss with a Diebold-Mariano test. Outputs: the tables as CSV, the per-date
forecasts, and a figure of realized returns against each model's -VaR / -ES.

Both models are fitted on data up to ``--train-end`` and never refitted (see ``refit_every``).

Run (fits the "fast" preset on 2005-2019, then backtests 2020: about 15 minutes on one CPU core, most
of it the 252 dates x 250 diffusion forecasts; less with more cores or a GPU, which is used when present)::

    python examples/risk_backtest.py
    python examples/risk_backtest.py --preset tiny --n 100 --test-end 2020-03-31   # a quick smoke run

    finscore fit --data sp500 --end 2019-12-31 --preset fast --out runs/model   # fit once, then reuse:
    python examples/risk_backtest.py --model runs/model --test-end 2022-12-31 --n 1000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import finscore as fs
from finscore.risk import compare_backtests

OUT_DIR = Path(__file__).resolve().parent / "output" / "risk_backtest"
SHOWN = ["n_obs", "exceedances", "expected", "kupiec_p", "p_cc", "traffic_light", "as_z2_p", "mean_fz0"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="fast", choices=["default", "fast", "tiny"], help="model preset to fit")
    p.add_argument("--model", default=None, help="load a model saved with ScoreGenerator.save instead of fitting")
    p.add_argument("--out-dir", default=str(OUT_DIR), help="folder for the outputs")
    p.add_argument("--start", default="2005-01-01", help="first date of the data")
    p.add_argument("--train-end", default="2019-12-31", help="last training date (a loaded model: its own)")
    p.add_argument("--test-end", default="2020-12-31", help="last forecast date")
    p.add_argument("--levels", default="0.95,0.99", help="comma-separated VaR / ES levels")
    p.add_argument("--n", type=int, default=250, help="scenarios per forecast date")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    levels = [float(v) for v in args.levels.split(",")]
    returns = fs.to_returns(fs.load_prices("sp500", start=args.start, end=args.test_end))

    if args.model:
        gen = fs.ScoreGenerator.load(args.model)
        gen.progress = not args.quiet
        returns = returns[list(gen.assets_)]
        train_end = gen.fit_end_
        print(f"loaded {args.model}: {len(gen.assets_)} assets, trained to {train_end.date()}")
    else:
        train_end = pd.Timestamp(args.train_end)
        train = returns.loc[:train_end]
        print(f"fitting the {args.preset!r} preset on {train.shape[1]} stocks, "
              f"{train.index[0].date()}..{train.index[-1].date()}")
        gen = fs.ScoreGenerator(preset=args.preset, seed=args.seed, progress=not args.quiet).fit(train)
    test_start = returns.index[returns.index > train_end][0]

    # The unfitted GARCH is fitted by `backtest` on all rows before test_start; one seed for both
    # models gives common random numbers, which sharpens the comparison.
    models = {"finscore": gen, "garch": fs.GARCH()}
    results = {}
    for name, model in models.items():
        print(f"backtesting {name} from {test_start.date()} to {args.test_end} ({args.n} scenarios per date)")
        results[name] = fs.backtest(model, returns, "equal", test_start, levels=levels, end=args.test_end,
                                    n_scenarios=args.n, seed=args.seed, progress=not args.quiet)

    for name, res in results.items():
        table = res.summary(seed=args.seed)
        table.to_csv(out_dir / f"summary_{name}.csv")
        res.to_frame().to_csv(out_dir / f"forecasts_{name}.csv")
        print(f"\n{name}: {res!r}")
        print(table[SHOWN].to_string(float_format=lambda v: f"{v:.4g}"))
    level = max(levels)
    comparison = compare_backtests(results, level, seed=args.seed)
    comparison.to_csv(out_dir / "comparison.csv")
    print(f"\ncomparison at {level:g} (FZ0 loss; dm_stat < 0: the row model has the lower loss):")
    print(comparison.to_string(float_format=lambda v: f"{v:.4g}"))

    from matplotlib.figure import Figure  # no pyplot: draws to a file, never opens a window

    fig = Figure(figsize=(11, 3.6 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, sharey=True)
    for ax, (name, res) in zip(axes, results.items()):
        res.plot(level, ax=ax)
        ax.set_title(f"{name}: 1-day VaR / ES backtest of the equal-weight book at {level:.1%}")
        ax.label_outer()
    path = out_dir / "backtest.png"
    fig.savefig(path, dpi=120)
    print(f"\nwrote {path} and the tables in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
