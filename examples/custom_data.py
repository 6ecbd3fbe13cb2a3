"""Your own data: fit a ScoreGenerator on a CSV (or Parquet) file of daily prices.

Shows the path from a price file to saved scenarios: :func:`finscore.load_prices` reads the
file (wide form: a ``date`` column and one column per asset; long form ``date, ticker, price``
is detected too), checks it and aligns the dates (``strict=True`` raises on bad data, naming
asset and date; ``strict=False`` repairs and reports), :func:`finscore.to_returns` turns prices
into daily log returns, then fit, sample, save the model (safetensors + JSON) and the scenarios
(Parquet), and load the model back.

Pass your file with ``--prices``; the whole file is used unless ``--start`` / ``--end`` say
otherwise, and the scenarios start the day after its last date. Without ``--prices`` the example
writes ``my_prices.csv`` (a few of the embedded S&P 500 stocks, 2000-2022) into the output
folder to stand in for your file.

Run (fits the "fast" preset on 2000-2022: about a minute on one CPU core)::

    python examples/custom_data.py
    python examples/custom_data.py --prices path/to/prices.csv --start 2015-01-01 --n 5000
    python examples/custom_data.py --preset tiny --start 2015-01-01 --n 100   # a quick smoke run

The CSV it writes looks like this (any date format pandas parses; one price column per asset)::

    date,AAPL,JPM,XOM,JNJ,WMT
    2000-01-03,0.849,24.24,18.821,25.268,43.873
    ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import finscore as fs

OUT_DIR = Path(__file__).resolve().parent / "output" / "custom_data"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--prices", default=None, help="CSV / Parquet price file (default: write a stand-in CSV)")
    p.add_argument("--preset", default="fast", choices=["default", "fast", "tiny"], help="model preset to fit")
    p.add_argument("--out-dir", default=str(OUT_DIR), help="folder for the outputs")
    p.add_argument("--start", default=None, help="first date used (default: the file's first)")
    p.add_argument("--end", default=None,
                   help="last date used; the scenarios start the day after (default: the file's last)")
    p.add_argument("--assets", default="AAPL,JPM,XOM,JNJ,WMT", help="stocks in the stand-in CSV")
    p.add_argument("--horizon", type=int, default=20, help="days per scenario")
    p.add_argument("--context", type=int, default=60, help="days of history each scenario is conditioned on")
    p.add_argument("--n", type=int, default=1000, help="number of scenarios")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def write_example_csv(path: Path, assets: list[str]) -> Path:
    """Stand-in for the user's file: embedded prices of ``assets`` as a wide CSV (date, one column per asset)."""
    prices = fs.load_prices("sp500", assets=assets)
    prices.to_csv(path, index_label="date")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = Path(args.prices) if args.prices else write_example_csv(out_dir / "my_prices.csv",
                                                                    args.assets.split(","))

    prices = fs.load_prices(source, start=args.start, end=args.end)
    returns = fs.to_returns(prices)
    print(f"{source}: {prices.shape[1]} assets ({', '.join(prices.columns)}), "
          f"{prices.index[0].date()}..{prices.index[-1].date()}, {len(returns)} daily returns")

    gen = fs.ScoreGenerator(horizon=args.horizon, context=args.context, preset=args.preset, seed=args.seed,
                            progress=not args.quiet).fit(returns)
    scen = gen.sample(args.n, seed=args.seed)  # conditioned on the last `context` days of the file
    model_dir = gen.save(out_dir / "model", overwrite=True)
    scen.to_parquet(out_dir / "scenarios.parquet")

    pnl = scen.portfolio_pnl("equal")  # equal-weight book worth 1
    q = np.quantile(pnl, [0.01, 0.05, 0.5, 0.95])
    print(f"{scen!r}")
    print(f"{scen.horizon}-day return of the equal-weight book: 1% {q[0]:+.2%}, 5% {q[1]:+.2%}, "
          f"median {q[2]:+.2%}, 95% {q[3]:+.2%}")

    again = fs.ScoreGenerator.load(model_dir).sample(args.n, seed=args.seed)  # same seed, same scenarios
    print(f"reloaded model reproduces the scenarios: {np.allclose(again.values, scen.values)}")
    print(f"wrote {model_dir}/ and {out_dir / 'scenarios.parquet'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
