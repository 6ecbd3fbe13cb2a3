"""Ablation: a classifier-free guidance weight that depends on the noise level (quality.md, item 10).

Samples the validation model of ``quality.py`` (embedded sp500, seed 0, ``--period val``, with the
EWMA target scale that was the default when this ran) with weight ``w_hi`` at noise levels
sigma > ``split`` and ``w_lo`` at sigma <= ``split``, by swapping finscore's ``ClassifierFreeGuidance``
for a sigma-dependent one. Sampling only: the model is fitted once (or read from the cache) and shared
by every setting.

Usage::

    python benchmarks/guidance_interval.py 0.4,0.4,1 1,0.4,1 0.4,1,1 0.2,0.55,1 0.55,0.2,1

Each argument is ``w_hi,w_lo,split``; prints one line per setting (proper scores and fact distances).
"""

from __future__ import annotations

import dataclasses
import sys
import time

import quality as Q  # same directory
import torch

from finscore import diffusion, load_prices, to_returns
from finscore.diffusion.precond import ClassifierFreeGuidance
from finscore.validation import evaluate

SETTING = {"w_hi": 0.4, "w_lo": 0.4, "split": 1.0}


class SigmaGuidance(ClassifierFreeGuidance):
    """``D_u + w(sigma) (D_c - D_u)`` with ``w = w_hi`` above ``split`` and ``w_lo`` at or below it."""

    def weight(self, sigma, x):
        w = torch.where(sigma.reshape(-1) > SETTING["split"], SETTING["w_hi"], SETTING["w_lo"]).to(x.dtype)
        return w.reshape(-1, *([1] * (x.ndim - 1)))


def main(argv: list[str]) -> int:
    torch.set_num_threads(2)
    diffusion.ClassifierFreeGuidance = SigmaGuidance  # finscore.model.generate looks the class up here
    returns = to_returns(load_prices("sp500"))
    train_end, start, end = Q.PERIODS["val"]
    # the preset of the day the ablation ran (2026-11-30): EWMA target scale, as before item 12
    gen = Q._fitted("sp500", "default", 0, {"state": {"vol_model": "ewma"}}, returns, train_end)
    for arg in argv:
        w_hi, w_lo, split = map(float, arg.split(","))
        SETTING.update(w_hi=w_hi, w_lo=w_lo, split=split)
        gen.config_ = dataclasses.replace(gen.config_, guidance_scale=0.5)  # != 1, so the guidance wrapper is used
        t0 = time.perf_counter()
        ev = evaluate({"finscore": gen}, returns, train_end=train_end, test_start=start, test_end=end, horizon=20,
                      stride=5, n_scenarios=500, seed=0, fit=False, progress=False)
        sc, di = ev.table["finscore"]["score"], ev.table["finscore"]["distance"]
        print(f"w_hi={w_hi} w_lo={w_lo} split={split}: energy {sc['energy_score']:.4f} crps {sc['crps']:.6f} "
              f"variogram {sc['variogram_score']:.3f} | " + " ".join(f"{k}={v:.3f}" for k, v in di.items())
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
