"""What the benchmark scripts share: the results folder, the set-up, the model cache, the report header."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from finscore import ScoreGenerator
from finscore._io import atomic_write_text
from finscore.correlation import window_variance_ratio
from finscore.data import load_prices, to_returns
from finscore.generator import _windows, split_windows
from finscore.presets import LEGACY_VALUES, PRESETS, SAMPLING_FIELDS, resolve_config

RESULTS = Path(__file__).resolve().parent / "results"
# config fields added after the model cache was keyed (see preset_key)
KEY_SINCE = ("market_tails", "tail_state", "val_denoiser", "precond", "shock_cap", "vol_fit", "uncond_state",
             "vol_pool")


def model_arguments(p) -> None:
    """The flags every script that fits or loads the cached models shares: ``--data``, ``--preset``,
    ``-o/--override`` (ScoreConfig field=value), ``--tag`` (the results' file name) and ``--threads``."""
    p.add_argument("--data", default="sp500")
    p.add_argument("--preset", default="default")
    p.add_argument("-o", "--override", action="append", default=[], help="ScoreConfig field=value")
    p.add_argument("--tag", default="default")
    p.add_argument("--threads", type=int, default=2)


def prepare(data: str, threads: int) -> pd.DataFrame:
    """Set the torch threads, create results/models/ and return the daily log returns of ``data``."""
    torch.set_num_threads(threads)
    (RESULTS / "models").mkdir(parents=True, exist_ok=True)
    return to_returns(load_prices(data))


def preset_key(preset: str) -> str:
    """Short hash of a preset's training settings: cached models are refitted when they change (not when only
    a sampling setting does, see ``finscore.presets.SAMPLING_FIELDS``)."""
    cfg = {k: v for k, v in PRESETS[preset].to_dict().items() if k not in SAMPLING_FIELDS}
    for k in KEY_SINCE:  # fields added after the cache's first models: at their legacy value the key is unchanged
        if cfg.get(k) == LEGACY_VALUES[k]:
            del cfg[k]
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]


def cached_fit(path: Path, train: pd.DataFrame, **kwargs) -> ScoreGenerator:
    """The ScoreGenerator saved at ``path``, or ``ScoreGenerator(progress=False, **kwargs).fit(train)`` saved there.

    A loaded model samples with the sampling settings (``SAMPLING_FIELDS``) of ``kwargs`` and the preset as
    they are now, not as they were when it was saved: the cache key leaves them out.
    """
    if path.exists():
        gen = ScoreGenerator.load(path)
        cfg = gen.config_
        now = resolve_config(kwargs.get("preset", "default"), cfg.horizon, cfg.context,
                             {k: v for k, v in kwargs.items() if k in {f.name for f in fields(cfg)}})
        gen = gen.with_settings(**{k: getattr(now, k) for k in SAMPLING_FIELDS})
        if gen.config_.horizon_shrink and gen.window_ratio_ is None:  # saved before item 55 recorded the ratios
            gen.window_ratio_, gen.window_days_ = _window_ratio(gen, train)
        return gen
    gen = ScoreGenerator(progress=False, **kwargs).fit(train)
    gen.save(path)
    return gen


def _window_ratio(gen: ScoreGenerator, train: pd.DataFrame) -> tuple[np.ndarray, int]:
    """What ``ScoreGenerator._fit`` records as ``window_ratio_`` and ``window_days_``, from its training data."""
    cfg = gen.config_
    ctx, tgt = _windows(train.to_numpy(np.float64), cfg.context, cfg.horizon)
    n_train, _ = split_windows(len(ctx), cfg)
    return window_variance_ratio(gen._targets(ctx[:n_train], tgt[:n_train])), n_train + cfg.horizon - 1


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


def publish(lines: list[str], name: str) -> str:
    """Join a report's markdown ``lines``, print them and write them atomically to ``RESULTS / name``."""
    text = "\n".join(lines)
    print(text, flush=True)
    atomic_write_text(RESULTS / name, text)
    return text
