"""ScoreGenerator end to end on real data (tiny preset): shapes, seeds, conditioning, rollout, save/load, errors."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from finscore.errors import CheckpointError, DataError, NotFittedError, NumericalError
from finscore.generator import ScoreGenerator
from finscore.presets import ScoreConfig


def test_sample_shape_units_and_reproducibility(tiny_generator):
    g = tiny_generator
    s = g.sample(400, seed=0)
    assert s.values.shape == (400, 10, 5) and s.assets == g.assets_ and np.isfinite(s.values).all()
    assert s.start == g.fit_end_
    # plain daily log returns: the scenario volatility is of the order of the assets' daily volatility
    ratio = s.values.std() / g.history_.to_numpy().std()
    assert 0.3 < ratio < 3
    assert np.array_equal(s.values, g.sample(400, seed=0).values)
    assert not np.array_equal(s.values, g.sample(400, seed=1).values)


@pytest.mark.parametrize("sampler", ["euler", "pc", "langevin", "ode", "dpmpp_2m"])
def test_every_sampler_runs(tiny_generator, sampler):
    s = tiny_generator.sample(64, seed=0, sampler=sampler, steps=6)
    assert s.values.shape == (64, 10, 5) and np.isfinite(s.values).all()
    assert s.metadata["sampler"] == sampler and s.metadata["nfe"] > 0


def test_scenarios_scale_with_the_context_volatility(tiny_generator):
    """Targets are in units of the context's EWMA volatility: a context 3x as volatile must give
    scenarios about 3x as wide (not exactly 3: the volatility-level features change too)."""
    g = tiny_generator
    ctx = g.history_
    calm, wild = g.sample_many(2000, None, [ctx, ctx * 3.0], seed=0)
    ratio = wild.values.std() / calm.values.std()
    assert 1.8 < ratio < 4.5, ratio


def test_sample_many_matches_the_contexts(tiny_generator, sp500_returns):
    g = tiny_generator
    rets = sp500_returns.iloc[:, :5]
    ctxs = [rets.loc[:"2015-06-30"].iloc[-80:], rets.loc[:"2016-03-31"].iloc[-60:]]
    out = g.sample_many(50, None, ctxs, seed=0)
    assert [s.start for s in out] == [c.index[-1] for c in ctxs]
    assert all(s.values.shape == (50, 10, 5) for s in out)


def test_rollout_beyond_the_trained_horizon_is_continuous(tiny_generator):
    g = tiny_generator
    long = g.sample(1000, horizon=25, seed=3).values
    assert long.shape == (1000, 25, 5) and np.isfinite(long).all()
    # the first window is the direct forecast with the same seed
    assert np.array_equal(long[:, :10], g.sample(1000, seed=3).values)
    # no jump at the seams (days 10 -> 11 and 20 -> 21): the cross-sectional std of the day after a seam
    # is within 25% of the day before (the sd of a std estimate from 5000 values is ~1-2%; 25% allows for
    # the model's genuine volatility drift over one day)
    sd = long.std(axis=(0, 2))
    for seam in (10, 20):
        assert abs(sd[seam] / sd[seam - 1] - 1) < 0.25, sd


def test_save_load_round_trip(tiny_generator, tmp_path):
    g = tiny_generator
    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m", device="cpu")
    assert back.assets_ == g.assets_ and back.fit_end_ == g.fit_end_
    assert np.array_equal(back.sample(64, seed=5).values, g.sample(64, seed=5).values)
    with pytest.raises(FileExistsError):
        g.save(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError):
        ScoreGenerator.load(tmp_path / "m")


def test_bad_input_errors(tiny_generator, sp500_returns):
    g = tiny_generator
    with pytest.raises(NotFittedError):
        ScoreGenerator(preset="tiny").sample(5)
    with pytest.raises(DataError, match="at least 60"):
        g.sample(5, context=g.history_.iloc[-20:])
    with pytest.raises(ValueError, match="n must be a positive integer"):
        g.sample(0)
    for steps in (0, -3, 2.5, True):  # not silently replaced by the config's sample_steps
        with pytest.raises(ValueError, match=f"steps must be a positive int.*got {steps!r}"):
            g.sample(5, steps=steps)
    with pytest.raises(ValueError, match="unknown sampler ''"):
        g.sample(5, sampler="")
    with pytest.raises(TypeError, match="sequence of DataFrames"):
        g.sample_many(5, None, g.history_)
    with pytest.raises(ValueError, match="unknown preset"):
        ScoreGenerator(preset="huge")
    with pytest.raises(TypeError, match="unknown ScoreGenerator arguments"):
        ScoreGenerator(widht=3)
    short = g.history_.iloc[:, :3]
    with pytest.raises(DataError):
        g.sample(5, context=pd.concat([short] * 2))
    with pytest.raises(DataError, match="training windows"):
        ScoreGenerator(preset="tiny", progress=False).fit(sp500_returns.iloc[:100])


def test_numerical_failure_is_reported(tiny_generator, monkeypatch):
    g = tiny_generator
    real = g.model_.forward

    def broken(x, sigma, **kw):
        return real(x, sigma, **kw) * float("nan")

    monkeypatch.setattr(g.model_, "forward", broken)
    with pytest.raises(NumericalError):
        g.sample(8, seed=0)


def test_classifier_free_guidance_scale_is_a_sampling_knob(tiny_generator):
    g = tiny_generator
    plain = g.sample(200, seed=0).values
    blended = g.sample(200, seed=0, guidance_scale=0.4).values
    assert np.isfinite(blended).all() and not np.array_equal(plain, blended)
    assert np.array_equal(blended, g.sample(200, seed=0, guidance_scale=0.4).values)


def test_noise_level_schedule_is_a_sampling_knob(tiny_generator, monkeypatch):
    from finscore import model as model_module
    from finscore.presets import ScoreConfig

    g = tiny_generator
    seen = []
    levels = model_module.noise_levels
    monkeypatch.setattr(model_module, "noise_levels", lambda plan: seen.append(plan.schedule) or levels(plan))
    assert g.config_.sample_schedule == "geometric"  # the default
    geometric = g.sample(100, seed=0).values
    g.config_ = dataclasses.replace(g.config_, sample_schedule="karras")
    try:
        karras = g.sample(100, seed=0).values
    finally:
        g.config_ = dataclasses.replace(g.config_, sample_schedule="geometric")
    assert seen == ["geometric", "karras"] and np.isfinite(karras).all() and not np.array_equal(karras, geometric)
    old = {k: v for k, v in g.config_.to_dict().items() if k != "sample_schedule"}  # a checkpoint from before
    assert ScoreConfig.from_dict(old).sample_schedule == "karras"
    with pytest.raises(ValueError, match=r"sample_schedule must be one of \('karras', 'geometric'\), got 'log'"):
        ScoreGenerator(preset="tiny", sample_schedule="log")


def test_refinement_runs_at_the_configured_noise_level(sp500_returns, tiny_generator):
    from finscore.stress import VaRGuidance

    returns = sp500_returns.loc["2012-01-01":"2014-12-31"].iloc[:, :3]
    g = ScoreGenerator(horizon=5, context=60, preset="tiny", parameterization="energy", steps=40, sample_steps=6,
                       refine_sigma=0.5, progress=False).fit(returns)
    levels = _noise_levels_of(g)
    near = levels[int(np.argmin(np.abs(np.log(levels[:-1] / 0.5))))]
    out = g.sample(50, seed=0, refine="mala")
    assert np.isfinite(out.values).all() and out.metadata["refine"]["sigma"] == pytest.approx(near, rel=1e-6)
    assert not np.array_equal(out.values, g.sample(50, seed=0).values)
    g.config_ = dataclasses.replace(g.config_, refine_sigma=None)  # the smallest level
    assert g.sample(50, seed=0, refine="ula").metadata["refine"]["sigma"] == pytest.approx(levels[-2], rel=1e-6)
    with pytest.raises(ValueError, match="refine and stress guidance cannot be combined"):
        g.sample(50, seed=0, refine="mala", guidance=VaRGuidance("equal", alpha=0.9))
    with pytest.raises(ValueError, match="refine needs an energy model"):
        tiny_generator.sample(10, seed=0, refine="mala")


def _noise_levels_of(g) -> np.ndarray:
    from finscore.model import noise_levels

    return noise_levels(g._plan()).double().numpy()


def test_mixture_guidance_draws_each_scenario_from_one_branch(tiny_generator):
    # guidance_mode="mixture": the rows that mixture_rows marks are the conditional model's draws and the others
    # the unconditional model's, with the same noise (same seed); "blend" at weight 1 / 0 is exactly those models.
    from finscore.model import mixture_rows

    g, cfg = tiny_generator, tiny_generator.config_
    assert cfg.guidance_mode == "blend"  # the default
    cond = g.sample(50, seed=4, guidance_scale=1.0).values
    uncond = g.sample(50, seed=4, guidance_scale=0.0).values
    blended = g.sample(50, seed=4, guidance_scale=0.3).values
    try:
        g.config_ = dataclasses.replace(cfg, guidance_mode="mixture")
        mixed = g.sample(50, seed=4, guidance_scale=0.3).values
        with pytest.raises(ValueError, match="conditional share"):
            g.sample(5, guidance_scale=1.5)
    finally:
        g.config_ = cfg
    assert not np.array_equal(blended, mixed)
    rows = mixture_rows(50, 50, 0.3)
    assert rows.sum() == 15
    np.testing.assert_allclose(mixed[rows], cond[rows], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(mixed[~rows], uncond[~rows], rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="guidance_mode must be one of"):
        ScoreGenerator(preset="tiny", guidance_mode="product")


def test_auto_sample_batch_is_the_device_default(tiny_generator):
    # sample_batch=None resolves to the device default (1024 on CPU): the same draws as asking for it.
    from finscore.model import AUTO_BATCH, resolve_batch

    assert resolve_batch(None, torch.device("cpu")) == AUTO_BATCH["cpu"]
    assert resolve_batch(7, torch.device("cpu")) == 7
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="sample_batch"):
            resolve_batch(bad, torch.device("cpu"))
    with pytest.raises(ValueError, match="sample_batch"):
        ScoreGenerator(preset="tiny", sample_batch=0)
    cfg = tiny_generator.config_
    try:
        tiny_generator.config_ = dataclasses.replace(cfg, sample_batch=None)
        auto = tiny_generator.sample(64, seed=3).values
        tiny_generator.config_ = dataclasses.replace(cfg, sample_batch=AUTO_BATCH["cpu"])
        explicit = tiny_generator.sample(64, seed=3).values
    finally:
        tiny_generator.config_ = cfg
    np.testing.assert_array_equal(auto, explicit)


def test_static_asset_loadings_and_scale_path_fit_sample_and_save(sp500_returns, tmp_path):
    from finscore.conditioning import asset_loadings

    returns = sp500_returns.loc["2012-01-01":"2014-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", asset_loadings=2, state={"scale_path": True},
                       progress=False).fit(returns)
    assert g._state(returns.to_numpy()[None, -60:])[2].shape == (1, 10, 4)  # one target scale per horizon day
    static = g.model_.net.asset_static.numpy()
    n_windows = len(returns) - 60 - 10 + 1
    n_val = round(g.config_.val_fraction * n_windows)
    train_rows = returns.to_numpy()[: n_windows - n_val - 10 + 60 + 10 - 1]  # the DSM validation windows excluded
    np.testing.assert_allclose(static, asset_loadings(train_rows, 2), rtol=1e-6)
    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m", device="cpu")
    assert back.config_ == g.config_
    assert np.array_equal(back.model_.net.asset_static.numpy(), static)
    assert np.array_equal(back.sample(32, seed=3).values, g.sample(32, seed=3).values)
    with pytest.raises(ValueError, match="asset_loadings must be an integer >= 0"):
        ScoreGenerator(preset="tiny", asset_loadings=-1).fit(returns)


@pytest.mark.parametrize("uncond_state", ["vol", "term"])
def test_partially_conditional_branch_is_wired_trained_and_saved(sp500_returns, tmp_path, uncond_state):
    returns = sp500_returns.loc["2012-01-01":"2014-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", uncond_state=uncond_state, guidance_scale=0.5,
                       progress=False).fit(returns)
    net = g.model_.net
    keep, keep_asset = g.config_.state.volatility_features(level=uncond_state == "vol")
    assert (net.config.keep_cond, net.config.keep_asset_cond) == (keep, keep_asset)
    assert net.config.cond_dim == g.config_.state.n_global_features() > max(keep)
    assert torch.count_nonzero(net.null_features) > 0  # trained on the dropped rows
    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m", device="cpu")
    assert back.config_.uncond_state == uncond_state
    assert np.array_equal(back.sample(32, seed=3).values, g.sample(32, seed=3).values)
    assert ScoreConfig.from_dict({k: v for k, v in g.config_.to_dict().items() if k != "uncond_state"}).uncond_state \
        == "none"  # a checkpoint written before the field existed
    with pytest.raises(ValueError, match=r"uncond_state must be one of \('none', 'vol', 'term'\), got 'all'"):
        ScoreGenerator(preset="tiny", uncond_state="all")


def test_gjr_target_scale_is_fitted_on_the_training_rows_and_saved(sp500_returns, tmp_path):
    from finscore.baselines import GARCH
    from finscore.conditioning import gjr_target_scale

    returns = sp500_returns.loc["2012-01-01":"2014-12-31"].iloc[:, :3]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", state={"vol_model": "gjr"}, progress=False).fit(returns)
    n_windows = len(returns) - 60 - 10 + 1
    n_val = round(g.config_.val_fraction * n_windows)
    ref = GARCH(dist="t").fit(returns.iloc[: n_windows - n_val - 10 + 60 + 10 - 1])  # DSM validation rows excluded
    np.testing.assert_allclose(g.vol_params_["beta"], ref.vol_.beta)
    ctx = returns.to_numpy()[None, -60:]
    np.testing.assert_allclose(g._state(ctx)[2][:, 0], gjr_target_scale(ctx, ref.vol_, ref.unconditional_variance_, 10))
    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m", device="cpu")
    assert back.vol_params_ == g.vol_params_
    assert np.array_equal(back.sample(16, seed=2).values, g.sample(16, seed=2).values)


def _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path):
    """Save/load gives identical samples, and VaR guidance (which must evaluate the book's loss through every
    map from the model's space to returns) meets its constraint in plain returns. Returns the loaded copy."""
    from finscore.stress import VaRGuidance

    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m", device="cpu")
    assert np.array_equal(back.sample(16, seed=2).values, g.sample(16, seed=2).values)
    s = g.sample(60, seed=3, guidance=VaRGuidance("equal", alpha=0.95))
    loss = -s.portfolio_returns("equal")[:, -1]
    assert (loss >= s.metadata["stress"]["level"][0] - 1e-6).mean() >= 0.95
    return back


@pytest.mark.parametrize("target_tails", ["tukey_h", "tukey_hh"])
def test_tukey_h_tails_are_fitted_saved_and_seen_by_the_stress_guidance(sp500_returns, tmp_path, target_tails):
    from finscore.tails import TukeyH

    returns = sp500_returns.loc["2009-01-01":"2014-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", target_tails=target_tails, target_scale="forecast",
                       progress=False).fit(returns)
    assert isinstance(g.tails_, TukeyH) and np.all(g.tails_.h + g.tails_.h_left > 0.1)  # fat tails
    # one parameter per asset, or one per asset and side
    assert np.array_equal(g.tails_.h_left, g.tails_.h) == (target_tails == "tukey_h")
    # the network is trained on Gaussianized targets: the inverse of the scaled windows it saw
    scale = g._state(returns.to_numpy()[None, :60])[2]
    z = returns.to_numpy()[60:70][None] / scale / g.scale_
    np.testing.assert_allclose(g.tails_.from_gaussian(g.tails_.to_gaussian(z)), z, atol=1e-10)
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees the transform
    assert back.config_.target_tails == target_tails
    np.testing.assert_array_equal(back.tails_.h, g.tails_.h)
    np.testing.assert_array_equal(back.tails_.h_left, g.tails_.h_left)
    with pytest.raises(ValueError, match="target_tails must be one of"):
        ScoreGenerator(preset="tiny", target_tails="pareto")


def test_gjr_filter_fitting_rows(sp500_returns):
    from finscore.baselines import GARCH

    returns = sp500_returns.loc["2009-01-01":"2014-12-31"].iloc[:, :3]
    fits = {}
    for vol_fit in ("train", "all"):
        g = ScoreGenerator(horizon=10, context=60, preset="tiny", target_corr="none", vol_fit=vol_fit,
                           progress=False).fit(returns)
        n_windows = len(returns) - 60 - 10 + 1
        n_val = round(g.config_.val_fraction * n_windows)
        n_rows = n_windows - n_val - 10 + 60 + 10 - 1  # the rows of the training windows, before the gap of H
        rows = returns if vol_fit == "all" else returns.iloc[:n_rows]
        ref = GARCH(dist="t").fit(rows)  # "train": like every other fitted statistic; "all": as the GARCH baseline
        for k in ("omega", "alpha", "gamma", "beta"):
            np.testing.assert_allclose(g.vol_params_[k], getattr(ref.vol_, k), rtol=1e-12, err_msg=f"{vol_fit} {k}")
        fits[vol_fit] = np.asarray(g.vol_params_["beta"])
    assert n_val > 0 and not np.allclose(fits["train"], fits["all"])
    with pytest.raises(ValueError, match=r"vol_fit must be one of \('train', 'all'\), got 'val'"):
        ScoreGenerator(preset="tiny", vol_fit="val")


def test_gjr_filter_with_pooled_dynamics(sp500_returns, tmp_path):
    from finscore.baselines import GARCH
    from finscore.baselines._volatility import pool_dynamics
    from finscore.generator import training_rows

    returns = sp500_returns.loc["2009-01-01":"2014-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", target_corr="none", vol_pool=True,
                       progress=False).fit(returns)
    ref = GARCH(dist="t").fit(returns.iloc[: training_rows(len(returns), g.config_)])
    want = pool_dynamics(ref.vol_, ref.dynamics_cov_, ref.unconditional_variance_, np.full(4, 0.5))
    for k in ("mu", "omega", "alpha", "gamma", "beta"):
        np.testing.assert_allclose(g.vol_params_[k], getattr(want, k), rtol=1e-12, err_msg=k)
    np.testing.assert_allclose(g.vol_params_["uncond"], ref.unconditional_variance_, rtol=1e-12)
    assert not np.allclose(g.vol_params_["beta"], ref.vol_.beta)  # the pooling moved the filter
    g.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m")
    assert back.config_.vol_pool is True
    np.testing.assert_array_equal(back.vol_params_["beta"], g.vol_params_["beta"])
    a, b = (m.sample(50, context=returns.iloc[-60:], seed=3).values for m in (g, back))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(DataError, match="vol_pool=True pools the GJR dynamics across assets and needs at least 3"):
        ScoreGenerator(horizon=10, context=60, preset="tiny", vol_pool=True, progress=False).fit(returns.iloc[:, :2])
    with pytest.raises(ValueError, match="vol_pool must be True or False, got 1"):
        ScoreGenerator(preset="tiny", vol_pool=1)
    with pytest.raises(ValueError, match='vol_pool=True needs state.vol_model="gjr", got \'ewma\''):
        ScoreGenerator(preset="tiny", target_scale="forecast", state={"vol_model": "ewma"}, vol_pool=True)


def test_with_settings_changes_how_a_fitted_model_samples_not_what_it_learned(tiny_generator, tmp_path):
    g = tiny_generator
    fewer = g.with_settings(sample_steps=4, guidance_scale=0.0)
    assert fewer.model_ is g.model_ and (g.config_.sample_steps, g.config_.guidance_scale) != (4, 0.0)
    scen = fewer.sample(32, seed=1)
    np.testing.assert_array_equal(scen.values, g.sample(32, seed=1, steps=4, guidance_scale=0.0).values)
    assert (scen.metadata["params"]["sample_steps"], scen.metadata["params"]["guidance_scale"]) == (4, 0.0)
    assert "sample_steps" not in g.get_params()  # the original is untouched
    fewer.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m")
    assert (back.config_.sample_steps, back.config_.guidance_scale, back.get_params()["sample_steps"]) == (4, 0.0, 4)
    np.testing.assert_array_equal(back.sample(32, seed=1).values, scen.values)
    with pytest.raises(ValueError, match=r"\['lr', 'width'\] are training settings"):
        g.with_settings(width=8, lr=1e-3)
    with pytest.raises(TypeError, match=r"unknown ScoreConfig fields \['bogus'\]"):
        g.with_settings(bogus=1)
    with pytest.raises(ValueError, match="horizon_spread must be a finite number > 0"):
        g.with_settings(horizon_spread=0.0)
    with pytest.raises(NotFittedError):
        ScoreGenerator(preset="tiny").with_settings(sample_steps=4)


def test_split_windows_validates_on_the_last_share_after_a_gap_of_the_horizon():
    from finscore.generator import split_windows
    from finscore.presets import resolve_config

    cfg = resolve_config("default", 20, 60, {"val_fraction": 0.15})
    assert split_windows(1000, cfg) == (1000 - 150 - 20, 150)  # train, gap of H = 20 windows, validate
    assert split_windows(1003, cfg) == (1003 - 150 - 20, 150)  # round(150.45)
    assert split_windows(1000, dataclasses.replace(cfg, val_fraction=0.0)) == (1000, 0)  # no validation: no gap either


@pytest.mark.parametrize("shock_cap", [None, 1.5])
def test_filtered_target_scale_rebuilds_returns_through_the_gjr_recursion(sp500_returns, tmp_path, monkeypatch,
                                                                          shock_cap):
    import finscore.model

    returns = sp500_returns.loc["2009-01-01":"2014-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", target_scale="filtered", target_corr="none",
                       shock_cap=shock_cap, progress=False).fit(returns)
    vol, uncond = g._gjr()
    ctx = returns.iloc[-60:]
    # with the network's window fixed, a scenario is the GJR recursion driven by the mapped innovations,
    # started from the GJR filter through the context (computed here with GJRParams.filter)
    x = np.random.default_rng(0).standard_normal((3, 10, 4))
    monkeypatch.setattr(finscore.model, "generate", lambda *a, **k: (x.copy(), {"nfe": 0}))
    got = g.sample(3, context=ctx, seed=0).values
    monkeypatch.undo()
    s2 = vol.filter(ctx.to_numpy(), uncond)[-1]
    z = g.tails_.from_gaussian(x) * g.scale_
    want = np.empty_like(z)
    for i in range(3):
        var = s2.copy()
        for t in range(10):
            want[i, t] = vol.mu + np.sqrt(var) * z[i, t]
            eps2 = (want[i, t] - vol.mu) ** 2
            if shock_cap is not None:  # the shock's influence on the next variance is bounded at shock_cap sd
                eps2 = np.minimum(eps2, shock_cap**2 * var)
            var = vol.omega + (vol.alpha + vol.gamma * (want[i, t] < vol.mu)) * eps2 + vol.beta * var
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if shock_cap is not None:  # the cap binds on this draw, so the test tells the two recursions apart
        assert np.any(np.abs(z) > shock_cap)
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees the recursion
    assert back.config_.target_scale == "filtered" and back.config_.shock_cap == shock_cap
    for bad in (0, -1.0, float("inf"), True, "3"):
        with pytest.raises(ValueError, match="shock_cap must be None or a number > 0"):
            ScoreGenerator(preset="tiny", shock_cap=bad)
    with pytest.raises(ValueError, match='shock_cap needs target_scale="filtered"'):
        ScoreGenerator(preset="tiny", target_scale="forecast", shock_cap=3.0)
    with pytest.raises(ValueError, match="target_scale must be one of"):
        ScoreGenerator(preset="tiny", target_scale="realized")
    with pytest.raises(ValueError, match='needs state.vol_model="gjr"'):
        ScoreGenerator(preset="tiny", target_scale="filtered", state={"vol_model": "ewma"})


@pytest.mark.parametrize(("target_scale", "corr_decay"), [("filtered", None), ("forecast", None), ("filtered", 0.94)])
def test_equicorr_map_is_fitted_on_the_training_windows_and_applied_before_the_returns(sp500_returns, tmp_path,
                                                                                     monkeypatch, target_scale,
                                                                                     corr_decay):
    import finscore.model
    from finscore.conditioning import gjr_rebuild
    from finscore.correlation import (
        average_correlation,
        scale_window_mean,
        shrunk_spread,
        window_variance_ratio,
    )
    from finscore.generator import _windows, split_windows

    returns = sp500_returns.loc["2007-01-01":"2012-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", target_scale=target_scale, target_corr="equicorr",
                       corr_decay=corr_decay, progress=False).fit(returns)
    assert 0.2 < g.corr_.kappa < 1.0  # correlation clusters: the context's level carries over, shrunk
    ctx = returns.loc[:"2008-11-28"].iloc[-60:]  # after the Lehman collapse: correlation far above rho_bar
    rho = g.corr_.forecast(average_correlation(ctx.to_numpy()[None], decay=corr_decay))
    assert rho[0] > g.corr_.rho_bar + 0.05
    # with the network's window fixed, a scenario is that window mapped to the forecast correlation, then
    # through the tail transform and the volatility (the GJR recursion, or the forecast scale)
    x = np.random.default_rng(0).standard_normal((3, 10, 4))

    def scenarios():
        monkeypatch.setattr(finscore.model, "generate", lambda *a, **k: (x.copy(), {"nfe": 0}))
        out = g.sample(3, context=ctx, seed=0).values
        monkeypatch.undo()
        return out

    def expected(window):
        z = g.tails_.from_gaussian(g.corr_.from_model(window, np.repeat(rho, 3))) * g.scale_
        if target_scale == "filtered":
            vol, uncond = g._gjr()
            return gjr_rebuild(z, np.repeat(vol.filter(ctx.to_numpy(), uncond)[-1:], 3, axis=0), vol)
        return g._state(ctx.to_numpy()[None])[2] * z

    np.testing.assert_allclose(scenarios(), expected(x), rtol=1e-12)
    # horizon_spread k (sampling only): the window mean of the network's output is scaled by k first
    g.config_ = dataclasses.replace(g.config_, horizon_spread=1.3)
    np.testing.assert_allclose(scenarios(), expected(scale_window_mean(x, 1.3)), rtol=1e-12)
    # the fit records each asset's variance ratio over its training windows in the network's space (what the
    # benchmarks recompute for models saved before: the same windows through the fitted maps)
    n_train, _ = split_windows(len(returns) - 60 - 10 + 1, g.config_)
    ctx_all, tgt_all = _windows(returns.to_numpy(), 60, 10)
    assert g.window_days_ == n_train + 9
    np.testing.assert_allclose(g.window_ratio_, window_variance_ratio(g._targets(ctx_all[:n_train], tgt_all[:n_train])),
                               rtol=1e-12)
    # horizon_shrink: the per-asset factors of those ratios, on top of horizon_spread
    g.config_ = dataclasses.replace(g.config_, horizon_shrink=True)
    k = shrunk_spread(g.window_ratio_, g.window_days_, 10)
    assert not np.allclose(k, 1.0)
    np.testing.assert_allclose(scenarios(), expected(scale_window_mean(x, 1.3 * k)), rtol=1e-12)
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees both maps
    assert back.config_.target_corr == "equicorr" and back.corr_ == g.corr_ and back.config_.horizon_spread == 1.3
    assert back.config_.horizon_shrink and np.array_equal(back.window_ratio_, g.window_ratio_)
    back.window_ratio_ = None  # a checkpoint saved before the ratios were recorded
    with pytest.raises(CheckpointError, match="horizon_shrink=True needs the training windows' variance ratios"):
        back.sample(4, seed=0)
    for bad in (1, "yes", None):
        with pytest.raises(ValueError, match="horizon_shrink must be True or False"):
            ScoreGenerator(preset="tiny", horizon_shrink=bad)
    with pytest.raises(ValueError, match="target_corr must be one of"):
        ScoreGenerator(preset="tiny", target_corr="dcc")
    for bad in (0, -1.0, float("nan"), True, "1.2"):
        with pytest.raises(ValueError, match="horizon_spread must be a finite number > 0"):
            ScoreGenerator(preset="tiny", horizon_spread=bad)
    for bad in (0.0, 1.0, True, "0.94"):
        with pytest.raises(ValueError, match="corr_decay must be None or a number in"):
            ScoreGenerator(preset="tiny", corr_decay=bad)
    for bad in (0.0, -0.5, float("inf"), True, "0.3"):
        with pytest.raises(ValueError, match="refine_sigma must be None"):
            ScoreGenerator(preset="tiny", refine_sigma=bad)


def _scenarios_of(g, window, context, monkeypatch):
    """Scenarios of ``g`` after ``context`` when the network returns ``window`` (n, H, d) for the n draws."""
    import finscore.model

    monkeypatch.setattr(finscore.model, "generate", lambda *a, **k: (window.copy(), {"nfe": 0}))
    out = g.sample(len(window), context=context, seed=0).values
    monkeypatch.undo()
    return out


def test_market_tails_are_fitted_on_the_training_windows_and_undone_first(sp500_returns, tmp_path, monkeypatch):
    from finscore.tails import MarketTails

    returns = sp500_returns.loc["2007-01-01":"2012-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", market_tails="tukey_hh", progress=False).fit(returns)
    assert isinstance(g.market_, MarketTails)
    assert g.market_.tail.h_left[0] > g.market_.tail.h[0]  # 2008: the market's crashes outsize its rallies
    # the network's targets are the equicorr-mapped windows with the mean's tails Gaussianized
    ctx, tgt = returns.to_numpy()[None, :60], returns.to_numpy()[None, 60:70]
    market = g.market_
    with_map = g._targets(ctx, tgt)
    g.market_ = None
    np.testing.assert_allclose(with_map, market.to_model(g._targets(ctx, tgt)), rtol=1e-12)
    # with the network's window fixed, a scenario is that window through the market map's inverse and then
    # the maps of a model without it (correlation, tails, GJR recursion)
    x = np.random.default_rng(0).standard_normal((3, 10, 4))
    c = returns.loc[:"2008-11-28"].iloc[-60:]

    plain = _scenarios_of(g, market.from_model(x), c, monkeypatch)
    g.market_ = market
    np.testing.assert_allclose(_scenarios_of(g, x, c, monkeypatch), plain, rtol=1e-12)
    assert np.abs(market.from_model(x) - x).max() > 0.01  # and that inverse is not the identity on it
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees the market map
    assert back.config_.market_tails == "tukey_hh"
    np.testing.assert_array_equal(back.market_.tail.h_left, market.tail.h_left)
    with pytest.raises(ValueError, match="market_tails must be one of"):
        ScoreGenerator(preset="tiny", market_tails="tukey_h")


@pytest.mark.parametrize("market_tails", ["matched", "matched_tails"])
def test_market_match_is_fitted_on_the_models_own_samples_and_applied_first(sp500_returns, tmp_path, monkeypatch,
                                                                             market_tails):
    import finscore.model
    from finscore.data import make_windows
    from finscore.generator import MATCH_DATES, MATCH_PER_DATE
    from finscore.tails import MarketMatch, TukeyH

    returns = sp500_returns.loc["2007-01-01":"2012-12-31"].iloc[:, :4]
    real_generate = finscore.model.generate
    seen = {}

    def recording(*a, **k):  # the fit's own sampling: keep what the network returned
        out = real_generate(*a, **k)
        seen["y"] = out[0]
        return out

    monkeypatch.setattr(finscore.model, "generate", recording)
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", market_tails=market_tails, progress=False).fit(returns)
    monkeypatch.undo()
    assert isinstance(g.market_match_, MarketMatch) and g.market_ is None
    assert seen["y"].shape == (MATCH_DATES * MATCH_PER_DATE, 10, 4)
    # the source law is the one of the network's sampled means, the target the training windows' (in model space,
    # where the network's targets live: without any market map, as the training used)
    source = TukeyH.fit(seen["y"].mean(axis=2)[..., None], two_sided=True)
    np.testing.assert_allclose(g.market_match_.source.scale, source.scale, rtol=1e-5)
    w = make_windows(returns, context=60, horizon=10)
    n_train = len(w.target) - round(g.config_.val_fraction * len(w.target)) - 10  # validation and a gap of H
    target = TukeyH.fit(g._targets(w.context[:n_train], w.target[:n_train]).mean(axis=2)[..., None], two_sided=True)
    fitted = g.market_match_.target  # the same fits to within the optimizer's tolerance (xatol 1e-6)
    np.testing.assert_allclose(fitted.h_left, target.h_left, rtol=1e-5)
    body = source if market_tails == "matched_tails" else target  # "matched_tails": the model's body
    np.testing.assert_allclose([fitted.loc, fitted.scale], [body.loc, body.scale], rtol=1e-5)
    assert fitted.h_left[0] > fitted.h[0]  # 2008's crashes
    # with the network's window fixed, a scenario is that window through the map, then the other maps
    x = np.random.default_rng(0).standard_normal((3, 10, 4))
    c = returns.loc[:"2008-11-28"].iloc[-60:]

    match = g.market_match_
    g.market_match_ = None
    plain = _scenarios_of(g, match.from_model(x), c, monkeypatch)
    g.market_match_ = match
    np.testing.assert_allclose(_scenarios_of(g, x, c, monkeypatch), plain, rtol=1e-12)
    assert np.abs(match.from_model(x) - x).max() > 0.01
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees the map
    assert back.config_.market_tails == market_tails
    assert np.array_equal(back.market_match_.source.h_left, match.source.h_left)


def test_checkpoint_configs_from_before_asset_loadings_load_without_descriptors():
    from finscore.presets import PRESETS, ScoreConfig

    old = PRESETS["default"].to_dict()
    assert old.pop("asset_loadings") == 4  # the default now
    assert ScoreConfig.from_dict(old).asset_loadings == 0
    old.pop("target_tails")
    assert ScoreConfig.from_dict(old).target_tails == "none"
    old.pop("target_scale")
    assert ScoreConfig.from_dict(old).target_scale == "forecast"
    old.pop("target_corr")
    assert ScoreConfig.from_dict(old).target_corr == "none"
    old.pop("guidance_mode")
    assert ScoreConfig.from_dict(old).guidance_mode == "blend"
    old.pop("horizon_spread")
    assert ScoreConfig.from_dict(old).horizon_spread == 1.0
    old.pop("corr_decay")
    assert ScoreConfig.from_dict(old).corr_decay is None
    old.pop("market_tails")
    assert ScoreConfig.from_dict(old).market_tails == "none"
    old.pop("precond")
    assert ScoreConfig.from_dict(old).precond == "scalar"
    old.pop("val_denoiser")
    assert ScoreConfig.from_dict(old).val_denoiser == "training"


def test_gaussian_skip_holds_the_second_moments_of_the_training_windows(sp500_returns, tmp_path):
    from finscore.generator import _windows

    returns = sp500_returns.loc["2012-01-01":"2014-12-31"].iloc[:, :3]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", precond="gaussian", progress=False).fit(returns)
    n = len(returns) - 60 - 10 + 1
    n_train = n - round(0.15 * n) - 10  # the split of _fit: validation windows and a gap of H held out
    x = g._targets(*_windows(returns.to_numpy(), 60, 10))[:n_train].reshape(n_train, -1)
    vecs, vals = g.model_.cov_vecs.double().numpy(), g.model_.cov_vals.double().numpy()
    np.testing.assert_allclose((vecs * vals) @ vecs.T, x.T @ x / n_train, rtol=1e-4, atol=1e-5)
    back = ScoreGenerator.load(g.save(tmp_path / "m"))  # the covariance travels in the checkpoint
    assert torch.equal(back.model_.cov_vecs, g.model_.cov_vecs) and torch.equal(back.model_.cov_vals, g.model_.cov_vals)
    np.testing.assert_array_equal(back.sample(5, seed=1).values, g.sample(5, seed=1).values)
    plain = ScoreGenerator(horizon=10, context=60, preset="tiny", steps=2, progress=False)
    assert not hasattr(plain.fit(returns).model_, "cov_vecs")  # the default: EDM's scalar skip
    with pytest.raises(ValueError, match="precond must be one of"):
        ScoreGenerator(preset="tiny", precond="full")
    with pytest.raises(ValueError, match="val_denoiser must be one of"):
        ScoreGenerator(preset="tiny", val_denoiser="guided")


def test_init_from_fine_tunes_a_pretrained_network_on_another_asset_set(sp500_returns, tmp_path):
    src = ScoreGenerator(horizon=10, context=60, preset="tiny", asset_loadings=2, precond="gaussian", progress=False)
    src.fit(sp500_returns.loc["2009-01-01":"2011-12-31"].iloc[:, :4])
    target = sp500_returns.loc["2011-01-01":"2013-12-31"].iloc[:, 5:8]
    # lr ~ 0: training leaves the warm-started weights where they were, so the copy itself is visible
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", asset_loadings=2, precond="gaussian", lr=1e-12,
                       init_from=src, progress=False).fit(target)
    theirs = src.model_.state_dict()
    for k, v in g.model_.state_dict().items():
        if k.endswith("asset_static"):
            assert v.shape == (3, 2)  # fitted on the new assets, not copied
            assert not np.array_equal(v.numpy()[:2], theirs[k].numpy()[:2])
        elif k.endswith(("cov_vecs", "cov_vals")):
            assert v.shape[0] == 10 * 3  # the Gaussian skip of the new windows (10 days x 3 assets), not copied
        else:
            assert torch.allclose(v, theirs[k], atol=1e-6), k
    assert g.warm_start_["fit_end"] == src.fit_end_.isoformat() and "init_from" not in g.get_params()
    g.save(tmp_path / "m")
    assert ScoreGenerator.load(tmp_path / "m").warm_start_ == g.warm_start_
    src.save(tmp_path / "src")  # a checkpoint path works as well
    ScoreGenerator(horizon=10, context=60, preset="tiny", asset_loadings=2, steps=2, init_from=tmp_path / "src",
                   progress=False).fit(target)


