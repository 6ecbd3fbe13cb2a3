"""Configuration of :class:`~finscore.ScoreGenerator`: one frozen dataclass and named presets.

A preset fills every field; explicit keyword arguments to ``ScoreGenerator`` override it.
The ``default`` preset is the configuration selected by the out-of-sample ablations
recorded in ``benchmarks/quality.md``; ``fast`` trades a little quality for a
two-minute fit on a 2-core CPU; ``tiny`` exists for tests and smoke runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from finscore.conditioning import StateSpec
from finscore.data.checks import check_int
from finscore.diffusion.schedules import SCHEDULES
from finscore.tails import MARKET_TAILS, TAIL_MODELS

TARGET_SCALES = ("forecast", "filtered")
TARGET_CORRS = ("none", "equicorr")
GUIDANCE_MODES = ("blend", "mixture")
TAIL_STATES = ("none", "vol")
VAL_DENOISERS = ("training", "sampling")
PRECONDS = ("scalar", "gaussian")
VOL_FITS = ("train", "all")
UNCOND_STATES = ("none", "vol", "term")
SAMPLE_SCHEDULES = tuple(SCHEDULES)
# fields that change how a fitted model samples but not what it learns: a model fitted under one value
# samples under any other (benchmarks reuse fitted models across them)
SAMPLING_FIELDS = ("sampler", "sample_steps", "sample_schedule", "guidance_scale", "guidance_mode", "horizon_spread",
                   "horizon_shrink", "sample_batch", "refine_sigma")


# fields added after the first checkpoints, with the value that reproduces a checkpoint written before each
# existed: no per-asset descriptors, tail transforms, filtered scale, correlation map, guidance mode, horizon
# spread, weighted context correlation, market tails, state-dependent tails, sampling-denoiser checkpoint
# choice, Gaussian skip, shock cap, the GJR filter's fitting rows and pooling, a partially conditional branch or the
# sampler's noise levels
LEGACY_VALUES: dict[str, Any] = {
    "asset_loadings": 0, "target_tails": "none", "target_scale": "forecast", "target_corr": "none",
    "guidance_mode": "blend", "horizon_spread": 1.0, "corr_decay": None, "market_tails": "none",
    "tail_state": "none", "val_denoiser": "training", "precond": "scalar", "shock_cap": None, "vol_fit": "train",
    "vol_pool": False, "uncond_state": "none", "sample_schedule": "karras",
}


@dataclass(frozen=True)
class ScoreConfig:
    """Every hyperparameter of a ScoreGenerator (see the README's model card for their meaning)."""

    horizon: int = 20
    context: int = 60
    # target scale: per-asset GJR-GARCH variance forecast (benchmarks/quality.md, item 12); persistence
    # applies to vol_model="ewma", the default before item 12
    state: StateSpec = field(default_factory=lambda: StateSpec(persistence=0.95, vol_model="gjr"))
    # network
    width: int = 64
    depth: int = 2
    heads: int = 4
    dropout: float = 0.0
    asset_loadings: int = 4  # static per-asset descriptors: loadings on this many principal components (0: none)
    parameterization: str = "score"  # "score" or "energy" (score = -grad E)
    # skip connection of the EDM preconditioning: "scalar", EDM's c_skip x (the exact denoiser of N(0, I));
    # "gaussian", the exact denoiser of a Gaussian with the training windows' second moments, so the network
    # learns only what that Gaussian misses (an option: on the 5 factor ETFs' three calm training years it
    # took the 20-day CRPS gap to GARCH from 5.5% to 2-3%; on the 20 stocks it made 2017-2018 worse;
    # benchmarks/quality.md, item 34)
    precond: str = "scalar"
    # marginal tails: "tukey_h" diffuses Gaussianized targets and maps samples back through a per-asset
    # Tukey h transform fitted on the training targets (finscore.tails; benchmarks/quality.md, item 14);
    # "tukey_hh" fits one tail parameter per asset and side (skewed margins; benchmarks/quality.md, item 24);
    # "none" diffuses the scaled targets themselves (the default before item 14)
    target_tails: str = "tukey_h"
    # "vol": the tail parameters of the GJR innovations vary with the day's volatility over its long-run level,
    # h rho^(-kappa), kappa per asset fitted with them (needs target_scale="filtered"; finscore.tails;
    # benchmarks/quality.md, item 31); "none": the same tails in every state
    tail_state: str = "none"
    # the daily cross-sectional mean of the model-space windows (the equal-weight, "market" direction, after the
    # correlation map). "none": the network's own. "tukey_hh": the training windows' mean gets Gaussianized
    # tails before training (finscore.tails.MarketTails; benchmarks/quality.md, item 23). "matched": training
    # unchanged; after it the model samples its own windows at training dates, and the law of their daily mean
    # is mapped onto the training windows' by two two-sided Tukey hh fits (finscore.tails.MarketMatch; item
    # 25); "matched_tails" takes only the data's tail parameters. None of the three is kept (items 23, 25)
    market_tails: str = "none"
    # "forecast": target day h is divided by the volatility forecast at the window's origin (state.vol_model);
    # "filtered": by the GJR volatility filtered through the window's own earlier days, so the diffusion
    # learns GJR innovations and samples are rebuilt day by day through the GJR recursion (needs
    # state.vol_model="gjr"; benchmarks/quality.md, item 15)
    target_scale: str = "filtered"
    # with target_scale="filtered": the shock entering the GJR variance update inside the target window is
    # capped at this many of the day's standard deviations, in training (standardizing) and in sampling
    # (rebuilding) alike, so one large innovation cannot lift the rest of its path's volatility without
    # bound (a bounded-influence recursion; benchmarks/quality.md, item 41). None: the plain GJR recursion.
    # The context's filter (the first day's variance) is never capped
    shock_cap: float | None = None
    # rows the GJR volatility filter (state.vol_model="gjr") is fitted on: "train", those before the validation
    # windows (like every other fitted statistic); "all", every row given to fit, as the GARCH baseline is
    # (benchmarks/quality.md, item 45: level to slightly worse on the selection folds, so not the default). The
    # network's early stopping then sees validation targets scaled by parameters that saw them too
    vol_fit: str = "train"
    # True: the GJR filter's alpha, gamma and beta are shrunk toward the assets' mean by their joint estimation
    # error (empirical Bayes, finscore.baselines._volatility.pool_dynamics), each asset keeping its long-run
    # variance: a few years of one asset pin its volatility dynamics down poorly. Worse on the selection folds,
    # so off (benchmarks/quality.md, item 57)
    vol_pool: bool = False
    # "equicorr": the average correlation of the window is forecast from the context's (a regression fitted on
    # the training windows), the model-space targets are mapped from that level to the training average and
    # samples are mapped back (finscore.correlation; benchmarks/quality.md, item 17); "none": the network
    # carries the correlation level itself (the default before item 17)
    target_corr: str = "equicorr"
    # weights of the context's days in the average correlation that the equicorr forecast regresses on:
    # None weighs them equally; a decay in (0, 1) weighs day t before the origin by decay^t (RiskMetrics 0.94)
    corr_decay: float | None = None
    # noise schedule and loss
    sigma_min: float = 0.01
    sigma_max: float | None = None  # None: set from the largest distance between training windows
    train_sigma: str = "lognormal"  # "lognormal" (EDM) or "loguniform"
    p_mean: float = -0.4
    p_std: float = 1.2
    weighting: str = "edm"  # "sigma2" (NCSN lambda = sigma^2) or "edm"
    # share of training rows whose condition is dropped (the unconditional branch of the guidance blend);
    # 0.1 until item 36 of benchmarks/quality.md: on small panels the conditional branch overfits within a few
    # hundred steps and early stopping leaves the unconditional branch barely trained (item 33)
    p_uncond: float = 0.9
    # what the unconditional branch still sees: "none", no condition (classifier-free guidance's null); "vol",
    # the volatility level over its long-run value and the term structure of the book and of each asset
    # (StateSpec.volatility_features); "term", the term structure only; the rest of the condition dropped
    # (benchmarks/quality.md, item 46)
    uncond_state: str = "none"
    # training
    steps: int = 2000  # 4000 lost on 2019-2022 (benchmarks/quality.md, item 6) and on the 2008-2009 CRPS (item 40)
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.999
    eval_every: int = 250
    patience: int = 6
    val_fraction: float = 0.15
    # which denoiser's validation DSM loss picks the checkpoint (and stops training early): "training", the
    # network under the training's condition dropout (a share 1 - p_uncond of the rows conditional);
    # "sampling", the one the sampler follows (the guidance blend at guidance_scale, or the mixture's share of
    # conditional rows; not kept, benchmarks/quality.md, item 33)
    val_denoiser: str = "training"
    # sampling: "dpmpp_2m" (DPM-Solver++(2M), one network evaluation per level) since item 32 of
    # benchmarks/quality.md: level with "ode" (Heun, two per level) on the selection folds and 2019-2022 at
    # half the sampling time
    sampler: str = "dpmpp_2m"
    sample_steps: int = 16
    # the sampler's noise levels: "geometric", uniform in log sigma, the time variable of DPM-Solver++ (the
    # default since item 49 of benchmarks/quality.md); "karras", EDM's (Karras et al. 2022, eq. 5, rho = 7:
    # uniform in sigma^(1/7), dense at small sigma; the levels until item 49). On the exact Gaussian flow at
    # 16 levels DPM-Solver++(2M) widens unit-variance data by 4.3% in sd on EDM's levels from sigma 47 and by
    # 1.7% on geometric ones; the stocks' network widened its own training windows by 2.7% on EDM's, 0.1% on
    # geometric ones
    sample_schedule: str = "geometric"
    # classifier-free guidance weight; 1 = plain conditional, 0 = unconditional (0.05 since item 42 of
    # benchmarks/quality.md, chosen in item 38 on both panels' selection years; 0.1 from item 21, 0.2 before)
    guidance_scale: float = 0.05
    # "blend": every scenario follows D_u + w (D_c - D_u) (Ho & Salimans; two network evaluations per step),
    # whose law for two Gaussian branches has the geometric mean of their variances; "mixture": a share w of
    # each context's scenarios follows the conditional branch and the rest the unconditional one
    # (0 <= w <= 1; one evaluation per step, so sampling takes about half as long). Level with "blend" on
    # the selection folds at 0.2 and 0.1, so not the default; on 2019-2022 it gives more absurd crash-state
    # draws than the blend (benchmarks/quality.md, items 18 and 30)
    guidance_mode: str = "blend"
    # factor on each asset's mean over the window in the network's space, applied to every sample before it
    # is mapped back to returns (finscore.correlation.scale_window_mean): the spread of the window's sum is
    # multiplied by it, the day-to-day deviations from the mean are kept. 1: the network's own law
    horizon_spread: float = 1.0
    # True: each asset's window mean is also multiplied by finscore.correlation.shrunk_spread's factor, which
    # moves the network's variance ratio (learned from the training windows) toward 1 by its sampling error:
    # from a few years of windows a mean reversion within 20 days is mostly noise. A tie on the selection
    # folds, so off (benchmarks/quality.md, item 55)
    horizon_shrink: bool = False
    sample_batch: int | None = None  # scenarios per forward pass; None: 1024 on CPU, 16384 on CUDA
    # noise level of the EBM refinement (``sample(..., refine="mala")``, energy models only): the sampler stops at
    # its level nearest this sigma (in log sigma), the MCMC chain targets the model's energy there, and the
    # sampler then finishes from that level. None: the smallest level sigma_min, the only choice before item 54
    # of benchmarks/quality.md, where the network is hardly trained (log sigma_min lies 3.5 of the training
    # distribution's sds below its mean) and the refinement made forecasts far worse
    refine_sigma: float | None = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScoreConfig":
        d = dict(d)
        for k, v in LEGACY_VALUES.items():  # fields added later: the value that reproduces older checkpoints
            d.setdefault(k, v)
        state = d.pop("state", {})
        state = StateSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in state.items()})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ScoreConfig fields: {unknown}")
        return cls(state=state, **d)


