"""The :class:`Scenarios` container: the one output type of every generator."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from finscore._io import atomic_path
from finscore.errors import DataError

_META_KEY = b"finscore.scenarios"


@dataclass(frozen=True, eq=False)
class Scenarios:
    """Scenario paths of daily log returns.

    Parameters
    ----------
    values : ndarray of shape (n_scenarios, horizon, n_assets)
        Daily log returns; step 0 is the first day after ``start``.
    assets : sequence of str, length n_assets
    start : Timestamp or None
        The last observed date: scenarios start the day after it.
    metadata : dict
        JSON-serialisable provenance (generator, seed, config, sampler, ...).
    """

    values: np.ndarray
    assets: tuple[str, ...]
    start: pd.Timestamp | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim != 3:
            raise DataError(f"Scenarios.values must have shape (n_scenarios, horizon, n_assets), got shape {values.shape}")
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float64)
        if isinstance(self.assets, str):  # tuple("ABC") would be three assets A, B, C
            raise DataError(f"assets must be a sequence of names, got the string {self.assets!r}")
        assets = tuple(str(a) for a in self.assets)
        if len(assets) != values.shape[2]:
            raise DataError(f"{len(assets)} asset names for {values.shape[2]} assets in values")
        if len(set(assets)) != len(assets):
            raise DataError(f"duplicate asset names: {sorted(a for a in assets if assets.count(a) > 1)}")
        bad = ~np.isfinite(values)
        if bad.any():
            i, t, j = np.argwhere(bad)[0]
            raise DataError(
                f"{int(bad.sum())} non-finite scenario values, first at scenario {i}, step {t}, asset {assets[j]!r}"
            )
        start = None if self.start is None else pd.Timestamp(self.start)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "assets", assets)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # ------------------------------------------------------------------ shape
    @property
    def n_scenarios(self) -> int:
        return self.values.shape[0]

    @property
    def horizon(self) -> int:
        return self.values.shape[1]

    @property
    def n_assets(self) -> int:
        return self.values.shape[2]

    def __len__(self) -> int:
        return self.n_scenarios

    def __repr__(self) -> str:
        start = None if self.start is None else self.start.date().isoformat()
        gen = self.metadata.get("generator", "?")
        return (
            f"Scenarios(n_scenarios={self.n_scenarios}, horizon={self.horizon}, n_assets={self.n_assets}, "
            f"start={start}, generator={gen})"
        )

    # ------------------------------------------------------------ conversions
    def to_frame(self) -> pd.DataFrame:
        """Wide frame: MultiIndex (scenario, step) rows × asset columns of log returns."""
        n, h, d = self.values.shape
        index = pd.MultiIndex.from_product([range(n), range(h)], names=["scenario", "step"])
        return pd.DataFrame(self.values.reshape(n * h, d), index=index, columns=list(self.assets))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, start=None, metadata: dict | None = None) -> "Scenarios":
        """Inverse of :meth:`to_frame` (rows must be the full (scenario, step) grid)."""
        if not isinstance(frame.index, pd.MultiIndex) or frame.index.nlevels != 2:
            raise DataError("frame must have a 2-level MultiIndex (scenario, step)")
        if not all(pd.api.types.is_integer_dtype(lv) for lv in frame.index.levels):
            raise DataError("the (scenario, step) labels must be integers, so that the steps sort in time order")
        frame = frame.sort_index()
        scen, step = (np.unique(frame.index.get_level_values(i)) for i in (0, 1))
        n, h = len(scen), len(step)
        if not frame.index.equals(pd.MultiIndex.from_product([scen, step])):  # a duplicate or missing row
            raise DataError(f"frame has {len(frame)} rows, not the full grid of {n} scenarios × {h} steps "
                            f"(each (scenario, step) exactly once)")
        values = frame.to_numpy(dtype=np.float64).reshape(n, h, frame.shape[1])
        return cls(values, tuple(frame.columns), start, metadata or {})

    def to_parquet(self, path: str | os.PathLike, *, overwrite: bool = True, float32: bool = False) -> None:
        """Write to Parquet atomically; metadata and start date travel in the file's schema metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = self.to_frame()
        if float32:
            frame = frame.astype(np.float32)
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(
            {
                "start": None if self.start is None else self.start.isoformat(),
                "metadata": self.metadata,
                "shape": list(self.values.shape),
            },
            default=_json_default,
        ).encode()
        table = table.replace_schema_metadata(meta)
        with atomic_path(path, overwrite=overwrite) as tmp:
            pq.write_table(table, tmp)

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> "Scenarios":
        """Read a file written by :meth:`to_parquet`."""
        import pyarrow.parquet as pq

        if not os.path.exists(path):
            raise FileNotFoundError(f"no scenario file at {path}")
        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise DataError(f"{path} is not a finscore scenario file (no {_META_KEY.decode()} metadata)")
        info = json.loads(raw)
        frame = table.to_pandas()
        scen = cls.from_frame(frame, info["start"], info["metadata"])
        if list(scen.values.shape) != info["shape"]:
            raise DataError(f"{path}: shape {scen.values.shape} does not match recorded {info['shape']}")
        return scen

    # -------------------------------------------------------------- analytics
    def weights_vector(self, weights: "Sequence[float] | dict[str, float] | pd.Series | str") -> np.ndarray:
        """Validate portfolio weights against the assets and return an ndarray (n_assets,).

        ``weights`` may be ``"equal"``, a sequence aligned with :attr:`assets`, or a
        mapping / Series from asset name to weight (missing assets get weight 0).
        """
        return portfolio_weights(weights, self.assets)

    def portfolio_returns(self, weights, *, cumulative: bool = True) -> np.ndarray:
        """Portfolio simple returns of a buy-and-hold book.

        The weights are the positions as fractions of the book's value at ``start``; the rest, ``1 - sum(w)``,
        is cash that earns nothing (a long-short book with ``sum(w) = 0`` is all collateral).

        Parameters
        ----------
        weights : see :meth:`weights_vector`.
        cumulative : if True, returns ndarray (n_scenarios, horizon) of cumulative simple
            returns from ``start`` to the end of each step; else the daily simple returns
            of the buy-and-hold book, (n_scenarios, horizon); compounding them gives the cumulative ones.
        """
        w = self.weights_vector(weights)
        growth = np.exp(np.cumsum(self.values, axis=1))  # (n, H, d) value of 1 unit per asset
        book = 1.0 + (growth - 1.0) @ w  # (n, H) the book's value, cash included, per unit at start
        if cumulative:
            return book - 1.0
        prev = np.concatenate([np.ones((book.shape[0], 1)), book[:, :-1]], axis=1)
        if np.any(prev <= 0):
            k = int(np.sum((prev <= 0).any(axis=1)))
            raise DataError(f"the book (gross exposure {np.abs(w).sum():.3g}) loses all its value in {k} scenario(s): "
                            "its daily returns are undefined after that; use the cumulative returns")
        return book / prev - 1.0

    def _horizon_arg(self, horizon: int | None) -> int:
        """``horizon`` checked as a whole number of days in [1, self.horizon] (None: the full horizon)."""
        if horizon is None:
            return self.horizon
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= self.horizon:
            raise ValueError(f"horizon must be a whole number of days in [1, {self.horizon}], got {horizon!r}")
        return int(horizon)

    def portfolio_pnl(self, weights, *, value: float = 1.0, horizon: int | None = None) -> np.ndarray:
        """P&L over ``horizon`` days (default: the full horizon) of a book worth ``value``: ndarray (n_scenarios,)."""
        h = self._horizon_arg(horizon)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise DataError(f"value must be a finite number (the book's value at start), got {value!r}")
        return value * self.portfolio_returns(weights)[:, h - 1]

    def price_paths(self, start_prices: "Sequence[float] | pd.Series | np.ndarray") -> np.ndarray:
        """Price paths from a start price vector: ndarray (n_scenarios, horizon + 1, n_assets), step 0 = start."""
        if isinstance(start_prices, pd.Series):
            names = [str(a) for a in start_prices.index]
            missing, extra = sorted(set(self.assets) - set(names)), sorted(set(names) - set(self.assets))
            if missing or extra or len(set(names)) < len(names):
                raise DataError(f"start_prices must name each asset once; missing {missing}, not in the scenarios "
                                f"{extra}" + (", repeated names" if len(set(names)) < len(names) else ""))
            start_prices = start_prices.set_axis(names).reindex(list(self.assets))
        p0 = np.asarray(start_prices, dtype=np.float64)
        if p0.shape != (self.n_assets,):
            raise DataError(f"start_prices must have {self.n_assets} entries (one per asset), got shape {p0.shape}")
        if not np.all(np.isfinite(p0)) or np.any(p0 <= 0):
            bad = [a for a, p in zip(self.assets, p0) if not (np.isfinite(p) and p > 0)]
            raise DataError(f"start prices must be positive and finite; bad for {bad}")
        cum = np.concatenate([np.zeros((self.n_scenarios, 1, self.n_assets)), np.cumsum(self.values, axis=1)], axis=1)
        return p0 * np.exp(cum)

    def aggregate(self, horizon: int | None = None) -> np.ndarray:
        """Per-asset log returns summed over the first ``horizon`` steps: ndarray (n_scenarios, n_assets)."""
        h = self._horizon_arg(horizon)
        return self.values[:, :h].sum(axis=1)

    def subset(self, index) -> "Scenarios":
        """Scenarios selected by a boolean mask or integer index over the scenario axis."""
        return Scenarios(self.values[index], self.assets, self.start, self.metadata)


