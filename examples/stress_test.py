"""Stress test: scenarios in which a stock portfolio loses more than its 99% VaR.

Shows how to ask a fitted :class:`finscore.ScoreGenerator` for tail scenarios directly with
``sample(..., guidance=fs.VaRGuidance(weights, alpha=0.99))`` (mode "exceed": the portfolio's
horizon loss is at least its VaR), and checks them against the exact but expensive answer,
rejection sampling: draw ``n / (1 - alpha)`` unguided scenarios and keep those beyond their
empirical VaR. A short table compares the two loss distributions and their cost; the guided
scenarios are saved to Parquet (read them back with ``fs.Scenarios.from_parquet``).

The portfolio is a fixed book over the 20 embedded S&P 500 stocks (``PORTFOLIO``); the
scenarios start after the close of ``--context-end`` (default 2020-03-13, the COVID sell-off).

Run (fits the "fast" preset on 2005-2019 first; about 10 minutes on one CPU core, less with more
cores or a GPU, which is used when present)::

    python examples/stress_test.py
    python examples/stress_test.py --preset tiny --n 200          # a quick smoke run

    finscore fit --data sp500 --end 2019-12-31 --preset fast --out runs/model   # fit once, then reuse:
    python examples/stress_test.py --model runs/model --alpha 0.95 --context-end 2022-06-30
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import finscore as fs

# Buy-and-hold weights (fractions of book value) of a long-only book over the embedded stocks.
PORTFOLIO = {
    "AAPL": 0.10, "MSFT": 0.10, "AMD": 0.04, "JPM": 0.08, "BAC": 0.06, "XOM": 0.06, "CVX": 0.05,
    "RRC": 0.02, "JNJ": 0.06, "PFE": 0.04, "MRK": 0.04, "LLY": 0.04, "UNH": 0.05, "PG": 0.05,
    "KO": 0.04, "PEP": 0.04, "WMT": 0.05, "HD": 0.04, "BBY": 0.02, "GE": 0.02,
}
OUT_DIR = Path(__file__).resolve().parent / "output" / "stress_test"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="fast", choices=["default", "fast", "tiny"], help="model preset to fit")
    p.add_argument("--model", default=None, help="load a model saved with ScoreGenerator.save instead of fitting")
    p.add_argument("--out-dir", default=str(OUT_DIR), help="folder for the outputs")
    p.add_argument("--start", default="2005-01-01", help="first date of the data")
    p.add_argument("--train-end", default="2019-12-31", help="last training date (when fitting)")
    p.add_argument("--context-end", default="2020-03-13", help="scenarios start after this date")
    p.add_argument("--horizon", type=int, default=20, help="days per scenario (when fitting)")
    p.add_argument("--alpha", type=float, default=0.99, help="VaR level of the stress")
    p.add_argument("--n", type=int, default=1000, help="number of guided stress scenarios")
    p.add_argument("--max-draws", type=int, default=20_000,
                   help="cap on the unguided draws of the rejection reference (it wants n / (1 - alpha) of them "
                        "and keeps about max_draws * (1 - alpha))")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def book_weights(assets: tuple[str, ...]) -> pd.Series:
    """PORTFOLIO restricted to the model's assets and renormalized to sum to 1 (Series (n_assets,))."""
    w = pd.Series(PORTFOLIO, dtype=float).reindex(list(assets)).fillna(0.0)
    if w.sum() <= 0:
        raise SystemExit(f"none of the model's assets {list(assets)} is in PORTFOLIO; edit PORTFOLIO")
    return w / w.sum()


def loss_table(losses: dict[str, np.ndarray], levels: dict[str, float], seconds: dict[str, float]) -> pd.DataFrame:
    """One row per method: the loss distribution (fractions of book value) and the cost per scenario."""
    rows = {}
    for name, x in losses.items():
        rows[name] = {"n": x.size, "threshold": levels[name], "share >= threshold": np.mean(x >= levels[name]),
                      "mean": x.mean(), "median": np.median(x), "q95": np.quantile(x, 0.95), "max": x.max(),
                      "ms / scenario": 1e3 * seconds[name] / max(x.size, 1)}
    return pd.DataFrame.from_dict(rows, orient="index")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    returns = fs.to_returns(fs.load_prices("sp500", start=args.start, end=args.context_end))

    if args.model:
        gen = fs.ScoreGenerator.load(args.model)
        gen.progress = not args.quiet
        print(f"loaded {args.model}: {len(gen.assets_)} assets, trained to {gen.fit_end_.date()}")
    else:
        train = returns.loc[: args.train_end]
        print(f"fitting the {args.preset!r} preset on {train.shape[1]} stocks, "
              f"{train.index[0].date()}..{train.index[-1].date()}")
        gen = fs.ScoreGenerator(horizon=args.horizon, preset=args.preset, seed=args.seed,
                                progress=not args.quiet).fit(train)
    context = returns[list(gen.assets_)]  # the model uses the last `gen.context` rows
    w = book_weights(gen.assets_)
    seed_guided, seed_plain = np.random.SeedSequence(args.seed).spawn(2)

    # Guided: n scenarios conditioned on loss >= VaR_alpha (the threshold comes from an unguided pilot).
    t0 = time.perf_counter()
    guided = gen.sample(args.n, context=context, seed=np.random.default_rng(seed_guided),
                        guidance=fs.VaRGuidance(w.to_dict(), alpha=args.alpha, mode="exceed"))
    t_guided = time.perf_counter() - t0
    guided_level = float(guided.metadata["stress"]["level"][0])

    # Reference: rejection sampling of unguided draws beyond their empirical VaR_alpha.
    n_draws = min(math.ceil(args.n / (1.0 - args.alpha)), args.max_draws)
    t0 = time.perf_counter()
    plain = gen.sample(n_draws, context=context, seed=np.random.default_rng(seed_plain))
    t_plain = time.perf_counter() - t0
    plain_losses = -plain.portfolio_pnl(w)
    var = float(np.quantile(plain_losses, args.alpha, method="inverted_cdf"))
    kept = plain_losses[plain_losses >= var]

    guided_losses = -guided.portfolio_pnl(w)
    table = loss_table({"guided": guided_losses, "rejection": kept, "unguided (all)": plain_losses},
                       {"guided": guided_level, "rejection": var, "unguided (all)": var},
                       {"guided": t_guided, "rejection": t_plain, "unguided (all)": t_plain})
    ks = stats.ks_2samp(guided_losses, kept)

    print(f"\n{guided.horizon}-day losses of the book (fractions of value) after {guided.start.date()}, "
          f"alpha = {args.alpha}:")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"guided vs rejection: KS statistic {ks.statistic:.3f}, p-value {ks.pvalue:.3f}; "
          f"guided model evaluations per scenario: {guided.metadata['stress']['cost']:.0f}")

    path = out_dir / "stress_scenarios.parquet"
    guided.to_parquet(path)
    table.to_csv(out_dir / "stress_losses.csv")
    print(f"\nwrote {path} ({guided.n_scenarios} x {guided.horizon} days x {guided.n_assets} assets) "
          f"and {out_dir / 'stress_losses.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
