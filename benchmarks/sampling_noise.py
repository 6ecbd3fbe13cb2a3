"""Monte-Carlo noise of the quality scores: one fitted GARCH baseline scored under several sampling seeds.

The figures of ``quality.py`` come from 500 scenarios per forecast origin, so each of them carries the
Monte-Carlo error of that sample on top of the model's quality: a 1-day 99% VaR, for one, is the 5th
of 500 draws. Here the same fitted GARCH (GJR-GARCH(1,1)-t + Gaussian copula, fitted once on the
training years, as in ``quality.py``) is scored with ``--seeds`` different sampling seeds on the same
origins; the spread of a score over the seeds is how far two runs of one model can differ by chance.
Seed 0 reproduces the baseline row of ``quality.py``.

Usage::

    python benchmarks/sampling_noise.py --period report --seeds 0 1 2 3 4

Writes benchmarks/results/sampling_noise_<data>_<period>.md (the command, machine and date; one row
per seed, the mean, the standard deviation and the sd as a percentage of the mean).
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
from _common import header, md_table, prepare, publish  # same directory
from quality import PERIODS, score_generator

from finscore.baselines import GARCH

SCORES = {"score.energy_score": "energy score", "score.crps": "CRPS 20d", "var95.pinball": "pinball 95",
          "var99.pinball": "pinball 99", "var95.rate": "VaR95 rate", "var99.rate": "VaR99 rate"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--period", choices=sorted(PERIODS), default="report")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--stride", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if len(set(args.seeds)) < 2:
        p.error(f"--seeds needs at least two different seeds to measure a spread, got {args.seeds}")
    returns = prepare(args.data, args.threads)
    train_end = PERIODS[args.period][0]
    gen = GARCH().fit(returns.loc[:train_end])
    rows = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        row, _, _ = score_generator("garch", gen, returns, args.period, seed, n=args.n, stride=args.stride, fit=False,
                                    var_n=0, var_method="empirical")
        rows.append({"seed": seed, **{label: row[k] for k, label in SCORES.items()}})
        print(f"seed {seed}: " + ", ".join(f"{label} {row[k]:.6g}" for k, label in SCORES.items())
              + f" ({time.perf_counter() - t0:.0f}s)", flush=True)
    runs = pd.DataFrame(rows).set_index("seed")
    mean, sd = runs.mean(), runs.std(ddof=1)
    table = pd.concat([runs.astype(object), pd.DataFrame({"mean": mean, "sd": sd}).T.astype(object),
                       pd.DataFrame({"sd / mean": (100 * sd / mean).map("{:.2f}%".format)}).T])
    table.index.name = "seed"
    lines = header(f"Sampling noise of the quality scores: GARCH, `{args.data}`, {args.period} period",
                   "sampling_noise.py", sys.argv[1:] if argv is None else argv)
    lines += [(f"One GARCH fitted on the data up to {train_end}; {args.n} scenarios per origin, every {args.stride} "
               f"days; the scores of `quality.py` (`--var-n 0`) under {len(args.seeds)} sampling seeds."), "",
              md_table(table, "{:.6g}"), ""]
    publish(lines, f"sampling_noise_{args.data}_{args.period}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
