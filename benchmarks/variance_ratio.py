"""Does the network reproduce the 20-day spread of its own training windows? Branch by branch, in its own space.

``calibration.py`` measures the variance ratio of the book inside the scenarios out of sample; this asks
where a wrong one comes from, with no mapping back to returns and no out-of-sample dates. For a fitted
model (same cache and split as ``quality.py``) it takes its training windows in the network's space (after
the GJR filter, the Tukey h transform and the correlation map: what the network was fitted to) and samples
the same space at ``--dates`` training contexts drawn at random, ``--per-date`` windows each, with the
config's sampler at guidance weights 0 (the unconditional branch), the config's weight, and 1 (the
conditional branch). For each it reports

* ``vr20``: the variance ratio of the equal-weight book, ``E[(sum of its H values)^2] / (H E[value^2])``
  after removing the pooled mean of each entry (1 for independent days, below 1 when the window's days
  offset each other), pooled over all windows: the unconditional branch's target is the training
  windows' value;
* ``vr20_within``: the same with each date's windows centred on their own mean (the spread a forecast
  has around its centre; for the training row it is not defined);
* ``book_var``: the variance of the book's daily value;
* ``asset_rms``, ``asset_rms_day1``: each asset's root mean square value (over all days; on the first day)
  over the training windows', averaged over the assets (1 when the network reproduces its targets' spread).

Usage::

    python benchmarks/variance_ratio.py --data factors --seed 0

Writes ``benchmarks/results/variance_ratio_<data>_<tag>.md`` (with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import header, md_table, model_arguments, prepare, publish
from quality import TRAIN_END, _fitted, parse_overrides

from finscore.correlation import window_variance_ratio
from finscore.generator import _windows
from finscore.model import generate


def book_stats(windows: np.ndarray, per_date: int | None = None, reference: np.ndarray | None = None) -> dict[str, float]:
    """``vr20``, ``vr20_within`` (with ``per_date``: consecutive groups of that many windows share a date),
    ``book_var`` and ``asset_rms``, ``asset_rms_day1`` (against the ``reference`` windows; 1 without) of
    windows (N, H, d); see the module docstring."""
    x = windows - windows.mean(axis=0)
    book = x.mean(axis=2)  # (N, H)
    ref = windows if reference is None else reference
    out = {"vr20": float(window_variance_ratio(book[:, :, None])[0]), "vr20_within": np.nan,
           "book_var": float(windows.mean(axis=2).var()),
           "asset_rms": float(np.mean(np.sqrt((windows**2).mean(axis=(0, 1)) / (ref**2).mean(axis=(0, 1))))),
           "asset_rms_day1": float(np.mean(np.sqrt((windows[:, 0] ** 2).mean(axis=0) / (ref[:, 0] ** 2).mean(axis=0))))}
    if per_date:
        w = windows.reshape(-1, per_date, *windows.shape[1:])
        b = (w - w.mean(axis=(1, 2), keepdims=True)).mean(axis=3)  # (dates, per_date, H)
        out["vr20_within"] = float(window_variance_ratio(b.reshape(-1, b.shape[2], 1))[0])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dates", type=int, default=200)
    p.add_argument("--per-date", type=int, default=50)
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    gen = _fitted(args.data, args.preset, args.seed, overrides, returns)
    gen.progress = False
    cfg = gen.config_
    ctx, tgt = _windows(returns.loc[:TRAIN_END].to_numpy(np.float64), cfg.context, cfg.horizon)
    x = gen._targets(ctx, tgt)
    rows = [{"windows": "training targets", "guidance": np.nan, "n": str(len(x)), **book_stats(x)}]
    pick = np.sort(np.random.default_rng(5).choice(len(ctx), size=min(args.dates, len(ctx)), replace=False))
    cond, acond = gen.cond_stats_.apply(*gen._state(ctx[pick])[:2])
    cond, acond = np.repeat(cond, args.per_date, axis=0), np.repeat(acond, args.per_date, axis=0)
    for w in sorted({0.0, float(cfg.guidance_scale), 1.0}):
        y, _ = generate(gen.model_, gen._plan(guidance_scale=w), cond, acond, np.ones((len(cond), 1, ctx.shape[2])),
                        cfg.horizon, np.random.default_rng(1), group_size=args.per_date, device=gen.device)
        rows.append({"windows": "sampled", "guidance": w, "n": str(len(y)), **book_stats(y, args.per_date, x)})
    best = getattr(gen.train_result_, "best_step", None)
    lines = header(f"Variance ratio of the book in the network's space, `{args.data}`", "variance_ratio.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [(f"Model: preset {args.preset}, seed {args.seed}, overrides {overrides or 'none'}, trained to "
               f"{TRAIN_END} (best validation step {best}); sampler {cfg.sampler}, {cfg.sample_steps} {cfg.sample_schedule} levels, "
               f"{len(pick)} training contexts x {args.per_date} windows."), "", "Columns: see the script's docstring.",
              "", md_table(pd.DataFrame(rows).set_index("windows")), "", ""]
    publish(lines, f"variance_ratio_{args.data}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
