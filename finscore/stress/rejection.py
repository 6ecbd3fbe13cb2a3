"""Exact stress scenarios by rejection: unguided draws kept when they meet the VaR constraint.

The reference the guided sampler is checked against, and the method to use when exactness
matters more than cost: with the threshold at VaR_alpha it needs about ``1 / (1 - alpha)``
unguided draws per scenario (``benchmarks/results/stress_sp500.md`` has both methods' costs and
loss distributions on the embedded data).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.data.checks import check_positive_int
from finscore.errors import DataError
from finscore.scenarios import Scenarios
from finscore.stress.var import VaRGuidance, estimate_var


def sample_rejection(model: Any, n: int, guidance: VaRGuidance, *, context=None, seed: Seed = None,
                     max_draws: int = 200_000, chunk: int = 20_000, **sample_kwargs: Any) -> Scenarios:
    """``n`` scenarios of ``model`` whose portfolio loss meets ``guidance`` (exact, by rejection).

    Parameters
    ----------
    model : a fitted generator (``model.sample(m, context=..., seed=...) -> Scenarios``).
    n : number of scenarios wanted.
    guidance : VaRGuidance
        Weights, mode, horizon_days and the threshold: ``guidance.loss``, or else VaR_alpha of the
        unguided draws themselves (``ceil((n + 1) / (1 - alpha))`` of them for ``mode="exceed"``,
        ``ceil((n + 1) / alpha)`` for ``"cap"``), so that at least ``n`` are kept.
    context : DataFrame, optional
        History to condition on (default: the model's).
    seed : int, numpy Generator or None.
    max_draws : int
        Most unguided draws (explicit ``loss`` only: draws continue in chunks of ``chunk`` until
        ``n`` are kept).
    **sample_kwargs
        Passed to ``model.sample`` (e.g. ``sampler="ode", steps=16`` for a ScoreGenerator).

    Returns
    -------
    Scenarios (n, horizon, n_assets); ``metadata["stress"]`` holds ``method="rejection"``, ``level``
    (list with the threshold, a fraction of book value), ``alpha``, ``mode``, ``draws`` and
    ``accept_rate``.

    Raises
    ------
    DataError
        When an explicit ``loss`` is met by fewer than ``n`` of ``max_draws`` draws.
    """
    for value, name in ((n, "n"), (max_draws, "max_draws"), (chunk, "chunk")):
        check_positive_int(value, name)
    if guidance.loss is not None and hasattr(model, "assets_"):  # as the guided sampler: refuse before drawing
        guidance.check_level(float(guidance.loss), guidance.bind(model.assets_))
    rng = as_generator(seed)
    exceed = guidance.mode == "exceed"

    def draw(m: int) -> tuple[Scenarios, np.ndarray]:
        scen = model.sample(m, context=context, seed=rng, **sample_kwargs)
        return scen, -scen.portfolio_pnl(guidance.bind(scen.assets), horizon=guidance.horizon_days)

    def meets(loss: np.ndarray, level: float) -> np.ndarray:
        return loss >= level if exceed else loss <= level

    if guidance.loss is None:
        keep_share = (1.0 - guidance.alpha) if exceed else guidance.alpha
        m = math.ceil(round((n + 1) / keep_share, 6))  # one spare, so at least n reach the VaR
        if m > max_draws:
            raise DataError(f"alpha={guidance.alpha} needs {m} unguided draws for {n} scenarios, above "
                            f"max_draws={max_draws}; raise max_draws or use the guided sampler")
        scen, loss = draw(m)
        level = estimate_var(loss, guidance.alpha)
        pieces, losses, drawn = [scen], [loss], m
    else:
        level, pieces, losses, drawn, kept = float(guidance.loss), [], [], 0, 0
        while kept < n and drawn < max_draws:
            m = min(chunk, max_draws - drawn)
            scen, loss = draw(m)
            pieces.append(scen)
            losses.append(loss)
            drawn += m
            kept += int(np.sum(meets(loss, level)))
    loss = np.concatenate(losses)
    ok = np.flatnonzero(meets(loss, level))
    if ok.size < n:
        sign = ">=" if exceed else "<="
        raise DataError(f"only {ok.size} of {drawn} unguided draws have loss {sign} {level:.6g}; {n} wanted. "
                        "Raise max_draws or use the guided sampler")
    values = np.concatenate([p.values for p in pieces])[ok[:n]]
    first = pieces[0]
    meta = dict(first.metadata)
    meta["stress"] = {"method": "rejection", "level": [level], "alpha": guidance.alpha, "mode": guidance.mode,
                      "horizon_days": guidance.horizon_days, "draws": drawn, "accept_rate": ok.size / drawn,
                      "satisfied": 1.0}
    return Scenarios(values, first.assets, first.start, meta)
