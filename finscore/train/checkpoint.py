"""Checkpoints as a directory: ``model.safetensors`` (tensors) + ``config.json`` (metadata, sha256 of the weights).

Nothing is ever unpickled: a checkpoint from an untrusted source can at worst fail to load.
Writes are atomic: the directory is assembled beside the target and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from finscore.errors import CheckpointError

WEIGHTS, CONFIG = "model.safetensors", "config.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_checkpoint_destination(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Refuse, before any work is done, a checkpoint directory that ``save_checkpoint`` would refuse.

    An existing ``path`` is replaced only with ``overwrite`` and only if it is an earlier checkpoint: a directory
    holding nothing but ``config.json`` and ``model.safetensors`` (or nothing). A file, or a directory with
    anything else in it, is a ``FileExistsError`` naming what it holds, so that ``--force`` never deletes a
    user's other files.
    """
    path = Path(path)
    if not path.exists():
        return path
    if not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (CLI: --force) to replace it")
    if not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a checkpoint directory; refusing to replace it")
    other = sorted(p.name for p in path.iterdir() if p.name not in (CONFIG, WEIGHTS))
    if other:
        shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
        raise FileExistsError(f"{path} holds files that are not part of a checkpoint ({shown}); refusing to replace "
                              "it: choose another directory")
    return path


def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, Any], *,
                    overwrite: bool = False) -> Path:
    """Write ``path/model.safetensors`` and ``path/config.json`` atomically.

    Parameters
    ----------
    path : target directory; must not exist unless ``overwrite`` (then it is replaced only once the new
        checkpoint is complete).
    tensors : name -> tensor (moved to CPU, made contiguous).
    metadata : JSON-serializable dict; ``sha256`` and ``weights`` keys are added.
    """
    from safetensors.torch import save_file

    path = check_checkpoint_destination(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / WEIGHTS))
        meta = {**metadata, "weights": WEIGHTS, "sha256": _sha256(tmp / WEIGHTS)}
        (tmp / CONFIG).write_text(json.dumps(meta, indent=1, sort_keys=True, default=_json_default))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"checkpoint metadata value of type {type(o).__name__} is not JSON-serializable")


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint directory; verify the weights' sha256. Raises CheckpointError on any mismatch."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no checkpoint directory (expected {CONFIG} and {WEIGHTS} inside)")
    try:
        meta = json.loads((path / CONFIG).read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing {CONFIG}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path / CONFIG}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path / CONFIG}: expected a JSON object")
    weights = path / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{path}: missing {WEIGHTS}")
    digest = _sha256(weights)
    if meta.get("sha256") != digest:
        raise CheckpointError(f"{weights}: sha256 {digest[:12]}... does not match config.json "
                              f"({str(meta.get('sha256'))[:12]}...): the file is truncated or was modified")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights}: not a valid safetensors file ({exc})") from exc
    return tensors, meta