def test_init_from_errors_are_specific(tiny_generator, sp500_returns):
    early = sp500_returns.loc["2005-01-01":"2008-12-31"].iloc[:, :5]
    with pytest.raises(DataError, match="look ahead"):
        ScoreGenerator(horizon=10, context=60, preset="tiny", init_from=tiny_generator, progress=False).fit(early)
    late = sp500_returns.loc["2015-01-01":"2016-12-31"].iloc[:, :5]
    with pytest.raises(ValueError, match="width=32 vs 16"):
        ScoreGenerator(horizon=10, context=60, preset="tiny", width=16, init_from=tiny_generator,
                       progress=False).fit(late)
    with pytest.raises(TypeError, match="init_from must be a fitted ScoreGenerator"):
        ScoreGenerator(horizon=10, context=60, preset="tiny", init_from=42, progress=False).fit(late)


def test_state_dependent_tails_are_fitted_inverted_by_the_sampler_and_saved(sp500_returns, tmp_path, monkeypatch):
    """tail_state="vol": the network's target windows, fed back as its samples, rebuild the data's returns (the
    tails at each day's GJR variance, known to the sampler only from the days it rebuilt)."""
    from finscore.conditioning import gjr_vol_ratio

    returns = sp500_returns.loc["2007-01-01":"2012-12-31"].iloc[:, :4]
    g = ScoreGenerator(horizon=10, context=60, preset="tiny", tail_state="vol", progress=False).fit(returns)
    assert g.tails_.state_dependent and np.all((g.tails_.kappa >= 0) & (g.tails_.kappa <= 2))
    c = returns.loc[:"2008-10-10"].iloc[-60:]  # a crash state: first-day volatility 1.4-3.0 times the long run
    tgt = returns.loc["2008-10-11":].iloc[:10].to_numpy()
    assert gjr_vol_ratio(g._first_variance(c.to_numpy()[None]), g._gjr()[1]).min() > 1.4
    window = g._targets(c.to_numpy()[None], tgt[None])
    np.testing.assert_allclose(_scenarios_of(g, window, c, monkeypatch)[0], tgt, rtol=1e-8, atol=1e-12)
    back = _reloads_alike_and_keeps_the_stress_constraint(g, tmp_path)  # guidance sees the state
    np.testing.assert_array_equal(back.tails_.kappa, g.tails_.kappa)
    with pytest.raises(ValueError, match='tail_state=\'vol\' needs target_tails "tukey_h" or "tukey_hh" and '
                                         'target_scale="filtered"'):
        ScoreGenerator(preset="tiny", tail_state="vol", target_scale="forecast")
    with pytest.raises(ValueError, match="tail_state must be one of"):
        ScoreGenerator(preset="tiny", tail_state="garch")


