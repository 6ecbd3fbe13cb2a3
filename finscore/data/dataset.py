"""``WindowDataset``: a torch ``Dataset`` over :class:`~finscore.data.windows.Windows`."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from finscore.data.scaling import Scaler
from finscore.data.windows import Windows
from finscore.errors import DataError


class WindowDataset(Dataset):
    """Standardised windows as tensors, in the key layout of ``finscore.train.train``.

    Parameters
    ----------
    windows : Windows (N windows, context L, horizon H, d assets, F features).
    scaler : fitted Scaler over the d assets (applied to target and context), optional.
    feature_scaler : fitted Scaler over the F features, optional.
    with_context : also return the context under key ``"context"``.
    dtype : tensor dtype (default float32).

    Items are dicts: ``"x"`` (H, d) target, ``"cond"`` (F,) if features exist, ``"context"`` (L, d)
    if ``with_context``. :meth:`tensors` gives the stacked (N, ...) versions.
    """

    def __init__(self, windows: Windows, *, scaler: Scaler | None = None, feature_scaler: Scaler | None = None,
                 with_context: bool = False, dtype: torch.dtype = torch.float32):
        if scaler is not None and scaler.columns_ is not None and scaler.columns_ != windows.assets:
            raise DataError(f"scaler columns {list(scaler.columns_)} differ from window assets {list(windows.assets)}")

        def scaled(a, s):
            return torch.tensor(a if s is None else s.transform(a), dtype=dtype)  # copies

        self._data = {"x": scaled(windows.target, scaler)}
        if windows.features is not None:
            self._data["cond"] = scaled(windows.features, feature_scaler)
        if with_context:
            self._data["context"] = scaled(windows.context, scaler)
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self._data.items()}

    def tensors(self) -> dict[str, torch.Tensor]:
        """Stacked tensors: ``"x"`` (N, H, d), ``"cond"`` (N, F), ``"context"`` (N, L, d)."""
        return dict(self._data)
