"""The training loop for denoisers: AdamW, EMA, gradient clipping, warmup + cosine LR, early stopping on a
held-out DSM loss, resume, bf16 autocast on CUDA, data parallelism under ``torch.distributed``.

Data parallel (DDP, launched by ``torchrun``): every rank draws the same *global* batch and noise from the
same seeded generator and trains on its slice; gradients are averaged, so ``world_size`` ranks follow the
single-process trajectory on the same global batch (up to float reduction order).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
from torch import nn

from finscore.errors import CheckpointError, NumericalError


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (per global batch; see module docstring for data parallelism)."""

    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.999
    eval_every: int = 250
    patience: int = 6  # evaluations without improvement before stopping
    warmup: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    val_repeats: int = 4  # noise draws per validation window (variance of the early-stopping signal)
    amp: bool = True  # bf16 autocast, CUDA only

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "patience", "val_repeats"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and 0 <= self.ema_decay < 1 and self.grad_clip > 0):
            raise ValueError(f"invalid TrainConfig {self}")


@dataclass(frozen=True, eq=False)
class TrainResult:
    """state_dict: best EMA weights; history: DataFrame (step, train_loss, val_loss, lr)."""

    state_dict: dict[str, torch.Tensor]
    history: pd.DataFrame
    best_step: int
    best_val_loss: float
    steps_run: int
    stopped_early: bool
    seconds: float
    windows_per_second: float


def _lr_factor(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def _dist() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_data(data: dict[str, torch.Tensor], name: str) -> int:
    if "x" not in data:
        raise ValueError(f"{name} needs an 'x' tensor of windows (N, H, d)")
    n = len(data["x"])
    for k, v in data.items():
        if len(v) != n:
            raise ValueError(f"{name}[{k!r}] has {len(v)} rows but {name}['x'] has {n}")
        if not torch.isfinite(v).all():
            raise ValueError(f"{name}[{k!r}] contains NaN or inf")
    return n


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach(), 1 - decay)


def evaluate_loss(model: nn.Module, loss: Callable, data: dict[str, torch.Tensor], *, seed: int, repeats: int,
                  batch: int = 4096) -> float:
    """Mean DSM loss on ``data`` with a fixed noise seed (comparable across calls)."""
    dev = data["x"].device
    g = torch.Generator(device=dev)
    g.manual_seed(seed)
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for _ in range(repeats):
            for s in range(0, len(data["x"]), batch):
                part = {k: v[s:s + batch] for k, v in data.items()}
                x0 = part.pop("x")
                total += float(loss(model, x0, generator=g, **part).sum())
                count += len(x0)
    return total / count


