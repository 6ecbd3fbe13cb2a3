"""Guided VaR-tail stress scenarios against exact rejection sampling, on the embedded data (issue 5).

For a ScoreGenerator (default preset, fitted on the rows before 2019-01-01: the model of
``benchmarks/backtest.py``, shared through its cache) and the equal-weight book, at held-out
context dates: draw ``n`` guided scenarios whose 20-day loss exceeds the model's VaR_alpha, and the
exact reference — unguided draws kept by rejection above their empirical VaR_alpha
(:func:`finscore.report.stress.run_stress`). Records the loss statistics of both, the two-sample KS
p-value, the share of guided scenarios meeting the constraint, and the seconds per kept scenario.

Usage::

    python benchmarks/stress.py
    python benchmarks/stress.py --dates 2020-03-16 --alphas 0.99 --n 300
    python benchmarks/stress.py --plain-guidance   # the ablation: the loss linearised, no corrections

Writes benchmarks/results/stress_<data>.csv, stress_<data>.png (loss histograms and CDFs per date
and level) and stress_<data>.md (the table with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from _common import RESULTS, header, md_table, prepare  # same directory
from finscore._io import atomic_write_text
from backtest import make  # the shared fitted model
from finscore.report.stress import run_stress


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--fit-before", default="2019-01-01", help="the model is fitted on the rows before this date")
    p.add_argument("--dates", nargs="+", default=["2019-12-31", "2020-03-16", "2022-06-30"],
                   help="context end dates (held out: after --fit-before)")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.95, 0.99])
    p.add_argument("--n", type=int, default=300, help="guided scenarios per date and level")
    p.add_argument("--max-draws", type=int, default=20_000, help="unguided draws for rejection, at most")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--plain-guidance", action="store_true",
                   help="the ablation: guide on the loss itself, linearised (normal_scores=False, posterior_draws=0); "
                        "results go to stress_<data>_plain.*")
    args = p.parse_args(argv)
    options = {"normal_scores": False, "posterior_draws": 0} if args.plain_guidance else {}
    stem = f"stress_{args.data}{'_plain' if args.plain_guidance else ''}"
    returns = prepare(args.data, args.threads)
    gen = make("finscore", args.data, args.fit_before, args.seed,
               returns.loc[returns.index < pd.Timestamp(args.fit_before)])
    rows, results = [], []
    for date in args.dates:
        ctx = returns.loc[:date].iloc[-gen.config_.context:]
        if ctx.index[-1] < pd.Timestamp(args.fit_before):
            raise ValueError(f"--dates {date} is not after --fit-before {args.fit_before}: not held out")
        for alpha in args.alphas:
            t0 = time.perf_counter()
            res = run_stress(gen, weights="equal", alpha=alpha, n=args.n, context=ctx, max_draws=args.max_draws,
                             seed=args.seed, guidance_options=options)
            ks = res.ks_test()
            s = res.summary()
            sat = float(np.mean(res.guided_losses >= res.threshold))
            for method, r in s.iterrows():
                rows.append({"context_end": str(ctx.index[-1].date()), "alpha": alpha, "method": method,
                             "threshold": res.threshold, **r.to_dict(),
                             "share_above_threshold": sat if method == "guided" else 1.0,
                             "ks_p": ks.pvalue if ks is not None else np.nan,
                             "seconds_per_scenario": res.cost["guided: seconds per scenario" if method == "guided"
                                                             else "rejection: seconds per kept scenario"]})
            results.append((str(ctx.index[-1].date()), alpha, res))
            print(f"{date} alpha {alpha}: threshold {res.threshold:.4f}, guided mean {s.loc['guided', 'mean']:.4f} "
                  f"vs rejection {s.loc['rejection', 'mean']:.4f}, KS p {ks.pvalue:.3g}, "
                  f"{100 * sat:.1f}% above threshold ({time.perf_counter() - t0:.0f}s)", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / f"{stem}.csv", index=False)

    fig = Figure(figsize=(11, 2.6 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 2, squeeze=False)
    for (date, alpha, res), (ax_h, ax_c) in zip(results, axes):
        g, r = 100 * res.guided_losses, 100 * res.rejection_losses
        bins = np.linspace(min(g.min(), r.min()), max(g.max(), r.max()), 31)
        for name, x, color in (("guided", g, "C3"), ("rejection (exact)", r, "C0")):
            ax_h.hist(x, bins=bins, density=True, alpha=0.45, color=color, label=f"{name}, n={x.size}")
            xs = np.sort(x)
            ax_c.step(xs, np.arange(1, xs.size + 1) / xs.size, where="post", color=color, label=name)
        for ax in (ax_h, ax_c):
            ax.axvline(100 * res.threshold, color="k", ls="--", lw=1, label=f"model VaR {alpha:.0%}")
            ax.set_xlabel(f"equal-weight {res.horizon_days}-day loss (% of value)")
            ax.grid(alpha=0.3)
        ax_h.set_ylabel("density (1 / %)")
        ax_h.set_title(f"context ending {date}, tail beyond VaR {alpha:.0%}", fontsize=9)
        ax_c.set_ylabel("cumulative probability")
        ax_h.legend(fontsize=7)
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)

    show = table.copy()
    for c in ("threshold", "mean", "median", "q95", "q99", "max"):
        show[c] = show[c].map(lambda v: f"{100 * v:.2f}%")
    show["share_above_threshold"] = show["share_above_threshold"].map(lambda v: f"{100 * v:.1f}%")
    show["ks_p"] = show["ks_p"].map(lambda v: f"{v:.2g}")
    show["seconds_per_scenario"] = show["seconds_per_scenario"].map(lambda v: f"{v:.3f}")
    show["n"] = show["n"].astype(int)
    lines = [
        *header(f"Guided stress scenarios vs rejection sampling, `{args.data}`, equal-weight book", "stress.py",
                argv if argv is not None else sys.argv[1:]),
        f"Model: ScoreGenerator, default preset, seed {args.seed}, fitted on the rows before {args.fit_before}; "
        f"losses are over the {results[0][2].horizon_days}-day path, as fractions of book value. "
        "Rejection keeps the unguided draws at or beyond their empirical VaR (exact samples of the tail); "
        "KS: two-sample Kolmogorov–Smirnov p-value, guided vs rejection. Guidance: "
        f"{'plain linearisation of the loss (the ablation)' if options else 'the defaults of VaRGuidance'}. "
        f"Figure: `{stem}.png`.",
        "",
        md_table(show.set_index("context_end")),
    ]
    atomic_write_text(RESULTS / f"{stem}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{stem}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