def portfolio_weights(weights, assets: Sequence[str]) -> np.ndarray:
    """Validate portfolio ``weights`` for ``assets`` and return ndarray (n_assets,).

    Accepts ``"equal"``, a sequence aligned with ``assets``, or a mapping / Series
    from asset name to weight. Raises ``DataError`` for a wrong length, unknown asset
    names, non-finite entries or all-zero weights.
    """
    assets = tuple(assets)
    if isinstance(weights, str):
        if weights != "equal":
            raise DataError(f"weights string must be 'equal', got {weights!r}")
        return np.full(len(assets), 1.0 / len(assets))
    if isinstance(weights, (dict, pd.Series)):
        items = [(str(k), v) for k, v in weights.items()]
        keys = [k for k, _ in items]
        if len(set(keys)) < len(keys):
            raise DataError(f"weights name an asset twice: {sorted({k for k in keys if keys.count(k) > 1})}")
        mapping = dict(items)
        unknown = sorted(set(mapping) - set(assets))
        if unknown:
            raise DataError(f"weights name assets not in the scenarios: {unknown}; assets are {list(assets)}")
        w = _numbers([mapping.get(a, 0.0) for a in assets])
    else:
        w = _numbers(weights).reshape(-1)
        if w.shape[0] != len(assets):
            raise DataError(f"weights have length {w.shape[0]} but there are {len(assets)} assets {list(assets)}")
    if not np.all(np.isfinite(w)):
        bad = [a for a, x in zip(assets, w) if not np.isfinite(x)]
        raise DataError(f"weights must be finite; non-finite for {bad}")
    if np.allclose(w, 0.0):
        raise DataError("weights are all zero")
    return w


def _numbers(weights) -> np.ndarray:
    """``weights`` as a float64 array, else a DataError (not numpy's conversion error)."""
    try:
        return np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"weights must be numbers, got {weights!r}") from exc


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    return str(obj)
