"""Training loop (AdamW, EMA, clipping, warmup + cosine, early stopping, resume, AMP on CUDA) and checkpoints."""

from finscore.train.checkpoint import load_checkpoint, save_checkpoint
from finscore.train.trainer import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train", "save_checkpoint", "load_checkpoint"]
