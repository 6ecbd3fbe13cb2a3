"""Data-layer test fixtures: no network ever, a private Yahoo cache, a small synthetic panel."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    """Any real yfinance download fails loudly; the default cache lives in a temp dir."""
    import yfinance

    def _blocked(*args, **kwargs):
        raise AssertionError("tests must not touch the network (patch finscore.data.yahoo._download)")

    monkeypatch.setattr(yfinance, "download", _blocked)
    monkeypatch.setenv("FINSCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FINSCORE_OFFLINE", raising=False)


@pytest.fixture
def prices():
    """Wide price frame (30 business days, 3 assets A, B, C), positive, no gaps."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=30, name="date")
    r = rng.normal(0, 0.01, size=(30, 3))
    return pd.DataFrame(100 * np.exp(np.cumsum(r, axis=0)), index=idx, columns=["A", "B", "C"])
