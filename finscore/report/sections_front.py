"""Report front matter after SR 11-7: cover, executive summary, model and data, method, process verification."""

from __future__ import annotations

import pandas as pd

from finscore.report import figures
from finscore.report.context import ReportContext, package_versions
from finscore.report.findings import verdict
from finscore.report.format import fmt, format_frame, key_value_frame, side_by_side
from finscore.report.layout import Flow

NOT_AVAILABLE = "not available"
SECTION_TITLES = (
    "Executive summary", "Model and data", "Conceptual soundness", "Process verification",
    "Benchmarking against baselines", "Outcomes analysis", "Stress scenarios", "Limitations",
)


def cover(flow: Flow, ctx: ReportContext) -> tuple:
    """Title page: identity, data fingerprint, seed, versions, contents and sign-off lines."""
    info = ctx.info
    flow.new_page()
    flow.space(0.4)
    flow.paragraph("Model validation report", size=24, weight="bold", color="#1f3b5c", gap=0.05)
    flow.paragraph(f"{info.name}: scenario generator for daily asset returns", size=13, color="0.25", gap=0.3)
    ident = {
        "model": info.name, "model id": info.model_id, "class": info.class_name,
        "data set": ctx.data_name or NOT_AVAILABLE,
        "data fingerprint (sha256)": info.fingerprint or NOT_AVAILABLE,
        "training period": training_period(info),
        "assets": f"{len(info.assets)}: {', '.join(info.assets)}" if info.assets else NOT_AVAILABLE,
        "seed": fmt(ctx.seed) if ctx.seed is not None else NOT_AVAILABLE,
        "report date": ctx.created.strftime("%Y-%m-%d %H:%M UTC"),
    }
    flow.table(key_value_frame(ident), caption="Identification", max_col_width=5.2)
    flow.table(side_by_side(key_value_frame(package_versions(), key="package", value="version")),
               caption="Software versions")
    flow.paragraph("Contents", size=12, weight="bold", color="#1f3b5c", gap=0.05)
    spot = flow.placeholder(Flow.contents_height(len(SECTION_TITLES)) + 0.15)
    flow.paragraph("Sign-off", size=12, weight="bold", color="#1f3b5c", gap=0.1)
    for line in ("Validator: ______________________________   Date: ______________",
                 "Signature: ______________________________   Decision:  approve / approve with conditions / reject"):
        flow.paragraph(line, gap=0.18)
    return spot


def training_period(info) -> str:
    if info.train_end is None:
        return NOT_AVAILABLE
    start = "up" if info.train_start is None else fmt(info.train_start)
    return f"{start} to {fmt(info.train_end)}"


def executive_summary(flow: Flow, ctx: ReportContext) -> None:
    flow.section(SECTION_TITLES[0])
    flow.paragraph(
        f"This report validates the scenario generator '{ctx.model_name}' following the structure of supervisory "
        "model-risk guidance (SR 11-7): conceptual soundness, process verification, benchmarking against "
        "established models, outcomes analysis (backtesting) and stress testing. Each check below compares one "
        "number with a stated threshold; the sections that follow give the evidence.")
    flow.paragraph(verdict(ctx.findings), weight="bold")
    if not ctx.findings.empty:
        flow.table(ctx.findings.rename(columns=str.capitalize), caption="Findings", highlight="Result")
    t = ctx.thresholds
    flow.paragraph(
        f"Thresholds: mean scores (lower is better) pass when the model's is at most the baseline's"
        f"{f' times (1 + {fmt(t.score_tolerance)})' if t.score_tolerance else ''}; the stylized-fact check passes "
        f"when the model is closer to the real data than the baseline in at least {fmt(t.fact_win_share)} of the "
        f"distance groups; coverage tests pass when p > {fmt(t.pvalue)}; the Basel traffic light passes in the "
        "green zone and warns in the yellow zone. A PASS is evidence, not proof: see the limitations section.",
        size=8.5, color="0.25")
    missing = [name for name, present in (("out-of-sample evaluation", ctx.evaluation is not None),
                                          ("VaR / ES backtest", ctx.model_name in ctx.backtests),
                                          ("stress scenarios", ctx.stress is not None)) if not present]
    if missing:
        flow.paragraph(f"Not supplied for this report: {', '.join(missing)}; the corresponding sections say so.",
                       color="#8a5300")


