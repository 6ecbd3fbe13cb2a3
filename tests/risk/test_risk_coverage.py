"""Coverage tests against textbook values (250 days at 99%, 7 exceedances)."""

import numpy as np
import pytest
from scipy import stats

from finscore.risk import (
    binomial_test,
    christoffersen,
    christoffersen_independence,
    kupiec,
    traffic_light,
    traffic_light_bounds,
    traffic_light_cdf,
)


@pytest.fixture
def hits():
    h = np.zeros(250, dtype=bool)
    h[[10, 50, 51, 120, 200, 201, 230]] = True
    return h


def test_reference_values(hits):
    uc = kupiec(hits, 0.99)
    assert uc.statistic == pytest.approx(5.49699, abs=1e-5)
    assert uc.pvalue == pytest.approx(0.019049, abs=1e-6)
    ind = christoffersen_independence(hits)
    assert ind.statistic == pytest.approx(6.73619, abs=1e-5)
    assert ind.pvalue == pytest.approx(0.0094476, abs=1e-7)
    cc = christoffersen(hits, 0.99)
    assert cc.statistic == pytest.approx(12.23318, abs=1e-5)
    assert cc.pvalue == pytest.approx(0.0022060, abs=1e-7)
    binom = binomial_test(hits, 0.99)
    assert binom.statistic == 7
    assert binom.pvalue == pytest.approx(0.013701, abs=1e-6)


def test_traffic_light_cdf_values():
    for x, cdf in [(4, 0.8922), (5, 0.9588), (9, 0.99975), (10, 0.99995)]:
        assert traffic_light_cdf(x, 250, 0.99) == pytest.approx(cdf, abs=5e-5)


@pytest.mark.parametrize("level, bounds", [(0.99, (4, 9)), (0.975, (10, 16))])
def test_traffic_light_zones_250_days(level, bounds):
    assert traffic_light_bounds(250, level) == bounds
    zones = [traffic_light(x, 250, level) for x in range(0, 30)]
    green, yellow = bounds
    assert zones == ["green"] * (green + 1) + ["yellow"] * (yellow - green) + ["red"] * (29 - yellow)


@pytest.mark.parametrize("n, level", [(1, 0.99), (30, 0.95), (500, 0.99), (1000, 0.975), (2500, 0.999), (250, 0.9999)])
def test_traffic_light_rule_any_size(n, level):
    green, yellow = traffic_light_bounds(n, level)
    cdf = stats.binom.cdf(np.arange(n + 1), n, 1 - level)
    for x in range(n + 1):
        expected = "green" if (cdf[x] < 0.95 or x == 0) else "yellow" if (cdf[x] < 0.9999 or x <= green) else "red"
        assert traffic_light(x, n, level) == expected


@pytest.mark.parametrize("n_hits", [0, 250])
def test_zero_and_all_exceedances_are_finite(n_hits):
    h = np.zeros(250, dtype=bool)
    h[:n_hits] = True
    for res in (kupiec(h, 0.99), christoffersen_independence(h), christoffersen(h, 0.99), binomial_test(h, 0.99)):
        assert np.isfinite(res.statistic) and 0.0 <= res.pvalue <= 1.0
    if n_hits == 0:
        assert kupiec(h, 0.99).statistic == pytest.approx(-2 * 250 * np.log(0.99))
        assert binomial_test(h, 0.99).pvalue == 1.0
        assert traffic_light(0, 250, 0.99) == "green"
    else:
        assert kupiec(h, 0.99).pvalue < 1e-100
        assert traffic_light(250, 250, 0.99) == "red"
    assert christoffersen_independence(h).statistic == 0.0


def test_single_observation_and_bad_input():
    assert np.isfinite(christoffersen_independence([True]).statistic)
    with pytest.raises(ValueError, match="inside"):
        kupiec(np.zeros(10, bool), 1.0)
    with pytest.raises(ValueError, match="inside"):
        traffic_light(1, 250, 0.0)
    with pytest.raises(ValueError, match="boolean"):
        kupiec([0, 2, 1], 0.99)
    with pytest.raises(ValueError, match="n_exceedances"):
        traffic_light(251, 250, 0.99)
