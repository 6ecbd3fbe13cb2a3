"""Two choices of the GJR volatility filter, judged by its 1-day variance forecasts alone (no network).

The model's targets are GJR innovations: the filter (``state.vol_model="gjr"``) sets every forecast's
scale and the network learns what it leaves. Two alternatives to the default filter (GJR-GARCH(1,1)-t,
fitted by maximum likelihood on the rows before the validation windows), each fitted on the same rows per
asset and then run with fixed parameters through the whole sample:

* ``normal``: fitted by Gaussian quasi-maximum likelihood, whose standardized residuals have close to
  unit variance in sample (its first-order conditions; the t fit's need not: it gives large shocks less
  weight);
* ``t, recent z^2 (L, k)``: the t filter's variance times ``1 + k (zbar2 - 1)``, ``zbar2`` the mean squared
  innovation of the ``L`` days before the forecast: a scale-free correction for a filter that has been
  lagging (its innovations too large) or leading, the same in any regime.

Scored by QLIKE, ``mean(e^2 / v + log v)`` per asset and day (``e`` the demeaned return in percent, ``v`` the
forecast variance; lower is better; forecasts off by a factor ``exp(c)`` on every day cost
``exp(-c) + c - 1 ~ c^2 / 2`` more, so +0.005 is like a uniform 10% error in the variance), averaged over
assets, on the fitting rows and on each fold's test years; the table gives the difference to the default
filter and, for it, ``E[z^2]`` (1 when the forecasts' scale is right on average).

Usage::

    python benchmarks/vol_filter.py --data sp500

Writes ``benchmarks/results/vol_filter_<data>.md`` (with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import pandas as pd
from _common import header, md_table, prepare, publish
from arch import arch_model
from quality import PERIODS

from finscore.generator import training_rows
from finscore.presets import PRESETS

CORRECTIONS = ((60, 0.25), (60, 0.5), (250, 0.25), (250, 0.5))  # (L, k) of the recent-z^2 correction
FOLDS = ("val", "crisis", "report")
BURN_IN = 250  # first rows left out of the scores: the filter starts from the unconditional variance


def filtered(y: pd.Series, fit_end: pd.Timestamp, dist: str) -> tuple[pd.Series, pd.Series]:
    """(variance forecasts (T,), squared demeaned returns (T,)) of one asset in percent^2, parameters fitted
    on the rows up to ``fit_end``."""
    spec = {"mean": "Constant", "vol": "GARCH", "p": 1, "o": 1, "q": 1, "dist": dist, "rescale": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = arch_model(y.loc[:fit_end], **spec).fit(disp="off", show_warning=False).params
    v = arch_model(y, **spec).fix(params).conditional_volatility ** 2
    return v, (y - params["mu"]) ** 2


def qlike(v: pd.Series, e2: pd.Series) -> pd.Series:
    return e2 / v + np.log(v)


def fold_rows(returns: pd.DataFrame, fold: str) -> list[dict]:
    """The table's rows of one fold; none where the data do not cover its training and test years."""
    train_end, start, end = PERIODS[fold]
    cfg = PRESETS["default"]
    n_rows = len(returns.loc[:train_end])
    if n_rows < BURN_IN + 2 * (cfg.context + cfg.horizon) or returns.loc[start:end].empty:
        return []
    fit_end = returns.index[training_rows(n_rows, cfg) - 1]  # the model's GJR fitting rows end here
    spans = {"fitting rows": slice(returns.index[BURN_IN], fit_end), "test years": slice(start, end)}
    scores: dict[str, dict[str, list[float]]] = {}
    z2: dict[str, list[float]] = {s: [] for s in spans}
    for asset in returns.columns:
        y = 100.0 * returns[asset]
        v_t, e2_t = filtered(y, fit_end, "t")
        v_n, e2_n = filtered(y, fit_end, "normal")
        z = e2_t / v_t
        cands = {"default (t)": qlike(v_t, e2_t), "normal": qlike(v_n, e2_n)}
        for L, k in CORRECTIONS:
            zbar = z.rolling(L).mean().shift(1)  # the L days before the forecast: no look-ahead
            cands[f"t, recent z^2 (L={L}, k={k})"] = qlike(v_t * (1.0 + k * (zbar - 1.0)), e2_t)
        for name, q in cands.items():
            for s, sl in spans.items():
                scores.setdefault(name, {}).setdefault(s, []).append(float(q.loc[sl].mean()))
        for s, sl in spans.items():
            z2[s].append(float(z.loc[sl].mean()))
    base = {s: np.mean(scores["default (t)"][s]) for s in spans}
    test = f"{fold} {start[:4]}-{(end or str(returns.index[-1].date()))[:4]}"
    rows = []
    for name, by_span in scores.items():
        row = {"fold (test years)": test, "filter": name}
        for s in spans:
            m = float(np.mean(by_span[s]))
            row[f"QLIKE, {s}"] = f"{m:.4f}" if name.startswith("default") else f"{m - base[s]:+.4f}"
        row["E[z^2] fitting rows / test"] = (f"{np.mean(z2['fitting rows']):.3f} / {np.mean(z2['test years']):.3f}"
                                            if name.startswith("default") else "")
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="sp500")
    args = p.parse_args(argv)
    returns = prepare(args.data, 1)
    by_fold = {fold: fold_rows(returns, fold) for fold in FOLDS}
    rows = [r for rs in by_fold.values() for r in rs]
    missing = [f for f, r in by_fold.items() if not r]
    lines = header(f"The GJR filter's 1-day variance forecasts, `{args.data}`", "vol_filter.py",
                   sys.argv[1:] if argv is None else argv)
    lines += ["", ("Each fold's filters are fitted on the rows the default model fits its filter on (those before "
                   f"its validation windows; the first {BURN_IN} rows are left out of the scores, the filter's burn-in). "
                   "QLIKE: the default's value, the others' difference to it (negative: better)."
                   + (f" Folds the data do not cover: {', '.join(missing)}." if missing else "")), "",
              md_table(pd.DataFrame(rows).set_index("fold (test years)")), "", ""]
    publish(lines, f"vol_filter_{args.data}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
