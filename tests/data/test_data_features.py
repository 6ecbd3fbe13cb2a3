"""Causal features: values against direct formulas and a no-look-ahead check for each."""

import numpy as np
import pandas as pd
import pytest

from finscore.data import (average_correlation, cross_sectional_dispersion, drawdown, ewma_volatility,
                           market_features, realized_volatility)
from finscore.errors import DataError

T_CUT = 120  # perturb everything after this position


@pytest.fixture(scope="module")
def rets():
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2019-01-01", periods=200, name="date")
    common = rng.normal(0, 0.01, (200, 1))
    return pd.DataFrame(common + rng.normal(0, 0.01, (200, 4)), index=idx, columns=list("ABCD"))


def _perturbed(r):
    out = r.copy()
    out.iloc[T_CUT + 1:] = np.random.default_rng(9).normal(0, 0.05, out.iloc[T_CUT + 1:].shape)
    return out


FEATURES = {
    "ewma_volatility": lambda r: ewma_volatility(r, 0.94),
    "realized_volatility": lambda r: realized_volatility(r, 20),
    "drawdown": lambda r: drawdown(r["A"]),
    "cross_sectional_dispersion": cross_sectional_dispersion,
    "average_correlation": lambda r: average_correlation(r, 20),
    "market_features": lambda r: market_features(r, window=20),
}


@pytest.mark.parametrize("name", FEATURES)
def test_no_look_ahead(rets, name):
    """Changing returns after t leaves every feature value up to t unchanged."""
    f = FEATURES[name]
    before, after = f(rets), f(_perturbed(rets))
    pd.testing.assert_frame_equal(pd.DataFrame(before).iloc[: T_CUT + 1], pd.DataFrame(after).iloc[: T_CUT + 1])
    assert not pd.DataFrame(before).iloc[T_CUT + 1:].equals(pd.DataFrame(after).iloc[T_CUT + 1:])


def test_ewma_recursion(rets):
    r = rets["B"].to_numpy()
    s2 = np.empty_like(r)
    s2[0] = r[0] ** 2
    for t in range(1, len(r)):
        s2[t] = 0.9 * s2[t - 1] + 0.1 * r[t] ** 2
    np.testing.assert_allclose(ewma_volatility(rets["B"], lam=0.9).to_numpy(), np.sqrt(s2), rtol=1e-12)
    with pytest.raises(DataError, match="lam must be in"):
        ewma_volatility(rets, lam=1.0)


def test_realized_volatility(rets):
    rv = realized_volatility(rets, 10)
    assert rv.iloc[:9].isna().all().all()
    np.testing.assert_allclose(rv.iloc[50].to_numpy(), np.sqrt((rets.iloc[41:51] ** 2).mean()).to_numpy())
    with pytest.raises(DataError, match="window must be an integer >= 1"):
        realized_volatility(rets, 0)


def test_drawdown():
    r = pd.Series(np.log([1.1, 0.5, 1.5, 2.0]), index=pd.bdate_range("2020-01-01", periods=4))
    # wealth 1.1, 0.55, 0.825, 1.65 -> peaks 1.1, 1.1, 1.1, 1.65
    np.testing.assert_allclose(drawdown(r).to_numpy(), [0.0, -0.5, -0.25, 0.0], atol=1e-12)
    down_first = pd.Series(np.log([0.8, 1.1]), index=r.index[:2])
    np.testing.assert_allclose(drawdown(down_first).to_numpy(), [-0.2, -0.12])  # the initial wealth 1 is a peak
    with pytest.raises(DataError, match="drawdown needs one return series, got 4 columns"):
        drawdown(pd.DataFrame(np.zeros((3, 4)), index=r.index[:3]))


def test_dispersion(rets):
    np.testing.assert_allclose(cross_sectional_dispersion(rets).to_numpy(), np.std(rets.to_numpy(), axis=1))
    with pytest.raises(DataError, match="at least 2 assets"):
        cross_sectional_dispersion(rets[["A"]])


def test_average_correlation_matches_pandas(rets):
    ac = average_correlation(rets, 30)
    assert ac.iloc[:29].isna().all()
    for t in (29, 100, 199):
        c = rets.iloc[t - 29:t + 1].corr().to_numpy()
        assert ac.iloc[t] == pytest.approx(c[~np.eye(4, dtype=bool)].mean(), abs=1e-12)


def test_average_correlation_skips_constant_assets(rets):
    r = rets.copy()
    r.iloc[:40, 3] = 0.0
    c = r.iloc[10:40, :3].corr().to_numpy()
    assert average_correlation(r, 30).iloc[39] == pytest.approx(c[~np.eye(3, dtype=bool)].mean(), abs=1e-12)


def test_market_features_columns(rets):
    f = market_features(rets, window=20)
    assert list(f.columns) == ["ewma_vol", "realized_vol", "drawdown", "dispersion", "avg_corr"]
    assert f.iloc[19:].notna().all().all() and f.iloc[:19].isna().any(axis=1).all()
    with pytest.raises(DataError, match="same dates"):
        market_features(rets, index_returns=rets["A"].iloc[1:])
