"""``finscore sample``: draw scenarios from a saved model into a Parquet file."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw scenarios from a saved model")
    p.add_argument("model", help="checkpoint directory written by `finscore fit`")
    p.add_argument("--n", type=int, default=10_000, help="number of scenarios")
    p.add_argument("--horizon", type=int, default=None, help="days per path (default: the trained horizon)")
    p.add_argument("--sampler", default=None, choices=["euler", "pc", "langevin", "ode"])
    p.add_argument("--steps", type=int, default=None, help="number of noise levels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="Parquet file")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore.generator import ScoreGenerator

    gen = ScoreGenerator.load(args.model)
    scen = gen.sample(args.n, args.horizon, seed=args.seed, sampler=args.sampler, steps=args.steps)
    scen.to_parquet(args.out, overwrite=args.force)
    print(f"wrote {args.out}: {scen}")
    return 0
