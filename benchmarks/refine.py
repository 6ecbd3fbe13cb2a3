"""EBM refinement before/after on held-out dates (issue 5).

Fits an energy-parameterized ScoreGenerator (``parameterization="energy"``: score = -grad E, same
DSM loss) on the rows before ``--fit-before`` and forecasts 20-day paths at held-out origins
twice from the same noise seeds: plain (the preset's sampler: the Heun probability-flow ODE when
``results/refine_sp500.md`` was written, DPM-Solver++(2M) since item 32 of quality.md) and
refined (the same draws with ``--method`` MCMC, 100 steps on the model's energy, :func:`finscore.stress.refine`,
at the sampler's level nearest ``--refine-sigma``: the sampler runs down to it, the chain runs there and the
sampler finishes from it; default: the preset's ``refine_sigma``; ``min``, the smallest level, was the only
choice until item 54 of quality.md). Both are scored with
:func:`finscore.validation.evaluate` against the realized paths: energy score, CRPS and
variogram score (proper scores, lower is better) and the stylized-fact distances.

Usage::

    python benchmarks/refine.py
    python benchmarks/refine.py --preset default --stride 10 --n 200
    python benchmarks/refine.py --fit-before 2017-01-01 --test-end 2018-12-31 --stride 10 --refine-sigma 0.5 --tag val_0.5

Writes benchmarks/results/refine_<data>[_<tag>].csv and .md (with the command, machine, date).
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from _common import RESULTS, cached_fit, header, md_table, prepare, preset_key  # same directory
from finscore._io import atomic_write_text
from finscore import ScoreGenerator
from finscore.validation import evaluate


class Refined:
    """A fitted ScoreGenerator whose ``sample_many`` refines every draw; records the MCMC diagnostics."""

    def __init__(self, gen: ScoreGenerator, method: str) -> None:
        self.gen, self.method, self.diagnostics = gen, method, []

    def __getattr__(self, name):
        return getattr(self.gen, name)

    def sample_many(self, n, horizon, contexts, seed=None):
        out = self.gen.sample_many(n, horizon, contexts, seed=seed, refine=self.method)
        self.diagnostics.append(out[0].metadata["refine"])
        return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    p.add_argument("--fit-before", default="2019-01-01")
    p.add_argument("--test-end", default=None, help="last origin (default: the end of the data)")
    p.add_argument("--preset", default="fast")
    p.add_argument("--method", default="mala", choices=["mala", "ula"])
    p.add_argument("--stride", type=int, default=20)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--refine-sigma", default=None,
                   help="noise level of the chain: a sigma > 0, 'min' for the smallest level (default: the preset's)")
    p.add_argument("--tag", default="", help="suffix of the result files")
    args = p.parse_args(argv)
    level = {} if args.refine_sigma is None else {
        "refine_sigma": None if args.refine_sigma == "min" else float(args.refine_sigma)}
    returns = prepare(args.data, args.threads)
    key = f"{args.data}-{args.fit_before}-energy-{args.preset}-{preset_key(args.preset)}-s{args.seed}"
    t0 = time.perf_counter()
    gen = cached_fit(RESULTS / "models" / f"refine-{key}", returns.loc[returns.index < pd.Timestamp(args.fit_before)],
                     preset=args.preset, parameterization="energy", seed=args.seed, **level)
    fit_s = time.perf_counter() - t0
    refined = Refined(gen, args.method)
    train_end = returns.index[returns.index < pd.Timestamp(args.fit_before)][-1]
    timing = {}
    tables = {}
    for name, g in (("plain", gen), (f"refined ({args.method})", refined)):
        t0 = time.perf_counter()
        # the same seed for both: identical sampler noise, so the difference is the refinement
        ev = evaluate({name: g}, returns, train_end=train_end, test_start=args.fit_before, test_end=args.test_end,
                      stride=args.stride, n_scenarios=args.n, seed=args.seed, fit=False, progress=True)
        timing[name] = time.perf_counter() - t0
        tables[name] = ev.table[name]
        n_dates = len(ev.dates)
        print(f"{name}: {timing[name]:.0f}s", flush=True)
    scores = pd.DataFrame({k: t["score"] for k, t in tables.items()})
    dists = pd.DataFrame({k: t["distance"] for k, t in tables.items()})
    diag = pd.DataFrame(refined.diagnostics)
    out = pd.concat({"score": scores, "distance": dists})
    stem = f"refine_{args.data}" + (f"_{args.tag}" if args.tag else "")
    out.to_csv(RESULTS / f"{stem}.csv")
    print(out.to_string())

    rel = (out.iloc[:, 1] / out.iloc[:, 0] - 1).map(lambda v: f"{100 * v:+.1f}%")
    show = out.map(lambda v: f"{v:.5g}")
    show["refined vs plain"] = rel
    show.index = [f"{a}: {b}" for a, b in show.index]
    show.index.name = "metric (lower is better)"
    lines = [
        *header(f"EBM refinement before/after, `{args.data}`, held-out origins", "refine.py",
                argv if argv is not None else sys.argv[1:]),
        f"Model: ScoreGenerator, preset {args.preset!r}, parameterization 'energy', seed {args.seed}, fitted on "
        f"the rows before {args.fit_before} ({fit_s:.0f}s, or loaded from the cache); origins every "
        f"{args.stride}th trading day from {args.fit_before}"
        + (f" to {args.test_end}" if args.test_end else " to the end of the data")
        + f" ({n_dates} origins), {args.n} 20-day scenarios each.",
        f"Refinement: {args.method.upper()}, 100 steps per draw on E(x, sigma | context) at sigma "
        f"{diag['sigma'].iloc[0]:.4g} (requested: {args.refine_sigma or gen.config_.refine_sigma}), then the sampler's "
        "remaining levels; mean acceptance "
        f"{diag['accept_rate'].mean():.3f}; mean energy before {diag['energy_before'].mean():.2f}, after "
        f"{diag['energy_after'].mean():.2f}. Seconds: plain {timing['plain']:.0f}, refined "
        f"{timing[f'refined ({args.method})']:.0f}.",
        "",
        md_table(show),
    ]
    atomic_write_text(RESULTS / f"{stem}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{stem}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
