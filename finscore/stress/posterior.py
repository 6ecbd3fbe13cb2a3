"""Draws of the denoising posterior's spread around Tweedie's mean, from the pilot's covariance.

The guidance of :mod:`finscore.stress.guidance` needs the spread of ``L(x0)`` given ``x_sigma``. Its linear
part is ``sigma^2 g^T J g`` (the learned Jacobian); what a nonlinear loss adds beyond it is estimated by
Monte Carlo over ``x0 = x0_hat + eps``, ``eps ~ N(0, C_sigma)``, with ``C_sigma = sigma^2 S (S + sigma^2 I)^-1``
the posterior covariance of ``x0`` given ``x_sigma`` when ``x0 ~ N(m, S)`` and ``S`` the pilot draws' covariance
(a Gaussian surrogate of the posterior: exact for a Gaussian prior, ``S`` at large sigma, ``sigma^2 I`` at
small sigma). The standard normal draws are fixed and antithetic (``xi`` and ``-xi``), so the draws are a
smooth function of sigma and the linear part of the loss cancels exactly in their mean.
"""

from __future__ import annotations

import torch

__all__ = ["PilotPosterior"]


class PilotPosterior:
    """``K`` draws ``eps (K, B, *shape)`` of ``N(0, C_sigma)`` per row, ``C_sigma`` from its context's pilot.

    Parameters
    ----------
    draws : Tensor (G, P, *shape)
        Pilot draws of ``G`` contexts (``P >= 2`` each) in the model's space.
    groups : LongTensor (B,)
        Context of each row.
    n_draws : int
        ``K``, even and >= 2 (``K / 2`` antithetic pairs).
    seed : int
        Seed of the fixed standard normal draws.
    """

    def __init__(self, draws: torch.Tensor, groups: torch.Tensor, n_draws: int = 16, seed: int = 0) -> None:
        if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 2 or n_draws % 2:
            raise ValueError(f"n_draws must be an even int >= 2, got {n_draws!r}")
        if draws.ndim < 3 or draws.shape[1] < 2:
            raise ValueError(f"draws must be (G, P, ...) with P >= 2, got shape {tuple(draws.shape)}")
        g, p = draws.shape[:2]
        flat = draws.detach().cpu().double().reshape(g, p, -1)
        xi = torch.randn(n_draws // 2, flat.shape[-1], generator=torch.Generator().manual_seed(seed),
                         dtype=torch.float64)
        xi = torch.cat([xi, -xi])  # (K, D)
        groups = torch.as_tensor(groups, dtype=torch.long).cpu()
        self.parts = []  # per context with rows: (rows (R,), eigenvalues (D,), eigenvectors (D, D), xi @ V (K, D))
        for k in range(g):
            rows = (groups == k).nonzero().flatten()
            if len(rows):
                lam, vec = torch.linalg.eigh(torch.cov(flat[k].T))
                self.parts.append((rows, lam.clamp_min(0.0), vec, xi @ vec))
        self.shape, self.n_draws, self.n_rows, self.dim = tuple(draws.shape[2:]), n_draws, len(groups), flat.shape[-1]
        self._on: dict[torch.device, list[tuple[torch.Tensor, ...]]] = {}

    def __call__(self, sigma: torch.Tensor) -> torch.Tensor:
        """Draws (K, B, *shape) for noise levels ``sigma`` (B,), float64 computed on ``sigma``'s device (the
        factors are copied there once), returned in ``sigma``'s dtype."""
        dev = sigma.device
        if dev not in self._on:
            self._on[dev] = [tuple(t.to(dev) for t in part) for part in self.parts]
        s2 = sigma.detach().double()[:, None] ** 2  # (B, 1)
        out = torch.empty((self.n_draws, self.n_rows, self.dim), dtype=torch.float64, device=dev)
        for rows, lam, vec, coef in self._on[dev]:
            sd = (s2[rows] * lam / (lam + s2[rows])).sqrt()  # (R, D): posterior sd along each eigenvector
            out[:, rows] = (coef[:, None, :] * sd[None]) @ vec.T  # (K, R, D)
        return out.reshape((self.n_draws, self.n_rows) + self.shape).to(sigma.dtype)
