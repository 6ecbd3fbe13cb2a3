"""Neural networks for return windows: the conditional score / energy network."""

from finscore.nets.score_net import NetConfig, ScoreNet

__all__ = ["NetConfig", "ScoreNet"]