def train(model: nn.Module, loss: Callable, train_data: dict[str, torch.Tensor],
          val_data: dict[str, torch.Tensor] | None = None, config: TrainConfig = TrainConfig(), *,
          device: str | torch.device = "auto", seed: int = 0, progress: bool = True,
          checkpoint_dir: str | Path | None = None, resume: bool = False,
          callback: Callable[[int, dict[str, float]], bool | None] | None = None,
          val_model: Callable[[nn.Module], nn.Module] | None = None) -> TrainResult:
    """Train ``model`` (a denoiser) with ``loss(model, x0, generator=, draws=, **extra) -> (B,)``.

    Parameters
    ----------
    train_data, val_data : dict with "x" (N, H, d) and optional "cond" (N, C), "asset_cond" (N, d, Ca).
    checkpoint_dir : where the resumable state is written at every evaluation; ``resume=True`` continues
        from it (same config and data assumed).
    callback : called as ``callback(step, logs)`` after each evaluation; returning True stops training.
    val_model : maps the EMA model to the denoiser whose validation loss picks the best weights and stops
        training early (e.g. a classifier-free guidance wrapper); default: the EMA model itself.

    Returns
    -------
    TrainResult with the best EMA weights (lowest validation loss; the last ones without validation data).
    """
    from tqdm.auto import tqdm

    from finscore._device import resolve_device
    from finscore.train.state import load_state, save_state

    cfg = config
    dev = resolve_device(device)
    rank, world = _dist()
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of ranks {world}")
    n = _check_data(train_data, "train_data")
    if n == 0:
        raise ValueError("train_data has no windows")
    if val_data is not None:
        if _check_data(val_data, "val_data") == 0:
            raise ValueError("val_data has no windows; pass None for no validation")
        val_data = {k: v.to(dev) for k, v in val_data.items()}
    data = {k: v.to(dev) for k, v in train_data.items()}
    torch.manual_seed(seed)
    model.to(dev).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, cfg))
    g = torch.Generator(device=dev)
    g.manual_seed(seed)
    amp = cfg.amp and dev.type == "cuda"
    state_dir = Path(checkpoint_dir) / "train_state" if checkpoint_dir is not None else None
    start, best_val, best_step, bad, rows = 0, math.inf, 0, 0, []
    best_state = None
    if resume:
        if state_dir is None or not state_dir.exists():
            raise FileNotFoundError(f"resume=True but no training state under {checkpoint_dir}")
        meta = load_state(state_dir, model, ema, opt, g)
        if meta.get("config") != asdict(cfg) or meta.get("seed", seed) != seed:
            changed = sorted(k for k, v in asdict(cfg).items() if (meta.get("config") or {}).get(k) != v)
            raise CheckpointError(f"{state_dir}: the training state was saved with other settings "
                                  f"({', '.join(changed) or 'seed'} differ); resume with the same config and seed, "
                                  "or start afresh")
        start, best_val, best_step, bad, rows = meta["step"], meta["best_val"], meta["best_step"], meta["bad"], meta["rows"]
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, cfg), last_epoch=start - 1)
        best_state = {k[5:]: v for k, v in load_state_best(state_dir).items()} if best_step else None
    local = slice(rank * cfg.batch_size // world, (rank + 1) * cfg.batch_size // world)
    bar = tqdm(total=cfg.steps, initial=start, disable=not progress or rank != 0, desc="training", unit="step")
    t0, run_loss, run_n = time.perf_counter(), 0.0, 0
    step = start
    done = start >= cfg.steps or (val_data is not None and bad >= cfg.patience)  # a finished or early-stopped run
    stopped = done and start < cfg.steps
    for step in range(start, cfg.steps if not done else start):
        idx = torch.randint(n, (cfg.batch_size,), generator=g, device=dev)
        batch = {k: v[idx] for k, v in data.items()}
        x0 = batch.pop("x")
        draws = loss.draw(x0, g)
        part = {k: v[local] for k, v in batch.items()}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            value = loss(net, x0[local], draws=draws.slice(local), **part).mean()
        if not torch.isfinite(value):
            raise NumericalError(f"training loss became {float(value)} at step {step}; lower lr (now {cfg.lr})")
        opt.zero_grad(set_to_none=True)
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        _ema_update(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
        run_loss, run_n = run_loss + float(value.detach()), run_n + 1
        bar.update(1)
        last = step + 1 == cfg.steps
        if (step + 1) % cfg.eval_every and not last:
            continue
        logs = {"step": step + 1, "train_loss": run_loss / run_n, "lr": sched.get_last_lr()[0]}
        run_loss, run_n = 0.0, 0
        if val_data is not None:
            judged = ema if val_model is None else val_model(ema)
            logs["val_loss"] = evaluate_loss(judged, loss, val_data, seed=seed + 1, repeats=cfg.val_repeats)
            if logs["val_loss"] < best_val:
                best_val, best_step, bad = logs["val_loss"], step + 1, 0
                best_state = {k: v.detach().clone() for k, v in ema.state_dict().items()}
            else:
                bad += 1
        rows.append(logs)
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k.endswith("loss")})
        if state_dir is not None and rank == 0:
            if best_state is not None and best_step == step + 1:  # first: a state may name only written weights
                save_best(state_dir, best_state)
            save_state(state_dir, model, ema, opt, g, {"step": step + 1, "best_val": best_val, "best_step": best_step,
                                                       "bad": bad, "rows": rows, "config": asdict(cfg), "seed": seed})
        if (callback is not None and callback(step + 1, logs)) or bad >= cfg.patience:
            stopped = not last
            break
    bar.close()
    seconds = time.perf_counter() - t0
    steps_run = 0 if done else step + 1 - start
    final = best_state if best_state is not None else {k: v.detach().clone() for k, v in ema.state_dict().items()}
    return TrainResult(
        state_dict=final, history=pd.DataFrame(rows), best_step=best_step or step + 1,
        best_val_loss=best_val if val_data is not None else math.nan, steps_run=steps_run, stopped_early=stopped,
        seconds=seconds, windows_per_second=steps_run * cfg.batch_size / max(seconds, 1e-9),
    )


def save_best(state_dir: Path, best: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    from finscore._io import atomic_path

    with atomic_path(state_dir.parent / "best_ema.safetensors", overwrite=True) as tmp:
        save_file({f"best.{k}": v.detach().cpu().contiguous() for k, v in best.items()}, str(tmp))


def load_state_best(state_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(state_dir.parent / "best_ema.safetensors"))
