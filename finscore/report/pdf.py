"""The PDF validation report: inputs checked, sections laid out, file written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from finscore.errors import DataError
from finscore.report.context import ReportContext
from finscore.report.findings import Thresholds, compute_findings
from finscore.report.layout import Flow
from finscore.report.model_info import describe_model
from finscore.report.sections_front import (
    conceptual_soundness, cover, executive_summary, model_and_data, process_verification,
)
from finscore.report.sections_results import benchmarking, limitations, outcomes, stress
from finscore.report.stress import StressResult

SECTIONS = (executive_summary, model_and_data, conceptual_soundness, process_verification, benchmarking, outcomes,
            stress, limitations)


def write_pdf(path: str | os.PathLike, *, model: Any, evaluation=None, backtests: Mapping[str, Any] | None = None,
              stress: StressResult | Mapping[str, Any] | None = None, model_name: str = "finscore",
              data_name: str | None = None, seed: Any = None,
              findings_thresholds: Thresholds | Mapping[str, Any] | None = None, notes=(),
              page_size: str = "a4", overwrite: bool = False) -> Path:
    """Write a model-validation report (SR 11-7 structure) as a PDF of portrait pages.

    Sections: cover (identity, data fingerprint, seed, versions, contents, sign-off), executive
    summary with a findings table, model and data, conceptual soundness, process verification
    (training curves, DSM loss per noise level), benchmarking against baselines, outcomes
    analysis (VaR / ES backtests), stress scenarios, limitations. Missing inputs give a
    "not available" paragraph in their section.

    Parameters
    ----------
    path : output file (``.pdf``); written atomically, so a failed run leaves no partial file.
    model : the validated model; needs ``get_params()``, reads optional attributes (see
        :mod:`finscore.report.model_info`).
    evaluation : :class:`~finscore.validation.EvaluationResult` in which the model is the column ``model_name``.
    backtests : dict name -> :class:`~finscore.risk.BacktestResult`; ``backtests[model_name]`` is the model's.
    stress : :class:`~finscore.report.StressResult` (or a dict of its fields).
    model_name : the model's name in ``evaluation`` and ``backtests``.
    data_name : data set name or file shown on the cover.
    seed : seed of the runs, shown on the cover.
    findings_thresholds : :class:`~finscore.report.Thresholds` or a dict of its fields.
    notes : extra lines for the limitations section (e.g. why stress scenarios were skipped).
    page_size : "a4" or "letter".
    overwrite : replace an existing file.

    Returns
    -------
    Path of the written PDF.
    """
    from datetime import datetime, timezone

    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from finscore import __version__
    from finscore._io import atomic_path, check_destination

    dest = check_destination(path, overwrite=overwrite, suffix=".pdf")
    ctx = _context(model, evaluation, backtests, stress, model_name, data_name, seed, findings_thresholds, notes)
    flow = Flow(page_size=page_size, footer=f"finscore {__version__} validation report: {model_name} "
                                           f"(model id {ctx.info.model_id})")
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        spot = cover(flow, ctx)
        for section in SECTIONS:
            section(flow, ctx)
        flow.contents(spot)
        meta = {"Title": f"Model validation report: {model_name}", "Author": "finscore",
                "Subject": "Model validation (SR 11-7 structure)", "Creator": f"finscore {__version__}",
                "CreationDate": datetime.now(timezone.utc)}
        with atomic_path(dest, overwrite=overwrite) as tmp:
            with PdfPages(tmp, metadata=meta) as pdf:
                for page in flow.pages():
                    pdf.savefig(page)
    return dest


def _context(model, evaluation, backtests, stress, model_name, data_name, seed, thresholds, notes) -> ReportContext:
    if not isinstance(model_name, str) or not model_name or model_name == "real":
        raise ValueError(f"model_name must be a non-empty string other than 'real', got {model_name!r}")
    info = describe_model(model, model_name)
    if evaluation is not None:
        if not hasattr(evaluation, "table") or not hasattr(evaluation, "facts"):
            raise TypeError(f"evaluation must be an EvaluationResult, got {type(evaluation).__name__}")
        if model_name not in evaluation.table.columns:
            raise DataError(f"model_name {model_name!r} is not a generator of the evaluation "
                            f"(generators: {[c for c in evaluation.table.columns if c != 'real']})")
    backtests = dict(backtests or {})
    for name, bt in backtests.items():
        if not hasattr(bt, "summary") or not hasattr(bt, "levels"):
            raise TypeError(f"backtests[{name!r}] must be a BacktestResult, got {type(bt).__name__}")
    if backtests and model_name not in backtests:
        raise DataError(f"model_name {model_name!r} has no backtest (backtests: {sorted(backtests)})")
    if isinstance(notes, str):
        notes = (notes,)
    t = Thresholds.coerce(thresholds)
    summaries = {name: bt.summary() for name, bt in backtests.items()}
    findings = compute_findings(model_name, table=None if evaluation is None else evaluation.table,
                                backtest_summary=summaries.get(model_name), thresholds=t)
    return ReportContext(info=info, evaluation=evaluation, backtests=backtests, summaries=summaries,
                         stress=None if stress is None else StressResult.coerce(stress), thresholds=t,
                         findings=findings, data_name=data_name, seed=seed, notes=tuple(map(str, notes)))
