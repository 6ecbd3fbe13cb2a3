"""Classic scenario generators used by risk teams, on the same protocol as ScoreGenerator.

* :class:`GaussianCopula` — i.i.d. days, Gaussian copula + empirical or Student-t marginals.
* :class:`GARCH` — GJR-GARCH(1,1)-t / skew-t margins (``arch``) + Gaussian/t copula (CCC or DCC).
* :class:`HistoricalSimulation` — filtered historical simulation or stationary block bootstrap.
* :class:`SkfolioAdapter` — any finscore generator as a skfolio ``SyntheticData`` distribution
  estimator (imported lazily: it needs scikit-learn, installed with the ``dev`` extra / skfolio).
"""

from __future__ import annotations

from typing import Any

from finscore.baselines.copula import GaussianCopula
from finscore.baselines.garch import GARCH
from finscore.baselines.historical import HistoricalSimulation

__all__ = ["GaussianCopula", "GARCH", "HistoricalSimulation", "SkfolioAdapter"]


def __getattr__(name: str) -> Any:
    if name == "SkfolioAdapter":
        from finscore.baselines.skfolio import SkfolioAdapter

        return SkfolioAdapter
    raise AttributeError(f"module 'finscore.baselines' has no attribute {name!r}")
