"""Where the pooled daily tail distance of ``quality.py`` comes from (quality.md, item 44).

The ``tail_quantiles`` fact distance is the mean absolute error of each asset's 1% and 99% quantiles of
the daily log returns pooled over a test period's forecast windows, in units of the realized daily
standard deviation. This splits it by side and says in which direction each model errs. For the models
of ``quality.py`` (the same cache and split) and its origins (every 5th trading day of ``--period``, the
last 250 days up to each as context), it draws ``--n`` 20-day scenarios per origin (``sample_many``,
seed = the training seed; GARCH, the GJR-t + Gaussian copula baseline fitted on the same training
returns, with seed 0) and reports per model, over the 20 assets:

* ``lower_bias``, ``upper_bias``: the mean signed error of the 1% / 99% quantile over the realized sd
  (negative: the pooled scenarios reach further down, resp. not as far up, as the realized returns);
* ``lower_mad``, ``upper_mad``: the mean absolute errors (their mean is the ``tail_quantiles`` distance);
* ``sd_ratio``: the mean over assets of the pooled scenarios' daily sd over the realized one.

Usage::

    python benchmarks/pooled_tails.py --period report --seeds 0 1 2
    python benchmarks/pooled_tails.py --period val --seeds 0

Writes benchmarks/results/pooled_tails_<data>_<period>_<tag>.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import header, md_table, prepare, publish  # same directory
from quality import PERIODS, _fitted, parse_overrides

from finscore.baselines import GARCH
from finscore.validation.oos import forecast_origins
from finscore.validation.stylized import stylized_facts

CONTEXT_DAYS = 250
HORIZON = 20
STRIDE = 5


def tail_errors(real_facts: dict, windows: np.ndarray) -> dict:
    """Signed and absolute errors of the pooled 1% / 99% quantiles of ``windows`` (N, H, d) against
    ``real_facts`` (``stylized_facts`` of the realized windows), in realized daily sds; and the sd ratio."""
    fg = stylized_facts(windows)
    sd = np.where(real_facts["std"] > 0, real_facts["std"], 1.0)
    err = (fg["tail_quantiles"] - real_facts["tail_quantiles"]) / sd  # (2, d)
    return {"lower_bias": err[0].mean(), "lower_mad": np.abs(err[0]).mean(), "upper_bias": err[1].mean(),
            "upper_mad": np.abs(err[1]).mean(), "tail_quantiles": np.abs(err).mean(),
            "sd_ratio": float(np.mean(fg["std"] / sd))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--period", choices=sorted(PERIODS), default="report")
    p.add_argument("--preset", default="default")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("-o", "--override", action="append", default=[], help="ScoreConfig field=value")
    p.add_argument("--tag", default="default")
    p.add_argument("--n", type=int, default=100, help="scenarios per origin")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    train_end, start, end = PERIODS[args.period]
    origins = forecast_origins(returns.index, train_end, start, end, HORIZON, STRIDE)
    values = returns.to_numpy()
    real = np.stack([values[o + 1: o + 1 + HORIZON] for o in origins])  # (T, H, d)
    contexts = [returns.iloc[o - CONTEXT_DAYS + 1: o + 1] for o in origins]
    real_facts = stylized_facts(real)

    def draw(gen, seed: int) -> np.ndarray:
        return np.stack([s.values for s in gen.sample_many(args.n, HORIZON, contexts, seed=seed)]).reshape(
            -1, HORIZON, values.shape[1])

    rows = {"garch": tail_errors(real_facts, draw(GARCH().fit(returns.loc[:train_end]), 0))}
    for seed in args.seeds:
        gen = _fitted(args.data, args.preset, seed, overrides, returns, train_end)
        rows[f"finscore seed {seed}"] = tail_errors(real_facts, draw(gen, seed))
        print(f"seed {seed}: {rows[f'finscore seed {seed}']}", flush=True)
    table = pd.DataFrame(rows).T.rename_axis("model")
    lines = [
        *header(f"Pooled daily tails, `{args.data}`, {args.period} period ({start} to {end or 'the end'})",
                "pooled_tails.py", argv if argv is not None else sys.argv[1:]),
        (f"Origins: {len(origins)}, every {STRIDE} days; {args.n} scenarios each; models trained to {train_end}; "
         f"preset {args.preset}, overrides {overrides or 'none'}. Columns: see the script's docstring."),
        "",
        md_table(table, "{:+.3f}"),
        "",
    ]
    publish(lines, f"pooled_tails_{args.data}_{args.period}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
