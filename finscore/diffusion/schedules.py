"""Noise levels of the variance-exploding diffusion: sampling schedules and training distributions.

Sampling schedules are descending tensors ``sigma_1 > ... > sigma_K (> 0)``. Training distributions
are callables ``dist(batch, generator, device) -> Tensor (batch,)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def _check_range(n: int, sigma_min: float, sigma_max: float) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"the number of noise levels must be a positive integer, got {n!r}")
    if not (0 < sigma_min < sigma_max < math.inf):
        raise ValueError(f"need 0 < sigma_min < sigma_max < inf, got sigma_min={sigma_min}, sigma_max={sigma_max}")


def _finish(sigmas: torch.Tensor, append_zero: bool) -> torch.Tensor:
    return torch.cat([sigmas, sigmas.new_zeros(1)]) if append_zero else sigmas


def sigmas_geometric(n: int, sigma_min: float, sigma_max: float, *, append_zero: bool = True) -> torch.Tensor:
    """Geometric VE schedule (NCSN, Song & Ermon 2019): ``sigma_i = sigma_max (sigma_min/sigma_max)^((i-1)/(n-1))``.

    Returns
    -------
    Tensor (n,) or (n + 1,) float64, descending, ending in 0 when ``append_zero``.
    """
    _check_range(n, sigma_min, sigma_max)
    if n == 1:
        return _finish(torch.tensor([float(sigma_max)], dtype=torch.float64), append_zero)
    s = torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), int(n), dtype=torch.float64))
    return _finish(s, append_zero)


def sigmas_karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0, *,
                  append_zero: bool = True) -> torch.Tensor:
    """EDM schedule (Karras et al. 2022, eq. 5): uniform in ``sigma^(1/rho)``, denser at small sigma.

    Returns
    -------
    Tensor (n,) or (n + 1,) float64, descending, ending in 0 when ``append_zero``.
    """
    _check_range(n, sigma_min, sigma_max)
    if n == 1:
        return _finish(torch.tensor([float(sigma_max)], dtype=torch.float64), append_zero)
    ramp = torch.linspace(0, 1, int(n), dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return _finish((hi + ramp * (lo - hi)) ** rho, append_zero)


#: the samplers' noise-level schedules by name (``ScoreConfig.sample_schedule``)
SCHEDULES = {"karras": sigmas_karras, "geometric": sigmas_geometric}


def sigma_max_from_data(x: np.ndarray, *, max_points: int = 4096, seed: int = 0) -> float:
    """Largest Euclidean distance between training windows (Song & Ermon 2020, technique 1).

    ``x`` : ndarray (N, ...). Above ``max_points`` windows, a fixed random subset is used (the
    maximum over a subset is a lower bound; with 4096 windows it is within a few % in practice).
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2 or not np.isfinite(x).all():
        raise ValueError(f"sigma_max_from_data needs >= 2 finite windows, got {len(x)}")
    if len(x) > max_points:
        x = x[np.random.default_rng(seed).choice(len(x), max_points, replace=False)]
    t = torch.as_tensor(x)
    return float(torch.cdist(t, t).max())


@dataclass(frozen=True)
class LogUniformSigma:
    """``log sigma ~ U(log sigma_min, log sigma_max)``: the continuous analogue of the NCSN geometric schedule."""

    sigma_min: float
    sigma_max: float

    def __post_init__(self) -> None:
        _check_range(2, self.sigma_min, self.sigma_max)

    def __call__(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        u = torch.rand(batch, generator=generator, device=device)
        return torch.exp(math.log(self.sigma_min) + u * (math.log(self.sigma_max) - math.log(self.sigma_min)))


@dataclass(frozen=True)
class LogNormalSigma:
    """``log sigma ~ N(p_mean, p_std^2)`` (EDM training distribution)."""

    p_mean: float = -1.2
    p_std: float = 1.2

    def __post_init__(self) -> None:
        if not (self.p_std > 0 and math.isfinite(self.p_mean)):
            raise ValueError(f"LogNormalSigma needs p_std > 0 and finite p_mean, got {self.p_mean}, {self.p_std}")

    def __call__(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        return torch.exp(self.p_mean + self.p_std * torch.randn(batch, generator=generator, device=device))


@dataclass(frozen=True)
class DiscreteSigma:
    """sigma uniform over a fixed set of levels (the original NCSN training)."""

    sigmas: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.sigmas) == 0 or min(self.sigmas) <= 0:
            raise ValueError("DiscreteSigma needs at least one level, all > 0")

    def __call__(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        idx = torch.randint(len(self.sigmas), (batch,), generator=generator, device=device)
        return torch.as_tensor(self.sigmas, dtype=torch.float32, device=device)[idx]
