"""Small inputs for the report tests (imported by basename; not a test module)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from finscore._rng import as_generator
from finscore.baselines import GaussianCopula
from finscore.protocol import BaseGenerator


def returns_frame(n_dates: int = 700, n_assets: int = 3, seed: int = 0, start: str = "2015-01-01") -> pd.DataFrame:
    """i.i.d. Student-t(5) daily log returns, 1% scale, correlated through a common factor: (n_dates, n_assets)."""
    rng = np.random.default_rng(seed)
    common = rng.standard_t(5, size=(n_dates, 1))
    x = 0.01 * (0.6 * common + 0.8 * rng.standard_t(5, size=(n_dates, n_assets))) / np.sqrt(5 / 3)
    index = pd.bdate_range(start, periods=n_dates, name="date")
    return pd.DataFrame(x, index=index, columns=[f"A{i}" for i in range(n_assets)])


@dataclass(frozen=True)
class FakeConfig:
    horizon: int = 10
    context: int = 60
    sigma_min: float = 0.01
    sampler: str = "ode"
    sample_steps: int = 16


def with_training_record(model):
    """Attach the optional attributes a trained ScoreGenerator exposes (training record, loss per sigma, ...).

    The curve goes in ``train_result_.history`` as on ScoreGenerator: ``BaseGenerator.fit`` overwrites
    ``history_`` with the last context rows, so a dict ``history_`` only survives on an unfitted model.
    """
    steps = np.arange(0, 500, 50)
    history = pd.DataFrame({"step": steps, "train_loss": 1 / (1 + steps / 100) + 0.3,
                            "val_loss": 1 / (1 + steps / 120) + 0.35})
    model.train_result_ = SimpleNamespace(history=history, best_step=450, best_val_loss=0.5605, steps_run=500,
                                          stopped_early=False, seconds=12.5)
    model.loss_per_sigma_ = {"sigma": np.geomspace(0.01, 20, 8).tolist(), "loss": np.linspace(2, 0.3, 8).tolist()}
    model.data_fingerprint_ = "0123456789abcdef" * 4
    model.config = FakeConfig()
    return model


def copula_model():
    return with_training_record(GaussianCopula())


class Guidable(BaseGenerator):
    """i.i.d. N(0, 1%) paths whose ``sample`` takes ``guidance``: guided draws are the unguided ones
    conditioned by rejection (an exact 'guided sampler' for the stress plumbing tests)."""

    min_context = 1

    def _fit(self, returns):
        pass

    def _sample(self, n, horizon, context, seed):
        return 0.01 * as_generator(seed).standard_normal((n, horizon, len(self.assets_)))

    def sample(self, n, horizon=5, context=None, seed=None, *, guidance=None):
        if guidance is None:
            return super().sample(n, horizon, context, seed)
        rng = as_generator(seed)
        pilot = super().sample(20 * n, horizon, context, rng)
        w = pilot.weights_vector(dict(zip(pilot.assets, guidance.weights)) if not isinstance(guidance.weights, str)
                                 else "equal")
        loss = -pilot.portfolio_pnl(w)
        keep = np.flatnonzero(loss >= np.quantile(loss, guidance.alpha))[:n]
        values = pilot.values[np.resize(keep, n)]
        return type(pilot)(values, pilot.assets, pilot.start, {"generator": "Guidable", "guided": True})
