"""Backtest figures: pure functions of a BacktestResult returning matplotlib Figures."""

from __future__ import annotations

import numpy as np

from finscore.risk.coverage import traffic_light_bounds

ZONE_COLORS = {"green": "#4caf50", "yellow": "#ffc107", "red": "#e53935"}


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
        return fig, ax
    return ax.figure, ax


def plot_var_backtest(result, level: float | None = None, *, ax=None):
    """Realized portfolio returns against the -VaR and -ES forecasts, exceedances marked.

    Parameters
    ----------
    result : BacktestResult.
    level : level to draw (default: the highest backtested level).
    ax : optional matplotlib Axes to draw into.

    Returns
    -------
    matplotlib Figure.
    """
    lv = max(result.levels) if level is None else result._level(level)
    fig, ax = _axes(ax, (10, 4))
    dates, y = result.realized.index, 100 * result.realized.to_numpy()
    hits = result.exceedances[lv].to_numpy()
    days = f"{result.horizon_days}-day" if result.horizon_days > 1 else "1-day"
    ax.plot(dates, y, lw=0.7, color="0.45", label=f"realized {days} return")
    ax.plot(dates, -100 * result.var[lv].to_numpy(), lw=1.2, color="C0", label=f"-VaR {lv:.1%}")
    ax.plot(dates, -100 * result.es[lv].to_numpy(), lw=1.0, ls="--", color="C1", label=f"-ES {lv:.1%}")
    ax.scatter(dates[hits], y[hits], marker="x", color="red", zorder=3, s=30,
               label=f"exceedances ({int(hits.sum())} of {hits.size}; expected {hits.size * (1 - lv):.1f})")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xlabel("forecast date")
    ax.set_ylabel(f"portfolio {days} return (%)")
    ax.set_title(f"VaR / ES backtest at {lv:.1%} ({result.metadata.get('generator', 'generator')})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return fig


def plot_traffic_light(result, *, ax=None):
    """Exceedance count per level against its Basel traffic-light zones (binomial rule).

    One horizontal bar per level: green, yellow and red spans of exceedance counts for the
    backtest's sample size, with the observed count marked.

    Returns
    -------
    matplotlib Figure.
    """
    from matplotlib.patches import Patch

    fig, ax = _axes(ax, (8, 1.6 + 0.6 * len(result.levels)))
    counts = result.exceedances.sum(axis=0)
    bounds = {lv: traffic_light_bounds(result.n_obs, lv) for lv in result.levels}
    xmax = max(max(max(y + 1 + max(3, y - g), int(counts[lv]) + 2) for lv, (g, y) in bounds.items()), 1)
    for row, lv in enumerate(result.levels):
        green, yellow = bounds[lv]
        spans = ((-0.5, green + 0.5, "green"), (green + 0.5, yellow + 0.5, "yellow"), (yellow + 0.5, xmax, "red"))
        for lo, hi, zone in spans:
            ax.barh(row, hi - lo, left=lo, height=0.6, color=ZONE_COLORS[zone], alpha=0.75)
        ax.plot(int(counts[lv]), row, marker="D", color="black", ms=8, ls="none")
    ax.set_yticks(np.arange(len(result.levels)), [f"{lv:.1%}" for lv in result.levels])
    ax.set_xlim(-0.5, xmax)
    ax.set_xlabel(f"number of exceedances in {result.n_obs} forecasts")
    ax.set_ylabel("VaR level")
    handles = [Patch(color=ZONE_COLORS[z], alpha=0.75, label=z) for z in ZONE_COLORS]
    handles.append(ax.lines[0] if ax.lines else Patch(color="black"))
    handles[-1].set_label("observed")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.3 / len(result.levels)),
              fontsize="small", ncol=4, frameon=False)
    ax.set_title("Basel traffic light (green: P(X <= x) < 95%, red: >= 99.99%)")
    return fig
