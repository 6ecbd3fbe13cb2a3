"""Atomic file output: a write either completes or leaves the destination untouched."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def check_destination(path: str | os.PathLike, *, overwrite: bool, suffix: str | None = None) -> Path:
    """Refuse, before any work is done, an output file that the final write would refuse.

    Parameters
    ----------
    path : destination file.
    overwrite : if False, an existing ``path`` is a ``FileExistsError``.
    suffix : required file suffix (e.g. ``".pdf"``), compared case-insensitively; a ValueError otherwise.

    Raises ``IsADirectoryError`` for a path that is a directory, whatever ``overwrite`` says.
    """
    dest = Path(path)
    if suffix is not None and dest.suffix.lower() != suffix:
        raise ValueError(f"path must end in {suffix}, got {dest}")
    if dest.is_dir():
        raise IsADirectoryError(f"{dest} is a directory; give a file path")
    if not overwrite and dest.exists():
        raise FileExistsError(f"{dest} exists; pass overwrite=True (CLI: --force) to replace it")
    return dest


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Parameters
    ----------
    path : destination file.
    overwrite : if False and ``path`` exists, raise ``FileExistsError`` before writing anything.
    """
    dest = check_destination(path, overwrite=overwrite)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
