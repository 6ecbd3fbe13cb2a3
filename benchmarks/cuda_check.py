"""The CUDA path end to end on the embedded data: fit, checkpoint round trip across devices, sampling, stress.

On one GPU: fit the default preset on sp500 up to 2016-12-31 on CUDA; save it; load it back on CUDA and on
the CPU and draw scenarios with the same seed on both. The noise comes from a ``torch.Generator`` on the
model's device and CUDA's generator is another stream than the CPU's, so the draws are not the same paths:
the check is that they have the same law (two-sample KS test of the equal-weight 20-day return). Then guided
VaR stress scenarios on CUDA against rejection (:func:`finscore.report.stress.run_stress`) at a held-out
date. Every figure is a wall-clock time of this run or a statistic of its draws.

Usage::

    python benchmarks/cuda_check.py --out benchmarks/results/cuda_check.md

Writes the markdown table to ``--out`` (appended, with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from _common import RESULTS, header, md_table  # same directory
from finscore import ScoreGenerator
from finscore.data import load_prices, to_returns
from finscore.report.stress import run_stress


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="default")
    p.add_argument("--n", type=int, default=2000, help="scenarios per device in the round trip")
    p.add_argument("--stress-n", type=int, default=400, help="guided scenarios per level")
    p.add_argument("--date", default="2020-03-16", help="held-out context end date of the sampling and stress")
    p.add_argument("--out", type=Path, default=RESULTS / "cuda_check.md")
    p.add_argument("--device", default="cuda", help="cuda (the check); cpu only to smoke-test this script")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("cuda_check: torch.cuda.is_available() is False; this check needs a GPU")
    cuda = args.device == "cuda"
    returns = to_returns(load_prices("sp500"))
    lines = header("CUDA path: fit, checkpoint across devices, sampling, stress", "cuda_check.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [f"GPU: {torch.cuda.get_device_name(0) if cuda else 'none (smoke test on the CPU)'}.", ""]

    t0 = time.perf_counter()
    gen = ScoreGenerator(preset=args.preset, seed=0, device=args.device, progress=False).fit(returns.loc[:"2016-12-31"])
    if cuda:
        torch.cuda.synchronize()
    fit_s = time.perf_counter() - t0
    ctx = returns.loc[:args.date].iloc[-gen.config_.context:]
    rows = [(f"fit on {args.device} (preset, steps)", f"{args.preset}, {gen.config_.steps}", f"{fit_s:.1f} s")]
    with tempfile.TemporaryDirectory() as tmp:
        path = gen.save(Path(tmp) / "model")
        draws = {}
        for dev in (args.device, "cpu"):
            g = ScoreGenerator.load(path, device=dev)
            g.progress = False
            g.sample(16, context=ctx, seed=1)  # warm-up
            t0 = time.perf_counter()
            draws[dev] = g.sample(args.n, context=ctx, seed=0).values
            rows.append((f"sample {args.n} x 20 days on {dev}", (f"sampler {g.config_.sampler}, "
                         f"{g.config_.sample_steps} steps"), f"{time.perf_counter() - t0:.2f} s"))
    a, b = draws[args.device], draws["cpu"]
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise SystemExit("cuda_check: non-finite scenarios")
    ra, rb = a.mean(2).sum(1), b.mean(2).sum(1)  # equal-weight 20-day log returns (n,)
    ks = stats.ks_2samp(ra, rb)
    rows.append((f"equal-weight 20-day return, {args.device} vs cpu draws", "mean, sd; two-sample KS",
                 (f"{ra.mean():.5f}, {ra.std():.5f} vs {rb.mean():.5f}, {rb.std():.5f}; "
                  f"D {ks.statistic:.3f} (p {ks.pvalue:.2f})")))
    for alpha in (0.95, 0.99):
        t0 = time.perf_counter()
        res = run_stress(gen, alpha=alpha, n=args.stress_n, context=ctx, max_draws=40_000, seed=0)
        secs = time.perf_counter() - t0
        ks = res.ks_test()
        above = float(np.mean(res.guided_losses >= res.threshold))
        rows.append((f"stress alpha {alpha}: guided vs rejection",
                     f"{args.stress_n} guided, {res.rejection_losses.size} kept",
                     (f"KS D {ks.statistic:.3f} (p {ks.pvalue:.3g}); {above:.1%} of guided losses >= the "
                      f"rejection's VaR; {secs:.1f} s in all")))
    lines.append(md_table(pd.DataFrame(rows, columns=["check", "setting", "result"]).set_index("check")))
    if cuda:
        lines += ["", f"Peak CUDA memory allocated: {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB."]
    lines += ["", ""]
    text = "\n".join(lines)
    print(text, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
