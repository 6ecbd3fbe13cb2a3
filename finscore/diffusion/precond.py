"""EDM preconditioning (Karras et al. 2022, Table 1) in a score form and an energy form.

``D(x; sigma) = c_skip x + c_out F(c_in x, c_noise)`` with ``c_skip = sd^2/(sigma^2+sd^2)``,
``c_out = sigma sd / sqrt(sigma^2+sd^2)``, ``c_in = 1/sqrt(sigma^2+sd^2)``, ``c_noise = log(sigma)/4``
(sd = ``sigma_data``), so the network's input and regression target have unit scale at every sigma.
The score is ``(D - x) / sigma^2``.

Energy form (``energy=True``): the inner net returns a scalar ``h(u)`` per window and ``F = -grad_u h``.
Then the score is exactly ``-grad_x E`` with

    E(x, sigma) = ||x||^2 / (2 (sigma^2 + sd^2)) + c_out / (sigma^2 c_in) * h(c_in x),

an energy-based model whose density ``exp(-E)`` the MALA refinement targets (Salimans & Ho 2021 use
the same "score as a gradient" construction).

Gaussian skip (``cov_dim > 0``, :meth:`Denoiser.set_covariance`): the scalar skip ``c_skip x`` is the exact
denoiser of ``N(0, sd^2 I)``; with a data covariance ``S = V diag(lam) V^T`` of the flattened windows it
becomes the exact denoiser of ``N(0, S)``, ``S (S + sigma^2 I)^-1 x``, and ``c_out^2`` that denoiser's mean
squared error per entry, ``mean(lam sigma^2 / (lam + sigma^2))``. The network then learns only what the
Gaussian misses; a directionally uneven covariance (a 20-day market sum with several times the variance
of one entry) is exact from the first step. The energy's quadratic term becomes
``sum (v_k^T x)^2 / (2 (lam_k + sigma^2))``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def _check_sigma(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(x.shape[0])
    if sigma.shape != (x.shape[0],):
        raise ValueError(f"sigma must be a scalar or shape ({x.shape[0]},) to match x {tuple(x.shape)}, "
                         f"got {tuple(sigma.shape)}")
    return sigma


class Denoiser(nn.Module):
    """Preconditioned denoiser ``D(x; sigma, cond) ~ E[x0 | x0 + sigma z = x]``.

    Parameters
    ----------
    net : module ``net(u (B, H, d), c_noise (B,), cond=None, asset_cond=None, cond_mask=None)``
        returning (B, H, d) (score form) or (B,) (energy form).
    sigma_data : float, the standard deviation of the (standardized) data.
    energy : bool, use the energy parameterization.
    cov_dim : int, entries D = H * d of a window for the Gaussian skip (0: the scalar skip); its
        covariance is set by :meth:`set_covariance` (identity times ``sigma_data^2`` until then) and kept
        in the state dict.
    """

    #: buffers that describe the training data, not learned weights (a warm start does not copy them)
    DATA_BUFFERS = ("cov_vecs", "cov_vals")

    def __init__(self, net: nn.Module, sigma_data: float = 1.0, *, energy: bool = False, cov_dim: int = 0) -> None:
        super().__init__()
        self.net = net
        self.sigma_data = float(sigma_data)
        self.energy_form = bool(energy)
        self.cov_dim = int(cov_dim)
        if self.cov_dim < 0:
            raise ValueError(f"cov_dim must be >= 0, got {cov_dim}")
        if self.cov_dim:
            self.register_buffer("cov_vecs", torch.eye(self.cov_dim))
            self.register_buffer("cov_vals", torch.full((self.cov_dim,), self.sigma_data**2))

    def set_covariance(self, cov: torch.Tensor) -> None:
        """Use the Gaussian skip of covariance ``cov`` (D, D) (symmetric, D = ``cov_dim``; eigenvalues are
        floored at 1e-6 of the largest)."""
        cov = torch.as_tensor(cov, dtype=torch.float64)
        if not self.cov_dim or cov.shape != (self.cov_dim, self.cov_dim) or not torch.isfinite(cov).all():
            raise ValueError(f"cov must be a finite ({self.cov_dim}, {self.cov_dim}) matrix for a Denoiser built "
                             f"with cov_dim={self.cov_dim}, got shape {tuple(cov.shape)}")
        vals, vecs = torch.linalg.eigh((cov + cov.T) / 2)
        vals = vals.clamp_min(1e-6 * float(vals.max().clamp_min(1e-12)))
        self.cov_vals.copy_(vals.to(self.cov_vals.dtype))
        self.cov_vecs.copy_(vecs.to(self.cov_vecs.dtype))

    def _net_dtype(self, x: torch.Tensor) -> torch.dtype:
        p = next(self.net.parameters(), None)
        return x.dtype if p is None else p.dtype

    def _coefs(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sd2 = self.sigma_data**2
        denom = sigma**2 + sd2
        return sd2 / denom, sigma * self.sigma_data / denom.sqrt(), 1 / denom.sqrt(), sigma.log() / 4

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float, cond: torch.Tensor | None = None,
                asset_cond: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Denoised estimate, (B, H, d), in the dtype of ``x``."""
        sigma = _check_sigma(x, sigma)
        c_skip, c_out, c_in, c_noise = self._coefs(sigma)
        kw = {"cond": cond, "asset_cond": asset_cond, "cond_mask": cond_mask}
        if self.cov_dim:
            skip, c_out = self._gauss(x, sigma)
        if not self.energy_form:
            dt = self._net_dtype(x)
            f = self.net((_bcast(c_in, x) * x).to(dt), c_noise.to(dt), **kw).to(x.dtype)
        else:
            f = -self._grad_h(x, c_in, c_noise, kw)
        if self.cov_dim:
            return skip + _bcast(c_out, x) * f
        return _bcast(c_skip, x) * x + _bcast(c_out, x) * f

    def _eigen(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(coordinates (B, D) of x on the covariance's eigenvectors, lam (D,), lam + sigma^2 (B, D))."""
        if x.shape[1:].numel() != self.cov_dim:
            raise ValueError(f"this denoiser's Gaussian skip has {self.cov_dim} entries per window; got a window "
                             f"of shape {tuple(x.shape[1:])}")
        lam = self.cov_vals.to(x.dtype)
        with torch.autocast(x.device.type, enabled=False):  # the skip carries x itself: never in bf16
            coords = x.flatten(1) @ self.cov_vecs.to(x.dtype)
        return coords, lam, lam + sigma[:, None] ** 2

    def _gauss(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the Gaussian skip S (S + sigma^2 I)^-1 x (B, H, d), c_out (B,))."""
        coords, lam, total = self._eigen(x, sigma)
        with torch.autocast(x.device.type, enabled=False):
            skip = ((coords * lam / total) @ self.cov_vecs.to(x.dtype).T).reshape(x.shape)
        return skip, _gauss_c_out(lam, total, sigma)

    def _grad_h(self, x: torch.Tensor, c_in: torch.Tensor, c_noise: torch.Tensor, kw: dict) -> torch.Tensor:
        create_graph = torch.is_grad_enabled()  # training or guidance differentiate through D
        with torch.enable_grad():
            dt = self._net_dtype(x)
            u = (_bcast(c_in, x) * x).to(dt)
            if not u.requires_grad:
                u = u.detach().requires_grad_(True)
            h = self.net(u, c_noise.to(dt), **kw)
            (g,) = torch.autograd.grad(h.sum(), u, create_graph=create_graph)
        return g.to(x.dtype) if create_graph else g.detach().to(x.dtype)

    def score(self, x: torch.Tensor, sigma: torch.Tensor | float, **kw: Any) -> torch.Tensor:
        """``grad_x log p_sigma(x | cond) ~= (D(x; sigma) - x) / sigma^2``, (B, H, d)."""
        sigma = _check_sigma(x, sigma)
        return (self(x, sigma, **kw) - x) / _bcast(sigma, x) ** 2

    def energy(self, x: torch.Tensor, sigma: torch.Tensor | float, cond: torch.Tensor | None = None,
               asset_cond: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Energy ``E(x, sigma)`` (B,), defined up to an additive constant; energy form only."""
        if not self.energy_form:
            raise ValueError("energy() needs a model built with energy=True (parameterization='energy')")
        sigma = _check_sigma(x, sigma)
        _, c_out, c_in, c_noise = self._coefs(sigma)
        dt = self._net_dtype(x)
        u = (_bcast(c_in, x) * x).to(dt)
        h = self.net(u, c_noise.to(dt), cond=cond, asset_cond=asset_cond, cond_mask=cond_mask).to(x.dtype)
        if self.cov_dim:
            coords, lam, total = self._eigen(x, sigma)
            quad = (coords**2 / (2 * total)).sum(1)
            c_out = _gauss_c_out(lam, total, sigma)
        else:
            quad = (x**2).flatten(1).sum(1) / (2 * (sigma**2 + self.sigma_data**2))
        return quad + c_out / (sigma**2 * c_in) * h


def _gauss_c_out(lam: torch.Tensor, total: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """c_out (B,) of the Gaussian skip: its root mean squared error per entry, from lam (D,), lam + sigma^2 (B, D)."""
    return (lam * sigma[:, None] ** 2 / total).mean(1).sqrt()


class ClassifierFreeGuidance(nn.Module):
    """``D = D_uncond + scale (D_cond - D_uncond)`` (Ho & Salimans 2022); same signature as the model.

    ``scale = 1`` is the plain conditional model, ``0`` the unconditional one, ``> 1`` sharpens the
    conditional. Both branches run in one batched call.
    """

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        self.model = model
        self.scale = float(scale)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float, cond: torch.Tensor | None = None,
                asset_cond: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> torch.Tensor:
        sigma = _check_sigma(x, sigma)
        b = x.shape[0]
        mask = torch.cat([torch.ones(b, dtype=torch.bool, device=x.device),
                          torch.zeros(b, dtype=torch.bool, device=x.device)])
        two = lambda t: None if t is None else torch.cat([t, t])  # noqa: E731
        d = self.model(two(x), two(sigma), cond=two(cond), asset_cond=two(asset_cond), cond_mask=mask)
        d_cond, d_uncond = d[:b], d[b:]
        return d_uncond + self.weight(sigma, x) * (d_cond - d_uncond)

    def weight(self, sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor | float:
        """Guidance weight of :meth:`forward` at noise levels ``sigma`` (B,): ``scale`` (a subclass may make it
        depend on sigma, returning a tensor broadcastable to ``x``)."""
        return self.scale

    def energy(self, x: torch.Tensor, sigma: torch.Tensor | float, **kw: Any) -> torch.Tensor:
        """Guided energy ``E_u + scale (E_c - E_u)`` (its gradient is the guided score)."""
        kw.pop("cond_mask", None)
        b = x.shape[0]
        e_c = self.model.energy(x, sigma, cond_mask=torch.ones(b, dtype=torch.bool, device=x.device), **kw)
        e_u = self.model.energy(x, sigma, cond_mask=torch.zeros(b, dtype=torch.bool, device=x.device), **kw)
        return e_u + self.scale * (e_c - e_u)
