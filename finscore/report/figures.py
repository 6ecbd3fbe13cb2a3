"""Report-only figures (training record, stress losses): pure functions returning matplotlib Figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

WIDTH = 6.6  # inches: the report's body width less a little air


def training_curves(history: pd.DataFrame, *, best_step: float | None = None) -> Figure:
    """Training and validation DSM loss against the optimizer step.

    history : DataFrame with columns ``step``, ``train_loss`` and optionally ``val_loss``.
    """
    fig = Figure(figsize=(WIDTH, 3.2), layout="constrained")
    ax = fig.subplots()
    h = history.sort_values("step")
    ax.plot(h["step"], h["train_loss"], lw=1.2, color="C0", label="training loss")
    if "val_loss" in h and h["val_loss"].notna().any():
        v = h.dropna(subset=["val_loss"])
        ax.plot(v["step"], v["val_loss"], lw=1.5, marker="o", ms=3, color="C1", label="validation loss")
    if best_step is not None and np.isfinite(best_step):
        ax.axvline(best_step, color="0.4", ls=":", lw=1, label=f"best step ({int(best_step)})")
    positive = h["train_loss"].dropna()
    if len(positive) and (positive > 0).all() and positive.max() / positive.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("DSM loss (standardized units)")
    ax.set_title("Denoising score-matching loss during training")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def loss_per_noise_level(frame: pd.DataFrame) -> Figure:
    """Validation DSM loss at fixed noise levels sigma (log-scale x axis).

    frame : DataFrame with columns ``sigma`` and ``loss``.
    """
    fig = Figure(figsize=(WIDTH, 3.0), layout="constrained")
    ax = fig.subplots()
    f = frame.sort_values("sigma")
    ax.plot(f["sigma"], f["loss"], marker="o", ms=4, lw=1.2, color="C2", label="DSM loss at sigma")
    ax.set_xscale("log")
    ax.set_xlabel("noise level sigma (standardized return units, log scale)")
    ax.set_ylabel("DSM loss (standardized units)")
    ax.set_title("DSM loss per noise level")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


def stress_losses(guided: np.ndarray, rejection: np.ndarray, *, threshold: float | None = None,
                  alpha: float | None = None, horizon_days: int | None = None) -> Figure:
    """Histograms and empirical CDFs of guided vs rejection-sampled portfolio losses (in %).

    guided : ndarray (n_g,), rejection : ndarray (n_r,) losses as fractions of book value (may be empty).
    """
    fig = Figure(figsize=(WIDTH, 3.3), layout="constrained")
    ax_h, ax_c = fig.subplots(1, 2)
    days = f"{horizon_days}-day " if horizon_days else ""
    series = [("guided", 100 * np.asarray(guided), "C3")]
    if np.size(rejection):
        series.append(("rejection", 100 * np.asarray(rejection), "C0"))
    both = np.concatenate([s for _, s, _ in series])
    bins = np.linspace(both.min(), both.max(), 31) if np.ptp(both) > 0 else 10
    for name, x, color in series:
        ax_h.hist(x, bins=bins, density=True, alpha=0.45, color=color, label=f"{name} (n={x.size})")
        xs = np.sort(x)
        ax_c.step(xs, np.arange(1, xs.size + 1) / xs.size, where="post", color=color, label=name)
    for ax in (ax_h, ax_c):
        if threshold is not None:
            label = f"VaR {alpha:.0%}" if alpha is not None else "threshold"
            ax.axvline(100 * threshold, color="k", ls="--", lw=1, label=label)
        ax.set_xlabel(f"portfolio {days}loss (% of value)")
        ax.grid(alpha=0.3)
    ax_h.set_ylabel("density (1 / %)")
    ax_h.set_title("loss distribution")
    ax_c.set_ylabel("cumulative probability")
    ax_c.set_title("empirical CDF")
    ax_h.legend(fontsize=7)
    ax_c.legend(fontsize=7, loc="lower right")
    return fig