def test_data_fingerprint_is_the_same_at_any_date_resolution_and_changes_with_the_data(sp500_returns):
    from finscore.generator import data_fingerprint

    r = sp500_returns.iloc[:300, :4]
    prints = {unit: data_fingerprint(r.set_axis(r.index.as_unit(unit), axis=0))["sha256"] for unit in ("s", "us", "ns")}
    assert len(set(prints.values())) == 1, prints
    changed = r.copy()
    changed.iloc[17, 2] += 1e-12
    assert data_fingerprint(changed)["sha256"] != prints["ns"]
    assert data_fingerprint(r.iloc[:-1])["sha256"] != prints["ns"]
    assert data_fingerprint(r.rename(columns={r.columns[0]: "X"}))["sha256"] != prints["ns"]


@pytest.mark.parametrize(("override", "match"), [
    ({"sampler": "bogus"}, "sampler must be one of"), ({"sample_steps": 0}, "sample_steps must be an integer >= 1"),
    ({"steps": 10.0}, "steps must be an integer >= 1"),
    ({"val_fraction": 1.0}, r"val_fraction must be a number in \[0, 1\)"),
    ({"horizon": 10.0}, "horizon must be an integer >= 1"), ({"seed": -1}, "seed must be an integer >= 0"),
    ({"seed": 1.5}, "seed must be an integer >= 0")])
