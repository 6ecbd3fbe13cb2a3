"""Glue between ScoreGenerator (numpy, pandas) and the torch pieces: build, train, generate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from finscore._device import resolve_device
from finscore.diffusion.schedules import SCHEDULES
from finscore.presets import (
    ScoreConfig,
    check_guidance,
    check_refine_sigma,
    check_sample_batch,
)


def build_denoiser(cfg: ScoreConfig, train: dict[str, torch.Tensor] | None, n_cond: int, n_asset_cond: int,
                   *, seed: int = 0, sigma_max: float | None = None, n_assets: int = 0,
                   asset_static: np.ndarray | None = None):
    """Network + EDM preconditioning for ``cfg``; sigma_max from the training windows unless given.

    With ``cfg.precond == "gaussian"`` the skip is the exact denoiser of a Gaussian with the second moments of
    the training windows ``train["x"]`` (or a placeholder to be filled by a checkpoint's weights when
    ``train`` is None); see :class:`~finscore.diffusion.Denoiser`.

    With ``cfg.asset_loadings > 0`` the network carries static descriptors of ``n_assets`` assets:
    ``asset_static`` (n_assets, cfg.asset_loadings), or zeros to be filled by a checkpoint's weights.

    Returns
    -------
    (Denoiser, sigma_max)
    """
    from finscore.diffusion import Denoiser, sigma_max_from_data
    from finscore.nets import NetConfig, ScoreNet

    if sigma_max is None:
        sigma_max = cfg.sigma_max or float(sigma_max_from_data(train["x"].numpy()))
    torch.manual_seed(seed)
    k = cfg.asset_loadings
    keep, keep_asset = ((), ()) if cfg.uncond_state == "none" else \
        cfg.state.volatility_features(level=cfg.uncond_state == "vol")
    net = ScoreNet(NetConfig(horizon=cfg.horizon, cond_dim=n_cond, asset_cond_dim=n_asset_cond, width=cfg.width,
                             depth=cfg.depth, heads=cfg.heads, dropout=cfg.dropout,
                             energy=cfg.parameterization == "energy", n_assets=n_assets if k else 0,
                             asset_static_dim=k, keep_cond=keep if n_cond else (),
                             keep_asset_cond=keep_asset if n_asset_cond else ()),
                   asset_static=None if asset_static is None or not k else torch.as_tensor(asset_static))
    cov_dim = cfg.horizon * n_assets if cfg.precond == "gaussian" else 0
    if cfg.precond == "gaussian" and not n_assets:
        raise ValueError('precond="gaussian" needs n_assets (the window covariance has horizon * n_assets rows)')
    model = Denoiser(net, sigma_data=1.0, energy=cfg.parameterization == "energy", cov_dim=cov_dim)
    if cov_dim and train is not None:
        x = train["x"].double().flatten(1)
        model.set_covariance(x.T @ x / len(x))  # second moments about 0: the Gaussian the skip denoises
    return model, float(sigma_max)


def fit_denoiser(model, cfg: ScoreConfig, train: dict[str, torch.Tensor], val: dict[str, torch.Tensor] | None,
                 *, seed: int, device: str, progress: bool, sigma_max: float | None = None):
    """Train ``model`` in place with multi-scale DSM and return the TrainResult (EMA weights loaded).

    ``sigma_max``: the top noise level the sampler starts from (:func:`build_denoiser`'s); with
    ``train_sigma="loguniform"`` training covers [sigma_min, sigma_max] (default: ``cfg.sigma_max`` or 80).
    """
    from finscore.diffusion import DSMLoss, LogNormalSigma, LogUniformSigma
    from finscore.train import TrainConfig, train as run_training

    if cfg.train_sigma == "lognormal":
        dist = LogNormalSigma(cfg.p_mean, cfg.p_std)
    elif cfg.train_sigma == "loguniform":
        dist = LogUniformSigma(cfg.sigma_min, sigma_max if sigma_max is not None else model_sigma_max(model, cfg))
    else:
        raise ValueError(f"train_sigma must be 'lognormal' or 'loguniform', got {cfg.train_sigma!r}")
    loss = DSMLoss(dist, weighting=cfg.weighting, p_uncond=cfg.p_uncond)
    tcfg = TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                       ema_decay=cfg.ema_decay, eval_every=cfg.eval_every, patience=cfg.patience)
    def judged(m):  # the sampler's denoiser; at weight 1 that is the bare model, which must not see the loss's mask
        den = sampling_denoiser(m, cfg.guidance_mode, cfg.guidance_scale)
        return _Conditional(m) if den is m else den

    result = run_training(model, loss, train, val, tcfg, device=device, seed=seed, progress=progress,
                          val_model=None if cfg.val_denoiser == "training" else judged)
    model.load_state_dict(result.state_dict)
    model.eval()
    return result


def sampling_denoiser(model, mode: str, scale: float):
    """The denoiser that :func:`generate` follows under guidance ``mode`` and weight ``scale``, for one batch of
    windows: the classifier-free guidance blend, or for ``"mixture"`` the model with the rows of
    :func:`mixture_rows` (over the whole batch) conditional and the others not. Its DSM loss on validation
    windows is what ``val_denoiser="sampling"`` selects the checkpoint by (a caller's ``cond_mask`` is ignored; at
    weight 1, where this is the bare model, :func:`fit_denoiser` wraps it so).
    """
    from finscore.diffusion import ClassifierFreeGuidance

    check_guidance(mode, scale)
    if mode == "mixture":
        return _MixtureRows(model, scale)
    return model if scale == 1.0 else ClassifierFreeGuidance(model, scale)


class _Conditional(torch.nn.Module):
    """``model`` with its condition always on: the caller's ``cond_mask`` (the DSM loss's condition dropout, in
    validation) is ignored, as the sampler at guidance weight 1 has no unconditional rows."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, x, sigma, cond=None, asset_cond=None, cond_mask=None):
        return self.model(x, sigma, cond=cond, asset_cond=asset_cond)


