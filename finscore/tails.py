"""Heavy-tailed marginals for the diffusion: a per-asset Tukey h transform of the scaled targets.

A score model trained on fat-tailed data with a few-step ODE sampler reproduces the body of the
marginal but thins its tails (benchmarks/quality.md, item 14: even on its own training dates the
model's daily Hill index was 2.72 against 2.44 in the data). The transform moves the tails out of the
diffusion: the scaled target ``z`` of asset ``i`` is modelled as a Tukey h variable

    z = loc_i + s_i * g * exp(h_i g^2 / 2),   g ~ N(0, 1) marginally,

(Tukey 1977; Goerg 2015, "The Lambert Way to Gaussianize heavy-tailed data", whose Lambert-W inverse
is used here), whose tails are Pareto with index ``1 / h_i``. The diffusion learns the joint law of
the Gaussianized ``g = T^{-1}(z)`` (dependence, volatility clustering within the window, the condition)
and a sampled ``g`` maps back through ``T``. ``h_i = 0`` is the identity up to ``loc`` and ``s``.

``TukeyH.fit(z, two_sided=True)`` fits Tukey's hh variant (Morgenthaler & Tukey 2000): ``h`` for
``g > 0`` and ``h_left`` for ``g < 0``, for skewed tails such as a market's (crashes are larger than
rallies). :class:`MarketTails` applies it to the cross-sectional mean of the model-space windows before
training; :class:`MarketMatch` maps the trained model's sampled mean onto the data's after training.

With ``tail_state="vol"`` (GJR-filtered targets) the tail parameters vary with the day's volatility state:
``h_i(rho) = h_i rho^(-kappa_i)`` with ``rho`` the day's GJR volatility over its long-run level, ``kappa_i``
fitted by maximum likelihood with the rest. Idiosyncratic jumps (earnings, takeovers) have a size in
return units, so in GJR units they are large when volatility is low and small when it is high: on the sp500
training returns up to 2016 the innovations' kurtosis is 34.5 below 0.7 times the long-run volatility and 4.2
above 2.5 times it (benchmarks/quality.md, item 31). A constant ``h`` carries calm-day jumps into crash states:
there a 5-sigma Gaussian draw became a daily log return of -1.4 (item 31; off by default, as it cost 0.2% on
the 2008-2009 path score).

Beyond the largest ``|g|`` of the training data (``g_max``, per asset) ``T`` continues linearly with
its slope there, so a sampler's stray ``g`` cannot turn into an astronomically large return: the tails
are Pareto up to the most extreme training day (in units of the target scale) and Gaussian-thin beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import optimize

TAIL_MODELS = ("none", "tukey_h", "tukey_hh")  # "tukey_hh": two-sided, one h per tail
MARKET_TAILS = ("none", "tukey_hh", "matched", "matched_tails")  # "matched*": MarketMatch, fitted after training
_MAX_FIT = 50_000  # values per asset used by the maximum-likelihood fit (a strided subsample beyond)


def _as_columns(v: Any, like) -> Any:
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=like.dtype, device=like.device)
    return np.asarray(v, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class TukeyH:
    """Per-asset Tukey h marginal transform (d assets), fitted by maximum likelihood.

    Attributes
    ----------
    loc, scale, h : ndarray (d,)
        Location, body scale and tail parameter (tail index ``1 / h``) of each asset's scaled target; with
        ``h_left`` set, ``h`` is the right tail's.
    g_max : ndarray (d,)
        Largest ``|g|`` of the training values; ``T`` is linear beyond it.
    h_left : ndarray (d,) or None
        Tail parameter of the left tail (``g < 0``); None: ``h`` (the symmetric transform).
    kappa : ndarray (d,) or None
        Exponent of the volatility state in both tail parameters, ``h rho^(-kappa)``; None: zeros (tails that
        do not depend on the state; ``rho`` is then ignored).
    """

    loc: np.ndarray
    scale: np.ndarray
    h: np.ndarray
    g_max: np.ndarray
    h_left: np.ndarray | None = None
    kappa: np.ndarray | None = None

    _FIELDS = ("loc", "scale", "h", "g_max", "h_left", "kappa")

    def __post_init__(self) -> None:
        if self.h_left is None:
            object.__setattr__(self, "h_left", self.h)
        if self.kappa is None:
            object.__setattr__(self, "kappa", np.zeros_like(np.asarray(self.h, dtype=np.float64)))
        arrs = [np.asarray(getattr(self, k), dtype=np.float64).reshape(-1) for k in self._FIELDS]
        if len({a.shape for a in arrs}) != 1:
            raise ValueError(f"TukeyH: loc, scale, h, g_max, h_left and kappa must have one value per asset, got shapes "
                             f"{[a.shape for a in arrs]}")
        if not all(np.all(np.isfinite(a)) for a in arrs):
            raise ValueError("TukeyH: parameters must be finite")
        if np.any(arrs[1] <= 0) or np.any(arrs[2] < 0) or np.any(arrs[3] <= 0) or np.any(arrs[4] < 0):
            raise ValueError("TukeyH: scale and g_max must be > 0, h >= 0 and h_left >= 0")
        for k, a in zip(self._FIELDS, arrs):
            object.__setattr__(self, k, a)

    # ----------------------------------------------------------------- fit
    @classmethod
    def fit(cls, z: np.ndarray, two_sided: bool = False, ratio: np.ndarray | None = None) -> TukeyH:
        """Maximum-likelihood fit per asset.

        Parameters
        ----------
        z : ndarray (..., d) of scaled targets (e.g. windows (N, H, d)); the last axis is the asset.
        two_sided : fit one tail parameter per side (``h_left``, ``h``) instead of one for both.
        ratio : ndarray shaped like ``z``, positive, or None
            Each value's volatility state ``rho`` (its GJR volatility over the long-run one): also fit
            ``kappa`` (tail parameters ``h rho^(-kappa)``, kappa clipped to [0, 2]). None: ``kappa = 0``.

        The log-likelihood of one value is ``log phi(g) - log s - h g^2 / 2 - log(1 + h g^2)`` with
        ``g = T^{-1}(z)`` (Goerg 2015, eq. 10), ``h`` the parameter of the value's side (and state).
        """
        z = np.asarray(z, dtype=np.float64)
        if z.ndim < 1 or z.shape[-1] == 0:
            raise ValueError(f"TukeyH.fit needs values with an asset axis last, got shape {z.shape}")
        cols = z.reshape(-1, z.shape[-1])
        bad = ~np.isfinite(cols).all(axis=0)
        if bad.any():
            raise ValueError(f"TukeyH.fit: non-finite values in asset column(s) {np.flatnonzero(bad).tolist()}")
        if len(cols) < 50:
            raise ValueError(f"TukeyH.fit needs at least 50 values per asset, got {len(cols)}")
        rcols = None
        if ratio is not None:
            ratio = np.asarray(ratio, dtype=np.float64)
            if ratio.shape != z.shape:
                raise ValueError(f"TukeyH.fit: ratio has shape {ratio.shape}, z has {z.shape}")
            if not (np.all(np.isfinite(ratio)) and np.all(ratio > 0)):
                raise ValueError("TukeyH.fit: ratio must be finite and > 0")
            rcols = _clip_ratio(ratio.reshape(cols.shape))
        step = max(1, len(cols) // _MAX_FIT)
        params = [_fit_one(c[::step], two_sided, None if rcols is None else rcols[::step, i])
                  for i, c in enumerate(cols.T)]
        loc, scale, h, h_left, kappa = (np.array(p) for p in zip(*params))
        u = (cols - loc) / scale
        f = 1.0 if rcols is None else rcols ** -kappa
        g = _lambert_inverse(u, np.where(u < 0, h_left, h) * f)
        return cls(loc, scale, h, np.maximum(np.abs(g).max(axis=0), 1.0), h_left, kappa)

    @property
    def state_dependent(self) -> bool:
        """True when a tail parameter depends on the volatility state (some ``kappa != 0``)."""
        return bool(np.any(self.kappa != 0))

    def _tails(self, like, ratio):
        """(h, h_left) as columns of ``like``, times ``rho^(-kappa)`` when ``ratio`` is given."""
        h, hl = _as_columns(self.h, like), _as_columns(self.h_left, like)
        if ratio is None or not self.state_dependent:
            return h, hl
        f = _clip_ratio(ratio) ** -_as_columns(self.kappa, like)
        return h * f, hl * f

    # ------------------------------------------------------------ transform
    def to_gaussian(self, z, ratio=None):
        """``g = T^{-1}(z)`` (..., d) by Lambert W: numpy (the inverse used on training targets), or a torch
        tensor (differentiable, keeps the device; equal to the numpy result to rounding). ``ratio``: each
        value's volatility state ``rho`` (shaped like ``z``; used when ``kappa != 0``; None: ``rho = 1``)."""
        if isinstance(z, torch.Tensor):
            return self._to_gaussian_torch(z, ratio)
        z = np.asarray(z, dtype=np.float64)
        h, hl = self._tails(z, None if ratio is None else np.asarray(ratio, dtype=np.float64))
        u = (z - self.loc) / self.scale
        g = _lambert_inverse(u, np.where(u < 0, hl, h))
        return _linear_beyond(u, g, self.g_max, h, hl)

    def _to_gaussian_torch(self, z: torch.Tensor, ratio=None) -> torch.Tensor:
        h, hl = self._tails(z, ratio)
        u = (z - _as_columns(self.loc, z)) / _as_columns(self.scale, z)
        x = torch.where(u < 0, hl, h) * u * u
        with torch.no_grad():  # Lambert W by Halley's iteration in float64 on x's device, then one Newton step
            w0 = _lambertw(x.detach().double()).to(z.dtype)
        w = w0 - (w0 * torch.exp(w0) - x) / (torch.exp(w0) * (w0 + 1))  # the value w0, the slope dW/dx
        g = u * torch.exp(-w / 2)  # g exp(h g^2 / 2) = u  <=>  g = u exp(-W(h u^2) / 2)
        return _linear_beyond(u, g, _as_columns(self.g_max, z), h, hl)

    def from_gaussian(self, g, ratio=None):
        """``z = T(g)`` (..., d) for a numpy array or a torch tensor (differentiable; keeps the device).
        ``ratio``: each value's volatility state ``rho`` (broadcasts against ``g``; used when ``kappa != 0``;
        None: ``rho = 1``)."""
        h, hl = self._tails(g, ratio)
        gm = _as_columns(self.g_max, g)
        loc, s = _as_columns(self.loc, g), _as_columns(self.scale, g)
        xp = torch if isinstance(g, torch.Tensor) else np
        side = xp.where(g < 0, hl, h)  # the tail parameter of each value's side
        inside = xp.minimum(xp.maximum(g, -gm), gm)
        excess = g - inside
        u = _tukey(inside, side) + excess * _tukey_slope(gm, side)
        return loc + s * u

    def to_dict(self) -> dict[str, list[float]]:
        return {k: getattr(self, k).tolist() for k in self._FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TukeyH:
        """Inverse of :meth:`to_dict`; dicts written before ``h_left`` (``kappa``) existed give the symmetric
        (state-free) transform."""
        return cls(**{k: np.asarray(d[k], dtype=np.float64) for k in cls._FIELDS if d.get(k) is not None})


_KAPPA_MAX = 2.0  # kappa is fitted in [0, _KAPPA_MAX]


def _clip_ratio(ratio):
    """The volatility state, clipped to [1/8, 8]: beyond, ``rho^(-kappa)`` stays at its value there."""
    if isinstance(ratio, torch.Tensor):
        return ratio.clamp(0.125, 8.0)
    return np.clip(ratio, 0.125, 8.0)


def _linear_beyond(u, g, g_max, h, h_left):
    """``g`` (the inverse of the Tukey part) with the inverse of ``T``'s linear pieces beyond ``+-g_max``
    where ``u`` (standardized values) lies beyond them; numpy or torch."""
    xp = torch if isinstance(u, torch.Tensor) else np
    z_edge, slope = _tukey(g_max, h), _tukey_slope(g_max, h)
    z_left, slope_left = _tukey(g_max, h_left), _tukey_slope(g_max, h_left)
    out = xp.where(u > z_edge, g_max + (u - z_edge) / slope, g)
    return xp.where(u < -z_left, -g_max + (u + z_left) / slope_left, out)


def _tukey(g, h):
    xp = torch if isinstance(g, torch.Tensor) else np
    return g * xp.exp(h * g * g / 2)


def _tukey_slope(g, h):
    xp = torch if isinstance(g, torch.Tensor) else np
    return xp.exp(h * g * g / 2) * (1 + h * g * g)


def _lambert_inverse(u: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``g`` with ``g exp(h g^2 / 2) = u`` (elementwise; ``h`` broadcasts over the last axis)."""
    h = np.broadcast_to(h, u.shape)
    out = u.copy()
    pos = h > 0
    w = _lambertw(h[pos] * u[pos] ** 2)
    out[pos] = np.sign(u[pos]) * np.sqrt(w / h[pos])
    return out


def _lambertw(x):
    """Principal branch of Lambert W for ``x >= 0`` by Halley's iteration (to machine precision); a numpy
    array or a torch tensor (float64 for full precision; no gradient: see ``TukeyH._to_gaussian_torch``)."""
    xp = torch if isinstance(x, torch.Tensor) else np
    w = xp.log1p(x)
    big = x > 3
    w = xp.where(big, w - xp.log(xp.where(big, w, 1.0)), w)  # log x - log log x start for large x
    for _ in range(20):
        ew = xp.exp(w)
        f = w * ew - x
        step = f / (ew * (w + 1) - (w + 2) * f / (2 * w + 2))
        w = w - step
        if bool((xp.abs(step) <= 1e-14 * (1 + xp.abs(w))).all()):
            break
    return w


def _nll(theta: np.ndarray, z: np.ndarray, ratio: np.ndarray | None = None) -> float:
    """Mean negative log-likelihood; theta = (loc, log s, log h[, log h_left][, kappa]): kappa (the exponent
    of each value's volatility state ``ratio``) when ``ratio`` is given, h_left when one more is left."""
    loc, log_s = theta[:2]
    s = np.exp(log_s)
    u = (z - loc) / s
    two_sided = len(theta) - (ratio is not None) == 4
    h = np.where(u < 0, np.exp(theta[3]), np.exp(theta[2])) if two_sided else np.exp(theta[2])
    if ratio is not None:
        h = h * ratio ** -np.clip(theta[-1], 0.0, _KAPPA_MAX)
    g = _lambert_inverse(u, h)
    g2 = g * g
    return float(np.mean(0.5 * g2 + log_s + 0.5 * h * g2 + np.log1p(h * g2)))


def _fit_one(z: np.ndarray, two_sided: bool = False,
             ratio: np.ndarray | None = None) -> tuple[float, float, float, float, float]:
    """(loc, scale, h, h_left, kappa) of one column; h_left = h unless ``two_sided``, kappa = 0 without
    ``ratio``. With ``ratio`` the state-free fit is the start of the fit with kappa."""
    med = float(np.median(z))
    iqr_s = float(np.subtract(*np.percentile(z, [75, 25]))) / 1.349 or float(np.std(z)) or 1.0
    theta0 = np.array([med, np.log(iqr_s), np.log(0.1)] + ([np.log(0.1)] if two_sided else []))
    opts = {"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000 * (1 + two_sided)}
    res = optimize.minimize(_nll, theta0, args=(z,), method="Nelder-Mead", options=opts)
    theta, kappa = res.x, 0.0
    if ratio is not None:
        res = optimize.minimize(_nll, np.r_[res.x, 0.1], args=(z, ratio), method="Nelder-Mead",
                                options={**opts, "maxiter": opts["maxiter"] * 2})
        theta, kappa = res.x[:-1], float(np.clip(res.x[-1], 0.0, _KAPPA_MAX))
    h = [float(np.exp(v)) for v in theta[2:]]
    h = [v if v > 1e-6 else 0.0 for v in h]
    return float(theta[0]), float(np.exp(theta[1])), h[0], h[-1], kappa


@dataclass(frozen=True, eq=False)
class MarketTails:
    """Gaussianized tails of the cross-sectional mean of model-space windows (``market_tails="tukey_hh"``).

    After the per-asset transform and the correlation map, the mean over the assets of a window (its
    equal-weight, "market" direction) still has fat, skewed tails: crashes hit every asset on the same day,
    which per-asset margins joined by a near-Gaussian dependence cannot reproduce (``benchmarks/quality.md``,
    item 23). This map replaces each day's mean ``m`` (B, H) by ``m' = loc + s T^{-1}((m - loc) / s)`` with a
    two-sided Tukey hh ``T`` fitted on the training windows' means, and keeps every asset's deviation from
    the mean: the body (location and scale) stays, the tails become Gaussian. Samples are mapped back by
    ``T``. Measured on sp500 the sampled market tail overshoots the data's (ES 1% 13% too fat, where the
    model without the map is 7% too thin), so the map is an option, off by default.

    Attributes
    ----------
    tail : TukeyH of one column (two-sided), fitted on the means of the training windows.
    """

    tail: TukeyH

    @classmethod
    def fit(cls, x: np.ndarray) -> MarketTails:
        """Fit on model-space training windows ``x`` (N, H, d)."""
        return cls(_mean_law(x, "MarketTails.fit", "windows", min_assets=1))

    def to_model(self, x: np.ndarray) -> np.ndarray:
        """Windows (B, H, d) with their daily means' tails Gaussianized (numpy)."""
        t = self.tail
        return _map_daily_mean(np.asarray(x, dtype=np.float64), lambda m: t.loc + t.scale * t.to_gaussian(m))

    def from_model(self, y: Any) -> Any:
        """Inverse of :meth:`to_model` (B, H, d); numpy or torch (differentiable)."""
        t = self.tail
        return _map_daily_mean(y, lambda m: t.from_gaussian((m - _as_columns(t.loc, m)) / _as_columns(t.scale, m)))

    def to_dict(self) -> dict[str, list[float]]:
        return self.tail.to_dict()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MarketTails:
        return cls(TukeyH.from_dict(d))


@dataclass(frozen=True, eq=False)
class MarketMatch:
    """The sampled market direction mapped onto the data's (``market_tails="matched"``).

    :class:`MarketTails` retrains the network on windows whose market direction was Gaussianized, and the
    network then does not return a Gaussian direction (its scenarios overshoot the data's crash tail;
    ``benchmarks/quality.md``, items 23 and 25). This map leaves training alone and corrects what the trained
    network does: after fitting, the model samples its own windows at training dates, and a two-sided Tukey
    hh law ``S`` is fitted to the daily means over the assets of those model-space samples, and another,
    ``D``, to the training windows' means. A sampled day's mean ``m`` becomes ``D(S^{-1}(m))``, which has the
    law ``D`` when ``m`` has the law ``S`` (location, scale, skew and both tails); each asset's deviation
    from the mean is kept. With ``S = D`` the map is the identity. ``fit(..., body="model")``
    (``market_tails="matched_tails"``) keeps the model's location and scale in ``D`` and takes only the
    data's two tail parameters: the tails' shape is corrected and the body left as the network made it.
    Both are options, off by default: the map gained on the 2008-2009 selection fold, was level on 2017-2018
    and made the 2019-2022 forecasts worse; the tails-only variant was worse on 2017-2018 (item 25).

    Attributes
    ----------
    source : TukeyH of one column (two-sided), fitted on the model's sampled means.
    target : TukeyH of one column (two-sided), fitted on the training windows' means.
    """

    source: TukeyH
    target: TukeyH

    @classmethod
    def fit(cls, samples: np.ndarray, data: np.ndarray, body: str = "data") -> MarketMatch:
        """Fit on model-space windows: the model's ``samples`` (M, H, d) and the training ``data`` (N, H, d);
        ``body`` "data" (the whole law) or "model" (the data's tail parameters on the samples' body)."""
        if body not in ("data", "model"):
            raise ValueError(f'MarketMatch.fit: body must be "data" or "model", got {body!r}')
        source, target = (_mean_law(x, "MarketMatch.fit", name, min_assets=2)
                          for name, x in (("samples", samples), ("data", data)))
        if body == "model":
            target = TukeyH(source.loc, source.scale, target.h, target.g_max, target.h_left)
        return cls(source, target)

    def from_model(self, y: Any) -> Any:
        """Sampled model-space windows (B, H, d) with their daily means mapped; numpy or torch (differentiable)."""
        return _map_daily_mean(y, lambda m: self.target.from_gaussian(self.source.to_gaussian(m)))

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MarketMatch:
        return cls(TukeyH.from_dict(d["source"]), TukeyH.from_dict(d["target"]))


def _mean_law(x: np.ndarray, who: str, name: str, min_assets: int) -> TukeyH:
    """Two-sided Tukey hh law (one column) of the daily means over the assets of windows ``x`` (N, H, d)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] < min_assets:
        need = f" with d >= {min_assets}" if min_assets > 1 else ""
        raise ValueError(f"{who} needs {name} of shape (N, H, d){need}, got {x.shape}")
    return TukeyH.fit(x.mean(axis=2)[..., None], two_sided=True)


def _map_daily_mean(y: Any, f) -> Any:
    """Windows ``y`` (B, H, d) with each day's mean over the assets ``m`` (B, H, 1) replaced by ``f(m)`` and every
    asset's deviation from it kept; numpy or torch."""
    m = y.sum(-1)[..., None] / y.shape[-1]
    return y + (f(m) - m)
