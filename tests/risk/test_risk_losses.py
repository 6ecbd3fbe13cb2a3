"""Pinball and FZ0 losses, Diebold–Mariano and the model confidence set."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from finscore.risk import diebold_mariano, fz0_loss, model_confidence_set, pinball_loss


def test_pinball_by_hand():
    # level 0.95 -> a = 0.05, q = -var = -0.02
    y = np.array([-0.03, 0.01, -0.02])
    loss = pinball_loss(y, [0.02, 0.02, 0.02], 0.95)
    # y < q: (1 - a)(q - y) = 0.95 * 0.01; y > q: a (y - q) = 0.05 * 0.03; y = q: 0
    np.testing.assert_allclose(loss, [0.95 * 0.01, 0.05 * 0.03, 0.0], atol=1e-15)


def test_fz0_by_hand():
    a, v, e = 0.025, -0.02, -0.03  # level 0.975, VaR 2%, ES 3%
    y = np.array([-0.05, 0.01])
    expected = [-(v - y[0]) / (a * e) + v / e + np.log(-e) - 1, v / e + np.log(-e) - 1]
    np.testing.assert_allclose(fz0_loss(y, [0.02, 0.02], [0.03, 0.03], 0.975), expected)
    assert np.isnan(fz0_loss([0.0], [0.01], [0.0], 0.975)[0])  # ES <= 0: undefined, NaN not inf


def test_true_var_es_minimise_expected_fz0_and_pinball():
    level, sigma = 0.975, 0.01
    y = sigma * np.random.default_rng(0).standard_normal(200_000)
    z = stats.norm.ppf(level)
    v, e = sigma * z, sigma * stats.norm.pdf(z) / (1 - level)
    n = y.size
    base_fz = fz0_loss(y, np.full(n, v), np.full(n, e), level).mean()
    base_pb = pinball_loss(y, np.full(n, v), level).mean()
    for scale in (0.8, 1.25):  # consistent scoring functions: misstated forecasts score worse
        assert fz0_loss(y, np.full(n, v * scale), np.full(n, e * scale), level).mean() > base_fz
        assert pinball_loss(y, np.full(n, v * scale), level).mean() > base_pb


def test_diebold_mariano_reference_values():
    # the dieboldmariano package's known answers (squared and absolute error losses)
    p1, p2 = np.arange(6.0), np.array([0, 2, 3, 3, 5, 6.0])
    res = diebold_mariano(p1**2, p2**2)
    assert res.statistic == pytest.approx(-2.4905, abs=1e-4)
    assert res.pvalue == pytest.approx(0.05513, abs=1e-4)
    # by hand: d = [0, -3, -5, 0, -9, -11], mean -14/3, V = gamma0 / T, Harvey factor sqrt((T - 1) / T) for h = 1
    d = p1**2 - p2**2
    t = d.size
    stat = d.mean() / np.sqrt(((d - d.mean()) ** 2).mean() / t) * np.sqrt((t + 1 - 2 + 0) / t)
    assert res.statistic == pytest.approx(stat)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(stat), t - 1))


def test_diebold_mariano_h3_by_hand():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(size=15), rng.uniform(size=15)
    res = diebold_mariano(a, b, h=3)
    d = a - b
    t, dc = d.size, d - d.mean()
    g = [dc[k:] @ dc[: t - k] / t for k in range(3)]
    stat = d.mean() / np.sqrt((g[0] + 2 * (g[1] + g[2])) / t) * np.sqrt((t + 1 - 6 + 3 * 2 / t) / t)
    assert res.statistic == pytest.approx(stat)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(stat), t - 1))


def test_diebold_mariano_known_answer_h3():
    p1 = np.array([0.3675225224615024, 0.5450608127223211, 0.22044990720021074, 0.8688743471040006,
                   0.6072512228948467, 0.8582283746501538, 0.41662295816718187, 0.3812100211114714,
                   0.7185133356116706, 0.30827323290318875, 0.4297093624074402, 0.8615974488577858,
                   0.7240514514808826, 0.3450839595261038, 0.19675301374013598])
    p2 = np.array([0.12794132529988733, 0.3679643204341153, 0.768715420996091, 0.09972248964114683,
                   0.27197653636654284, 0.28797629010039505, 0.9160213458582482, 0.6112628048698798,
                   0.5452873235576241, 0.06785907231746158, 0.6072666485541124, 0.6241575753989782,
                   0.39998026828867217, 0.19895665605941748, 0.8094941215215619])
    res = diebold_mariano(np.abs(p1), np.abs(p2), h=3)
    assert res.statistic == pytest.approx(1.2109, abs=1e-4)
    assert 1 - res.pvalue / 2 == pytest.approx(0.877, abs=1e-3)  # the package's one-sided p-value


def test_diebold_mariano_edge_cases():
    x = np.linspace(0, 1, 20)
    res = diebold_mariano(x, x)
    assert res.statistic == 0.0 and res.pvalue == 1.0
    res = diebold_mariano(x, x + 1)  # constant difference: zero variance, clear winner
    assert res.statistic == -np.inf and res.pvalue == 0.0
    with pytest.raises(ValueError, match="same shape"):
        diebold_mariano(x, x[:-1])
    with pytest.raises(ValueError, match="h must be"):
        diebold_mariano(x, x, h=0)


def test_model_confidence_set_excludes_bad_model():
    rng = np.random.default_rng(0)
    base = rng.exponential(size=(300, 1))
    losses = pd.DataFrame(base + 0.05 * rng.standard_normal((300, 3)), columns=["good", "same", "bad"])
    losses["bad"] += 0.5
    mcs = model_confidence_set(losses, reps=200, seed=1)
    assert list(mcs.index) == ["good", "same", "bad"]
    assert mcs.loc["good", "in_mcs"] and not mcs.loc["bad", "in_mcs"]
    assert mcs.loc["bad", "mcs_pvalue"] < 0.05