class _MixtureRows(torch.nn.Module):
    """``model`` with a share ``scale`` of each batch's rows conditional (:func:`mixture_rows`)."""

    def __init__(self, model, scale: float) -> None:
        super().__init__()
        self.model, self.scale = model, float(scale)

    def forward(self, x, sigma, cond=None, asset_cond=None, cond_mask=None):
        rows = torch.as_tensor(mixture_rows(x.shape[0], x.shape[0], self.scale), device=x.device)
        return self.model(x, sigma, cond=cond, asset_cond=asset_cond, cond_mask=rows)


def model_sigma_max(model, cfg: ScoreConfig) -> float:
    return float(cfg.sigma_max or 80.0)


def restore_train_result(meta: dict[str, Any]):
    """A light stand-in for the TrainResult of a loaded checkpoint (history curve and summary)."""
    from types import SimpleNamespace

    return SimpleNamespace(history=pd.DataFrame(meta.get("history_curve", {})), **meta.get("train_summary", {}))


@dataclass(frozen=True)
class SamplingPlan:
    """How to turn noise into windows: sampler name, number of noise levels, guidance, refinement."""

    sampler: str
    steps: int
    guidance_scale: float
    sigma_min: float
    sigma_max: float
    batch: int | None = None
    refine: str | None = None
    guidance_mode: str = "blend"
    # noise levels: "geometric" (uniform in log sigma; ScoreConfig.sample_schedule's default since item 49 of
    # benchmarks/quality.md) or "karras" (EDM, rho = 7); ScoreGenerator passes its config's sample_schedule
    schedule: str = "geometric"
    # level of the refinement: the positive noise level nearest it in log sigma (None: the smallest); see
    # ScoreConfig.refine_sigma
    refine_sigma: float | None = None


def refine_level(sigmas: torch.Tensor, sigma: float | None) -> int:
    """Index into ``sigmas`` (N + 1,), descending to 0, of the positive level nearest ``sigma`` in log sigma
    (None: the smallest positive level, N - 1)."""
    n = len(sigmas) - 1
    if sigma is None:
        return n - 1
    check_refine_sigma(sigma)
    return int(torch.argmin((torch.log(sigmas[:n]) - math.log(sigma)).abs()))


