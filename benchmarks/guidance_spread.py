"""Does the guided sampler keep the spread of the training windows? The blend and the mixture (quality.md, item 18).

In-sample check of one fitted model (the validation model of ``quality.py``: embedded sp500, trained through
2016, seed 0). Each training window (every ``--stride``-th) is mapped to the model's space (GJR innovations,
Tukey h, correlation map) and one scenario is drawn from its own context, so the pooled draws should have the
law of the pooled windows. Compared along two directions of the window (H days x d assets, unit vectors):

* ``grand``: all ones, the 20-day return of the equal-weight book;
* ``day 1``: ones on the first day, the book's first-day return;

and their ratio ``grand / day 1`` (about the variance ratio of the book: 1 for serially uncorrelated days).
Rows: the training windows, then draws with guidance weight 1 (conditional branch), 0 (unconditional), and
0.2 both as a blend (``D_u + w (D_c - D_u)``) and as a mixture (a share w of the rows conditional).

Usage::

    python benchmarks/guidance_spread.py

Writes ``benchmarks/results/guidance_spread.md`` (with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch
from _common import header, md_table, prepare, publish
from quality import TRAIN_END, _fitted

from finscore.generator import _windows
from finscore.model import generate


def spread(x: np.ndarray) -> dict[str, float]:
    """Variances along the grand and day-1 directions (unit vectors) of windows x (N, H, d)."""
    h, d = x.shape[1:]
    grand = x.sum(axis=(1, 2)) / np.sqrt(h * d)
    day1 = x[:, 0].sum(axis=1) / np.sqrt(d)
    return {"grand": grand.var(), "day 1": day1.var(), "grand / day 1": grand.var() / day1.var()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stride", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    returns = prepare("sp500", args.threads)
    gen = _fitted("sp500", "default", args.seed, {}, returns, TRAIN_END)
    cfg = gen.config_
    ctx, tgt = _windows(returns.loc[:TRAIN_END].to_numpy(np.float64), cfg.context, cfg.horizon)
    ctx, tgt = ctx[:: args.stride], tgt[:: args.stride]
    rows = {"training windows": spread(gen._targets(ctx, tgt))}
    cond, acond, _ = gen._state(ctx)
    cond, acond = gen.cond_stats_.apply(cond, acond)
    for label, mode, w in (("weight 1 (conditional)", "blend", 1.0), ("weight 0 (unconditional)", "blend", 0.0),
                           ("blend, weight 0.2", "blend", 0.2), ("mixture, weight 0.2", "mixture", 0.2)):
        x, _ = generate(gen.model_, gen._plan(guidance_scale=w, guidance_mode=mode), cond, acond,
                        np.ones((len(ctx), 1, ctx.shape[2])), cfg.horizon, np.random.default_rng(args.seed),
                        device="cpu")
        rows[label] = spread(x)
        print(label, rows[label], flush=True)
    table = pd.DataFrame(rows).T.rename_axis("draws")
    lines = header("Spread of the guided sampler along the book's directions (in-sample)", "guidance_spread.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [(f"Model: sp500, default preset ({cfg.guidance_mode} guidance by default), "
              f"trained through {TRAIN_END}, seed {args.seed}; {len(ctx)} training windows (every {args.stride}th), "
              f"one draw each from its own context ({cfg.sampler}, {cfg.sample_steps} levels); torch "
              f"{torch.__version__}."), "", ("Variances in the model's space along unit vectors; see the script's "
              "docstring."), "", md_table(table), "", ""]
    publish(lines, "guidance_spread.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
