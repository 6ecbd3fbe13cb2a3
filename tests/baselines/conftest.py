"""Shared fixtures of the baseline tests: a small real panel and a simulated GJR-GARCH-t panel."""

import pytest
from baselines_helpers import GJR_CORR, GJR_TRUTH, simulate_gjr_t


@pytest.fixture(scope="session")
def gjr_panel():
    """4000 days of a 3-asset GJR-GARCH-t with known parameters GJR_TRUTH and copula correlation GJR_CORR."""
    return simulate_gjr_t(0, 4000, corr=GJR_CORR, **GJR_TRUTH)


@pytest.fixture(scope="session")
def small_returns(sp500_returns):
    """4 real assets, 2012-2016 (about 1250 days): fast fits."""
    return sp500_returns.loc["2012":, ["AAPL", "JPM", "XOM", "PG"]]
