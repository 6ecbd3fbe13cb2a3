"""Per-column standardisation fitted on training dates only, serialisable into checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finscore.data.checks import check_returns
from finscore.errors import DataError, NotFittedError


@dataclass
class Scaler:
    """``z = (x - mean_) / scale_`` per asset (or feature), fitted on dates ``<= end`` only.

    Parameters
    ----------
    center : subtract the training mean (False: ``mean_`` = 0, scale by the root mean square).

    Attributes (after :meth:`fit`)
    ------------------------------
    mean_ : ndarray (d,); scale_ : ndarray (d,) (std, ddof=1); columns_ : tuple of d names;
    fit_end_ : last date used; n_fit_ : number of dates used.
    """

    center: bool = True
    mean_: np.ndarray | None = field(default=None, repr=False)
    scale_: np.ndarray | None = field(default=None, repr=False)
    columns_: tuple[str, ...] | None = None
    fit_end_: pd.Timestamp | None = None
    n_fit_: int | None = None

    def fit(self, frame: pd.DataFrame, *, end=None) -> "Scaler":
        """Fit on the rows of ``frame`` (n_dates, d) dated on or before ``end`` (None: all rows).

        Rows with NaN (e.g. the warm-up of rolling features) are skipped; an all-constant
        column raises ``DataError`` naming it.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"Scaler.fit needs a DataFrame (n_dates, d), got {type(frame).__name__}")
        rows = frame if end is None else frame.loc[: pd.Timestamp(end)]
        rows = check_returns(rows.dropna(), name="scaler training data", min_rows=2)
        values = rows.to_numpy()
        mean = values.mean(axis=0) if self.center else np.zeros(values.shape[1])
        scale = values.std(axis=0, ddof=1) if self.center else np.sqrt((values**2).mean(axis=0))
        flat = np.flatnonzero(~(scale > 0))
        if len(flat):
            raise DataError(f"column {rows.columns[flat[0]]!r} is constant on the training dates; cannot standardise")
        self.mean_, self.scale_ = mean, scale
        self.columns_ = tuple(map(str, rows.columns))
        self.fit_end_, self.n_fit_ = rows.index[-1], len(rows)
        return self

    def _params(self, x):
        if self.mean_ is None:
            raise NotFittedError("Scaler is not fitted: call fit(frame, end=train_end) first")
        if isinstance(x, pd.DataFrame) and tuple(map(str, x.columns)) != self.columns_:
            raise DataError(f"columns {list(x.columns)} do not match the fitted columns {list(self.columns_)}")
        if x.shape[-1] != len(self.mean_):
            raise DataError(f"last axis has size {x.shape[-1]}, the scaler was fitted on {len(self.mean_)} columns")
        if type(x).__module__.startswith("torch"):
            import torch

            return (torch.as_tensor(self.mean_, dtype=x.dtype, device=x.device),
                    torch.as_tensor(self.scale_, dtype=x.dtype, device=x.device))
        return self.mean_, self.scale_

    def transform(self, x):
        """Standardise ``x``: DataFrame (n, d), ndarray or Tensor (..., d); same type back."""
        mean, scale = self._params(x)
        return (x - mean) / scale

    def inverse_transform(self, z):
        """Undo :meth:`transform`: ``z * scale_ + mean_``; same type back."""
        mean, scale = self._params(z)
        return z * scale + mean

    def to_dict(self) -> dict:
        """JSON-serialisable state (for checkpoint metadata)."""
        if self.mean_ is None:
            raise NotFittedError("Scaler is not fitted; nothing to serialise")
        return {"center": self.center, "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "columns": list(self.columns_), "fit_end": str(self.fit_end_.date()), "n_fit": self.n_fit_}

    @classmethod
    def from_dict(cls, state: dict) -> "Scaler":
        """Rebuild a fitted Scaler from :meth:`to_dict` output."""
        try:
            mean, scale = np.asarray(state["mean"], float), np.asarray(state["scale"], float)
            columns = tuple(state["columns"])
            out = cls(center=bool(state["center"]), mean_=mean, scale_=scale, columns_=columns,
                      fit_end_=pd.Timestamp(state["fit_end"]), n_fit_=int(state["n_fit"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"invalid Scaler state: {exc!r}") from exc
        if not (mean.shape == scale.shape == (len(columns),)) or not np.all(scale > 0):
            raise DataError("invalid Scaler state: mean/scale/columns sizes differ or scale <= 0")
        return out
