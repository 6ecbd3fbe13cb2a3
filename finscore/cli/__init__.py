"""The ``finscore`` command line: thin argument parsing over library calls.

Each subcommand lives in its own module ``finscore.cli.<name>`` exposing
``register(subparsers)``, which adds a parser whose ``func(args) -> int`` runs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from finscore.errors import FinscoreError

# Pipeline order; each entry is a module of this package.
COMMANDS = ("data", "fit", "sample", "stress", "backtest", "validate", "report", "demo")


def build_parser() -> argparse.ArgumentParser:
    from finscore import __version__

    parser = argparse.ArgumentParser(
        prog="finscore", description="Financial scenarios from score-based diffusion models."
    )
    parser.add_argument("--version", action="version", version=f"finscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"finscore.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FinscoreError, OSError, ValueError, ImportError) as exc:  # OSError: missing, existing, unwritable paths
        print(f"finscore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
