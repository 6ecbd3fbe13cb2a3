"""``finscore fit``: train a ScoreGenerator on price data and save it."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from typing import Any

from finscore.cli._common import add_data_args, load_returns, parse_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="train a score model on price data and save it")
    add_data_args(p)
    p.add_argument("--out", required=True, help="output directory for the checkpoint")
    p.add_argument("--preset", default="default", choices=["default", "fast", "tiny"])
    p.add_argument("--horizon", type=int, default=20)
    p.add_argument("--context", type=int, default=60)
    p.add_argument("--steps", type=int, default=None, help="training steps (overrides the preset)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                   help="fine-tune from a saved model with the same network settings (e.g. pre-trained on a "
                        "longer panel); its training data must end no later than this data")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="settings",
                   help="any ScoreConfig field, overriding the preset (repeatable), e.g. --set horizon_shrink=True "
                        "--set guidance_scale=0.1; values are Python literals (strings may go unquoted)")
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")
    p.set_defaults(func=run)


def fit_settings(items: list[str], steps: int | None) -> dict[str, Any]:
    """``--set FIELD=VALUE`` strings to ScoreConfig overrides (``--steps`` joined in)."""
    from finscore.presets import ScoreConfig

    own = {"horizon": "--horizon", "context": "--context"}
    out = parse_settings(items, sorted({f.name for f in fields(ScoreConfig)} - set(own)), own, "a ScoreConfig field")
    if steps is not None:
        if "steps" in out:
            raise ValueError("give the training steps once: --steps or --set steps=..., not both")
        out["steps"] = steps
    return out


def run(args: argparse.Namespace) -> int:
    from finscore.generator import ScoreGenerator
    import torch

    from finscore.train.checkpoint import check_checkpoint_destination
    from finscore.train.distributed import init_from_env

    rank, world = init_from_env()  # under torchrun: data-parallel training, rank 0 saves
    check_checkpoint_destination(args.out, overwrite=args.force)  # fail before minutes of training, not after
    returns = load_returns(args)
    overrides = fit_settings(args.settings, args.steps)
    gen = ScoreGenerator(args.horizon, args.context, args.preset, seed=args.seed, device=args.device,
                         init_from=args.init_from, **overrides)
    if world > 1 and args.device == "auto" and torch.cuda.is_available():
        gen.device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    gen.fit(returns)
    if rank != 0:
        return 0
    gen.save(args.out, overwrite=args.force)
    best = gen.train_result_.history["val_loss"].min()
    warm = "" if gen.warm_start_ is None else f", fine-tuned from {args.init_from}"
    print(f"saved {args.out}: {len(gen.assets_)} assets, {returns.index[0].date()}..{returns.index[-1].date()}, "
          f"best validation DSM loss {best:.4f}{warm}")
    return 0
