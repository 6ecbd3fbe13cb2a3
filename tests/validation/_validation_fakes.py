"""Tiny fake generators for the validation tests (imported by basename: tests use rootdir-relative discovery)."""

from finscore._rng import as_generator
from finscore.protocol import BaseGenerator


class IIDGaussian(BaseGenerator):
    """i.i.d. Gaussian paths with the training mean and ``scale`` x the training std; records its contexts."""

    min_context = 1

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def _fit(self, returns):
        self.mu_, self.sd_ = returns.mean().to_numpy(), returns.std().to_numpy()

    def _sample(self, n, horizon, context, seed):
        self.seen_ = getattr(self, "seen_", []) + [(context.index[0], context.index[-1], len(context))]
        return self.mu_ + self.scale * self.sd_ * as_generator(seed).standard_normal((n, horizon, len(self.sd_)))


class Counting(IIDGaussian):
    """Counts the batched ``sample_many`` calls."""

    def sample_many(self, n, horizon, contexts, seed=None):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return super().sample_many(n, horizon, contexts, seed)
