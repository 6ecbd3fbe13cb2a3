"""Helpers shared by CLI subcommands: loading data and generators from command-line strings."""

from __future__ import annotations

import argparse
import ast
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

# the names of finscore.sampling.SAMPLERS, spelled out so that parsing a command line does not import torch
SAMPLER_NAMES = ("euler", "pc", "langevin", "ode", "dpmpp_2m")
BASELINES = {"garch": "GARCH", "copula": "GaussianCopula", "fhs": "HistoricalSimulation",
             "bootstrap": "HistoricalSimulation"}


def add_data_args(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--data", default="sp500", required=required,
                   help="embedded data set name (see `finscore data list`) or a CSV/Parquet price file")
    p.add_argument("--start", dest="data_start", default=None, type=date_arg,
                   help="first date of the price history (YYYY-MM-DD)")
    p.add_argument("--end", dest="data_end", default=None, type=date_arg,
                   help="last date of the price history (YYYY-MM-DD)")


def check_out(path: str | os.PathLike, force: bool, suffix: str | None = None) -> None:
    """Refuse, before any work is done, an output file the final write would refuse: an existing file without
    ``--force``, a directory, or (with ``suffix``) the wrong suffix."""
    from finscore._io import check_destination

    dest = check_destination(path, overwrite=True, suffix=suffix)  # suffix and directory; the CLI's own message:
    if dest.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to replace it")


def date_arg(text: str) -> str:
    """argparse ``type`` of a date flag: the text unchanged if it reads as a date (``check_date``), else a usage
    error."""
    from finscore.data.checks import check_date
    from finscore.errors import DataError

    try:
        check_date(text, "date")
    except DataError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    return text


def parse_settings(items: list[str], allowed: Sequence[str], own: dict[str, str], what: str) -> dict[str, Any]:
    """``--set FIELD=VALUE`` strings to a dict; values are Python literals, or bare words as strings.

    A field that has its own flag (``own``: field -> flag), one outside ``allowed`` (``what`` says what the allowed
    ones are), one given twice or an item without ``=`` is a ValueError naming it.
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set takes FIELD=VALUE, got {item!r}")
        if name in own:
            raise ValueError(f"set {name} with {own[name]}, not --set")
        if name not in allowed:
            raise ValueError(f"--set {name}: not {what}; valid: {sorted(allowed)}")
        if name in out:
            raise ValueError(f"--set {name} given twice")
        try:
            out[name] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            out[name] = text.strip()  # a bare word: a string setting such as sampler=ode
    return out


def load_returns(args: argparse.Namespace):
    from finscore.data import load_prices, to_returns

    return to_returns(load_prices(args.data, start=args.data_start, end=args.data_end))


def load_generator(spec: str):
    """A saved ScoreGenerator directory, or a baseline name (garch, copula, fhs, bootstrap)."""
    if spec.lower() in BASELINES:
        import finscore.baselines as b

        cls = getattr(b, BASELINES[spec.lower()])
        return cls(method="bootstrap") if spec.lower() == "bootstrap" else cls()
    from finscore.generator import ScoreGenerator

    return ScoreGenerator.load(spec)


def parse_weights(text: str, n_assets: int) -> "np.ndarray | str":
    if text == "equal":
        return "equal"
    try:
        w = np.array([float(v) for v in text.split(",")])
    except ValueError as exc:
        raise ValueError(f"--weights must be 'equal' or comma-separated numbers, got {text!r}") from exc
    if len(w) != n_assets:
        raise ValueError(f"--weights has {len(w)} entries but the model has {n_assets} assets")
    return w