def model_and_data(flow: Flow, ctx: ReportContext) -> None:
    info = ctx.info
    flow.section(SECTION_TITLES[1])
    flow.heading("Model")
    flow.paragraph(f"Class {info.class_name}; model id {info.model_id} (sha256 of class, parameters, "
                   "configuration and data fingerprint, first 12 hex digits).")
    flow.table(side_by_side(key_value_frame(info.params, key="parameter")), caption="Constructor parameters")
    if info.config:
        flow.table(side_by_side(key_value_frame(info.config, key="setting")), caption="Resolved configuration")
    else:
        flow.paragraph(f"Resolved configuration: {NOT_AVAILABLE} (the model exposes no config).")
    flow.heading("Data")
    data = {"data set": ctx.data_name or NOT_AVAILABLE, "fingerprint (sha256)": info.fingerprint or NOT_AVAILABLE,
            "training period": training_period(info),
            "number of assets": len(info.assets) if info.assets else NOT_AVAILABLE,
            **{f"fingerprinted {k.replace('_', ' ')}": _pretty(v) for k, v in info.fingerprint_details.items()}}
    flow.table(key_value_frame(data), caption="Training data", max_col_width=5.2)
    if info.assets:
        flow.paragraph("Assets: " + ", ".join(info.assets), size=8.5)
    if ctx.evaluation is not None:
        flow.table(side_by_side(key_value_frame(ctx.evaluation.config, key="setting")),
                   caption="Out-of-sample evaluation settings")
    if ctx.backtests:
        rows = {name: _backtest_settings(bt) for name, bt in ctx.backtests.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        flow.table(format_frame(frame, index_name="backtest"), caption="Backtest settings")


def _pretty(value):
    """ISO date-time strings as dates; anything else unchanged."""
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            return pd.Timestamp(value)
        except ValueError:
            return value
    return value


def _backtest_settings(bt) -> dict:
    idx = bt.realized.index
    return {"first date": idx[0] if len(idx) else None, "last date": idx[-1] if len(idx) else None,
            "forecasts": bt.n_obs, "levels": ", ".join(f"{lv:.1%}" for lv in bt.levels),
            "horizon (days)": bt.horizon_days, "scenarios": bt.metadata.get("n_scenarios"),
            "refit every": bt.metadata.get("refit_every")}


def conceptual_soundness(flow: Flow, ctx: ReportContext) -> None:
    cfg = ctx.info.config or {}
    flow.section(SECTION_TITLES[2])
    if not cfg:  # e.g. a GARCH or copula baseline under review: the diffusion text below would not describe it
        params = ", ".join(f"{k}={v!r}" for k, v in ctx.info.params.items()) or "none"
        flow.paragraph(
            f"The model under review is {ctx.info.class_name} (parameters: {params}), which exposes no score-model "
            "configuration: it is not a score-based diffusion model, and its method is described in its own "
            "documentation. The sections below report how it forecast, not how it was built.")
        return
    flow.paragraph(
        "Target. The model learns the conditional distribution of the next H days of daily log returns of d "
        "assets, given features of the last L days (volatility state), and draws scenario paths from it.")
    flow.bullets([
        "Denoising score matching (Vincent 2011; Song & Ermon 2019): training windows x0 are perturbed with "
        "Gaussian noise of scale sigma, x = x0 + sigma * n, and a network D(x; sigma) is trained to recover x0. "
        "By Tweedie's formula the score of the noised data is (D(x; sigma) - x) / sigma^2, so one regression "
        "loss over a range of sigma learns the score at every noise level.",
        "Variance-exploding (VE) noise schedule (Song et al. 2021): sigma runs from sigma_max, large enough "
        "that noised windows are indistinguishable from pure noise, down to sigma_min, below the resolution of "
        "daily returns; the network is preconditioned as in Karras et al. (2022, EDM).",
        "Sampler: scenarios start from Gaussian noise at sigma_max and follow the reverse-time dynamics "
        "(reverse SDE, predictor-corrector, annealed Langevin, or the probability-flow ODE with Heun or "
        "DPM-Solver++(2M) steps, the latter the default) "
        "down to sigma = 0, using the learned score.",
        "Conditioning: the network sees the volatility state; classifier-free guidance (Ho & Salimans 2022) "
        "trains the conditional and unconditional model together. With guidance_mode = blend (the default "
        "preset) every scenario follows the weighted sum of the two denoisers (weight guidance_scale on the "
        "conditional one), which narrows the spread in the directions the condition informs; with mixture a "
        "share guidance_scale of each context's scenarios is drawn from the conditional model and the rest "
        "from the unconditional one. Targets are divided by a per-asset "
        "volatility, so the network learns shapes, not scales: with target_scale = filtered (the default "
        "preset) day h of the window is divided by the volatility of a GJR-GARCH(1,1), fitted on the training "
        "rows, filtered through the context and the window's own days before h, so the network learns GJR "
        "innovations (their dependence across assets and days, their tails) and scenarios are rebuilt day by "
        "day through the GJR recursion (with shock_cap set, an option off in the default preset, a shock "
        "enters that recursion inside the window as at most shock_cap standard deviations, in training and "
        "sampling alike); with target_scale = forecast every day is divided by the volatility "
        "forecast known at the forecast date. In the default preset the "
        "scaled targets are also Gaussianized per asset by a Tukey h transform fitted on the training rows "
        "(target_tails = tukey_h); samples are mapped back through it, so the tails of daily returns are "
        "Pareto-like with the fitted index instead of what a few-step sampler would make of them. With "
        "target_corr = equicorr (the default preset) the average correlation between the assets over the "
        "window is forecast from the context's by a regression fitted on the training windows, the "
        "Gaussianized targets are mapped from that level to the training average before the network sees "
        "them, and samples are mapped back, so the correlation level follows the state as the volatility does. "
        "Two options, off in the default preset, act on each day's mean over the assets of those windows (the "
        "market direction), every asset's deviation from the mean kept: market_tails = tukey_hh Gaussianizes "
        "its tails before training by a two-sided Tukey hh transform fitted on the training windows, and "
        "market_tails = matched maps the fitted model's sampled mean from the law of its own samples at "
        "training dates onto the training windows' law. On the development benchmarks neither improved the "
        "2019-2022 forecasts, so the default leaves the network's own market direction.",
        "Stress scenarios condition the sampler on a portfolio loss beyond its VaR by adding the gradient of "
        "the constraint's log-likelihood to the score; the exact reference is rejection sampling.",
    ])
    keys = ("horizon", "context", "parameterization", "weighting", "train_sigma", "sigma_min", "sigma_max",
            "sampler", "sample_steps", "sample_schedule", "guidance_scale", "guidance_mode", "horizon_spread",
            "horizon_shrink", "p_uncond", "uncond_state", "steps", "target_scale", "shock_cap", "vol_fit", "vol_pool",
            "target_tails", "tail_state", "target_corr", "corr_decay", "market_tails")
    present = {k: cfg[k] for k in keys if k in cfg}
    if present:
        flow.table(key_value_frame(present, key="setting"), caption="Settings of this model")
    else:
        flow.paragraph(f"Model-specific settings: {NOT_AVAILABLE} (the model exposes no diffusion configuration).")
    flow.paragraph(
        "Key assumptions: the conditional distribution of future returns given the volatility state is stable "
        "over the training and test periods; the training windows cover the market regimes the model will be "
        "used in; and the network and sampler are accurate enough that sampling error is small relative to "
        "estimation error. The benchmarking and outcomes sections test the consequences of these assumptions.")


def process_verification(flow: Flow, ctx: ReportContext) -> None:
    info = ctx.info
    flow.section(SECTION_TITLES[3])
    flow.paragraph("Training should show a decreasing loss without divergence, a validation loss close to the "
                   "training loss (no overfitting), and a loss that is finite at every noise level.")
    if info.train_summary:
        flow.table(key_value_frame(info.train_summary, key="training run"), caption="Training run")
    if info.history is not None:
        best = info.train_summary.get("best_step")
        flow.figure(figures.training_curves(info.history, best_step=best),
                    caption="Figure: DSM loss per optimizer step (validation loss on held-out windows).")
        flow.paragraph(_history_note(info.history))
    else:
        flow.paragraph(f"Training curves: {NOT_AVAILABLE} (the model exposes no training history).")
    if info.loss_per_sigma is not None:
        flow.figure(figures.loss_per_noise_level(info.loss_per_sigma),
                    caption="Figure: validation DSM loss at fixed noise levels sigma.")
    else:
        flow.paragraph(f"DSM loss per noise level: {NOT_AVAILABLE} (the model exposes no loss_per_sigma_).")


def _history_note(history: pd.DataFrame) -> str:
    train = history["train_loss"].dropna()
    text = (f"Training loss went from {fmt(train.iloc[0])} to {fmt(train.iloc[-1])} over "
            f"{fmt(history['step'].max())} steps")
    if "val_loss" in history and history["val_loss"].notna().any():
        val = history["val_loss"].dropna()
        text += (f"; validation loss ended at {fmt(val.iloc[-1])} (best {fmt(val.min())}, "
                 f"ratio to the last training loss {fmt(val.iloc[-1] / train.iloc[-1], digits=3)})")
    return text + "."
