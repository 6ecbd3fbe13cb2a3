"""The trainer learns a Gaussian's exact denoiser, is deterministic, resumes bit-identically, and stops on request."""

import math

import pytest
import torch

from finscore.diffusion import Denoiser, DSMLoss, LogNormalSigma
from finscore.errors import CheckpointError
from finscore.nets import NetConfig, ScoreNet
from finscore.train import TrainConfig, train
from finscore.train.trainer import evaluate_loss

H, D = 2, 2
COV = torch.tensor([[1.0, 0.6, 0.2, 0.0], [0.6, 1.0, 0.3, 0.1], [0.2, 0.3, 1.0, -0.4], [0.0, 0.1, -0.4, 1.0]])


def _data(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, H * D, generator=g) @ torch.linalg.cholesky(COV).T).reshape(n, H, D)


def _model(energy=False, seed=0):
    torch.manual_seed(seed)
    return Denoiser(ScoreNet(NetConfig(horizon=H, width=32, depth=1, heads=2, energy=energy)), energy=energy)


LOSS = DSMLoss(LogNormalSigma(-0.4, 1.2), weighting="edm", p_uncond=0.0)


@pytest.mark.parametrize("energy", [False, True])
def test_learns_the_exact_gaussian_denoiser(energy):
    model = _model(energy)
    cfg = TrainConfig(steps=400, batch_size=256, lr=3e-3, eval_every=100, warmup=20)
    res = train(model, LOSS, {"x": _data(4000, 0)}, {"x": _data(500, 1)}, cfg, progress=False)
    model.load_state_dict(res.state_dict)
    model.eval()
    x0 = _data(2000, 2)
    for s in (0.3, 1.0, 3.0):
        xt = x0 + s * torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
        gain = COV @ torch.linalg.inv(COV + s * s * torch.eye(4))
        exact = (xt.reshape(-1, 4) @ gain.T).reshape(xt.shape)
        post_var = float(torch.trace(COV - gain @ COV)) / 4
        with torch.no_grad() if not energy else torch.enable_grad():
            pred = model(xt, torch.full((2000,), s)).detach()
        excess = float(((pred - exact) ** 2).mean()) / post_var
        # an untrained (zero) net has excess ~ 0.3-1.0 here (it ignores the correlations); a trained one < 0.15
        assert excess < 0.15, (s, excess)
    assert list(res.history.columns) == ["step", "train_loss", "lr", "val_loss"]
    assert res.history["val_loss"].iloc[-1] < res.history["val_loss"].iloc[0] + 0.02


def test_deterministic_given_the_seed():
    cfg = TrainConfig(steps=30, batch_size=64, eval_every=30)
    a = train(_model(), LOSS, {"x": _data(500, 0)}, None, cfg, seed=5, progress=False)
    b = train(_model(), LOSS, {"x": _data(500, 0)}, None, cfg, seed=5, progress=False)
    c = train(_model(), LOSS, {"x": _data(500, 0)}, None, cfg, seed=6, progress=False)
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert not all(torch.equal(a.state_dict[k], c.state_dict[k]) for k in a.state_dict)
    assert math.isnan(a.best_val_loss) and a.steps_run == 30


def test_resume_continues_bit_identically(tmp_path):
    data, val = {"x": _data(500, 0)}, {"x": _data(100, 1)}
    full = train(_model(), LOSS, data, val, TrainConfig(steps=40, batch_size=32, eval_every=10), progress=False)
    stop_at_20 = lambda step, logs: step == 20  # noqa: E731 - simulate an interruption after the 2nd evaluation
    first = train(_model(), LOSS, data, val, TrainConfig(steps=40, batch_size=32, eval_every=10), progress=False,
                  checkpoint_dir=tmp_path, callback=stop_at_20)
    assert first.steps_run == 20 and first.stopped_early
    rest = train(_model(seed=99), LOSS, data, val, TrainConfig(steps=40, batch_size=32, eval_every=10),
                 progress=False, checkpoint_dir=tmp_path, resume=True)
    assert rest.steps_run == 20
    assert all(torch.equal(full.state_dict[k], rest.state_dict[k]) for k in full.state_dict)
    assert rest.history["step"].tolist() == [10, 20, 30, 40]


