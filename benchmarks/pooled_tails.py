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
* ``sd_ratio``: the mean over assets of the pooled scenarios' daily sd over the realized one;

and the conditional scale per origin and asset (each origin's scenarios' own mean and sd):

* ``z2_day1``, ``z2_all``: the mean squared standardized error of the realized returns, on the first
  day and over all 20 (1 if the scale is right on average; below 1: too wide);
* ``sd1_vs_garch``: the median over origins and assets of the scenarios' first-day sd over GARCH's scenarios'
  (both sample sds of ``--n`` draws);
* ``filter_vs_garch`` (finscore's models with GJR-filtered targets): the median of its GJR filter's
  first-day sd over GARCH's own (both exact: ``GARCH.forecast_variance``); ``innovation_sd1``: the median
  of the scenarios' first-day sample sd over the model's filter sd (the network's innovation sd; a sample
  sd of heavy-tailed draws tends to fall below the true one, so read it as a lower bound).

A second table splits the origins into terciles of GARCH's first-day volatility (its exact filter,
averaged over the assets: calm, middle, turbulent) and gives ``lower_bias`` and ``upper_bias`` within each,
in units of the whole period's realized daily sd.

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
from _common import header, md_table, model_arguments, prepare, publish
from quality import PERIODS, _fitted, parse_overrides

from finscore.baselines import GARCH
from finscore.validation.oos import forecast_origins
from finscore.validation.stylized import stylized_facts

CONTEXT_DAYS = 250
HORIZON = 20
STRIDE = 5


def scale_errors(real: np.ndarray, draws: np.ndarray) -> dict:
    """Mean squared standardized error of ``real`` (T, H, d) under the per-origin mean and sd of ``draws``
    (T, n, H, d): on the first day and over all days."""
    z2 = ((real - draws.mean(axis=1)) / draws.std(axis=1)) ** 2  # (T, H, d)
    return {"z2_day1": float(z2[:, 0].mean()), "z2_all": float(z2.mean())}


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
    model_arguments(p)
    p.add_argument("--period", choices=sorted(PERIODS), default="report")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n", type=int, default=100, help="scenarios per origin")
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    train_end, start, end = PERIODS[args.period]
    origins = forecast_origins(returns.index, train_end, start, end, HORIZON, STRIDE)
    values = returns.to_numpy()
    real = np.stack([values[o + 1: o + 1 + HORIZON] for o in origins])  # (T, H, d)
    contexts = [returns.iloc[o - CONTEXT_DAYS + 1: o + 1] for o in origins]
    real_facts = stylized_facts(real)

    def draw(gen, seed: int) -> np.ndarray:  # (T, n, H, d)
        return np.stack([s.values for s in gen.sample_many(args.n, HORIZON, contexts, seed=seed)])

    def evaluate(draws: np.ndarray) -> dict:
        return {**tail_errors(real_facts, draws.reshape(-1, HORIZON, values.shape[1])), **scale_errors(real, draws)}

    garch_model = GARCH().fit(returns.loc[:train_end])
    garch = draw(garch_model, 0)
    garch_sd1 = garch.std(axis=1)[:, 0]  # (T, d), sample
    garch_filter = np.sqrt(np.stack([garch_model.forecast_variance(c).to_numpy() for c in contexts]))  # exact
    level = garch_filter.mean(axis=1)
    state = np.digitize(level, np.quantile(level, [1 / 3, 2 / 3]))  # 0 calm, 1 middle, 2 turbulent
    states = ("calm", "middle", "turbulent")

    def by_state(draws: np.ndarray) -> dict:
        out = {}
        for k, name in enumerate(states):
            m = state == k
            qr = np.quantile(real[m].reshape(-1, values.shape[1]), [0.01, 0.99], axis=0)
            qg = np.quantile(draws[m].reshape(-1, values.shape[1]), [0.01, 0.99], axis=0)
            err = (qg - qr) / real_facts["std"]
            out[f"{name} lower"], out[f"{name} upper"] = err[0].mean(), err[1].mean()
        return out

    rows = {"garch": evaluate(garch)}
    split = {"garch": by_state(garch)}
    for seed in args.seeds:
        gen = _fitted(args.data, args.preset, seed, overrides, returns, train_end)
        draws = draw(gen, seed)
        sd1 = draws.std(axis=1)[:, 0]
        row = {**evaluate(draws), "sd1_vs_garch": float(np.median(sd1 / garch_sd1))}
        if gen._gjr() is not None:  # the GJR filter's first-day sd (benchmark code reading the model's internals)
            ctx = np.stack([c.to_numpy(np.float64)[-gen.config_.context:] for c in contexts])
            filt = np.sqrt(gen._first_variance(ctx))  # (T, d)
            row.update(filter_vs_garch=float(np.median(filt / garch_filter)), innovation_sd1=float(np.median(sd1 / filt)))
        rows[f"finscore seed {seed}"] = row
        split[f"finscore seed {seed}"] = by_state(draws)
        print(f"seed {seed}: {row}", flush=True)
    table = pd.DataFrame(rows).T.rename_axis("model")
    lines = [
        *header(f"Pooled daily tails, `{args.data}`, {args.period} period ({start} to {end or 'the end'})",
                "pooled_tails.py", argv if argv is not None else sys.argv[1:]),
        (f"Origins: {len(origins)}, every {STRIDE} days; {args.n} scenarios each; models trained to {train_end}; "
         f"preset {args.preset}, overrides {overrides or 'none'}. Columns: see the script's docstring."),
        "",
        md_table(table, "{:.3f}"),
        "",
        (f"By state (terciles of GARCH's first-day volatility; {int((state == 0).sum())} / "
         f"{int((state == 1).sum())} / {int((state == 2).sum())} origins): the 1% (lower) and 99% (upper) "
         "quantile biases within each, in units of the period's realized daily sd."),
        "",
        md_table(pd.DataFrame(split).T.rename_axis("model"), "{:+.3f}"),
        "",
    ]
    publish(lines, f"pooled_tails_{args.data}_{args.period}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
