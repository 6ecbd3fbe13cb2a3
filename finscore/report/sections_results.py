"""Report evidence sections: benchmarking, outcomes analysis, stress scenarios, limitations."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from finscore.report import figures
from finscore.report.context import ReportContext
from finscore.report.findings import SCORE_NAMES
from finscore.report.format import fmt, fmt_pct, fmt_pvalue, format_frame, key_value_frame
from finscore.report.layout import Flow
from finscore.report.sections_front import NOT_AVAILABLE, SECTION_TITLES

PANELS_PER_ROW = 3  # heatmap / fan chart panels per figure row, so labels stay legible on a portrait page
HEATMAP_PANEL = 2.5  # inches per heatmap panel before scaling
FAN_PANEL = 2.7  # inches per fan-chart panel before scaling (its y label needs the height)


def benchmarking(flow: Flow, ctx: ReportContext) -> None:
    flow.section(SECTION_TITLES[4])
    ev = ctx.evaluation
    if ev is None:
        flow.paragraph(f"Out-of-sample evaluation: {NOT_AVAILABLE} (no evaluation was supplied).")
        return
    c = ev.config
    fit_end = {n: e for n, e in (c.get("fit_end") or {}).items() if e is not None}  # as fitted when evaluated
    if not fit_end or set(fit_end.values()) == {c.get("train_end")}:
        fitted = f"Every generator was fitted on data up to {c.get('train_end')}"
    else:
        fitted = ("The generators were fitted on data up to " + ", ".join(f"{e} ({n})" for n, e in fit_end.items())
                  + f"; the split date is {c.get('train_end')}")
    flow.paragraph(
        f"{fitted} and forecast {c.get('n_scenarios')} paths "
        f"of {c.get('horizon')} days at {c.get('n_dates')} dates from {ev.dates[0].date()} to {ev.dates[-1].date()} "
        f"(every {c.get('stride')} trading days), conditional on the history up to each date. Scores compare "
        "the forecasts with what happened (lower is better); distances compare the stylized facts of the "
        "generated and the realized windows (0 = identical). The best value per row is named in the last column.")
    table = ev.table
    gens = [g for g in table.columns if g != "real"]
    for kind, caption, labels in (("score", "Mean proper scores over test dates", SCORE_NAMES),
                                  ("distance", "Stylized-fact distances to the realized windows", {})):
        if kind in table.index.get_level_values(0):
            block = table.loc[kind, gens]
            block.index = [labels.get(m, m) for m in block.index]
            best = block.idxmin(axis=1, skipna=True).where(block.notna().any(axis=1), None)
            flow.table(format_frame(block.assign(best=best), index_name="metric"), caption=caption)
    if "fact" in table.index.get_level_values(0):
        facts = table.loc["fact", ["real", *gens]]
        flow.table(format_frame(facts, index_name="stylized fact"),
                   caption="Stylized facts of realized ('real') and generated windows")
    for fig, caption, row_width in _benchmark_figures(ev):
        # panel figures share one magnification: that of a full row of PANELS_PER_ROW panels fitted to the page
        flow.figure(fig, caption=caption, max_height=4.6, scale=flow.width / row_width if row_width else 1.0)


def _benchmark_figures(ev):
    """(figure, caption, width in inches of a full row of its panels or None) for the benchmarking section."""
    from finscore.validation import figures as vfig

    yield (ev.qq_plot(figsize=(5.2, 4.4)), "Figure: QQ plot of pooled daily returns, each asset standardized by the "
           "realized mean and std; points on the diagonal mean matching tails.", None)
    yield (ev.acf_plot("acf_abs", figsize=(6.4, 3.4)), "Figure: autocorrelation of absolute returns (volatility "
           "clustering) within windows, real vs generated.", None)
    yield (ev.leverage_plot(figsize=(6.4, 3.4)), "Figure: leverage effect corr(r_t, r_{t+k}^2); negative values "
           "mean falls are followed by higher volatility.", None)
    names = [k for k in ev.facts if k != "real"]
    for key, what in (("correlation", "daily return correlation"), ("tail_lower", "lower tail dependence at 5%")):
        for chunk in _chunks(names, PANELS_PER_ROW - 1):
            facts = {"real": ev.facts["real"], **{n: ev.facts[n] for n in chunk}}
            fig = vfig.matrix_heatmaps(facts, key, ev.assets, panel_size=HEATMAP_PANEL)
            fig.axes[-1].yaxis.label.set_fontsize(8)  # the colorbar label must fit the panel height
            yield (fig, f"Figure: {what}, real vs {', '.join(chunk)} (assets in data order).",
                   PANELS_PER_ROW * HEATMAP_PANEL + 1.0)
    i = len(ev.dates) // 2  # the date EvaluationResult.fan_chart shows by default
    for chunk in _chunks(list(ev.portfolio_paths), PANELS_PER_ROW):
        paths = {n: ev.portfolio_paths[n][i] for n in chunk}
        yield (vfig.fan_chart(paths, ev.realized_paths[i], ev.dates[i], panel_size=FAN_PANEL),
               f"Figure: fan chart of cumulative portfolio returns from {ev.dates[i].date()} (5-95% and 25-75% "
               "bands, median) against the realized path.", PANELS_PER_ROW * FAN_PANEL + 0.5)


def _chunks(items: list, most: int) -> list[list]:
    """``items`` in consecutive groups of at most ``most``, as equal in size as possible."""
    if not items:
        return []
    size = -(-len(items) // -(-len(items) // most))
    return [items[i: i + size] for i in range(0, len(items), size)]


def _var_estimator(ctx: ReportContext) -> str:
    """One sentence on how VaR was read from each backtest's scenarios (``metadata["var_method"]``)."""
    methods = {b.metadata.get("var_method", "empirical") for b in ctx.backtests.values()}
    if methods == {"predictive"}:
        return ("VaR is the predictive quantile of each date's scenarios (position level x (n + 1)), which a "
                "correct model's outcome exceeds at the nominal rate.")
    if methods == {"empirical"}:
        n = sorted({int(b.metadata.get("n_scenarios", 0)) for b in ctx.backtests.values()})
        return ("VaR is the empirical quantile of each date's scenarios, which a correct model's outcome exceeds "
                f"somewhat more often than nominal (scenarios per date: {', '.join(map(str, n))}).")
    return f"VaR estimators differ between the backtests ({', '.join(sorted(methods))}): compare with care."


