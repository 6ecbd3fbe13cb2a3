"""ScoreGenerator: data windows + conditional score model + sampler behind fit / sample."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.baselines._volatility import GJRParams
from finscore.conditioning import (
    asset_loadings,
    gjr_context_variance,
    gjr_rebuild,
    gjr_standardize,
    gjr_vol_ratio,
    state_features,
)
from finscore.correlation import (
    EquiCorrelation,
    average_correlation,
    scale_window_mean,
    shrunk_spread,
    window_variance_ratio,
)
from finscore.data.checks import check_int, check_positive_int
from finscore.errors import CheckpointError, DataError, NumericalError
from finscore.presets import SAMPLING_FIELDS, ScoreConfig, check_config, resolve_config
from finscore.protocol import BaseGenerator, _check_n_horizon, check_contexts
from finscore.scenarios import Scenarios
from finscore.tails import MarketMatch, MarketTails, TukeyH

CHECKPOINT_FORMAT = "finscore.ScoreGenerator/1"
MATCH_DATES, MATCH_PER_DATE = 100, 100  # market_tails="matched*": training dates sampled, scenarios per date


class ScoreGenerator(BaseGenerator):
    """Conditional score-based diffusion generator of H-day return paths.

    Parameters
    ----------
    horizon : days per generated window H (longer horizons are rolled out autoregressively).
    context : days of history L the condition is built from (``min_context``).
    preset : "default", "fast" or "tiny"; fills every hyperparameter of :class:`~finscore.presets.ScoreConfig`.
    seed : training seed.
    device : "auto" (CUDA when present), "cpu" or "cuda".
    progress : show progress bars.
    init_from : a fitted ScoreGenerator or a checkpoint path to start training from (fine-tuning a model
        pre-trained on a longer panel, e.g. to fit a short history). Its network must have the same shape
        (horizon, width, depth, heads, state features, number of loadings); the asset set may differ (the
        static descriptors are fitted on the new data). Its training data must end on or before the end
        of the data given to ``fit`` (else the forecasts would look ahead). Not a hyperparameter: not
        in ``get_params``; the checkpoint records the source as ``warm_start_``.
    **overrides : any :class:`~finscore.presets.ScoreConfig` field, overriding the preset.

    Fitted attributes
    -----------------
    config_, model_, assets_, scale_ (target scale), long_run_vol_, cond_stats_, sigma_max_,
    history_ (last ``context`` rows), train_result_, fingerprint_, warm_start_ (None or the source's
    fingerprint and fitted dates), vol_params_ (with ``state.vol_model="gjr"``: the per-asset GJR-GARCH
    parameters and unconditional variances fitted on the training rows; else None), tails_ (with
    ``target_tails="tukey_h"`` or ``"tukey_hh"``: the :class:`~finscore.tails.TukeyH` transform of the scaled
    targets, one tail parameter per asset or one per asset and side, with ``tail_state="vol"`` varying with
    each day's GJR volatility over its long-run level; else None),
    corr_ (with ``target_corr="equicorr"``: the :class:`~finscore.correlation.EquiCorrelation` map; else None),
    market_ (with ``market_tails="tukey_hh"``: the :class:`~finscore.tails.MarketTails` map; else None),
    market_match_ (with ``market_tails="matched"`` or ``"matched_tails"``: the
    :class:`~finscore.tails.MarketMatch` map, fitted after training on the model's own samples at
    ``MATCH_DATES`` training dates; else None), window_ratio_ and window_days_ (each asset's variance ratio
    over the training windows in the network's space, :func:`~finscore.correlation.window_variance_ratio`,
    and the days they span: what ``horizon_shrink`` shrinks; None in checkpoints saved before item 55).

    With ``target_scale="filtered"`` (the default) the scaled targets are GJR innovations: day h of a window is
    divided by the GJR volatility filtered through the context and the window's own days before h
    (:func:`~finscore.conditioning.gjr_standardize`), and sampled windows are turned back into returns day by
    day through the same recursion (:func:`~finscore.conditioning.gjr_rebuild`).
    """

    def __init__(self, horizon: int = 20, context: int = 60, preset: str = "default", *, seed: int = 0,
                 device: str = "auto", progress: bool = True, init_from: ScoreGenerator | str | Path | None = None,
                 **overrides: Any) -> None:
        self.horizon = horizon
        self.context = context
        self.preset = preset
        self.seed = seed
        self.device = device
        self.progress = progress
        self.overrides = overrides
        self.init_from = init_from
        check_int(seed, "seed", 0)
        resolve_config(preset, horizon, context, overrides)  # validate early

    def get_params(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "context": self.context, "preset": self.preset, "seed": self.seed,
                "device": self.device, **self.overrides}

    @property
    def min_context(self) -> int:  # type: ignore[override]
        return self.context

    # ----------------------------------------------------------------- fit
    def _fit(self, returns: pd.DataFrame) -> None:
        from finscore.model import build_denoiser, fit_denoiser

        cfg = resolve_config(self.preset, self.horizon, self.context, self.overrides)
        L, H = cfg.context, cfg.horizon
        values = returns.to_numpy(np.float64)
        n_windows = len(values) - L - H + 1
        if n_windows < 50:
            raise DataError(
                f"returns have {len(values)} rows: with context={L} and horizon={H} that is {max(n_windows, 0)} "
                f"training windows; at least 50 are needed (about {L + H + 49} rows)"
            )
        n_train, n_val = split_windows(n_windows, cfg)
        if n_train < 1:  # fewer would train on windows whose targets overlap the validation windows'
            raise DataError(
                f"returns have {len(values)} rows: of their {n_windows} windows the last {n_val} validate "
                f"(val_fraction={cfg.val_fraction}) after a gap of {H} (the horizon), which leaves none to train on; "
                "give more rows or lower val_fraction"
            )
        train_rows = values[: training_rows(len(values), cfg)]
        self.long_run_vol_ = np.sqrt(np.mean(train_rows**2, axis=0)) + 1e-8
        self.long_run_market_vol_ = float(np.sqrt(np.mean(train_rows.mean(axis=1) ** 2)) + 1e-8)
        vol_rows = returns if cfg.vol_fit == "all" else returns.iloc[: len(train_rows)]
        self.vol_params_ = _fit_gjr(vol_rows, pool=cfg.vol_pool) if cfg.state.vol_model == "gjr" else None
        ctx, tgt = _windows(values, L, H)
        self.config_ = cfg
        cond, acond, scale = self._state(ctx)
        x = self._targets(ctx, tgt, scale, fit_rows=n_train)
        self.window_ratio_, self.window_days_ = window_variance_ratio(x[:n_train]), n_train + H - 1
        self.cond_stats_ = _Standardizer.fit(cond[:n_train], acond[:n_train])
        cond, acond = self.cond_stats_.apply(cond, acond)
        data = {"x": x, "cond": cond, "asset_cond": acond}
        train = {k: torch.as_tensor(v[:n_train], dtype=torch.float32) for k, v in data.items()}
        val = {k: torch.as_tensor(v[-n_val:], dtype=torch.float32) for k, v in data.items()} if n_val else None
        static = asset_loadings(train_rows, cfg.asset_loadings) if cfg.asset_loadings else None
        self.model_, self.sigma_max_ = build_denoiser(cfg, train, cond.shape[1], acond.shape[2], seed=self.seed,
                                                      n_assets=values.shape[1], asset_static=static)
        self.warm_start_ = None if self.init_from is None else _warm_start(self.model_, cfg, self.init_from, returns)
        self.train_result_ = fit_denoiser(self.model_, cfg, train, val, seed=self.seed, device=self.device,
                                          progress=self.progress, sigma_max=self.sigma_max_)
        self.loss_per_sigma_ = _loss_per_sigma(self.model_, val if val is not None else train, cfg.sigma_min,
                                               self.sigma_max_)
        body = {"matched": "data", "matched_tails": "model"}.get(cfg.market_tails)
        self.market_match_ = None
        if body is not None and values.shape[1] > 1:
            self.market_match_ = self._fit_market_match(ctx[:n_train], x[:n_train], body)
        self.fingerprint_ = data_fingerprint(returns)
        self.fit_start_ = returns.index[0]

    def _targets(self, ctx: np.ndarray, tgt: np.ndarray, scale: np.ndarray | None = None,
                 fit_rows: int | None = None) -> np.ndarray:
        """Target windows tgt (N, H, d) after contexts ctx (N, L, d) in the network's space.

        The maps in order: the GJR filter (``target_scale="filtered"``) or the target scale (N, 1 or H, d) of
        :meth:`_state` (``scale``, computed when None), the global ``scale_``, the tail transform and the
        correlation map. With ``fit_rows`` each map is first fitted on the first ``fit_rows`` windows (the
        training windows; used by :meth:`_fit`).
        """
        cfg, fit = self.config_, fit_rows is not None
        ratio = None
        if cfg.target_scale == "filtered":
            vol, uncond = self._gjr()
            x, var = gjr_standardize(tgt, self._first_variance(ctx), vol, return_variance=True,
                                     cap=cfg.shock_cap)
            if cfg.tail_state == "vol":
                ratio = gjr_vol_ratio(var, uncond)
        else:
            x = tgt / (self._state(ctx)[2] if scale is None else scale)
        if fit:
            self.scale_ = float(np.std(x[:fit_rows]))
        x = x / self.scale_
        if fit:
            self.tails_ = (TukeyH.fit(x[:fit_rows], two_sided=cfg.target_tails == "tukey_hh",
                                      ratio=None if ratio is None else ratio[:fit_rows])
                           if cfg.target_tails != "none" else None)
        if self.tails_ is not None:
            x = self.tails_.to_gaussian(x, ratio)
        if fit:
            self.corr_ = None
        if cfg.target_corr == "equicorr":
            rho_ctx = self._context_correlation(ctx)
            if fit:
                self.corr_ = EquiCorrelation.fit(x[:fit_rows], rho_ctx[:fit_rows])
            x = self.corr_.to_model(x, self.corr_.forecast(rho_ctx))
        if fit:
            self.market_ = MarketTails.fit(x[:fit_rows]) if cfg.market_tails == "tukey_hh" and x.shape[2] > 1 else None
        if getattr(self, "market_", None) is not None:
            x = self.market_.to_model(x)
        return x

    def _fit_market_match(self, ctx: np.ndarray, x: np.ndarray, body: str) -> MarketMatch:
        """:class:`~finscore.tails.MarketMatch` (``body`` as in its ``fit``) of the trained model: its model-space
        samples (``MATCH_PER_DATE`` each) at ``MATCH_DATES`` training contexts drawn at random from ``ctx``
        (N, L, d), against the training targets ``x`` (N, H, d) in model space. Sampled with the config's
        sampling plan."""
        from finscore.model import generate

        rng = np.random.default_rng([self.seed, 25])  # its own stream: the training draws are untouched
        pick = np.sort(rng.choice(len(ctx), size=min(MATCH_DATES, len(ctx)), replace=False))
        cond, acond = self.cond_stats_.apply(*self._state(ctx[pick])[:2])  # once per date, then one row per draw
        cond, acond = np.repeat(cond, MATCH_PER_DATE, axis=0), np.repeat(acond, MATCH_PER_DATE, axis=0)
        y, _ = generate(self.model_, self._plan(), cond, acond, np.ones((len(cond), 1, ctx.shape[2])),
                        self.config_.horizon, rng, group_size=MATCH_PER_DATE, device=self.device)
        return MarketMatch.fit(y, x, body=body)

    def _state(self, ctx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cond (N, C), asset_cond (N, d, Ca), target scale (N, H, d) or (N, 1, d)) of contexts (N, L, d)."""
        cfg = getattr(self, "config_", None) or resolve_config(self.preset, self.horizon, self.context, self.overrides)
        cond, acond, scale = state_features(ctx, self.long_run_vol_, self.long_run_market_vol_, cfg.state,
                                            horizon=cfg.horizon, vol=self._gjr())
        return cond, acond, scale if scale.ndim == 3 else scale[:, None, :]

    def _context_correlation(self, ctx: np.ndarray) -> np.ndarray:
        """Average correlation (N,) of contexts (N, L, d): the regressor of the equicorr forecast."""
        return average_correlation(ctx, decay=self.config_.corr_decay)

    def _gjr(self) -> tuple[GJRParams, np.ndarray] | None:
        """(GJR parameters, unconditional variances (d,)) fitted on the training rows, or None."""
        vp = getattr(self, "vol_params_", None)
        return None if vp is None else (GJRParams(*(np.asarray(vp[k]) for k in _GJR_FIELDS)), np.asarray(vp["uncond"]))

    def _first_variance(self, ctx: np.ndarray) -> np.ndarray:
        """GJR variance (N, d) of the first day after each context (N, L, d)."""
        vol, uncond = self._gjr()
        return gjr_context_variance(ctx, vol, uncond)

    # -------------------------------------------------------------- sample
    def with_settings(self, **settings: Any) -> ScoreGenerator:
        """A copy of this fitted generator that samples with other sampling settings; it shares the network.

        ``settings``: fields of ``finscore.presets.SAMPLING_FIELDS`` (sampler, sample_steps, sample_schedule,
        guidance_scale, guidance_mode, horizon_spread, horizon_shrink, sample_batch, refine_sigma), validated
        like a new configuration, and recorded in the copy's parameters (so in its scenarios' metadata and in a
        checkpoint it saves). A training setting is refused: the network was fitted under it.
        """
        self._check_fitted()
        known = {f.name for f in fields(ScoreConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown ScoreConfig fields {unknown}; sampling settings: {list(SAMPLING_FIELDS)}")
        trained = sorted(set(settings) - set(SAMPLING_FIELDS))
        if trained:
            raise ValueError(f"{trained} are training settings: the network was fitted under them, so a fitted "
                             f"model cannot change them (refit with them); sampling settings: {list(SAMPLING_FIELDS)}")
        out = copy.copy(self)
        out.config_ = check_config(replace(self.config_, **settings))
        out.overrides = {**self.overrides, **settings}  # what get_params, the scenarios' metadata and save record
        return out

    def sample(self, n: int, horizon: int | None = None, context: pd.DataFrame | None = None, seed: Seed = None, *,
               sampler: str | None = None, steps: int | None = None, guidance=None, refine: str | None = None,
               guidance_scale: float | None = None) -> Scenarios:
        """Draw ``n`` paths of ``horizon`` days (default: the trained H) after ``context``.

        Parameters
        ----------
        n : number of scenarios.
        horizon : days per path; above the trained H the paths are rolled out autoregressively
            (each generated window becomes the context of the next).
        context : DataFrame (>= ``context`` rows, n_assets) of recent daily log returns; the last
            ``context`` rows are used. Default: the end of the training data.
        seed : int, numpy Generator or None.
        sampler : "euler", "pc", "langevin", "ode" or "dpmpp_2m" (default: the config's).
        steps : number of noise levels (default: the config's ``sample_steps``).
        guidance : a :class:`~finscore.stress.VaRGuidance` for stress scenarios, or None.
        refine : None or "mala" / "ula": EBM refinement (energy models only) at the noise level of the config's
            ``refine_sigma``; not with ``guidance``.
        guidance_scale : classifier-free guidance weight (default: the config's); with the config's
            ``guidance_mode="mixture"``, the share of scenarios drawn from the conditional branch.

        Returns
        -------
        Scenarios of shape (n, horizon, n_assets) of daily log returns.
        """
        self._check_fitted()
        horizon = self.config_.horizon if horizon is None else horizon
        n, horizon = _check_n_horizon(n, horizon)
        ctx = self._resolve_context(context)
        out = self._forecast([ctx], n, horizon, as_generator(seed), sampler, steps, guidance, refine, guidance_scale)
        return self._wrap(out.values[0], ctx, seed, **out.meta)

    def sample_many(self, n: int, horizon: int | None, contexts: Sequence[pd.DataFrame], seed: Seed = None,
                    **kwargs: Any) -> list[Scenarios]:
        """Forecast ``n`` paths for each context in one batched pass (used by backtests and validation)."""
        self._check_fitted()
        horizon = self.config_.horizon if horizon is None else horizon
        n, horizon = _check_n_horizon(n, horizon)
        check_contexts(contexts)
        ctxs = [self._resolve_context(c) for c in contexts]
        if not ctxs:
            return []
        out = self._forecast(ctxs, n, horizon, as_generator(seed), kwargs.get("sampler"), kwargs.get("steps"),
                             kwargs.get("guidance"), kwargs.get("refine"), kwargs.get("guidance_scale"))
        return [self._wrap(v, c, seed, **out.meta) for v, c in zip(out.values, ctxs)]

    def _sample(self, n, horizon, context, seed):  # pragma: no cover - sample() is overridden
        raise NotImplementedError

    def _plan(self, sampler: str | None = None, steps: int | None = None, guidance_scale: float | None = None,
              refine: str | None = None, guidance_mode: str | None = None):
        """The :class:`~finscore.model.SamplingPlan` of the fitted config, with the given settings replacing its own."""
        from finscore.model import SamplingPlan

        cfg = self.config_
        return SamplingPlan(
            sampler=cfg.sampler if sampler is None else sampler,
            steps=cfg.sample_steps if steps is None else check_positive_int(steps, "steps"),
            guidance_scale=cfg.guidance_scale if guidance_scale is None else guidance_scale,
            sigma_min=cfg.sigma_min, sigma_max=self.sigma_max_, batch=cfg.sample_batch, refine=refine,
            guidance_mode=guidance_mode or cfg.guidance_mode, schedule=cfg.sample_schedule,
            refine_sigma=cfg.refine_sigma,
        )

    def _shrunk_spread(self) -> np.ndarray:
        """Per-asset factors on the window mean for ``horizon_shrink`` (:func:`~finscore.correlation.shrunk_spread`)."""
        if getattr(self, "window_ratio_", None) is None:
            raise CheckpointError("horizon_shrink=True needs the training windows' variance ratios, which this "
                                  "checkpoint (saved before they were recorded) lacks: refit the model")
        return shrunk_spread(self.window_ratio_, self.window_days_, self.config_.horizon)

    def _forecast(self, ctxs, n, horizon, rng, sampler, steps, guidance, refine, guidance_scale):
        from finscore.model import generate

        cfg = self.config_
        plan = self._plan(sampler, steps, guidance_scale, refine)
        L, H = cfg.context, cfg.horizon
        if guidance is not None and horizon > H and getattr(guidance, "horizon_days", None) is None:
            raise DataError(f"guidance acts on the model's first window of {H} days, and horizon={horizon} rolls out "
                            f"beyond it: set the guidance's horizon_days (at most {H}) to say over how many days the "
                            "loss counts, or use sample_rejection for a loss over all the days")
        hist = np.stack([c.to_numpy(np.float64)[-L:] for c in ctxs])  # (m, L, d)
        hist = np.repeat(hist, n, axis=0)  # (m * n, L, d): each scenario carries its own context
        tails, corr, market = self.tails_, getattr(self, "corr_", None), getattr(self, "market_", None)
        match = getattr(self, "market_match_", None)
        filtered = cfg.target_scale == "filtered"
        vol, uncond = self._gjr() if filtered else (None, None)
        by_state = filtered and tails is not None and tails.state_dependent  # tails follow each day's variance
        spread = cfg.horizon_spread * (self._shrunk_spread() if cfg.horizon_shrink else 1.0)

        def marginal(y, ratio=None):
            return y if tails is None else tails.from_gaussian(y, ratio)

        def to_plain(y, state):  # model space -> daily log returns; state: first-day variances (B, d) or target
            # scales (B, 1 or H, d); with corr, the pair (that, forecast correlation (B,))
            y = scale_window_mean(y, spread)
            if match is not None:
                y = match.from_model(y)
            if market is not None:
                y = market.from_model(y)
            if corr is not None:
                state, rho = state
                y = corr.from_model(y, rho)
            if by_state:  # day by day through the GJR recursion, the tails at each day's variance
                return gjr_rebuild(y, state, vol, cap=cfg.shock_cap,
                                   marginal=lambda yt, s2: marginal(yt, gjr_vol_ratio(s2, uncond)) * self.scale_)
            if filtered:  # day by day through the GJR recursion
                return gjr_rebuild(marginal(y) * self.scale_, state, vol, cap=cfg.shock_cap)
            return state * marginal(y)

        pieces, meta = [], {}
        done = 0
        while done < horizon:
            cond, acond, scale = self._state(hist)
            cond, acond = self.cond_stats_.apply(cond, acond)
            step_guidance = guidance if done == 0 else None
            state = self._first_variance(hist) if filtered else scale * self.scale_
            if corr is not None:
                state = (state, corr.forecast(self._context_correlation(hist)))
            x, window_meta = generate(self.model_, plan, cond, acond, state, H, rng, guidance=step_guidance,
                                      assets=self.assets_, group_size=n, device=self.device,
                                      progress=self.progress and len(hist) > 4096, to_plain=to_plain)
            meta = meta or window_meta  # the first window's: the guided one records the stress run
            r = to_plain(x, state)
            if not np.all(np.isfinite(r)):
                raise NumericalError("the sampler produced non-finite returns; try more steps or sampler='ode'")
            pieces.append(r)
            done += H
            hist = np.concatenate([hist, r], axis=1)[:, -L:]
        values = np.concatenate(pieces, axis=1)[:, :horizon]
        meta.update(sampler=plan.sampler, steps=plan.steps, rollout=horizon > H)
        return _Forecast(values.reshape(len(ctxs), n, horizon, -1), meta)

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the fitted generator as ``path/model.safetensors`` + ``path/config.json``."""
        from finscore.train import save_checkpoint

        self._check_fitted()
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()}
        tensors["history"] = torch.from_numpy(np.array(self.history_.to_numpy(np.float64)))
        meta = {
            "format": CHECKPOINT_FORMAT,
            "params": self.get_params(),
            "config": self.config_.to_dict(),
            "assets": list(self.assets_),
            "history_dates": [d.isoformat() for d in self.history_.index],
            "fit_start": self.fit_start_.isoformat(), "fit_end": self.fit_end_.isoformat(),
            "scale": self.scale_, "long_run_vol": self.long_run_vol_.tolist(),
            "long_run_market_vol": self.long_run_market_vol_, "sigma_max": self.sigma_max_,
            "vol_params": getattr(self, "vol_params_", None),
            "tails": None if getattr(self, "tails_", None) is None else self.tails_.to_dict(),
            "corr": None if getattr(self, "corr_", None) is None else self.corr_.to_dict(),
            "market": None if getattr(self, "market_", None) is None else self.market_.to_dict(),
            "market_match": None if getattr(self, "market_match_", None) is None else self.market_match_.to_dict(),
            "window_ratio": None if getattr(self, "window_ratio_", None) is None else
            {"ratio": self.window_ratio_.tolist(), "days": self.window_days_},
            "cond_stats": self.cond_stats_.to_dict(), "fingerprint": self.fingerprint_,
            "loss_per_sigma": self.loss_per_sigma_,
            "n_cond": self.cond_stats_.n_cond, "n_asset_cond": self.cond_stats_.n_asset_cond,
            "warm_start": getattr(self, "warm_start_", None),
            "history_curve": self.train_result_.history.to_dict(orient="list"),
            "train_summary": {k: v for k, v in vars(self.train_result_).items()
                              if isinstance(v, (int, float, str)) and not k.startswith("_")},
        }
        save_checkpoint(path, tensors, meta, overwrite=overwrite)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto") -> "ScoreGenerator":
        """Load a generator written by :meth:`save` (no unpickling: safetensors + JSON only)."""
        from finscore.model import build_denoiser, restore_train_result
        from finscore.train import load_checkpoint

        tensors, meta = load_checkpoint(path)
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path} is not a ScoreGenerator checkpoint (format {meta.get('format')!r})")
        try:
            params = dict(meta["params"])
            gen = cls(**{**params, "device": device})
            gen.config_ = ScoreConfig.from_dict(meta["config"])
            gen.assets_ = tuple(meta["assets"])
            gen.scale_ = float(meta["scale"])
            gen.long_run_vol_ = np.asarray(meta["long_run_vol"])
            gen.long_run_market_vol_ = float(meta["long_run_market_vol"])
            gen.vol_params_ = meta.get("vol_params")
            gen.tails_ = None if meta.get("tails") is None else TukeyH.from_dict(meta["tails"])
            gen.corr_ = None if meta.get("corr") is None else EquiCorrelation.from_dict(meta["corr"])
            gen.market_ = None if meta.get("market") is None else MarketTails.from_dict(meta["market"])
            match = meta.get("market_match")
            gen.market_match_ = None if match is None else MarketMatch.from_dict(match)
            ratio = meta.get("window_ratio")  # None in checkpoints saved before item 55
            gen.window_ratio_ = None if ratio is None else np.asarray(ratio["ratio"], dtype=np.float64)
            gen.window_days_ = None if ratio is None else int(ratio["days"])
            gen.cond_stats_ = _Standardizer.from_dict(meta["cond_stats"])
            gen.fingerprint_ = meta["fingerprint"]
            gen.loss_per_sigma_ = meta.get("loss_per_sigma")
            gen.warm_start_ = meta.get("warm_start")
            gen.fit_start_, gen.fit_end_ = pd.Timestamp(meta["fit_start"]), pd.Timestamp(meta["fit_end"])
            gen.history_ = pd.DataFrame(tensors.pop("history").numpy(), columns=list(gen.assets_),
                                        index=pd.DatetimeIndex(pd.to_datetime(meta["history_dates"]), name="date"))
            gen.model_, gen.sigma_max_ = build_denoiser(gen.config_, None, meta["n_cond"], meta["n_asset_cond"],
                                                        sigma_max=meta["sigma_max"], n_assets=len(gen.assets_))
            state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
            gen.model_.load_state_dict(state, strict=True)
        except (KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise CheckpointError(f"{path}: checkpoint does not match a ScoreGenerator: {exc}") from exc
        gen.model_.eval()
        gen.train_result_ = restore_train_result(meta)
        return gen


_GJR_FIELDS = ("mu", "omega", "alpha", "gamma", "beta")


def split_windows(n_windows: int, cfg: ScoreConfig) -> tuple[int, int]:
    """(training, validation) counts of ``fit``'s ``n_windows`` (context, target) windows, in time order: the
    last ``val_fraction`` validate, after a gap of ``horizon`` windows (no target overlap); the first
    ``n_train`` train (their rows: :func:`training_rows`)."""
    n_val = int(round(cfg.val_fraction * n_windows))
    return n_windows - n_val - (cfg.horizon if n_val else 0), n_val


def training_rows(n_rows: int, cfg: ScoreConfig) -> int:
    """How many of ``fit``'s first ``n_rows`` return rows its training windows span: the rows the statistics
    fitted on training rows (the GJR filter, the long-run volatilities) see."""
    n_train, _ = split_windows(n_rows - cfg.context - cfg.horizon + 1, cfg)
    return n_train + cfg.context + cfg.horizon - 1


def _fit_gjr(train: pd.DataFrame, pool: bool = False) -> dict[str, list[float]]:
    """Per-asset GJR-GARCH(1,1)-t parameters and unconditional variances of the training rows (JSON-ready);
    ``pool``: the dynamics shrunk toward the assets' mean (:func:`~finscore.baselines._volatility.pool_dynamics`)."""
    from finscore.baselines import GARCH
    from finscore.baselines._volatility import pool_dynamics

    if pool and train.shape[1] < 3:
        raise DataError(f"vol_pool=True pools the GJR dynamics across assets and needs at least 3, got "
                        f"{train.shape[1]} ({', '.join(map(str, train.columns))})")
    g = GARCH(dist="t").fit(train)
    vol = g.vol_
    if pool:  # Student-t innovations are symmetric: kappa = E[z^2 1{z<0}] = 1/2
        vol = pool_dynamics(vol, g.dynamics_cov_, g.unconditional_variance_, np.full(len(train.columns), 0.5))
    out = {k: getattr(vol, k).tolist() for k in _GJR_FIELDS}
    out["uncond"] = np.asarray(g.unconditional_variance_, dtype=np.float64).tolist()
    return out


_SHAPE_FIELDS = ("horizon", "context", "state", "width", "depth", "heads", "asset_loadings", "parameterization")


def _warm_start(model, cfg: ScoreConfig, source, returns: pd.DataFrame) -> dict[str, Any]:
    """Copy ``source``'s network weights into ``model``: all but what describes its own data (the modules'
    ``DATA_BUFFERS``: the static asset descriptors and the Gaussian skip's covariance)."""
    if isinstance(source, (str, Path)):
        source = ScoreGenerator.load(source, device="cpu")
    if not isinstance(source, ScoreGenerator):
        raise TypeError(f"init_from must be a fitted ScoreGenerator or a checkpoint path, got {type(source).__name__}")
    source._check_fitted()
    if source.fit_end_ > returns.index[-1]:
        raise DataError(f"init_from was trained on data up to {source.fit_end_.date()}, after the end of this "
                        f"training set ({returns.index[-1].date()}): its forecasts would look ahead")
    differ = [f for f in _SHAPE_FIELDS if getattr(source.config_, f) != getattr(cfg, f)]
    if differ:
        pairs = [f"{f}={getattr(source.config_, f)!r} vs {getattr(cfg, f)!r}" for f in differ]
        raise ValueError("init_from has a different network (init_from vs this configuration): " + ", ".join(pairs))
    data = {f"{prefix}.{b}".lstrip(".") for prefix, mod in source.model_.named_modules()
            for b in getattr(mod, "DATA_BUFFERS", ())}
    state = {k: v for k, v in source.model_.state_dict().items() if k not in data}
    model.load_state_dict(state, strict=False)
    return {"fingerprint": source.fingerprint_, "fit_start": source.fit_start_.isoformat(),
            "fit_end": source.fit_end_.isoformat(), "assets": list(source.assets_)}


class _Forecast:
    def __init__(self, values: np.ndarray, meta: dict[str, Any]) -> None:
        self.values, self.meta = values, meta


class _Standardizer:
    """Feature standardization fitted on training windows only."""

    def __init__(self, mu_c, sd_c, mu_a, sd_a):
        self.mu_c, self.sd_c, self.mu_a, self.sd_a = (np.asarray(v, dtype=np.float64) for v in (mu_c, sd_c, mu_a, sd_a))

    @property
    def n_cond(self) -> int:
        return len(self.mu_c)

    @property
    def n_asset_cond(self) -> int:
        return len(self.mu_a)

    @classmethod
    def fit(cls, cond: np.ndarray, acond: np.ndarray) -> "_Standardizer":
        flat = acond.reshape(-1, acond.shape[-1])
        return cls(cond.mean(0), cond.std(0) + 1e-6, flat.mean(0), flat.std(0) + 1e-6)

    def apply(self, cond: np.ndarray, acond: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (cond - self.mu_c) / self.sd_c, (acond - self.mu_a) / self.sd_a

    def to_dict(self) -> dict[str, list[float]]:
        return {"mu_c": self.mu_c.tolist(), "sd_c": self.sd_c.tolist(), "mu_a": self.mu_a.tolist(),
                "sd_a": self.sd_a.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> "_Standardizer":
        return cls(d["mu_c"], d["sd_c"], d["mu_a"], d["sd_a"])


def _loss_per_sigma(model, data: dict[str, torch.Tensor], sigma_min: float, sigma_max: float) -> dict[str, list]:
    """DSM loss of the fitted model at 12 geometric noise levels on (up to 2000) held-out windows."""
    from finscore.diffusion import loss_per_sigma, sigmas_geometric

    dev = next(model.parameters()).device
    part = {k: v[-2000:].to(dev) for k, v in data.items()}
    sig = sigmas_geometric(12, sigma_min, sigma_max, append_zero=False)
    loss = loss_per_sigma(model, part.pop("x"), sig.float(), generator=torch.Generator(dev).manual_seed(0), **part)
    return {"sigma": sig.tolist(), "loss": loss.tolist()}


def _windows(values: np.ndarray, L: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """All (context, target) windows with stride 1: (N, L, d) and (N, H, d), N = T - L - H + 1."""
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(values, L + H, axis=0).transpose(0, 2, 1)  # (N, L + H, d)
    return np.ascontiguousarray(win[:, :L]), np.ascontiguousarray(win[:, L:])


def data_fingerprint(returns: pd.DataFrame) -> dict[str, Any]:
    """Identity of a training set: sha256 over dates, asset names and values (the exact float64 bytes).

    The dates enter as nanoseconds whatever the index's resolution (pandas 3 parses dates to microseconds,
    pandas 2 to nanoseconds), so the same dates give the same fingerprint under either."""
    h = hashlib.sha256()
    h.update(json.dumps(list(map(str, returns.columns))).encode())
    h.update(pd.DatetimeIndex(returns.index).as_unit("ns").asi8.tobytes())
    h.update(np.ascontiguousarray(returns.to_numpy(np.float64)).tobytes())
    return {"sha256": h.hexdigest(), "start": returns.index[0].isoformat(), "end": returns.index[-1].isoformat(),
            "n_dates": len(returns), "n_assets": returns.shape[1]}
