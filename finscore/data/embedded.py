"""Embedded example datasets (from the skfolio 1.12.2 wheel, BSD-3; see ``data/README.md``).

The files live in the repository's ``data/`` folder; a wheel ships them as
``finscore/_embedded/`` (hatch ``force-include``). They are *stale example data*
(daily adjusted closes to 2022-12-28) and carry a known wart: early split-adjusted
prices were rounded to 3 decimals, so the 1990s contain many spurious zero-return
days. Embedded loads therefore default to ``start="2000-01-01"``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from finscore.errors import DataSourceError

#: Default first date of an embedded load (explicit ``start`` overrides it).
EMBEDDED_DEFAULT_START = "2000-01-01"


@dataclass(frozen=True)
class EmbeddedDataset:
    """One embedded price file: registry name, file name and a one-line description."""

    name: str
    filename: str
    description: str


DATASETS: dict[str, EmbeddedDataset] = {
    d.name: d
    for d in (
        EmbeddedDataset("sp500", "sp500_dataset.csv.gz", "20 S&P 500 constituents, daily adjusted closes"),
        EmbeddedDataset("sp500_index", "sp500_index.csv.gz", "S&P 500 index level, daily"),
        EmbeddedDataset("factors", "factors_dataset.csv.gz", "5 iShares factor ETFs (MTUM QUAL SIZE USMV VLUE)"),
    )
}


def data_dirs() -> list[Path]:
    """Candidate folders holding the embedded files: the installed package copy first, then the repo."""
    import finscore

    pkg = Path(finscore.__file__).resolve().parent
    return [pkg / "_embedded", pkg.parent / "data"]


def embedded_path(name: str) -> Path:
    """Path of the embedded dataset ``name``.

    Raises
    ------
    DataSourceError
        ``name`` is not an embedded dataset, or its file is in neither candidate folder.
    """
    if name not in DATASETS:
        raise DataSourceError(f"unknown embedded dataset {name!r}; available: {', '.join(DATASETS)}")
    filename = DATASETS[name].filename
    for folder in data_dirs():
        if (folder / filename).is_file():
            return folder / filename
    searched = ", ".join(str(d) for d in data_dirs())
    raise DataSourceError(
        f"embedded dataset {name!r} ({filename}) not found; searched {searched}. "
        "Reinstall finscore or run from a source checkout that has the data/ folder."
    )


@functools.lru_cache(maxsize=None)
def _read_cached(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col=0)
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="%Y-%m-%d"), name="date")
    return frame.astype("float64")


def read_embedded(name: str) -> pd.DataFrame:
    """Raw embedded prices, all dates: DataFrame (n_dates, n_assets), DatetimeIndex ``date``.

    The result is a fresh copy; cleaning and date selection happen in :func:`finscore.data.load_prices`.
    """
    return _read_cached(str(embedded_path(name))).copy()


def list_datasets() -> pd.DataFrame:
    """Table of the embedded datasets, one row per name.

    Returns
    -------
    DataFrame (n_datasets, 7)
        Index ``name``; columns ``description``, ``n_assets``, ``assets``, ``first_date``,
        ``last_date``, ``n_dates`` (whole file) and ``default_start``.
    """
    rows = []
    for name, ds in DATASETS.items():
        frame = read_embedded(name)
        rows.append(
            {
                "name": name,
                "description": ds.description,
                "n_assets": frame.shape[1],
                "assets": " ".join(map(str, frame.columns)),
                "first_date": frame.index[0].date().isoformat(),
                "last_date": frame.index[-1].date().isoformat(),
                "n_dates": len(frame),
                "default_start": EMBEDDED_DEFAULT_START,
            }
        )
    return pd.DataFrame(rows).set_index("name")