def test_settings_are_checked_when_given_not_after_training(override, match):
    with pytest.raises(ValueError, match=match):
        ScoreGenerator(preset="tiny", **override)


def test_with_settings_checks_the_sampler(tiny_generator):
    with pytest.raises(ValueError, match="sampler must be one of"):
        tiny_generator.with_settings(sampler="bogus")
    with pytest.raises(ValueError, match="sample_steps must be an integer >= 1"):
        tiny_generator.with_settings(sample_steps=0)


def test_fit_refuses_a_split_that_leaves_no_training_windows(sp500_returns):
    """169 rows give 50 windows of 60 + 60 days: the last 8 validate after a gap of 60, which leaves -18 to train
    on; before, fit trained on windows whose targets overlap the validation windows'."""
    gen = ScoreGenerator(horizon=60, context=60, preset="tiny", progress=False)
    with pytest.raises(DataError, match="leaves none to train on; give more rows or lower val_fraction"):
        gen.fit(sp500_returns.iloc[-169:, :3])


def test_a_tz_aware_frame_with_integer_columns_fits_saves_and_loads(sp500_returns, tmp_path):
    """A frame across a daylight-saving change: its dates were saved with two UTC offsets and did not load."""
    r = sp500_returns.loc["2013-01-01":"2014-12-31"].iloc[:, :3]
    odd = r.set_axis(range(3), axis=1)
    odd.index = odd.index.tz_localize("America/New_York")
    gen = ScoreGenerator(horizon=5, context=60, preset="tiny", progress=False, steps=20).fit(odd)
    gen.save(tmp_path / "m")
    back = ScoreGenerator.load(tmp_path / "m")
    assert back.assets_ == ("0", "1", "2") and back.fit_end_ == r.index[-1]
    np.testing.assert_array_equal(back.sample(8, seed=3).values, gen.sample(8, seed=3).values)
    np.testing.assert_array_equal(gen.sample(8, seed=3, context=odd.iloc[-80:]).values,
                                  gen.sample(8, seed=3, context=r.iloc[-80:].set_axis(["0", "1", "2"], axis=1)).values)


def test_guidance_beyond_the_models_window_needs_its_horizon_days(tiny_generator):
    """The guidance acts on the first window (10 days here): a 20-day rollout must say over how many days the loss
    counts; the guided window's stress record survives the rollout (later windows overwrote it before)."""
    from finscore.stress import VaRGuidance

    g = tiny_generator
    with pytest.raises(DataError, match="set the guidance's horizon_days \\(at most 10\\)"):
        g.sample(8, horizon=20, seed=0, steps=4, guidance=VaRGuidance("equal", alpha=0.9, n_pilot=50))
    scen = g.sample(8, horizon=20, seed=0, steps=4, guidance=VaRGuidance("equal", alpha=0.9, n_pilot=50,
                                                                          horizon_days=10))
    assert scen.values.shape == (8, 20, 5) and scen.metadata["rollout"]
    assert scen.metadata["stress"]["alpha"] == 0.9 and scen.metadata["stress"]["satisfied"] >= 0.5
