"""StressResult container and run_stress plumbing with an exact 'guided' fake."""

import numpy as np
import pytest
from report_fakes import Guidable, returns_frame

from finscore.baselines import GaussianCopula
from finscore.errors import DataError
from finscore.report import StressResult, run_stress, supports_guidance
from finscore.report.figures import stress_losses


def test_stress_result_validates_and_summarizes():
    s = StressResult([0.1, 0.2, 0.3], [], {"A": 0.5, "B": 0.5}, alpha=0.9)
    assert s.weights.index.tolist() == ["A", "B"] and s.rejection_losses.shape == (0,)
    assert s.summary().index.tolist() == ["guided"] and s.ks_test() is None
    assert s.summary().loc["guided", "mean"] == pytest.approx(0.2)
    with pytest.raises(DataError, match="non-finite"):
        StressResult([0.1, np.nan], [], [1.0], alpha=0.9)
    with pytest.raises(DataError, match="empty"):
        StressResult([], [0.1], [1.0], alpha=0.9)
    with pytest.raises(DataError, match="alpha"):
        StressResult([0.1], [0.1], [1.0], alpha=1.0)
    assert StressResult.coerce({"guided_losses": [0.1], "rejection_losses": [0.2], "weights": [1.0],
                                "alpha": 0.5}).alpha == 0.5


def test_supports_guidance():
    assert supports_guidance(Guidable()) and not supports_guidance(GaussianCopula()) and not supports_guidance(3)


def test_run_stress_matches_rejection_for_an_exact_guided_sampler():
    model = Guidable().fit(returns_frame(100, 3, seed=2))
    s = run_stress(model, alpha=0.9, n=300, horizon=5, seed=0)
    assert s.guided_losses.shape == (300,) and s.horizon_days == 5
    # rejection keeps the draws at or beyond the empirical VaR of ceil(300 / 0.1) = 3000 draws: about 300
    assert 290 <= s.rejection_losses.size <= 310
    assert s.rejection_losses.min() >= s.threshold
    # both samples come from the same tail law: KS p-value is uniform under H0, P(p < 0.001) = 0.001
    assert s.ks_test().pvalue > 1e-3
    assert s.weights.index.tolist() == ["A0", "A1", "A2"] and s.weights.sum() == pytest.approx(1.0)
    assert {"guided: seconds per scenario", "rejection: seconds per kept scenario"} <= set(s.cost)
    assert s.metadata["guided"] is True


def test_run_stress_rejects_models_without_guidance_and_bad_arguments():
    copula = GaussianCopula().fit(returns_frame(100, 2))
    with pytest.raises(TypeError, match="guidance"):
        run_stress(copula)
    with pytest.raises(ValueError, match="alpha"):
        run_stress(Guidable().fit(returns_frame(100, 2)), alpha=1.5)
    with pytest.raises(ValueError, match="posterior_draws"):  # the options reach VaRGuidance
        run_stress(Guidable().fit(returns_frame(100, 2)), n=10, guidance_options={"posterior_draws": 3})


def test_stress_figure_has_labelled_axes_and_legend():
    rng = np.random.default_rng(0)
    fig = stress_losses(rng.exponential(size=50), rng.exponential(size=40), threshold=0.0, alpha=0.95, horizon_days=10)
    hist, cdf = fig.axes
    assert "10-day loss (% of value)" in hist.get_xlabel() and hist.get_ylabel() and cdf.get_ylabel()
    assert hist.get_legend() is not None and cdf.get_legend() is not None
    single = stress_losses(np.ones(5), np.array([]))
    assert len(single.axes[0].get_legend().get_texts()) == 1
