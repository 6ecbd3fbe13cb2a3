"""How many absurd daily returns the scenarios of a crash state hold (quality.md, items 31, 36 and 37).

For the models of ``quality.py`` (embedded data, trained through 2016, the same cache) and the contexts of
a crash (every 5th trading day from ``--start`` to ``--end``; default 2020-02-20..2020-04-30, 10 dates; the
last 250 days up to each), draws ``--n`` 20-day scenarios per context (``sample_many``, seed = the training
seed) and reports per training seed, over all simulated daily log returns of all assets:

* ``per10k_0.25``, ``per10k_0.5``: how many per 10,000 exceed 0.25 and 0.5 in absolute value;
* ``largest``: the largest absolute value;
* the anatomy of the values beyond 0.5 (finscore's models with GJR-filtered targets, and GARCH): ``z_med``,
  the median absolute GJR innovation that produced them (the value over its day's volatility, filtered
  through the context and the scenario's earlier days with the generator's own GJR parameters, as its
  sampler rebuilds it), ``vol_med``, the median of that day's volatility, and ``vol_up``, the share of them
  whose day's volatility is above the first day's (raised inside the scenario by earlier shocks);

and, for comparison, the same figures for the conditional GARCH baseline of ``quality.py`` (GJR-t + Gaussian
copula, fitted on the same training returns; one row per seed, sampled with that seed) and the largest
absolute daily log return realized over the same 20-day windows.

Usage::

    python benchmarks/crash_extremes.py --seeds 0 1 2
    python benchmarks/crash_extremes.py --seeds 0 1 2 --tag puncond01 -o p_uncond=0.1
    python benchmarks/crash_extremes.py --seeds 0 --tag tsv -o tail_state=vol
    python benchmarks/crash_extremes.py --train-start 2014 --start 2018-06-01 --end 2018-06-01 --n 8000 --seeds 0 --tag short

``--train-start YYYY`` uses the models of ``quality.py --train-start`` (data before that year dropped for
every model, GARCH included; the data name becomes ``<data>_from<YYYY>``).

Writes benchmarks/results/crash_extremes_<data>_<tag>.md.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import header, md_table, model_arguments, prepare, publish
from quality import TRAIN_END, _fitted, add_train_start, parse_overrides, train_start

from finscore.baselines import GARCH
from finscore.conditioning import gjr_standardize

CONTEXT_DAYS = 250
HORIZON = 20


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_arguments(p)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--start", default="2020-02-20")
    p.add_argument("--end", default="2020-04-30")
    p.add_argument("--n", type=int, default=100, help="scenarios per context")
    add_train_start(p)
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    returns, name = train_start(p, args, returns)
    idx = returns.index
    inside = np.flatnonzero((idx >= pd.Timestamp(args.start)) & (idx <= pd.Timestamp(args.end)))
    origins = [i for i in inside[::5] if i >= CONTEXT_DAYS - 1 and i + HORIZON < len(idx)]
    if not origins:
        raise SystemExit(f"no origin between {args.start} and {args.end} with {CONTEXT_DAYS} days of context "
                         f"and {HORIZON} days after it in {args.data}")
    contexts = [returns.iloc[i - CONTEXT_DAYS + 1:i + 1] for i in origins]
    realized = max(float(np.abs(returns.iloc[i + 1:i + 1 + HORIZON].to_numpy()).max()) for i in origins)
    rows = []

    def gjr_state(gen):
        """(GJR parameters, first-day variances (contexts, d), shock cap) with which ``gen`` rebuilds its
        scenarios, or None."""
        if isinstance(gen, GARCH):
            return gen.vol_, np.stack([gen.forecast_variance(c).to_numpy() for c in contexts]), None
        gjr = gen._gjr()
        if gjr is None:  # targets not GJR-filtered
            return None
        first = gen._first_variance(np.stack([c.to_numpy(np.float64)[-gen.config_.context:] for c in contexts]))
        return gjr[0], first, gen.config_.shock_cap

    def count(name, gen, seed):
        r = np.stack([s.values for s in gen.sample_many(args.n, HORIZON, contexts, seed=seed)])  # (m, n, H, d)
        v = np.abs(r)
        rows.append({"generator": name, "seed": seed, "values": str(v.size),
                     "per10k_0.25": 1e4 * float(np.mean(v > 0.25)), "per10k_0.5": 1e4 * float(np.mean(v > 0.5)),
                     "largest": float(v.max()), "z_med": "-", "vol_med": "-", "vol_up": "-"})
        state = gjr_state(gen) if (v > 0.5).any() else None
        if state is not None:
            vol, first, cap = state
            first = np.repeat(first, args.n, axis=0)  # (m * n, d), as the samplers repeat each context
            z, var = gjr_standardize(r.reshape(-1, *r.shape[2:]), first, vol, return_variance=True, cap=cap)
            big = v.reshape(z.shape) > 0.5
            rows[-1].update(z_med=float(np.median(np.abs(z[big]))), vol_med=float(np.median(np.sqrt(var[big]))),
                            vol_up=float(np.mean((var > first[:, None, :])[big])))
        print(f"seed {seed}: {rows[-1]}", flush=True)

    for seed in args.seeds:
        gen = _fitted(name, args.preset, seed, overrides, returns)
        gen.progress = False
        count("finscore", gen, seed)
    garch = GARCH().fit(returns.loc[:TRAIN_END])
    for seed in args.seeds:
        count("garch", garch, seed)
    lines = header(f"Absurd daily returns in crash-state scenarios, `{name}`", "crash_extremes.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [(f"Models: preset {args.preset}, overrides {overrides or 'none'}, trained to {TRAIN_END}; "
               f"{len(origins)} contexts from {idx[origins[0]].date()} to {idx[origins[-1]].date()} (every 5th "
               f"day), {args.n} scenarios of {HORIZON} days each; GARCH fitted on the same training returns. "
               f"Realized largest |daily log return| over the same windows: {realized:.3f}."), "",
              "Columns: see the script's docstring.", "",
              md_table(pd.DataFrame(rows).set_index("generator"), "{:.3f}"), "", ""]
    publish(lines, f"crash_extremes_{name}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