def noise_levels(plan: SamplingPlan) -> torch.Tensor:
    """The sampler's ``plan.steps`` noise levels from ``sigma_max`` down to ``sigma_min``, then 0: tensor (steps + 1,)."""
    if plan.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {tuple(SCHEDULES)}, got {plan.schedule!r}")
    return SCHEDULES[plan.schedule](plan.steps, plan.sigma_min, plan.sigma_max)


#: Scenarios per forward pass when ``SamplingPlan.batch`` is None. On CPU the activations of larger
#: batches fall out of cache: 5,000 scenarios in one batch sampled at 102/s vs 217-228/s in
#: batches of 256-1024 (default model, 2 threads, measured 2026-11-30).
AUTO_BATCH = {"cpu": 1024, "cuda": 16384}


def resolve_batch(batch: int | None, device: torch.device) -> int:
    """``batch`` itself, or the device's :data:`AUTO_BATCH` default when it is None."""
    check_sample_batch(batch)
    return AUTO_BATCH.get(device.type, AUTO_BATCH["cpu"]) if batch is None else int(batch)


def mixture_rows(n_rows: int, group_size: int, share: float) -> np.ndarray:
    """Rows (n_rows,) bool that follow the conditional branch under ``guidance_mode="mixture"``.

    Each group of ``group_size`` consecutive rows (one context's scenarios) has ``floor(share * group_size)``
    conditional rows, spread evenly (row ``j`` of a group is conditional when ``floor((j + 1) share)``
    exceeds ``floor(j share)``), so that every prefix of a context's scenarios holds about the same share.
    """
    j = np.arange(n_rows) % max(int(group_size), 1)
    eps = 1e-9  # exact multiples of 1 / share must not round down
    return np.floor((j + 1) * share + eps) > np.floor(j * share + eps)


