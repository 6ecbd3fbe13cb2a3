"""Process-group set-up for ``torchrun``: ``torchrun --nproc_per_node=K -m finscore fit ...``."""

from __future__ import annotations

import os

import torch


def init_from_env() -> tuple[int, int]:
    """Join the process group described by torchrun's environment (WORLD_SIZE, RANK, MASTER_ADDR...).

    NCCL on CUDA, gloo on CPU; each rank pins ``cuda:LOCAL_RANK``. Returns (rank, world_size); (0, 1)
    outside torchrun. The trainer then splits every global batch across ranks (see ``finscore.train.trainer``).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()
