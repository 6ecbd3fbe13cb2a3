"""The three training seeds taken together: each origin's score averaged over the seeds, against the baselines.

``quality.py`` tests each seed against GARCH and the copula on its own (Diebold-Mariano per seed). This
script reads a run's per-date scores (``results/quality_<data>_<period>_<tag>_dates.csv``) and asks the
question for the model as a whole: at each origin the scores of the seeds are averaged (the forecast of a
randomly chosen seed has that expected score), and that series is compared with each baseline's by the
same Diebold-Mariano test as ``quality.py`` (overlapping 20-day paths: lags up to ceil(20 / stride) - 1;
the 1-day pinball losses: none).

Usage::

    python benchmarks/seed_pooled.py --data sp500 --period report --tag georep
    python benchmarks/seed_pooled.py --data factors --period report --tag geo

Writes benchmarks/results/seed_pooled_<data>_<period>_<tag>.md. Reads files only: no model is fitted or
sampled.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from _common import RESULTS, header, md_table, publish  # same directory
from quality import diebold_mariano_columns

SCORES = ("energy_score", "crps", "variogram_score", "pinball95", "pinball99")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--period", default="report")
    p.add_argument("--tag", required=True, help="the quality.py run's tag")
    p.add_argument("--stride", type=int, default=5, help="days between the run's origins (quality.py's --stride)")
    args = p.parse_args(argv)
    path = RESULTS / f"quality_{args.data}_{args.period}_{args.tag}_dates.csv"
    if not path.exists():
        raise SystemExit(f"{path} not found: run benchmarks/quality.py with --tag {args.tag} first")
    frame = pd.read_csv(path, parse_dates=["date"])
    model = frame[frame["generator"] == "finscore"]
    if model.empty:
        raise SystemExit(f"{path} has no finscore rows")
    seeds = sorted(int(s) for s in model["seed"].unique())
    cols = [c for c in SCORES if c in frame]
    pooled = model.groupby("date", as_index=False)[cols].mean()
    base = frame[frame["generator"] != "finscore"].drop(columns="seed")
    pvalues = diebold_mariano_columns(pooled, base, args.stride)
    rows = {}
    for col in cols:
        row = {f"finscore (mean of seeds {', '.join(map(str, seeds))})": pooled[col].mean()}
        for name, b in base.groupby("generator"):
            rows_b = b.set_index("date").loc[pooled["date"], col]
            row[name] = rows_b.mean()
            row[f"vs {name}"] = f"{100 * (pooled[col].mean() / rows_b.mean() - 1):+.3f}%"
            row[f"DM p vs {name}"] = pvalues.get(f"dm_{name}.{col}", "–")  # quality.py tests no variogram
        rows[col] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "score (mean over origins)"
    lines = header(f"The seeds taken together: `{args.tag}` ({args.data}, {args.period})", "seed_pooled.py",
                   sys.argv[1:] if argv is None else argv)
    note = (f"From `results/{path.name}`: {pooled.shape[0]} origins, seeds {seeds}. `vs`: the model's mean score "
            "over the baseline's, minus 1 (negative: the model is better); DM p: two-sided Diebold-Mariano p-value "
            "(Harvey correction) of the seed-averaged per-origin scores.")
    lines += ["", note, "", md_table(table, floatfmt="{:.6g}")]
    publish(lines, f"seed_pooled_{args.data}_{args.period}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