def generate(model, plan: SamplingPlan, cond: np.ndarray, acond: np.ndarray, plain_scale, horizon: int,
             rng: np.random.Generator, *, guidance=None, assets: tuple[str, ...] | None = None,
             group_size: int | None = None, device: str = "auto", progress: bool = False, to_plain=None):
    """Sample standardized windows (B, H, d) for B condition rows, in batches of ``plan.batch``.

    ``plain_scale`` (B, d), (B, 1, d) or (B, H, d) maps a standardized window to daily log returns (x * scale), which
    guidance needs to evaluate a portfolio loss in plain units. With guidance, batches hold whole
    contexts (``group_size`` consecutive rows share one context and one VaR threshold). ``to_plain(x, state)``
    (differentiable in torch), when given, replaces ``x * plain_scale``: it maps a batch of model-space windows
    and that batch's rows of ``plain_scale`` (then any per-row state, e.g. first-day variances (B, d), or a tuple
    of per-row arrays, each sliced by rows) to daily log returns, e.g. through
    :meth:`~finscore.tails.TukeyH.from_gaussian` and the GJR recursion. The returned
    windows are in the model's space.
    ``plan.refine`` ("mala" / "ula") refines the samples by MCMC on the model's energy at the level of
    :func:`refine_level` (``plan.refine_sigma``): the sampler runs down to that level, the chain targets the
    noisy law there, and the sampler finishes from it. It cannot be combined with ``guidance``.
    With ``plan.guidance_mode == "mixture"`` the rows of :func:`mixture_rows` (per ``group_size`` rows, or
    over all B) follow the conditional branch and the others the unconditional one; ``"blend"`` samples every
    row with :class:`~finscore.diffusion.ClassifierFreeGuidance`.

    Returns
    -------
    (ndarray (B, H, d) float64, info dict with "nfe" and, when used, "stress" / "refine" details)
    """
    from finscore.sampling import get_sampler

    dev = resolve_device(device)
    model = model.to(dev)
    sampler = get_sampler(plan.sampler)
    sigmas = noise_levels(plan).to(dev)
    check_guidance(plan.guidance_mode, plan.guidance_scale)
    mixture = plan.guidance_mode == "mixture"
    den = model if mixture else sampling_denoiser(model, "blend", plan.guidance_scale)  # mixture: rows set below
    if plan.refine is not None and not getattr(model, "energy_form", False):
        raise ValueError("refine needs an energy model: fit with parameterization='energy'")
    if plan.refine is not None and guidance is not None:
        raise ValueError("refine and stress guidance cannot be combined: the chain would target the unconstrained "
                         "energy and leave the stress set; stress guidance has its own MALA finish")
    k = len(sigmas) - 1 if plan.refine is None else refine_level(sigmas, plan.refine_sigma)
    sigma_k = float(sigmas[k])  # the refinement's level, read once (a host sync)
    B, d = acond.shape[0], acond.shape[1]
    cond_rows = mixture_rows(B, group_size or B, plan.guidance_scale) if mixture else None
    out = np.empty((B, horizon, d), dtype=np.float64)
    g = torch.Generator(device=dev)
    g.manual_seed(int(rng.integers(0, 2**63 - 1)))
    step = resolve_batch(plan.batch, dev)
    if guidance is not None and group_size:
        step = max(1, step // group_size) * group_size  # never split a context across batches
    nfe, info = 0, {}
    stress, refined = [], []
    for start in range(0, B, step):
        sl = slice(start, min(start + step, B))
        extra = {"cond": torch.as_tensor(cond[sl], dtype=torch.float32, device=dev),
                 "asset_cond": torch.as_tensor(acond[sl], dtype=torch.float32, device=dev)}
        if cond_rows is not None:
            extra["cond_mask"] = torch.as_tensor(cond_rows[sl], device=dev)
        x = torch.randn((sl.stop - sl.start, horizon, d), generator=g, device=dev) * sigmas[0]
        xs, nfe = x, 0  # k = 0: the refinement starts from the noise itself
        if guidance is not None:
            from finscore.stress import sample_stress

            def batch_rows(p, sl=sl):
                return torch.as_tensor(p[sl], dtype=torch.float32, device=dev)

            scale = tuple(map(batch_rows, plain_scale)) if isinstance(plain_scale, tuple) else batch_rows(plain_scale)
            names = assets if assets is not None else d
            if to_plain is None:
                loss_fn = guidance.loss_fn(names, scale=scale)
            else:
                loss_fn = guidance.loss_fn(names, marginal=lambda y, s=scale: to_plain(y, s))
            groups = None
            if group_size:
                groups = torch.arange(sl.stop - sl.start, device=dev) // group_size
            res = sample_stress(den, x, sigmas, guidance, loss_fn=loss_fn, sampler=plan.sampler, extra_args=extra,
                                generator=g, groups=groups)
            stress.append(res.info["stress"])
            xs, nfe = res.x.detach(), res.nfe
        elif k > 0:
            res = sampler(den, x, sigmas[:k + 1], extra_args=extra, generator=g)
            xs, nfe = res.x.detach(), res.nfe
        if plan.refine is not None:
            from finscore.stress import refine

            sig = torch.full((len(xs),), sigma_k, device=dev)
            r = refine(xs, lambda y, e=extra, s=sig: den.energy(y, s, **e), method=plan.refine, generator=g)
            refined.append(r)
            res = sampler(den, r.x.detach(), sigmas[k:], extra_args=extra, generator=g)
            xs, nfe = res.x.detach(), nfe + res.nfe
        out[sl] = xs.double().cpu().numpy()
    info["nfe"] = nfe
    if stress:
        info["stress"] = {"level": [lv for s in stress for lv in s["level"]],
                          "satisfied": float(np.mean([s["satisfied"] for s in stress])),
                          "cost": float(np.mean([s["cost"] for s in stress])), "alpha": stress[0]["alpha"],
                          "mode": stress[0]["mode"]}
    if refined:
        info["refine"] = {"method": plan.refine, "sigma": sigma_k,
                          "accept_rate": float(np.mean([r.accept_rate for r in refined])),
                          "energy_before": float(np.mean([float(r.energy_before.mean()) for r in refined])),
                          "energy_after": float(np.mean([float(r.energy_after.mean()) for r in refined]))}
    return out, info
