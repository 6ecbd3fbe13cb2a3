"""Coverage tests on a VaR exceedance series: Kupiec, Christoffersen, exact binomial, Basel traffic light.

All functions are pure: they take a boolean exceedance series ``hits`` (n_obs,) (True where
the realized loss exceeded the VaR forecast) and the VaR confidence ``level`` (e.g. 0.99, so
the exceedance probability under H0 is ``1 - level``). They assume independent hits; with
overlapping multi-day forecasts that assumption fails and the p-values are too small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import xlogy

from finscore.risk.measures import check_levels

ZONE_BOUNDS = (0.95, 0.9999)  # Basel: green if P(X <= x) < 95%, yellow if < 99.99%, red otherwise


@dataclass(frozen=True)
class StatResult:
    """A test statistic with its p-value (``pvalue`` is 1.0 where nothing can be rejected)."""

    statistic: float
    pvalue: float


def check_hits(hits) -> np.ndarray:
    """Validate an exceedance series: ndarray (n_obs,) of bool, n_obs >= 1."""
    arr = np.asarray(hits)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"exceedances must be a non-empty 1-d series, got shape {arr.shape}")
    if arr.dtype != bool:
        if not np.all(np.isin(arr, (0, 1))):
            raise ValueError("exceedances must be boolean (or 0/1)")
        arr = arr.astype(bool)
    return arr


def _level(level: float) -> float:
    return float(check_levels(level)[0])


def kupiec(hits, level: float) -> StatResult:
    """Kupiec (1995) proportion-of-failures likelihood-ratio test; LR ~ chi2(1) under H0.

    ``LR_uc = -2 [log L(p) - log L(x/n)]`` with ``p = 1 - level``, x hits in n days.
    Zero or all hits are handled (``0 log 0 = 0``).
    """
    h = check_hits(hits)
    p = 1.0 - _level(level)
    n, x = h.size, int(h.sum())
    ph = x / n
    lr = -2.0 * (xlogy(n - x, 1 - p) + xlogy(x, p) - xlogy(n - x, 1 - ph) - xlogy(x, ph))
    lr = max(float(lr), 0.0)
    return StatResult(lr, float(stats.chi2.sf(lr, 1)))


def _transitions(h: np.ndarray) -> tuple[int, int, int, int]:
    a, b = h[:-1], h[1:]
    return int(np.sum(~a & ~b)), int(np.sum(~a & b)), int(np.sum(a & ~b)), int(np.sum(a & b))


def christoffersen_independence(hits) -> StatResult:
    """Christoffersen (1998) independence LR test (first-order Markov vs i.i.d. hits); chi2(1).

    Uses the n00, n01, n10, n11 transition counts; empty rows contribute zero (no NaN for
    zero or all hits, or fewer than two observations).
    """
    h = check_hits(hits)
    n00, n01, n10, n11 = _transitions(h)
    p01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    p11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    tot = n00 + n01 + n10 + n11
    p = (n01 + n11) / tot if tot else 0.0
    ll1 = xlogy(n00, 1 - p01) + xlogy(n01, p01) + xlogy(n10, 1 - p11) + xlogy(n11, p11)
    ll0 = xlogy(n00 + n10, 1 - p) + xlogy(n01 + n11, p)
    lr = max(float(2.0 * (ll1 - ll0)), 0.0)
    return StatResult(lr, float(stats.chi2.sf(lr, 1)))


def christoffersen(hits, level: float) -> StatResult:
    """Christoffersen (1998) conditional coverage: ``LR_cc = LR_uc + LR_ind`` ~ chi2(2)."""
    lr = kupiec(hits, level).statistic + christoffersen_independence(hits).statistic
    return StatResult(lr, float(stats.chi2.sf(lr, 2)))


def binomial_test(hits, level: float) -> StatResult:
    """Exact one-sided binomial test of too many hits: p = P(X >= x), X ~ Bin(n, 1 - level).

    The statistic is the number of hits x.
    """
    h = check_hits(hits)
    x = int(h.sum())
    return StatResult(float(x), float(stats.binom.sf(x - 1, h.size, 1.0 - _level(level))))


def traffic_light_cdf(n_exceedances: int, n_obs: int, level: float) -> float:
    """Cumulative probability P(X <= n_exceedances), X ~ Bin(n_obs, 1 - level) (Basel Committee 1996)."""
    return float(stats.binom.cdf(int(n_exceedances), int(n_obs), 1.0 - _level(level)))


def traffic_light_bounds(n_obs: int, level: float) -> tuple[int, int]:
    """Largest exceedance counts of the green and the yellow zone: ``(green_max, yellow_max)``.

    Basel rule generalised to any sample size and level: a count x is green if
    P(X <= x) < 95%, yellow if < 99.99%, red otherwise. At 99% over 250 days: (4, 9).
    Zero exceedances are always green (the Basel green zone "begins at zero"), which
    matters only where ``level ** n_obs >= 95%``.
    """
    n = int(n_obs)
    if n < 1:
        raise ValueError(f"n_obs must be positive, got {n_obs}")
    cdf = stats.binom.cdf(np.arange(n + 1), n, 1.0 - _level(level))  # increasing in x
    # number of counts with CDF below a bound = the first count at or above it
    green = max(int(np.sum(cdf < ZONE_BOUNDS[0])) - 1, 0)  # zero exceedances are always green
    yellow = max(int(np.sum(cdf < ZONE_BOUNDS[1])) - 1, green)
    return green, yellow


def traffic_light(n_exceedances: int, n_obs: int, level: float) -> str:
    """Basel traffic-light zone ``"green"``, ``"yellow"`` or ``"red"`` of an exceedance count."""
    if not 0 <= int(n_exceedances) <= int(n_obs):
        raise ValueError(f"n_exceedances must be in [0, n_obs={n_obs}], got {n_exceedances}")
    green, yellow = traffic_light_bounds(n_obs, level)
    x = int(n_exceedances)
    return "green" if x <= green else "yellow" if x <= yellow else "red"
