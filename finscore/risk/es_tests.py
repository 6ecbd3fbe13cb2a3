"""Acerbi & Szekely (2014) Expected Shortfall backtests Z1, Z2, Z3 with simulated critical values.

Sign convention: ``realized`` are simple returns X_t (a loss is negative), ``var`` and ``es``
positive loss numbers, a hit is ``X_t < -VaR_t``. Under H0 every Z has mean ~0; an
underestimated ES gives negative Z, so the tests are left-tailed.

Critical values and p-values come from the model's own scenarios: under H0 the realized
return of date t is a draw from the model, emulated by drawing one of date t's scenarios.
For Z1 / Z2 the drawn scenario is held out and VaR / ES are recomputed from the other
N - 1 (leave-one-out), so the simulated outcome is independent of the simulated forecast,
as the real outcome is of the real forecast; drawing from the same N scenarios that made
the forecast would understate the spread of Z by a factor ~sqrt((k - 1) / (k + 1)) with k
tail scenarios and give too many rejections. Z3 depends on the data only through the
ranks of the realized returns among the scenarios, which are uniform under H0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from finscore._rng import as_generator
from finscore._typing import Seed
from finscore.data.checks import check_positive_int
from finscore.risk.measures import check_levels


@dataclass(frozen=True)
class ESTestResult:
    """Acerbi–Szekely statistics, left-tailed simulated p-values and 5% critical values."""

    z1: float
    z2: float
    z3: float
    p1: float
    p2: float
    p3: float
    crit1: float
    crit2: float
    crit3: float
    n_sim: int


def z1_z2(realized: np.ndarray, var: np.ndarray, es: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Acerbi–Szekely Z1 (conditional) and Z2 (unconditional) statistics.

    ``Z1 = sum(X I / ES) / N_T + 1`` (0 where there are no hits, N_T = 0) and
    ``Z2 = sum(X I / ES) / (T (1 - level)) + 1``, I = 1{X < -VaR}.

    Parameters
    ----------
    realized : array (..., T) of realized returns (leading axes: e.g. simulations).
    var, es : arrays (T,) of positive VaR / ES forecasts.
    level : VaR/ES confidence level.

    Returns
    -------
    (z1, z2), each ndarray (...,).
    """
    alpha = 1.0 - float(check_levels(level)[0])
    x = np.asarray(realized, dtype=np.float64)
    hits = x < -np.asarray(var)
    terms = np.where(hits, x / np.asarray(es), 0.0).sum(axis=-1)
    n_hits = hits.sum(axis=-1)
    z1 = np.where(n_hits > 0, terms / np.maximum(n_hits, 1) + 1.0, 0.0)
    z2 = terms / (x.shape[-1] * alpha) + 1.0
    return z1, z2


