"""Explicit randomness: one way to turn a user seed into numpy / torch generators."""

from __future__ import annotations

import numpy as np
import torch

from finscore._typing import Seed


def as_generator(seed: Seed = None) -> np.random.Generator:
    """Return a numpy Generator from an int, SeedSequence, Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        raise TypeError(f"seed must be an int, numpy Generator, SeedSequence or None, got {type(seed).__name__}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return np.random.default_rng(seed)


def torch_generator(seed: Seed = None, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a seeded ``torch.Generator`` on ``device`` (seed drawn from ``seed``'s numpy stream)."""
    rng = as_generator(seed)
    g = torch.Generator(device=device)
    g.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return g


def spawn_seeds(seed: Seed, n: int) -> list[np.random.SeedSequence]:
    """Independent child seeds (``SeedSequence.spawn``): shard ``i`` gets child ``i`` whatever ``n`` workers run."""
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    elif isinstance(seed, np.random.Generator):
        ss = np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    else:
        ss = np.random.SeedSequence(seed)
    return ss.spawn(n)
