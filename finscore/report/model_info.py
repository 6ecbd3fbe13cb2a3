"""What the report can say about a model: read duck-typed, every optional attribute may be missing.

Needed: ``get_params() -> dict``. Optional (None in :class:`ModelInfo` when absent or malformed):
``config`` / ``config_`` (a dataclass or mapping), ``assets_``, ``fit_start_``, ``train_end_`` /
``fit_end_``, ``data_fingerprint_`` (str) / ``fingerprint_`` (str or dict with "sha256"),
``history_`` (mapping / DataFrame with "step", "train_loss", "val_loss"; falls back to
``train_result_.history``), ``loss_per_sigma_`` (mapping / DataFrame with "sigma", "loss"),
``train_result_`` (summary numbers: best_step, best_val_loss, steps_run, stopped_early, seconds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

_TRAIN_SUMMARY = ("steps_run", "best_step", "best_val_loss", "stopped_early", "seconds", "windows_per_second")


@dataclass(frozen=True)
class ModelInfo:
    """Provenance and training record of a model, as far as it exposes them."""

    name: str
    class_name: str
    model_id: str
    params: dict[str, Any]
    config: dict[str, Any] | None = None
    assets: tuple[str, ...] | None = None
    train_start: pd.Timestamp | None = None
    train_end: pd.Timestamp | None = None
    fingerprint: str | None = None
    fingerprint_details: dict[str, Any] = field(default_factory=dict)
    history: pd.DataFrame | None = None
    loss_per_sigma: pd.DataFrame | None = None
    train_summary: dict[str, Any] = field(default_factory=dict)


def describe_model(model: Any, name: str) -> ModelInfo:
    """Collect :class:`ModelInfo` from ``model`` (see the module docstring for the attributes read).

    Raises
    ------
    TypeError
        If ``model`` has no ``get_params()`` method.
    """
    if not callable(getattr(model, "get_params", None)):
        raise TypeError(f"model must have a get_params() method, got {type(model).__name__}")
    params = dict(model.get_params())
    config = _as_dict(getattr(model, "config", None)) or _as_dict(getattr(model, "config_", None))
    fp, details = _fingerprint(model)
    assets = getattr(model, "assets_", None)
    ident = json.dumps({"class": type(model).__name__, "params": params, "config": config, "data": fp},
                       sort_keys=True, default=str)
    return ModelInfo(
        name=name,
        class_name=f"{type(model).__module__}.{type(model).__name__}",
        model_id=hashlib.sha256(ident.encode()).hexdigest()[:12],
        params=params,
        config=config,
        assets=None if assets is None else tuple(map(str, assets)),
        train_start=_timestamp(getattr(model, "fit_start_", None)),
        train_end=_timestamp(getattr(model, "train_end_", None) or getattr(model, "fit_end_", None)),
        fingerprint=fp,
        fingerprint_details=details,
        history=_history(model),
        loss_per_sigma=_frame(getattr(model, "loss_per_sigma_", None), ("sigma", "loss")),
        train_summary=_train_summary(getattr(model, "train_result_", None)),
    )


def _as_dict(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else None


def _timestamp(value: Any) -> pd.Timestamp | None:
    try:
        return None if value is None else pd.Timestamp(value)
    except (TypeError, ValueError):
        return None


def _fingerprint(model: Any) -> tuple[str | None, dict[str, Any]]:
    for attr in ("data_fingerprint_", "fingerprint_"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value, {}
        if isinstance(value, dict) and value.get("sha256"):
            return str(value["sha256"]), {k: v for k, v in value.items() if k != "sha256"}
    return None, {}


def _frame(obj: Any, required: tuple[str, ...]) -> pd.DataFrame | None:
    """A DataFrame with the ``required`` columns (numeric, non-empty), or None."""
    if obj is None:
        return None
    try:
        frame = obj.copy() if isinstance(obj, pd.DataFrame) else pd.DataFrame(dict(obj))
    except (TypeError, ValueError):
        return None
    if not set(required) <= set(frame.columns) or frame.empty:
        return None
    frame = frame.apply(pd.to_numeric, errors="coerce")
    finite = np.isfinite(frame[list(required)].to_numpy(np.float64))
    return frame if finite.any(axis=0).all() else None  # each required column needs a number


def _history(model: Any) -> pd.DataFrame | None:
    """Training curve from ``history_`` (when it is one) or ``train_result_.history``."""
    for obj in (getattr(model, "history_", None), getattr(getattr(model, "train_result_", None), "history", None)):
        frame = _frame(obj, ("step", "train_loss"))
        if frame is not None:
            return frame
    return None


def _train_summary(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    out = {}
    for key in _TRAIN_SUMMARY:
        value = getattr(result, key, None)
        if isinstance(value, (int, float, bool, np.integer, np.floating)):
            out[key] = value
    return out
