"""PDF model-validation reports (SR 11-7 structure) built with matplotlib only.

* :func:`write_pdf` — the report from a model plus optional evaluation, backtests and stress results.
* :func:`validation_report` — evaluate, backtest and stress a model against baselines, then write the report.
* :class:`StressResult` / :func:`run_stress` — guided vs rejection-sampled stress losses.
* :class:`Thresholds` / :func:`compute_findings` — the pass / fail checks of the executive summary.
"""

from finscore.report.findings import Thresholds, compute_findings
from finscore.report.model_info import ModelInfo, describe_model
from finscore.report.pdf import write_pdf
from finscore.report.pipeline import validation_report
from finscore.report.stress import StressResult, run_stress, supports_guidance

__all__ = [
    "write_pdf",
    "validation_report",
    "StressResult",
    "run_stress",
    "supports_guidance",
    "Thresholds",
    "compute_findings",
    "ModelInfo",
    "describe_model",
]