def _model_with_dropout(seed=0):
    torch.manual_seed(seed)
    return Denoiser(ScoreNet(NetConfig(horizon=H, width=32, depth=1, heads=2, dropout=0.2)))


def test_resume_with_dropout_continues_bit_identically(tmp_path):
    """Dropout draws from torch's global generator: the state records it (before, the weights differed by 6e-3)."""
    data, val, cfg = {"x": _data(500, 0)}, {"x": _data(100, 1)}, TrainConfig(steps=40, batch_size=32, eval_every=10)
    full = train(_model_with_dropout(), LOSS, data, val, cfg, progress=False)
    train(_model_with_dropout(), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path,
          callback=lambda step, logs: step == 20)
    torch.manual_seed(12345)  # whatever the global generator holds now
    rest = train(_model_with_dropout(seed=99), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path,
                 resume=True)
    assert rest.history[["train_loss", "val_loss"]].equals(full.history[["train_loss", "val_loss"]])  # steps 30, 40 too
    assert all(torch.equal(full.state_dict[k], rest.state_dict[k]) for k in full.state_dict)


def test_resume_refuses_other_settings(tmp_path):
    data, cfg = {"x": _data(200, 0)}, TrainConfig(steps=20, batch_size=32, eval_every=10)
    train(_model(), LOSS, data, None, cfg, progress=False, checkpoint_dir=tmp_path, callback=lambda s, logs: s == 10)
    with pytest.raises(CheckpointError, match=r"other settings \(lr, steps differ\)"):
        train(_model(), LOSS, data, None, TrainConfig(steps=30, batch_size=32, eval_every=10, lr=1e-2),
              progress=False, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match=r"other settings \(seed differ\)"):
        train(_model(), LOSS, data, None, cfg, seed=1, progress=False, checkpoint_dir=tmp_path, resume=True)


