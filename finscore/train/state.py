"""Resumable training state: model, EMA, optimizer and RNGs (the batch generator, torch's global ones) as
safetensors + JSON (no pickle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from finscore.errors import CheckpointError
from finscore.train.checkpoint import load_checkpoint, save_checkpoint

FORMAT = "finscore.train_state/1"


def save_state(path: Path, model: torch.nn.Module, ema: torch.nn.Module, opt: torch.optim.Optimizer,
               generator: torch.Generator, meta: dict[str, Any]) -> None:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    opt_state = opt.state_dict()
    for i, st in opt_state["state"].items():
        for name, v in st.items():
            tensors[f"opt.{i}.{name}"] = torch.as_tensor(v)
    tensors["rng"] = generator.get_state()
    tensors["torch_rng"] = torch.get_rng_state()  # dropout draws from torch's global generator
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["cuda_rng"] = torch.cuda.get_rng_state()
    save_checkpoint(path, tensors, {**meta, "format": FORMAT, "opt_param_groups": opt_state["param_groups"]},
                    overwrite=True)


def load_state(path: Path, model: torch.nn.Module, ema: torch.nn.Module, opt: torch.optim.Optimizer,
               generator: torch.Generator) -> dict[str, Any]:
    tensors, meta = load_checkpoint(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a training state (format {meta.get('format')!r})")
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
        state: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith("opt."):
                _, i, name = k.split(".", 2)
                state.setdefault(int(i), {})[name] = v
        opt.load_state_dict({"state": state, "param_groups": meta["opt_param_groups"]})
        generator.set_state(tensors["rng"])
        if "torch_rng" in tensors:  # states saved before it was recorded resume without it
            torch.set_rng_state(tensors["torch_rng"])
        if "cuda_rng" in tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["cuda_rng"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: training state does not match this model: {exc}") from exc
    return meta
