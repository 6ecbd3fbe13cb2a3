"""``finscore stress``: scenarios in which a portfolio loses at least its VaR (or at most a cap)."""

from __future__ import annotations

import argparse

from finscore.cli._common import SAMPLER_NAMES, check_out, parse_weights


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stress", help="draw VaR-constrained stress scenarios from a saved model")
    p.add_argument("model", help="checkpoint directory written by `finscore fit`")
    p.add_argument("--weights", default="equal", help="'equal' or comma-separated weights in the model's asset order")
    p.add_argument("--alpha", type=float, default=0.99, help="VaR level of the threshold (default: %(default)s)")
    p.add_argument("--mode", default="exceed", choices=["exceed", "cap"],
                   help="exceed: loss >= threshold (the tail); cap: loss <= threshold")
    p.add_argument("--loss", type=float, default=None,
                   help="explicit loss threshold as a fraction of book value (default: the model's VaR_alpha)")
    p.add_argument("--horizon-days", type=int, default=None, help="days the loss accumulates over (default: all)")
    p.add_argument("--n", type=int, default=1000, help="number of stress scenarios")
    p.add_argument("--method", default="guided", choices=["guided", "rejection"],
                   help="guided: constraint-guided diffusion (cheap, approximate: see benchmarks/results/"
                        "stress_sp500.md); rejection: unguided draws meeting the constraint (exact, about "
                        "1 / (1 - alpha) draws per scenario)")
    p.add_argument("--max-draws", type=int, default=200_000, help="most unguided draws for --method rejection")
    p.add_argument("--sampler", default=None, choices=SAMPLER_NAMES)
    p.add_argument("--steps", type=int, default=None, help="number of noise levels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="Parquet file")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from finscore.generator import ScoreGenerator
    from finscore.stress import VaRGuidance

    check_out(args.out, args.force)
    gen = ScoreGenerator.load(args.model)
    weights = parse_weights(args.weights, len(gen.assets_))
    guidance = VaRGuidance(weights, alpha=args.alpha, mode=args.mode, loss=args.loss, horizon_days=args.horizon_days)
    if args.method == "rejection":
        from finscore.stress import sample_rejection

        scen = sample_rejection(gen, args.n, guidance, seed=args.seed, max_draws=args.max_draws,
                                sampler=args.sampler, steps=args.steps)
    else:
        scen = gen.sample(args.n, seed=args.seed, sampler=args.sampler, steps=args.steps, guidance=guidance)
    scen.to_parquet(args.out, overwrite=args.force)
    info = scen.metadata.get("stress", {})
    cost = (f"{info['draws']} unguided draws ({100 * info['accept_rate']:.2f}% accepted)" if args.method == "rejection"
            else f"{info.get('cost', float('nan')):.0f} model evaluations per scenario")
    print(f"wrote {args.out}: {args.n} scenarios ({args.method}), threshold {info.get('level')} (fraction of book "
          f"value), {100 * info.get('satisfied', float('nan')):.1f}% meet the constraint, {cost}")
    return 0
