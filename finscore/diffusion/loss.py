"""Multi-scale denoising score matching (Vincent 2011; Song & Ermon 2019; Karras et al. 2022).

For ``x = x0 + sigma z`` the DSM objective ``E ||sigma s(x) + z||^2`` with ``s = (D - x)/sigma^2`` equals
``E ||D(x) - x0||^2 / sigma^2`` (the lambda(sigma) = sigma^2 weighting of NCSN / score-SDE). The ``"edm"``
weighting ``(sigma^2 + sd^2) / (sigma sd)^2`` makes it the unit-variance regression target of the
preconditioned network. One loss serves both parameterizations: the energy form's D is itself a gradient,
so autograd differentiates through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass(frozen=True)
class Draws:
    """Random inputs of one DSM evaluation; drawn once per global batch so data-parallel ranks can slice them."""

    sigma: torch.Tensor  # (B,)
    noise: torch.Tensor  # (B, H, d)
    cond_mask: torch.Tensor  # (B,) bool, True = conditional

    def slice(self, sl: slice) -> "Draws":
        return Draws(self.sigma[sl], self.noise[sl], self.cond_mask[sl])


@dataclass(frozen=True)
class DSMLoss:
    """Multi-scale DSM loss with classifier-free condition dropout.

    Parameters
    ----------
    sigma_dist : callable ``(batch, generator, device) -> sigma (batch,)`` (see ``schedules``).
    weighting : ``"sigma2"`` (lambda = sigma^2, NCSN / score-SDE) or ``"edm"``.
    p_uncond : probability of dropping the condition (training the unconditional model too).
    sigma_data : data standard deviation used by the ``"edm"`` weighting.
    """

    sigma_dist: Callable[..., torch.Tensor]
    weighting: str = "sigma2"
    p_uncond: float = 0.1
    sigma_data: float = 1.0

    def __post_init__(self) -> None:
        if self.weighting not in ("sigma2", "edm"):
            raise ValueError(f"weighting must be 'sigma2' or 'edm', got {self.weighting!r}")
        if not 0 <= self.p_uncond < 1:
            raise ValueError(f"p_uncond must be in [0, 1), got {self.p_uncond}")

    def draw(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> Draws:
        b = x0.shape[0]
        sigma = self.sigma_dist(b, generator, x0.device).to(x0.dtype)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        mask = torch.rand(b, generator=generator, device=x0.device) >= self.p_uncond
        return Draws(sigma, noise, mask)

    def weight(self, sigma: torch.Tensor) -> torch.Tensor:
        if self.weighting == "sigma2":
            return 1 / sigma**2
        return (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2

    def __call__(self, model: Callable[..., torch.Tensor], x0: torch.Tensor, *,
                 generator: torch.Generator | None = None, draws: Draws | None = None,
                 **extra_args: Any) -> torch.Tensor:
        """Per-window loss (B,): the weighted squared error, averaged over the window's H*d entries."""
        draws = self.draw(x0, generator) if draws is None else draws
        x = x0 + draws.sigma.reshape(-1, *([1] * (x0.ndim - 1))) * draws.noise
        if extra_args.get("cond") is not None or extra_args.get("asset_cond") is not None:
            extra_args = {**extra_args, "cond_mask": draws.cond_mask}
        denoised = model(x, draws.sigma, **extra_args)
        err = ((denoised - x0) ** 2).flatten(1).mean(1)
        return self.weight(draws.sigma) * err


@torch.no_grad()
def loss_per_sigma(model: Callable[..., torch.Tensor], x0: torch.Tensor, sigmas: Any, *,
                   generator: torch.Generator | None = None, **extra_args: Any) -> torch.Tensor:
    """Mean DSM loss ``E ||sigma s + z||^2 / (H d)`` at each fixed noise level (conditional model).

    Returns
    -------
    Tensor (K,) for ``sigmas`` (K,). The floor is ``E[Var(x0 | x)] / sigma^2`` per entry: for N(0, I) data the
    exact denoiser scores ``1 / (1 + sigma^2)``.
    """
    out = []
    for s in torch.as_tensor(sigmas, dtype=x0.dtype).tolist():
        sigma = torch.full((x0.shape[0],), s, dtype=x0.dtype, device=x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        d = model(x0 + s * noise, sigma, **extra_args)
        out.append(float(((d - x0) ** 2).flatten(1).mean(1).mean()) / s**2)
    return torch.tensor(out)
