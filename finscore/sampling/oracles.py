"""Exact denoisers of Gaussian mixtures: closed-form oracles for testing samplers, guidance and losses.

For x0 ~ sum_k w_k N(m_k, C_k) in R^D and x = x0 + sigma n, the noisy density is the mixture with covariances
``C_k + sigma^2 I``; its score and the posterior mean ``D(x; sigma) = E[x0 | x] = x + sigma^2 score`` are closed
form. With one component, ``D(x; sigma) = m + C (C + sigma^2 I)^-1 (x - m)``.
"""

from __future__ import annotations

import math

import torch

from finscore.sampling._common import append_dims

__all__ = ["GaussianMixture"]


class GaussianMixture:
    """Gaussian mixture ``sum_k w_k N(m_k, C_k)`` over windows of any shape whose size is D.

    Parameters
    ----------
    weights : Tensor (K,)
        Positive mixture weights (normalised here).
    means : Tensor (K, D)
        Component means.
    covs : Tensor (K, D, D)
        Symmetric positive-definite component covariances.

    Notes
    -----
    Call it as a denoiser, ``mixture(x, sigma) -> D(x; sigma)`` with ``x`` (B, ...) of size D per sample and
    ``sigma`` (B,) (extra keyword arguments are ignored); ``score``, ``log_prob_and_grad`` and ``sample`` share
    the eigendecompositions ``C_k = U_k diag(lam_k) U_k^T``.
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor) -> None:
        weights, means, covs = (torch.as_tensor(a, dtype=torch.float64) for a in (weights, means, covs))
        k, d = means.shape
        if weights.shape != (k,) or covs.shape != (k, d, d) or not bool((weights > 0).all()):
            raise ValueError(f"need positive weights (K,), means (K, D), covs (K, D, D); got K={k}, D={d}")
        if not torch.allclose(covs, covs.transpose(1, 2)):
            raise ValueError("component covariances must be symmetric")
        self.lam, self.eigvecs = torch.linalg.eigh(covs)  # (K, D), (K, D, D)
        if not bool((self.lam > 0).all()):
            raise ValueError("component covariances must be positive definite")
        self.log_weights, self.means, self.dim = (weights / weights.sum()).log(), means, d

    def _flat(self, x: torch.Tensor, sigma: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != self.dim:
            raise ValueError(f"x has {flat.shape[1]} values per sample, the mixture has D={self.dim}")
        return flat, torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])

    def _log_joint_and_score(self, x: torch.Tensor, sigma: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
        """``log w_k + log N(x; m_k, C_k + sigma^2 I)`` (B, K) and the mixture score, shaped like ``x``."""
        flat, sigma = self._flat(x, sigma)
        z = torch.einsum("kde,bkd->bke", self.eigvecs.to(flat), flat[:, None] - self.means.to(flat))  # U_k^T (x - m_k)
        var = self.lam.to(flat) + append_dims(sigma, 3) ** 2  # eigenvalues of C_k + sigma^2 I, (B, K, D)
        log_joint = self.log_weights.to(flat) - 0.5 * (z**2 / var + var.log() + math.log(2 * math.pi)).sum(-1)
        scores = -torch.einsum("kde,bke->bkd", self.eigvecs.to(flat), z / var)  # -(C_k + sigma^2 I)^-1 (x - m_k)
        score = (torch.softmax(log_joint, dim=1)[..., None] * scores).sum(1)
        return log_joint, score.reshape(x.shape)

    def score(self, x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
        """grad_x log p_sigma(x), shaped like ``x`` (B, ...); ``sigma`` scalar or (B,), may be 0."""
        return self._log_joint_and_score(x, sigma)[1]

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor | float, **extra_args: object) -> torch.Tensor:
        """Exact denoiser ``D(x; sigma) = x + sigma^2 score(x, sigma)`` (Tweedie), shaped like ``x``."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        return x + append_dims(sigma, x.ndim) ** 2 * self.score(x, sigma)

    def log_prob_and_grad(
        self, x: torch.Tensor, sigma: torch.Tensor | float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised ``log p_sigma(x)`` (B,) and its gradient shaped like ``x``: the MCMC energy interface."""
        log_joint, score = self._log_joint_and_score(x, sigma)
        return torch.logsumexp(log_joint, dim=1), score

    def sample(self, n: int, *, generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
        """Draw ``n`` exact samples x0, Tensor (n, D)."""
        k = torch.multinomial(self.log_weights.exp(), n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        x0 = self.means[k] + torch.einsum("nde,ne->nd", self.eigvecs[k], self.lam[k].sqrt() * eps)
        return x0.to(dtype)
