"""Everything a report section may read, gathered once (backtest summaries are computed here only)."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import pandas as pd

from finscore.report.findings import Thresholds
from finscore.report.model_info import ModelInfo
from finscore.report.stress import StressResult

PACKAGES = ("finscore", "numpy", "pandas", "scipy", "torch", "matplotlib", "arch", "statsmodels")


@dataclass(frozen=True, eq=False)
class ReportContext:
    """Inputs of :func:`~finscore.report.write_pdf`, checked, plus derived tables.

    ``summaries`` holds ``BacktestResult.summary()`` per backtest name; ``findings`` the findings table;
    ``notes`` messages for the limitations section (skipped inputs, caveats found while checking).
    """

    info: ModelInfo
    evaluation: Any | None
    backtests: dict[str, Any]
    summaries: dict[str, pd.DataFrame]
    stress: StressResult | None
    thresholds: Thresholds
    findings: pd.DataFrame
    data_name: str | None
    seed: Any
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    notes: tuple[str, ...] = ()

    @property
    def model_name(self) -> str:
        return self.info.name


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the results depend on (read from metadata; nothing imported)."""
    out = {"python": platform.python_version(), "platform": f"{sys.platform} ({platform.machine()})"}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
