"""Validation of scenario generators: stylized facts, distances, proper scores, out-of-sample comparison."""

from finscore.validation.distances import DISTANCE_GROUPS, fact_distances
from finscore.validation.oos import EvaluationResult, evaluate, forecast_origins
from finscore.validation.scoring import crps_ensemble, energy_score, variogram_score
from finscore.validation.stylized import fact_summary, stylized_facts

__all__ = [
    "evaluate", "EvaluationResult", "forecast_origins",
    "stylized_facts", "fact_summary", "fact_distances", "DISTANCE_GROUPS",
    "energy_score", "crps_ensemble", "variogram_score",
]