def outcomes(flow: Flow, ctx: ReportContext) -> None:
    flow.section(SECTION_TITLES[5])
    if not ctx.backtests:
        flow.paragraph(f"VaR / ES backtest: {NOT_AVAILABLE} (no backtest was supplied).")
        return
    flow.paragraph(
        "Rolling out-of-sample VaR and ES forecasts of the portfolio were compared with realized returns. "
        "Kupiec tests the exceedance rate, Christoffersen their independence (ind) and both jointly (cc); "
        "the Basel traffic light classifies the exceedance count; Acerbi-Szekely Z2 tests ES (p small = ES too "
        "low); FZ0 is the joint VaR-ES loss (lower is better). " + _var_estimator(ctx))
    rows = []
    for name, s in ctx.summaries.items():
        for level, r in s.iterrows():
            rows.append({"model": name, "level": fmt_pct(level, digits=1), "n": r["n_obs"],
                         "exc.": r["exceedances"], "expected": fmt(float(r["expected"]), digits=3),
                         "Kupiec p": fmt_pvalue(r["kupiec_p"]), "Chr. p ind": fmt_pvalue(r["christoffersen_p_ind"]),
                         "Chr. p cc": fmt_pvalue(r["p_cc"]), "zone": r["traffic_light"],
                         "AS Z2": r["as_z2"], "AS Z2 p": fmt_pvalue(r["as_z2_p"]), "mean FZ0": r["mean_fz0"]})
    frame = pd.DataFrame(rows)
    flow.table(format_frame(frame, index=False), caption="VaR / ES backtest summary")
    _comparison(flow, ctx)
    main_name = ctx.model_name if ctx.model_name in ctx.backtests else next(iter(ctx.backtests))
    main = ctx.backtests[main_name]
    fig = Figure(figsize=(6.6, 1.9 + 0.45 * len(main.levels)), layout="constrained")
    main.plot_traffic_light(ax=fig.subplots())
    flow.figure(fig, caption=f"Figure: exceedance counts of the {main_name} backtest (diamonds) against the Basel "
                             "traffic-light zones.")
    for name, bt in ctx.backtests.items():
        fig = Figure(figsize=(7.2, 3.0), layout="constrained")
        _date_axis(bt.plot(ax=fig.subplots()).axes[0])
        flow.figure(fig, caption=f"Figure: realized portfolio returns of the {name} backtest against -VaR and -ES "
                                 "at the highest level; crosses mark exceedances.")