def _loo_tail_terms(s: np.ndarray, level: float) -> tuple[int, np.ndarray]:
    """Leave-one-out Z1 / Z2 terms ``X / ES`` for scenario draws that are hits.

    Parameters
    ----------
    s : array (T, N) of each date's scenario returns sorted ascending (worst first).

    Returns
    -------
    (r, terms): drawing scenario i (0-based, ascending) is a hit against the VaR of the
    other N - 1 scenarios iff ``i < r`` and ``terms[t, i] != 0``; ``terms`` (T, r) holds
    ``X / ES_loo`` of those draws (0 where a tie with the VaR makes the draw no hit).
    """
    n = s.shape[1]
    alpha = 1.0 - level
    loss = -s  # descending losses l_1 >= l_2 >= ...
    r = n - int(np.ceil(level * (n - 1) - 1e-12))  # VaR of N - 1 scenarios = r-th largest of them
    v = loss[:, r]  # VaR without scenario i < r: the (r + 1)-th largest of all N
    head = loss[:, :r]  # (T, r)
    es_loo = v[:, None] + (head.sum(axis=1, keepdims=True) - head - (r - 1) * v[:, None]) / ((n - 1) * alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(head > v[:, None], -head / es_loo, 0.0)
    return r, terms


def _z1_z2_sim(draw: np.ndarray, r: int, terms: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Z1 and Z2 of simulated draws (M, T) of scenario indices, from :func:`_loo_tail_terms`."""
    t_idx = np.arange(draw.shape[1])
    hit = draw < r
    term = np.where(hit, terms[t_idx, np.minimum(draw, r - 1)], 0.0)
    hit &= term != 0.0
    total, n_hits = term.sum(axis=1), hit.sum(axis=1)
    z1 = np.where(n_hits > 0, total / np.maximum(n_hits, 1) + 1.0, 0.0)
    return z1, total / (draw.shape[1] * alpha) + 1.0


def _z3_weights(n_scen: int, n_obs: int, k: int) -> np.ndarray:
    """Mean over i <= k of P(ceil(N V_(i:T)) = j), V_(i:T) ~ Beta(i, T - i + 1): ndarray (N,)."""
    grid = np.arange(n_scen + 1) / n_scen
    i = np.arange(1, k + 1)[:, None]
    cdf = stats.beta.cdf(grid[None, :], i, n_obs - i + 1)  # (k, N + 1)
    return np.diff(cdf, axis=1).mean(axis=0)


def _z3_from_ranks(ranks: np.ndarray, a: np.ndarray, k: int) -> np.ndarray:
    """Z3 from scenario ranks (..., T) (0-based) of the realized returns, given A (N,)."""
    smallest = np.partition(ranks, k - 1, axis=-1)[..., :k]
    return 1.0 + a[smallest].sum(axis=-1) / (k * ranks.shape[-1])


def acerbi_szekely(
    realized: np.ndarray,
    var: np.ndarray,
    es: np.ndarray,
    scenarios: np.ndarray,
    level: float,
    *,
    n_sim: int = 1000,
    seed: Seed = 0,
) -> ESTestResult:
    """Acerbi & Szekely (2014) tests Z1, Z2, Z3 with critical values simulated from the scenarios.

    Z1 / Z2 critical values hold the drawn scenario out of the forecast (see the module
    docstring). Z3 uses the realized ranks ``c_t = #{scenarios <= X_t}`` (PIT ``~ c_t / N``) and
    the quantile function of each date's scenario set: ``Z3 = 1 - mean_t ES_hat_t(U) / E_V[ES_hat_t(V)]``, with
    ``ES_hat`` the average of the ``k = max(1, floor(T (1 - level)))`` worst of the T PITs
    mapped through date t's scenario quantiles and ``E_V`` its exact expectation under
    uniform PITs (Beta order statistics).

    Parameters
    ----------
    realized : array (T,) of realized portfolio returns.
    var, es : arrays (T,) of positive VaR / ES forecasts at ``level``.
    scenarios : array (T, N >= 2) of each date's scenario portfolio returns.
    level : confidence level in (0, 1).
    n_sim : number of H0 simulations for p-values and critical values.
    seed : seed of the simulations.

    Returns
    -------
    ESTestResult; p-values are ``(1 + #{Z_sim <= Z}) / (n_sim + 1)``.

    Raises
    ------
    ValueError
        Non-finite inputs, mismatched shapes, or a date whose ES forecast (or its scenarios' expected ES
        estimate) is not a loss: the statistics divide by them.
    """
    x = np.asarray(realized, dtype=np.float64)
    s = np.asarray(scenarios, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scenarios must be a 2-d array (dates, scenarios), got shape {s.shape}")
    check_positive_int(n_sim, "n_sim")
    for name, a in (("realized", x), ("scenarios", s), ("var", np.asarray(var, dtype=np.float64)),
                    ("es", np.asarray(es, dtype=np.float64))):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has {int(np.sum(~np.isfinite(a)))} non-finite values; the ES tests need "
                             "finite inputs (drop the dates without a forecast first)")
    s = np.sort(s, axis=1)
    t_obs, n_scen = s.shape
    if n_scen < 2:
        raise ValueError(f"the Acerbi-Szekely tests need at least 2 scenarios per date, got {n_scen}")
    if x.shape != (t_obs,) or np.shape(var) != (t_obs,) or np.shape(es) != (t_obs,):
        raise ValueError(f"realized, var and es must have shape ({t_obs},) to match scenarios {s.shape}")
    alpha = 1.0 - float(check_levels(level)[0])
    k = max(1, int(np.floor(t_obs * alpha)))
    den = -(s @ _z3_weights(n_scen, t_obs, k))  # (T,) expected ES estimate under H0, a positive loss
    # Z1 and Z2 divide by ES, Z3 by den: a forecast with no loss in its tail is outside the tests' domain
    for name, vals, what in (("es", np.asarray(es, dtype=np.float64), "ES forecast"),
                             ("scenarios", den, "expected ES estimate of the scenarios")):
        if np.any(vals <= 0):
            t = int(np.argmax(vals <= 0))
            raise ValueError(f"{name}: the {what} is not a loss on {int(np.sum(vals <= 0))} date(s), the first at "
                             f"position {t} ({vals[t]:.6g}); the Acerbi-Szekely tests need positive ES")
    a = (s / den[:, None]).sum(axis=0)  # (N,)

    z1, z2 = z1_z2(x, var, es, level)
    # rank c = #{scenarios <= X} is uniform on 0..N under H0; c -> min(c, N - 1) matches the lower tail
    ranks = np.minimum([np.searchsorted(s_t, x_t, side="right") for s_t, x_t in zip(s, x)], n_scen - 1)
    z3 = _z3_from_ranks(np.asarray(ranks), a, k)

    rng = as_generator(seed)
    draw = rng.integers(0, n_scen, size=(int(n_sim), t_obs))  # scenario index per date, under H0
    sim1, sim2 = _z1_z2_sim(draw, *_loo_tail_terms(s, 1.0 - alpha), alpha)
    sim3 = _z3_from_ranks(draw, a, k)

    def p_and_crit(z: float, sim: np.ndarray) -> tuple[float, float]:
        return float((1 + np.sum(sim <= z)) / (sim.size + 1)), float(np.quantile(sim, 0.05))

    (p1, c1), (p2, c2), (p3, c3) = (p_and_crit(float(z), sim) for z, sim in ((z1, sim1), (z2, sim2), (z3, sim3)))
    return ESTestResult(float(z1), float(z2), float(z3), p1, p2, p3, c1, c2, c3, int(n_sim))
