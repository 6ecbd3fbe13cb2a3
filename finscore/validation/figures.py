"""Validation figures: pure functions returning matplotlib Figures (no pyplot state, no display).

Inputs are the pieces of :class:`~finscore.validation.oos.EvaluationResult`: dicts keyed by
"real" and generator names of pooled windows (N, H, d) or stylized-fact dicts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_CURVES = {  # all curves start at lag 1
    "acf_abs": "ACF of |r| (within windows)",
    "acf_sq": "ACF of r² (within windows)",
    "acf_returns": "ACF of r (within windows)",
    "leverage": "corr(r_t, r²_{t+k})",
}
_MATRICES = {
    "correlation": ("daily return correlation", -1.0, 1.0, "RdBu_r"),
    "tail_lower": ("lower tail dependence at 5%", 0.0, 1.0, "viridis"),
    "tail_upper": ("upper tail dependence at 5%", 0.0, 1.0, "viridis"),
}


def _order(d: dict) -> list[str]:
    """'real' first, then the generators in insertion order."""
    return ["real"] * ("real" in d) + [k for k in d if k != "real"]


def qq_plot(windows: dict[str, np.ndarray], *, n_quantiles: int = 200, figsize=(5.5, 5.0)) -> Figure:
    """QQ plot of pooled daily returns of each generator against the real ones.

    All returns are standardized per asset with the REAL windows' mean and std, then pooled over
    assets; quantile levels are spaced uniformly in the normal scale so the tails are visible.

    windows : dict with "real" and generator names -> ndarray (N, H, d).
    """
    from scipy import stats

    real = windows["real"].reshape(-1, windows["real"].shape[-1])
    mu, sd = real.mean(axis=0), real.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    lo = 1.0 / (real.size + 1)
    probs = stats.norm.cdf(np.linspace(stats.norm.ppf(lo), stats.norm.ppf(1 - lo), n_quantiles))
    qr = np.quantile((real - mu) / sd, probs)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    for name in _order(windows)[1:]:
        g = windows[name].reshape(-1, real.shape[1])
        ax.plot(qr, np.quantile((g - mu) / sd, probs), ".", ms=3, label=name)
    lim = np.abs(qr).max()
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1, label="y = x")
    ax.set_xlabel("real quantile (daily log return, real std units)")
    ax.set_ylabel("generated quantile (daily log return, real std units)")
    ax.set_title("QQ plot of pooled standardized daily returns")
    ax.legend()
    return fig


def fact_curves(facts: dict[str, dict], key: str = "acf_abs", *, figsize=(6.0, 4.0)) -> Figure:
    """Curves of a lag-indexed fact (``acf_abs``, ``acf_sq``, ``acf_returns``, ``leverage``), real vs generators."""
    if key not in _CURVES:
        raise ValueError(f"key must be one of {sorted(_CURVES)}, got {key!r}")
    label = _CURVES[key]
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.subplots()
    for name in _order(facts):
        y = np.asarray(facts[name][key])
        style = dict(color="k", lw=2, marker="o", ms=3) if name == "real" else dict(marker=".", ms=3)
        ax.plot(np.arange(1, 1 + len(y)), y, label=name, **style)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("lag k (trading days)")
    ax.set_ylabel(label)
    ax.set_title(f"{label}: real vs generated")
    ax.legend()
    return fig


def matrix_heatmaps(facts: dict[str, dict], key: str = "correlation", assets=None, *, panel_size: float = 3.2) -> Figure:
    """Heatmaps of ``correlation``, ``tail_lower`` or ``tail_upper`` matrices, one panel per source."""
    if key not in _MATRICES:
        raise ValueError(f"key must be one of {sorted(_MATRICES)}, got {key!r}")
    label, vmin, vmax, cmap = _MATRICES[key]
    names = _order(facts)
    fig = Figure(figsize=(panel_size * len(names) + 1.0, panel_size), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, name in zip(axes, names):
        f = facts[name]
        mat = f["correlation"] if key == "correlation" else f["tail_dependence"][0 if key == "tail_lower" else 1]
        im = ax.imshow(mat, vmin=vmin, vmax=vmax, cmap=cmap)
        ax.set_title(name)
        ax.set_xlabel("asset")
        ax.set_ylabel("asset")
        if assets is not None and len(assets) <= 25:
            ax.set_xticks(range(len(assets)), assets, rotation=90, fontsize=6)
            ax.set_yticks(range(len(assets)), assets, fontsize=6)
    fig.colorbar(im, ax=list(axes), label=label, shrink=0.8)
    return fig


def fan_chart(paths: dict[str, np.ndarray], realized: np.ndarray, date=None, *, panel_size: float = 3.5) -> Figure:
    """Fan chart of cumulative portfolio returns per generator with the realized path.

    paths : dict generator -> ndarray (M, H) cumulative simple portfolio returns.
    realized : ndarray (H,) realized cumulative simple portfolio return.
    """
    names = [k for k in paths if k != "real"]
    fig = Figure(figsize=(panel_size * len(names) + 0.5, panel_size), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    h = len(realized)
    days = np.arange(h + 1)
    for ax, name in zip(axes, names):
        p = 100 * np.concatenate([np.zeros((paths[name].shape[0], 1)), paths[name]], axis=1)
        q = np.quantile(p, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.fill_between(days, q[0], q[4], alpha=0.25, color="C0", label="5–95%")
        ax.fill_between(days, q[1], q[3], alpha=0.45, color="C0", label="25–75%")
        ax.plot(days, q[2], color="C0", lw=1.5, label="median")
        ax.plot(days, 100 * np.concatenate([[0.0], realized]), color="k", lw=2, label="realized")
        ax.set_title(name)
        ax.set_xlabel("days ahead (trading days)")
    axes[0].set_ylabel("cumulative portfolio return (%)")
    axes[0].legend(loc="upper left", fontsize=7)
    if date is not None:
        fig.suptitle(f"Scenario fan chart from {pd.Timestamp(date).date()}")
    return fig