def _date_axis(ax) -> None:
    """At most 7 concise date ticks, so labels never overlap."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _comparison(flow: Flow, ctx: ReportContext) -> None:
    """Diebold-Mariano comparison of the model's FZ0 loss with each other backtest at the highest common level."""
    from finscore.errors import DataError
    from finscore.risk import compare_backtests

    if ctx.model_name not in ctx.backtests or len(ctx.backtests) < 2:
        return
    common = set.intersection(*(set(b.levels) for b in ctx.backtests.values()))
    if not common:
        return
    level = max(common)
    try:
        table = compare_backtests(ctx.backtests, level, reps=500, seed=0)
    except (DataError, ValueError) as exc:
        flow.paragraph(f"Model comparison not computed: {exc}")
        return
    me = table.loc[ctx.model_name]
    rows = [{"model vs": other, "DM statistic": me[f"dm_stat_{other}"], "DM p": fmt_pvalue(me[f"dm_p_{other}"]),
             "lower FZ0 loss": ("tie" if me[f"dm_stat_{other}"] == 0 else
                                ctx.model_name if me[f"dm_stat_{other}"] < 0 else other)}
            for other in table.index if other != ctx.model_name]
    if "in_mcs" in table:
        flow.paragraph("Model confidence set (10%): " + ", ".join(
            f"{n} ({'in' if table.loc[n, 'in_mcs'] else 'out'}, p = {fmt_pvalue(table.loc[n, 'mcs_pvalue'])})"
            for n in table.index) + ".", size=8.5)
    flow.table(format_frame(pd.DataFrame(rows), index=False),
               caption=f"Diebold-Mariano test of FZ0 losses at {level:.1%} "
                       f"(negative statistic: {ctx.model_name} better)")


def stress(flow: Flow, ctx: ReportContext) -> None:
    flow.section(SECTION_TITLES[6])
    s = ctx.stress
    if s is None:
        flow.paragraph(f"Stress scenarios: {NOT_AVAILABLE}.")
        for note in ctx.notes:
            if "stress" in note.lower():
                flow.paragraph(note)
        return
    w = s.weights
    shown = ", ".join(f"{a} {fmt_pct(v, digits=1)}" for a, v in w.sort_values(ascending=False).items())
    flow.paragraph(
        f"Stress scenarios are the model's scenarios given that the portfolio loss"
        f"{f' over {s.horizon_days} days' if s.horizon_days else ''} exceeds its VaR at {s.alpha:.1%}"
        f"{f' ({fmt_pct(s.threshold)} of value)' if s.threshold is not None else ''}. Guided sampling draws them "
        "directly; rejection sampling keeps the unguided draws beyond VaR and is exact but costs about "
        f"1 / (1 - alpha) = {fmt(1 / (1 - s.alpha), digits=3)} draws per kept scenario. The two distributions "
        "should agree.")
    flow.paragraph(f"Portfolio weights ({len(w)} assets): {shown}.", size=8.5)
    flow.figure(figures.stress_losses(s.guided_losses, s.rejection_losses, threshold=s.threshold, alpha=s.alpha,
                                      horizon_days=s.horizon_days),
                caption="Figure: guided vs rejection-sampled portfolio losses; the dashed line is the VaR threshold.")
    summary = s.summary()
    pct = {c: (lambda v: fmt_pct(v)) for c in summary.columns if c != "n"}
    flow.table(format_frame(summary, index_name="method", formatters=pct), caption="Loss statistics (% of value)")
    ks = s.ks_test()
    if ks is not None:
        flow.paragraph(f"Two-sample Kolmogorov-Smirnov test, guided vs rejection: D = {fmt(ks.statistic, digits=3)}, "
                       f"p = {fmt_pvalue(ks.pvalue)} (p > 0.05: no detectable difference at these sample sizes).")
    if s.threshold is not None:
        share = float(np.mean(s.guided_losses >= s.threshold))
        flow.paragraph(f"Share of guided scenarios beyond the VaR threshold: {fmt_pct(share, digits=1)}.")
    if s.cost:
        flow.table(key_value_frame(s.cost, key="cost"), caption="Cost")
    if s.metadata:
        flow.table(key_value_frame(s.metadata, key="setting"), caption="Stress run settings", max_col_width=4.5)


