"""GARCH baseline: parameter recovery, parity with arch's recursion, conditional volatility."""

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from baselines_helpers import GJR_CORR, GJR_TRUTH

from finscore.baselines import GARCH

K_SE = 4  # tolerance in arch's robust standard errors (fixed seeds; |z| < 4 has two-sided p = 6e-5)


@pytest.fixture(scope="module")
def gjr_fit(gjr_panel):
    return GARCH().fit(gjr_panel)


def test_recovers_known_gjr_t_parameters(gjr_fit, gjr_panel):
    truth = pd.DataFrame(GJR_TRUTH, index=gjr_panel.columns)
    z = (gjr_fit.params_[truth.columns] - truth) / gjr_fit.std_err_[truth.columns]
    assert (z.abs() < K_SE).all().all(), z
    # copula correlation of the residuals' normal scores: 5 se, se = (1 - rho^2) / sqrt(T)
    se = (1 - GJR_CORR**2) / np.sqrt(len(gjr_panel))
    assert np.all(np.abs(gjr_fit.corr_ - GJR_CORR) <= 5 * se + 1e-12)
    # parameters are in log-return units (arch was fitted on returns x100)
    assert gjr_fit.params_["omega"].max() < 1e-4


def test_recovers_its_own_skewt_parameters(gjr_panel):
    gen = GARCH(dist="skewt").fit(gjr_panel)
    path = gen.sample(1, 5000, seed=7).values[0]
    sim = pd.DataFrame(path, index=pd.bdate_range("2020-01-01", periods=5000, name="date"), columns=gjr_panel.columns)
    refit = GARCH(dist="skewt").fit(sim)
    z = (refit.params_ - gen.params_) / refit.std_err_
    assert (z.abs() < K_SE).all().all(), z
    se = (1 - gen.corr_**2) / np.sqrt(len(sim))  # 5 se of the correlation
    assert np.all(np.abs(refit.corr_ - gen.corr_) <= 5 * se + 1e-12)


def test_variance_recursion_matches_arch(gjr_fit, gjr_panel):
    # our GJR recursion with the fitted parameters reproduces arch's conditional variances
    s2 = gjr_fit.vol_.filter(gjr_panel.to_numpy(), gjr_fit.sigma2_.to_numpy()[0])
    np.testing.assert_allclose(s2[:-1], gjr_fit.sigma2_.to_numpy(), rtol=1e-8)
    # and the default forecast is arch's own one-day-ahead variance forecast
    res = arch_model(100 * gjr_panel["A"], vol="GARCH", p=1, o=1, q=1, dist="t", rescale=False).fit(disp="off")
    arch_var = res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0] / 100**2
    assert gjr_fit.forecast_variance()["A"] == pytest.approx(arch_var, rel=1e-6)


def _hand_gjr(params: pd.DataFrame, context: pd.DataFrame) -> np.ndarray:
    """GJR recursion from the unconditional variance omega / (1 - alpha - gamma / 2 - beta), one asset at a time."""
    out = []
    for asset, p in params.iterrows():
        s2 = p["omega"] / (1 - p["alpha"] - p["gamma"] / 2 - p["beta"])
        for r in context[asset]:
            eps = r - p["mu"]
            s2 = p["omega"] + (p["alpha"] + (p["gamma"] if eps < 0 else 0.0)) * eps**2 + p["beta"] * s2
        out.append(s2)
    return np.array(out)


def test_conditional_volatility_after_calm_and_stressed_context(sp500_returns):
    assets = ["AAPL", "JPM", "XOM"]
    gen = GARCH().fit(sp500_returns.loc["2012":, assets])
    calm = sp500_returns.loc["2005-06":"2006-05", assets]      # before the fitted sample: unconditional start
    stressed = sp500_returns.loc["2008-03":"2008-11", assets]
    v_calm, v_stress = gen.forecast_variance(calm), gen.forecast_variance(stressed)
    np.testing.assert_allclose(v_calm.to_numpy(), _hand_gjr(gen.params_, calm), rtol=1e-10)
    np.testing.assert_allclose(v_stress.to_numpy(), _hand_gjr(gen.params_, stressed), rtol=1e-10)
    assert (v_stress > v_calm).all()
    assert (v_stress[["JPM", "XOM"]] > 5 * v_calm[["JPM", "XOM"]]).all()  # banks and oil in late 2008
    # same seed -> same innovations, so day-1 shocks scale exactly with the forecast volatility
    mu = gen.params_["mu"].to_numpy()
    a = gen.sample(500, 1, context=calm, seed=0).values[:, 0] - mu
    b = gen.sample(500, 1, context=stressed, seed=0).values[:, 0] - mu
    np.testing.assert_allclose(b / a, np.broadcast_to(np.sqrt(v_stress / v_calm).to_numpy(), a.shape), rtol=1e-8)


def test_volatility_mean_reverts_over_the_horizon(sp500_returns):
    gen = GARCH().fit(sp500_returns.loc["2012":, ["JPM", "XOM"]])
    stressed = sp500_returns.loc["2008-06":"2008-11", ["JPM", "XOM"]]
    x = gen.sample(4000, 60, context=stressed, seed=1).values
    var_first, var_last = x[:, :5].var(axis=(0, 1)), x[:, -5:].var(axis=(0, 1))
    # stressed start far above the unconditional level: variance decays towards it (ratio ~ persistence^55)
    assert (var_last < 0.7 * var_first).all()
    assert (gen.forecast_variance(stressed) > 5 * gen.unconditional_variance_).all()


def test_skewt_negative_second_moment():
    gen = GARCH(dist="skewt")
    # symmetric skew-t: E[z^2 1{z<0}] = 1/2 of the unit variance; negative skew puts more of it below 0
    assert gen._neg_second_moment(np.array([6.0, 0.0])) == pytest.approx(0.5, abs=1e-6)
    assert gen._neg_second_moment(np.array([6.0, -0.3])) > 0.55
