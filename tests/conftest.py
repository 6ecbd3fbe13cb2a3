"""Shared test settings: one torch thread (2-core CI machine), headless matplotlib."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def sp500_returns():
    """Embedded 20-stock daily log returns, 2005-2016 (small enough for fast tests)."""
    from finscore.data import load_prices, to_returns

    return to_returns(load_prices("sp500", start="2005-01-01", end="2016-12-31"))


@pytest.fixture(scope="session")
def tiny_generator(sp500_returns):
    """A ScoreGenerator (tiny preset) fitted on 5 assets, 2009-2014: a few seconds on one thread."""
    from finscore.generator import ScoreGenerator

    returns = sp500_returns.loc["2009-01-01":"2014-12-31"].iloc[:, :5]
    return ScoreGenerator(horizon=10, context=60, preset="tiny", progress=False).fit(returns)