def limitations(flow: Flow, ctx: ReportContext) -> None:
    flow.section(SECTION_TITLES[7])
    flow.bullets([
        "The model learns from history: regimes absent from the training period (new crisis types, structural "
        "breaks, changes in market microstructure) are not represented, and tail behaviour rests on few events.",
        "Scores, distances and backtest statistics are estimates with Monte-Carlo and sampling error; with few "
        "test dates or few expected exceedances the tests have low power, so PASS flags are weak evidence.",
        "Daily close-to-close log returns only: no intraday risk, liquidity, transaction costs or jumps between "
        "closes beyond what daily data show. Embedded data sets of current index members carry survivorship bias.",
        "Guided stress scenarios rely on an approximation of the constraint likelihood; agreement with "
        "rejection sampling is checked only at the stated level and portfolio.",
        "Neural-network results depend on the seed, the hardware and library versions (listed on the cover).",
    ])
    specific = list(ctx.notes) + _specific(ctx)
    if specific:
        flow.heading("Specific to this report")
        flow.bullets(specific)


def _specific(ctx: ReportContext) -> list[str]:
    out = []
    end = ctx.info.train_end
    if ctx.evaluation is not None:
        n = ctx.evaluation.config.get("n_dates", len(ctx.evaluation.dates))
        if n < 50:
            out.append(f"The evaluation uses only {n} test dates: score differences may not be significant.")
        recorded = (ctx.evaluation.config.get("fit_end") or {}).get(ctx.model_name)
        ev_end = pd.Timestamp(recorded) if recorded is not None else end  # as fitted when it was evaluated
        if ev_end is not None and ev_end > ctx.evaluation.dates[0]:  # trained through the origin itself is fine
            out.append(f"The model was trained on data up to {ev_end.date()}, after the first evaluation date "
                       f"{ctx.evaluation.dates[0].date()}: its scores are look-ahead biased.")
    for name, s in ctx.summaries.items():
        few = [f"{lv:.1%}" for lv, r in s.iterrows() if r["expected"] < 5]
        if few:
            out.append(f"Backtest {name}: fewer than 5 expected exceedances at {', '.join(few)}; coverage tests "
                       "have little power there.")
        if ctx.backtests[name].horizon_days > 1:
            out.append(f"Backtest {name}: overlapping multi-day forecasts make exceedances dependent; coverage "
                       "p-values are too small.")
    main = ctx.backtests.get(ctx.model_name)
    refit = main is not None and main.metadata.get("refit_every")  # refitted on an expanding window: never ahead
    if main is not None and not refit and end is not None and main.n_obs and end > main.realized.index[0]:
        out.append(f"The model was trained on data up to {end.date()}, after the first backtest date "
                   f"{main.realized.index[0].date()}: the backtest is partly in-sample.")
    return out
