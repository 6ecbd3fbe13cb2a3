"""``finscore sample``: draw scenarios from a saved model into a Parquet file."""

from __future__ import annotations

import argparse

from finscore.cli._common import SAMPLER_NAMES, check_out, parse_settings

# sampling settings of a saved model that --set may change (finscore.presets.SAMPLING_FIELDS less those with flags),
# spelled out so that parsing a command line does not import torch; a test checks them against SAMPLING_FIELDS
SAMPLE_SETTINGS = ("sample_schedule", "guidance_scale", "guidance_mode", "horizon_spread", "horizon_shrink",
                   "sample_batch", "refine_sigma")
OWN_FLAGS = {"sampler": "--sampler", "sample_steps": "--steps"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw scenarios from a saved model")
    p.add_argument("model", help="checkpoint directory written by `finscore fit`")
    p.add_argument("--n", type=int, default=10_000, help="number of scenarios")
    p.add_argument("--horizon", type=int, default=None, help="days per path (default: the trained horizon)")
    p.add_argument("--sampler", default=None, choices=SAMPLER_NAMES)
    p.add_argument("--steps", type=int, default=None, help="number of noise levels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="Parquet file (or, with --shards, a directory of part files)")
    p.add_argument("--shards", type=int, default=None,
                   help="write a sharded Parquet dataset: the shard is the unit of randomness, so the output "
                        "is identical for any number of workers")
    p.add_argument("--engine", default=None, choices=["local", "dask", "ray"],
                   help="engine running the shards (with --shards; default: local)")
    p.add_argument("--workers", type=int, default=None, help="local/dask worker processes (with --shards; default: 2)")
    p.add_argument("--chunk", type=int, default=None,
                   help="scenarios per write within a shard (memory bound; with --shards; default: 50000)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="settings",
                   help="a sampling setting of the model (repeatable), e.g. --set guidance_scale=0.2 "
                        f"--set horizon_shrink=True; one of {', '.join(SAMPLE_SETTINGS)}")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore.generator import ScoreGenerator

    settings = parse_settings(args.settings, SAMPLE_SETTINGS, OWN_FLAGS,
                              "a sampling setting (a saved model keeps its training settings)")
    sharding = {k: v for k, v in (("engine", args.engine), ("workers", args.workers), ("chunk", args.chunk))
                if v is not None}
    if args.shards is not None:
        from finscore.sharding import sample_sharded

        kw = {k: v for k, v in (("sampler", args.sampler), ("steps", args.steps)) if v is not None}
        parts = sample_sharded(args.model, args.n, args.out, horizon=args.horizon, shards=args.shards,
                               seed=args.seed, overwrite=args.force, settings=settings, **sharding, **kw)
        print(f"wrote {len(parts)} part files with {args.n} scenarios to {args.out}")
        return 0
    if sharding:
        raise ValueError(f"{', '.join('--' + k for k in sharding)} appl{'ies' if len(sharding) == 1 else 'y'} only "
                         "with --shards")
    check_out(args.out, args.force)
    gen = ScoreGenerator.load(args.model).with_settings(**settings)
    scen = gen.sample(args.n, args.horizon, seed=args.seed, sampler=args.sampler, steps=args.steps)
    scen.to_parquet(args.out, overwrite=args.force)
    print(f"wrote {args.out}: {scen}")
    return 0
