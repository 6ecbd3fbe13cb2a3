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
        self.eigval, self.coef, self.eigvec = [], [], []
        for k in range(g):
            lam, vec = torch.linalg.eigh(torch.cov(flat[k].T))
            self.eigval.append(lam.clamp_min(0.0))  # (D,)
            self.eigvec.append(vec)  # (D, D)
            self.coef.append(xi @ vec)  # (K, D): xi in the eigenbasis
        self.shape, self.n_draws = tuple(draws.shape[2:]), n_draws
        self.groups = torch.as_tensor(groups, dtype=torch.long).cpu()

    def __call__(self, sigma: torch.Tensor) -> torch.Tensor:
        """Draws (K, B, *shape) for noise levels ``sigma`` (B,), in ``sigma``'s dtype and device."""
        s2 = sigma.detach().double().cpu()[:, None] ** 2  # (B, 1)
        out = torch.empty((self.n_draws, len(s2)) + self.shape, dtype=torch.float64)
        for k, (lam, vec, coef) in enumerate(zip(self.eigval, self.eigvec, self.coef)):
            rows = (self.groups == k).nonzero().flatten()
            if len(rows) == 0:
                continue
            sd = (s2[rows] * lam / (lam + s2[rows])).sqrt()  # (R, D): posterior sd along each eigenvector
            eps = (coef[:, None, :] * sd[None]) @ vec.T  # (K, R, D)
            out[:, rows] = eps.reshape((self.n_draws, len(rows)) + self.shape)
        return out.to(dtype=sigma.dtype, device=sigma.device)
