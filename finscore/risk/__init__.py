"""VaR / ES backtesting: risk measures, coverage and ES tests, scoring functions, rolling backtests."""

from finscore.risk.backtest import backtest
from finscore.risk.coverage import (
    StatResult,
    binomial_test,
    christoffersen,
    christoffersen_independence,
    kupiec,
    traffic_light,
    traffic_light_bounds,
    traffic_light_cdf,
)
from finscore.risk.es_tests import ESTestResult, acerbi_szekely
from finscore.risk.figures import plot_traffic_light, plot_var_backtest
from finscore.risk.losses import diebold_mariano, fz0_loss, model_confidence_set, pinball_loss
from finscore.risk.measures import es, var
from finscore.risk.result import BacktestResult, compare_backtests

__all__ = [
    "backtest",
    "BacktestResult",
    "compare_backtests",
    "var",
    "es",
    "kupiec",
    "christoffersen",
    "christoffersen_independence",
    "binomial_test",
    "traffic_light",
    "traffic_light_bounds",
    "traffic_light_cdf",
    "StatResult",
    "acerbi_szekely",
    "ESTestResult",
    "pinball_loss",
    "fz0_loss",
    "diebold_mariano",
    "model_confidence_set",
    "plot_var_backtest",
    "plot_traffic_light",
]
