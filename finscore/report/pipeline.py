"""One call from a model and a return history to the validation PDF: evaluate, backtest, stress, write."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from finscore._io import check_destination
from finscore.data.checks import check_date, check_positive_int
from finscore.errors import DataError
from finscore.report.findings import Thresholds
from finscore.report.pdf import write_pdf
from finscore.report.stress import run_stress, supports_guidance


def validation_report(path: str | os.PathLike, model: Any, returns: pd.DataFrame, *,
                      baselines: Mapping[str, Any] | None = None, train_end=None, test_start=None, test_end=None,
                      horizon: int | None = None, stride: int = 5, n_scenarios: int = 500,
                      backtest_scenarios: int = 1000, levels: Sequence[float] = (0.95, 0.975, 0.99),
                      weights: Any = "equal", stress: bool = True, stress_alpha: float = 0.95, stress_n: int = 200,
                      model_name: str = "finscore", data_name: str | None = None, seed: int = 0,
                      findings_thresholds=None, progress: bool = True, log: Callable[[str], None] | None = None,
                      overwrite: bool = False) -> Path:
    """Evaluate ``model`` against ``baselines`` out of sample, backtest all of them, run stress scenarios,
    and write the report with :func:`~finscore.report.write_pdf`.

    Parameters
    ----------
    path : output PDF.
    model : a generator; fitted ones are used as is, unfitted ones are fitted on data up to ``train_end``.
    returns : DataFrame (n_dates, n_assets) of daily log returns.
    baselines : dict name -> unfitted generator (fitted on data up to ``train_end``); None for none.
    train_end : last training date; default the model's ``fit_end_`` (required for an unfitted model).
    test_start : first forecast date; default the first date after ``train_end``.
    test_end : last date used (default: the end of ``returns``).
    horizon, stride, n_scenarios : evaluation settings (horizon default: the model's, else 20).
    backtest_scenarios, levels, weights : backtest settings (1-day VaR / ES of the buy-and-hold portfolio).
    stress : run guided vs rejection stress scenarios when the model supports guidance.
    stress_alpha, stress_n : VaR level and number of stress scenarios.
    seed : int seed of the evaluation, the backtests and the stress run.
    log : called with a line per stage (e.g. ``print``).

    Returns
    -------
    Path of the PDF.
    """
    from finscore.risk import backtest
    from finscore.validation import evaluate

    say = log or (lambda _msg: None)
    dest = check_destination(path, overwrite=overwrite, suffix=".pdf")  # fail before hours of work, not after
    baselines = dict(baselines or {})
    if model_name in baselines:
        raise DataError(f"baseline name {model_name!r} is the model's name; rename one of them")
    named = Thresholds.coerce(findings_thresholds).baselines or ()
    if set(named) - set(baselines):
        raise ValueError(f"findings_thresholds.baselines names {sorted(set(named) - set(baselines))}, which are not "
                         f"among the baselines {sorted(baselines)}")
    fitted = hasattr(model, "assets_")
    if train_end is None:
        train_end = getattr(model, "fit_end_", None)
        if train_end is None:
            raise DataError("train_end is required: the model is not fitted, so its training period is unknown")
    train_end = check_date(train_end, "train_end")
    if test_start is None:
        later = returns.index[returns.index > train_end]
        if len(later) == 0:
            raise DataError(f"no data after train_end {train_end.date()} to test on")
        test_start = later[0]
    test_start = check_date(test_start, "test_start")
    test_end = None if test_end is None else check_date(test_end, "test_end")
    horizon = check_positive_int(horizon, "horizon") if horizon is not None else getattr(model, "horizon", None) or 20
    gens = {model_name: model, **baselines}
    fit = list(baselines) + ([] if fitted else [model_name])
    say(f"evaluating {', '.join(gens)} from {test_start.date()} (fitting {', '.join(fit) or 'none'})")
    ev = evaluate(gens, returns, train_end=train_end, test_start=test_start, test_end=test_end, horizon=horizon,
                  stride=stride, n_scenarios=n_scenarios, weights=weights, seed=seed, fit=fit, progress=progress)
    backtests = {}
    # the backtest's end is its last forecast date, whose 1-day outcome is the next row: that must not pass test_end
    upto = returns.index[returns.index <= test_end] if test_end is not None else None
    bt_end = None if upto is None else (upto[-2] if len(upto) >= 2 else upto[0])
    for name, gen in gens.items():  # one seed for all: common random numbers sharpen the comparison
        say(f"backtesting {name}")
        backtests[name] = backtest(gen, returns, weights, test_start, levels=levels, n_scenarios=backtest_scenarios,
                                   end=bt_end, seed=seed, progress=progress)
    result, notes = None, []
    if stress and supports_guidance(model):
        say("stress scenarios: guided vs rejection sampling")
        try:
            result = run_stress(model, weights=weights, alpha=stress_alpha, n=stress_n, seed=seed)
        except Exception as exc:  # noqa: BLE001 - the report is still worth writing; the failure is reported in it
            notes.append(f"The stress run failed ({type(exc).__name__}: {exc}); no stress scenarios are shown.")
            warnings.warn(f"stress scenarios failed: {exc}", RuntimeWarning, stacklevel=2)
    elif stress:
        notes.append(f"Stress scenarios were skipped: {type(model).__name__}.sample takes no guidance.")
    else:
        notes.append("Stress scenarios were not requested for this report.")
    say(f"writing {dest}")
    return write_pdf(dest, model=model, evaluation=ev, backtests=backtests, stress=result, model_name=model_name,
                     data_name=data_name, seed=seed, findings_thresholds=findings_thresholds, notes=notes,
                     overwrite=overwrite)

