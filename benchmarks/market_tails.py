"""The tails of the market direction: the data's against the model's, on its own training windows.

The equal-weight portfolio's losses depend on the days when every asset falls together. This script
puts the training targets and the model's scenarios in one common space, the per-asset GJR innovations
(each day divided by the GJR volatility filtered through the context and the window's earlier days, as
``target_scale="filtered"`` does, then by the global target scale), takes each day's mean over the assets
(the market direction), and compares its standard deviation and, in units of it, quantiles, expected
shortfalls and the kurtosis: the data over every training window, the model over ``--origins`` training dates drawn
at random (``--n`` scenarios each; the same dates for every configuration). A model that thins the
market's crash tail shows it here, on dates it was trained on, before any out-of-sample noise.

The models are ``quality.py``'s validation-years models (sp500, trained through 2016, seed ``--seed``),
taken from its cache (or fitted and cached): the default preset's (``market_tails="none"``), and one more
per ``-o``; ``-o market_tails=tukey_hh`` gives the model with :class:`finscore.tails.MarketTails` (item 23
of ``benchmarks/quality.md``), ``-o market_tails=matched`` the one with :class:`finscore.tails.MarketMatch`
(item 25).

Usage::

    python benchmarks/market_tails.py -o market_tails=tukey_hh -o market_tails=matched

Writes benchmarks/results/market_tails_<data>.md (the command, machine and date; one row for the data and
one per configuration).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from _common import header, md_table, prepare, publish  # same directory
from quality import TRAIN_END, _fitted, parse_overrides

from finscore.conditioning import gjr_standardize

LEVELS = (0.001, 0.005, 0.01, 0.05)


def market_direction(gen, s2: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Daily mean over the assets (N, H) of the GJR innovations of ``windows`` (N, H, d) whose first day has
    the GJR variances ``s2`` (N, d) (``gen._first_variance`` of their contexts)."""
    z = gjr_standardize(windows, s2, gen._gjr()[0], cap=gen.config_.shock_cap) / gen.scale_
    return z.mean(axis=2)


def tail_row(m: np.ndarray) -> dict[str, float]:
    """The standard deviation of ``m``, then the left-tail quantiles and expected shortfalls, the right 99.9%
    quantile and the kurtosis of ``m / sd(m)``."""
    v = (m / m.std()).ravel()
    row = {"sd": float(m.std())}
    row.update({f"q {100 * a:g}%": float(np.quantile(v, a)) for a in LEVELS})
    row.update({f"ES {100 * a:g}%": float(v[v <= np.quantile(v, a)].mean()) for a in (0.01, 0.05)})
    row["q 99.9%"] = float(np.quantile(v, 0.999))
    row["kurtosis"] = float(np.mean(v**4) / np.mean(v**2) ** 2)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--override", action="append", default=[],
                   help="one more configuration per -o (ScoreConfig field=value) besides the default preset")
    p.add_argument("--origins", type=int, default=100)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    returns = prepare(args.data, args.threads)
    train = returns.loc[:TRAIN_END]
    configs = [{}] + [parse_overrides([o]) for o in args.override]
    gens = [_fitted(args.data, "default", args.seed, ov, returns) for ov in configs]
    L, H = gens[0].config_.context, gens[0].config_.horizon
    vals = train.to_numpy()
    starts = np.arange(L, len(vals) - H + 1)  # every training window: context rows [s-L, s), target [s, s+H)
    ctx = np.stack([vals[s - L:s] for s in starts])
    tgt = np.stack([vals[s:s + H] for s in starts])
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(starts), args.origins, replace=False))
    rows = {"data (every training window)": tail_row(market_direction(gens[0], gens[0]._first_variance(ctx), tgt))}
    for ov, gen in zip(configs, gens):
        t0 = time.perf_counter()
        scen = gen.sample_many(args.n, H, [train.iloc[starts[i] - L:starts[i]] for i in chosen], seed=args.seed + 1)
        s2 = gen._first_variance(ctx[chosen])  # (origins, d): once per origin, not once per scenario
        m = np.concatenate([market_direction(gen, np.repeat(s2[j][None], args.n, axis=0), s.values)
                            for j, s in enumerate(scen)])
        label = ", ".join(f"{k}={v}" for k, v in ov.items()) or "default preset"
        rows[f"model: {label}"] = tail_row(m)
        print(f"{label}: {time.perf_counter() - t0:.0f}s", flush=True)
    table = pd.DataFrame(rows).T
    table.index.name = "market direction / sd"
    lines = header(f"Tails of the market direction on the training windows, `{args.data}`", "market_tails.py",
                   argv if argv is not None else sys.argv[1:])
    note = (f"Models: quality.py's validation-years models (trained through {TRAIN_END}), seed {args.seed}; "
            f"{args.n} scenarios at each of {args.origins} training dates drawn at random; the data: all "
            f"{len(starts)} training windows. Column sd: the standard deviation of the daily equal-weight mean "
            "of the GJR innovations (divided by the global target scale); the other columns in units of it "
            "(Gaussian: q 0.1% -3.09, q 1% -2.33, ES 1% -2.67, kurtosis 3).")
    lines += [note, "", md_table(table, "{:.3f}"), ""]
    publish(lines, f"market_tails_{args.data}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
