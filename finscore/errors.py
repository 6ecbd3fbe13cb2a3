"""Exceptions raised by finscore.

Every error a user can trigger derives from :class:`FinscoreError`, and each also
derives from the closest builtin (``ValueError``, ``FileNotFoundError``, ...) so
existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class FinscoreError(Exception):
    """Base class of all finscore errors."""


class DataError(FinscoreError, ValueError):
    """Invalid price or return data (names the asset and date where possible)."""


class DataSourceError(FinscoreError, OSError):
    """A data source cannot be read: missing file, unparsable file, offline without cache."""


class CheckpointError(FinscoreError, ValueError):
    """A checkpoint is missing, truncated, tampered with or does not match the model."""


class NotFittedError(FinscoreError, RuntimeError):
    """A generator was used before ``fit``."""


class NumericalError(FinscoreError, FloatingPointError):
    """Sampling or training produced non-finite numbers."""
