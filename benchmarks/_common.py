"""What the benchmark scripts share: the results folder, the set-up, the model cache, the report header."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from finscore import ScoreGenerator
from finscore.data import load_prices, to_returns
from finscore.presets import PRESETS

RESULTS = Path(__file__).resolve().parent / "results"


def prepare(data: str, threads: int) -> pd.DataFrame:
    """Set the torch threads, create results/models/ and return the daily log returns of ``data``."""
    torch.set_num_threads(threads)
    (RESULTS / "models").mkdir(parents=True, exist_ok=True)
    return to_returns(load_prices(data))


def preset_key(preset: str) -> str:
    """Short hash of a preset's settings: cached models are refitted when the preset changes."""
    return hashlib.sha256(json.dumps(PRESETS[preset].to_dict(), sort_keys=True).encode()).hexdigest()[:8]


def cached_fit(path: Path, train: pd.DataFrame, **kwargs) -> ScoreGenerator:
    """The ScoreGenerator saved at ``path``, or ``ScoreGenerator(progress=False, **kwargs).fit(train)`` saved there."""
    if path.exists():
        return ScoreGenerator.load(path)
    gen = ScoreGenerator(progress=False, **kwargs).fit(train)
    gen.save(path)
    return gen


def header(title: str, script: str, argv: list[str]) -> list[str]:
    """Markdown title, the command that was run, the date and the machine."""
    cmd = " ".join(["python", f"benchmarks/{script}", *argv])
    return [
        f"# {title}",
        "",
        f"Command: `{cmd}`  ",
        f"Date: {time.strftime('%Y-%m-%d')}; machine: {platform.machine()} CPU, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}.  ",
    ]


def md_table(frame: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    """A DataFrame as a markdown table, the index as the first column."""
    cols = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in frame.iterrows():
        cells = [str(idx)] + [floatfmt.format(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