PRESETS: dict[str, ScoreConfig] = {
    "default": ScoreConfig(),
    "fast": ScoreConfig(steps=1000, eval_every=200, sample_steps=12),
    "tiny": ScoreConfig(steps=150, eval_every=50, width=32, depth=1, heads=2, batch_size=128, sample_steps=8,
                        patience=100, guidance_scale=1.0),
}


def resolve_config(preset: str, horizon: int, context: int, overrides: dict[str, Any]) -> ScoreConfig:
    """Preset ``preset`` with ``horizon``, ``context`` and explicit overrides applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    known = {f.name for f in fields(ScoreConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown ScoreGenerator arguments {unknown}; valid: {sorted(known)}")
    if isinstance(overrides.get("state"), dict):  # e.g. state={"persistence": 0.98}: fields of StateSpec
        overrides = {**overrides, "state": replace(PRESETS[preset].state, **overrides["state"])}
    return check_config(replace(PRESETS[preset], horizon=horizon, context=context, **overrides))


def check_config(cfg: ScoreConfig) -> ScoreConfig:
    """``cfg`` if every field is valid and the fields agree with each other; else a ValueError naming the field."""
    from finscore.sampling import SAMPLERS

    for name in ("horizon", "context", "steps", "sample_steps", "batch_size", "eval_every", "patience"):
        check_int(getattr(cfg, name), name)
    if cfg.sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {sorted(SAMPLERS)}, got {cfg.sampler!r}")
    if not (_is_number(cfg.val_fraction) and 0.0 <= cfg.val_fraction < 1.0):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {cfg.val_fraction!r}")
    if cfg.context < max(cfg.state.vol_windows):
        raise ValueError(f"context must be >= {max(cfg.state.vol_windows)} days (the longest volatility window); "
                         f"got context={cfg.context}")
    check_int(cfg.asset_loadings, "asset_loadings", 0)
    if cfg.parameterization not in ("score", "energy"):
        raise ValueError(f"parameterization must be 'score' or 'energy', got {cfg.parameterization!r}")
    if cfg.target_tails not in TAIL_MODELS:
        raise ValueError(f"target_tails must be one of {TAIL_MODELS}, got {cfg.target_tails!r}")
    if cfg.tail_state not in TAIL_STATES:
        raise ValueError(f"tail_state must be one of {TAIL_STATES}, got {cfg.tail_state!r}")
    if cfg.tail_state != "none" and (cfg.target_tails == "none" or cfg.target_scale != "filtered"):
        raise ValueError(f'tail_state={cfg.tail_state!r} needs target_tails "tukey_h" or "tukey_hh" and '
                         f'target_scale="filtered", got target_tails={cfg.target_tails!r}, '
                         f'target_scale={cfg.target_scale!r}')
    if cfg.market_tails not in MARKET_TAILS:
        raise ValueError(f"market_tails must be one of {MARKET_TAILS}, got {cfg.market_tails!r}")
    if cfg.target_scale not in TARGET_SCALES:
        raise ValueError(f"target_scale must be one of {TARGET_SCALES}, got {cfg.target_scale!r}")
    if cfg.target_corr not in TARGET_CORRS:
        raise ValueError(f"target_corr must be one of {TARGET_CORRS}, got {cfg.target_corr!r}")
    if cfg.target_scale == "filtered" and cfg.state.vol_model != "gjr":
        raise ValueError(f'target_scale="filtered" needs state.vol_model="gjr", got {cfg.state.vol_model!r}')
    if cfg.shock_cap is not None and not (_is_number(cfg.shock_cap) and cfg.shock_cap > 0):
        raise ValueError(f"shock_cap must be None or a number > 0 (standard deviations), got {cfg.shock_cap!r}")
    if cfg.shock_cap is not None and cfg.target_scale != "filtered":
        raise ValueError(f'shock_cap needs target_scale="filtered", got target_scale={cfg.target_scale!r}')
    if cfg.vol_fit not in VOL_FITS:
        raise ValueError(f"vol_fit must be one of {VOL_FITS}, got {cfg.vol_fit!r}")
    if cfg.sample_schedule not in SAMPLE_SCHEDULES:
        raise ValueError(f"sample_schedule must be one of {SAMPLE_SCHEDULES}, got {cfg.sample_schedule!r}")
    if cfg.uncond_state not in UNCOND_STATES:
        raise ValueError(f"uncond_state must be one of {UNCOND_STATES}, got {cfg.uncond_state!r}")
    if cfg.corr_decay is not None and not (_is_number(cfg.corr_decay) and 0.0 < cfg.corr_decay < 1.0):
        raise ValueError(f"corr_decay must be None or a number in (0, 1), got {cfg.corr_decay!r}")
    if cfg.precond not in PRECONDS:
        raise ValueError(f"precond must be one of {PRECONDS}, got {cfg.precond!r}")
    if cfg.val_denoiser not in VAL_DENOISERS:
        raise ValueError(f"val_denoiser must be one of {VAL_DENOISERS}, got {cfg.val_denoiser!r}")
    check_sample_batch(cfg.sample_batch)
    check_refine_sigma(cfg.refine_sigma)
    check_guidance(cfg.guidance_mode, cfg.guidance_scale)
    if not (_is_number(cfg.horizon_spread) and cfg.horizon_spread > 0):
        raise ValueError(f"horizon_spread must be a finite number > 0, got {cfg.horizon_spread!r}")
    if type(cfg.vol_pool) is not bool:
        raise ValueError(f"vol_pool must be True or False, got {cfg.vol_pool!r}")
    if cfg.vol_pool and cfg.state.vol_model != "gjr":
        raise ValueError(f'vol_pool=True needs state.vol_model="gjr", got {cfg.state.vol_model!r}')
    if type(cfg.horizon_shrink) is not bool:  # 0 and 1 are not switches here
        raise ValueError(f"horizon_shrink must be True or False, got {cfg.horizon_shrink!r}")
    return cfg


def _is_number(v: Any) -> bool:
    """True for a finite real number (not a bool)."""
    return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and bool(np.isfinite(v))


def check_guidance(mode: Any, scale: Any) -> None:
    """ValueError unless ``mode`` is a guidance mode and ``scale`` a finite weight it accepts."""
    if mode not in GUIDANCE_MODES:
        raise ValueError(f"guidance_mode must be one of {GUIDANCE_MODES}, got {mode!r}")
    if not _is_number(scale):
        raise ValueError(f"guidance_scale must be a finite number, got {scale!r}")
    if mode == "mixture" and not 0.0 <= scale <= 1.0:
        raise ValueError(f'guidance_mode="mixture" needs 0 <= guidance_scale <= 1 (the conditional share), got {scale!r}')


def check_sample_batch(batch: Any) -> None:
    """ValueError unless ``batch`` is a positive integer or None (the device's default)."""
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1):
        raise ValueError(f"sample_batch must be a positive integer or None (device default), got {batch!r}")


def check_refine_sigma(sigma: Any) -> None:
    """ValueError unless ``sigma`` is None (the smallest noise level) or a finite number > 0."""
    if sigma is not None and not (_is_number(sigma) and sigma > 0):
        raise ValueError(f"refine_sigma must be None (the smallest noise level) or a number > 0, got {sigma!r}")
