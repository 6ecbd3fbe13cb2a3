"""How wide is the first forecast day, asset by asset and for the equal-weight book, and why? Model vs GARCH.

Item 47 of ``quality.md`` found the model's 1-day 95% VaR slightly too wide on 2019-2022. This splits the
first day's spread into its parts. For a fitted model (same cache and split as ``quality.py``) and the GARCH
baseline fitted on the same rows, on every ``--every``-th day t of ``--period`` both draw ``--n`` scenarios of
day t from the 250 days before it (the contexts ``quality.py`` gives them) and the script reports, averaged
over the days:

* ``z2_asset``: the realized squared error over the forecast variance, per asset (1 when calibrated);
* ``z2_book``: the same for the equal-weight book;
* ``sd``: the forecast standard deviation, averaged over the assets;
* ``gjr_sd``: the first day's GJR standard deviation of each generator's own filter (the model's is fitted on
  its training rows, those before its validation windows; GARCH's on every row up to the training end);
* ``innovation_sd``: ``sd / gjr_sd`` per asset and day, averaged: the spread of the standardized
  innovation each one draws;
* ``corr``: the average pairwise correlation of the scenarios;
* ``q05``, ``q01``: the book's 5% and 1% quantiles (the 95% and 99% VaR, negated).

A second table needs no sampling: the mean over assets of ``E[z^2]`` with ``z`` the innovations of the
model's own GJR filter run through the data (training rows, the rest of the training period, the selection
years 2017-2018 and the reporting years): how large the innovations are that its network learned, and
how large they were later.

Usage::

    python benchmarks/day1_width.py --period report --seed 0

Writes ``benchmarks/results/day1_width_<data>_<period>_<tag>.md`` (with the command, machine and date).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from _common import header, md_table, model_arguments, prepare, publish
from quality import PERIODS, _fitted, parse_overrides

from finscore.baselines import GARCH
from finscore.correlation import average_correlation
from finscore.generator import training_rows

CONTEXT = 250  # rows of history quality.py's evaluation gives every generator


def day_stats(x: np.ndarray, realized: np.ndarray, gjr_var: np.ndarray) -> dict[str, float]:
    """The module docstring's columns for one day: scenarios x (n, d), realized returns (d,), GJR variance (d,)."""
    var = x.var(axis=0)
    book = x.mean(axis=1)
    return {"z2_asset": float(np.mean((realized - x.mean(axis=0)) ** 2 / var)),
            "z2_book": float((realized.mean() - book.mean()) ** 2 / book.var()),
            "sd": float(np.sqrt(var).mean()), "gjr_sd": float(np.sqrt(gjr_var).mean()),
            "innovation_sd": float(np.mean(np.sqrt(var / gjr_var))), "corr": float(average_correlation(x[None])[0]),
            "q05": float(np.quantile(book, 0.05)), "q01": float(np.quantile(book, 0.01))}


def innovation_variance(gen, returns: pd.DataFrame, train_end: str, test: tuple[str, str | None]) -> pd.DataFrame:
    """Mean over assets of E[z^2] of the model's GJR innovations, by span of the data."""
    vol, uncond = gen._gjr()
    s2 = vol.filter(returns.to_numpy(np.float64), uncond)[:-1]
    z2 = pd.DataFrame((returns.to_numpy() - vol.mu) ** 2 / s2, index=returns.index)
    train = returns.loc[:train_end]
    fit_rows = train.index[: training_rows(len(train), gen.config_)]
    spans = {"GJR fitting rows": (None, fit_rows[-1]), "training period after them": (fit_rows[-1] + pd.Timedelta(days=1), train_end)}
    spans["selection years 2017-2018"] = ("2017-01-01", "2018-12-31")
    if test != spans["selection years 2017-2018"]:
        spans[f"test period {test[0][:4]}-{(test[1] or str(returns.index[-1].date()))[:4]}"] = test
    rows = [{"span": k, "first": str(z2.loc[a:b].index[0].date()), "last": str(z2.loc[a:b].index[-1].date()),
             "E[z^2]": float(z2.loc[a:b].to_numpy().mean())} for k, (a, b) in spans.items()]
    return pd.DataFrame(rows).set_index("span")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--period", default="report", choices=sorted(PERIODS))
    p.add_argument("--every", type=int, default=5, help="use every k-th day of the period")
    p.add_argument("--n", type=int, default=2000, help="scenarios per day and generator")
    args = p.parse_args(argv)
    overrides = parse_overrides(args.override)
    returns = prepare(args.data, args.threads)
    train_end, start, end = PERIODS[args.period]
    gen = _fitted(args.data, args.preset, args.seed, overrides, returns, train_end=train_end)
    gen.progress = False
    garch = GARCH().fit(returns.loc[:train_end])
    L = gen.config_.context
    days = returns.loc[start:end].index[:: args.every]
    rows = []
    for t in days:
        pos = returns.index.get_loc(t)
        ctx = returns.iloc[pos - CONTEXT:pos]
        realized = returns.iloc[pos].to_numpy()
        gjr = {"finscore": gen._first_variance(ctx.to_numpy(np.float64)[None, -L:])[0],
               "garch": garch.forecast_variance(ctx).to_numpy()}
        for name, g in (("finscore", gen), ("garch", garch)):
            x = g.sample(args.n, horizon=1, context=ctx, seed=pos).values[:, 0, :]
            rows.append({"generator": name, **day_stats(x, realized, gjr[name])})
    table = pd.DataFrame(rows).groupby("generator").mean()
    ratio = table.loc["finscore"] / table.loc["garch"]
    table.loc["finscore / garch"] = ratio
    lines = header(f"The first forecast day's width, `{args.data}`, {args.period}", "day1_width.py",
                   sys.argv[1:] if argv is None else argv)
    lines += [(f"Model: preset {args.preset}, seed {args.seed}, overrides {overrides or 'none'}, trained to "
               f"{train_end}; GARCH (GJR-t + Gaussian copula) fitted on the same rows. {len(days)} days "
               f"({days[0].date()} to {days[-1].date()}, every {args.every}th), {args.n} scenarios each."),
              "", "Columns: see the script's docstring.", "", md_table(table), "",
              "The model's GJR innovations through the data (no sampling):", "",
              md_table(innovation_variance(gen, returns, train_end, (start, end))), "", ""]
    publish(lines, f"day1_width_{args.data}_{args.period}_{args.tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
