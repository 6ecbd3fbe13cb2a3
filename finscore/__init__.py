"""finscore: financial scenarios from score-based diffusion models.

The public API is re-exported here lazily, so ``import finscore`` stays light
(torch is imported only when a torch-backed object is first used).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_prices": "finscore.data",
    "to_returns": "finscore.data",
    "list_datasets": "finscore.data",
    "Scenarios": "finscore.scenarios",
    "ScenarioGenerator": "finscore.protocol",
    "ScoreGenerator": "finscore.generator",
    "VaRGuidance": "finscore.stress",
    "sample_rejection": "finscore.stress",
    "GaussianCopula": "finscore.baselines",
    "GARCH": "finscore.baselines",
    "HistoricalSimulation": "finscore.baselines",
    "backtest": "finscore.risk",
    "evaluate": "finscore.validation",
    "write_pdf": "finscore.report",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'finscore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