def test_resuming_an_early_stopped_run_does_not_train_on(tmp_path):
    data, val = {"x": _data(300, 0)}, {"x": _data(60, 1)}
    cfg = TrainConfig(steps=200, batch_size=32, eval_every=5, patience=1, lr=5e-2)  # a large lr stops it early
    first = train(_model(), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path)
    assert first.stopped_early
    again = train(_model(seed=99), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert again.steps_run == 0 and again.stopped_early and again.best_step == first.best_step
    assert all(torch.equal(first.state_dict[k], again.state_dict[k]) for k in first.state_dict)


def test_an_interrupted_save_keeps_the_state_and_its_best_weights_together(tmp_path, monkeypatch):
    """The best weights are written before the state that names them: a crash between the two resumes from the
    previous state (before, the state named step 30 while the file held step 20's weights)."""
    from finscore.train import trainer

    data, val, cfg = {"x": _data(500, 0)}, {"x": _data(100, 1)}, TrainConfig(steps=40, batch_size=32, eval_every=10)
    full = train(_model(), LOSS, data, val, cfg, progress=False)
    vals = full.history["val_loss"].tolist()
    last = sum(v < min(vals[:i], default=math.inf) for i, v in enumerate(vals))  # the last improvement's save
    assert last >= 2  # so that an earlier best exists to be confused with
    real, calls = trainer.save_best, []

    def dies_on_the_last(state_dir, best):
        calls.append(1)
        if len(calls) == last:
            raise KeyboardInterrupt
        real(state_dir, best)

    monkeypatch.setattr(trainer, "save_best", dies_on_the_last)
    with pytest.raises(KeyboardInterrupt):
        train(_model(), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path)
    monkeypatch.setattr(trainer, "save_best", real)
    rest = train(_model(seed=99), LOSS, data, val, cfg, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert rest.best_step == full.best_step
    assert all(torch.equal(full.state_dict[k], rest.state_dict[k]) for k in full.state_dict)


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match="val_data has no windows; pass None"):
        train(_model(), LOSS, {"x": _data(50, 0)}, {"x": _data(50, 1)[:0]}, TrainConfig(steps=2), progress=False)


def test_resume_without_state_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no training state"):
        train(_model(), LOSS, {"x": _data(50, 0)}, None, TrainConfig(steps=2), progress=False,
              checkpoint_dir=tmp_path, resume=True)


def test_bad_data_is_rejected():
    x = _data(50, 0)
    x[3, 1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"train_data\['x'\] contains NaN"):
        train(_model(), LOSS, {"x": x}, None, TrainConfig(steps=2), progress=False)
    with pytest.raises(ValueError, match="has 49 rows"):
        train(_model(), LOSS, {"x": _data(50, 0), "cond": torch.zeros(49, 2)}, None, TrainConfig(steps=2),
              progress=False)


def test_learns_the_score_of_a_two_d_mixture():
    """Two well-separated modes in 2-D (window H=1, d=2): the learned score at each sigma is compared with the
    exact mixture score; the bound is on the error relative to the score's own size, E|s - s*|^2 / E|s*|^2."""
    from finscore.sampling.oracles import GaussianMixture

    mix = GaussianMixture(torch.tensor([0.3, 0.7]), torch.tensor([[-1.5, -1.0], [1.0, 1.0]]),
                          torch.stack([0.2 * torch.eye(2), torch.tensor([[0.3, 0.15], [0.15, 0.3]])]))
    x = mix.sample(6000, generator=torch.Generator().manual_seed(0)).float().reshape(-1, 1, 2)
    torch.manual_seed(0)
    model = Denoiser(ScoreNet(NetConfig(horizon=1, width=48, depth=1, heads=2)))
    cfg = TrainConfig(steps=600, batch_size=256, lr=3e-3, eval_every=600, warmup=20)
    model.load_state_dict(train(model, LOSS, {"x": x[:5000]}, None, cfg, progress=False).state_dict)
    model.eval()
    g = torch.Generator().manual_seed(1)
    bounds = {0.1: 0.2, 0.3: 0.12, 1.0: 0.05, 3.0: 0.01}  # measured 0.13, 0.07, 0.02, 0.002 with this seed
    for s, bound in bounds.items():
        x0 = x[5000:].double()
        xt = x0 + s * torch.randn(x0.shape, generator=g, dtype=torch.float64)
        exact = mix.score(xt.reshape(-1, 2), s).reshape(xt.shape)
        with torch.no_grad():
            got = model.score(xt.float(), torch.full((len(xt),), s)).double()
        rel = float(((got - exact) ** 2).sum() / (exact**2).sum())
        naive = float(((-xt / (1 + s * s) - exact) ** 2).sum() / (exact**2).sum())  # the untrained (zero) net
        assert rel < bound < naive, (s, rel, naive)


class _ZeroDenoiser(torch.nn.Module):
    def forward(self, x, sigma, **kw):
        return torch.zeros_like(x)


def test_val_model_is_the_denoiser_the_checkpoint_is_chosen_by():
    """A val_model that ignores the weights has a constant validation loss, the zero denoiser's: the first
    evaluation stays the best and training stops after ``patience`` evaluations without improvement."""
    val = {"x": _data(300, 1)}
    cfg = TrainConfig(steps=200, batch_size=64, eval_every=20, patience=2)
    res = train(_model(), LOSS, {"x": _data(500, 0)}, val, cfg, seed=4, progress=False,
                val_model=lambda ema: _ZeroDenoiser())
    expected = evaluate_loss(_ZeroDenoiser(), LOSS, val, seed=5, repeats=cfg.val_repeats)
    assert res.history["val_loss"].tolist() == [expected] * 3
    assert res.best_step == 20 and res.stopped_early and res.steps_run == 60
