"""``finscore backtest`` with a baseline on a small CSV price file."""

import argparse

import numpy as np
import pandas as pd
import pytest
from risk_fakes import gaussian_returns

from finscore.cli import backtest as cli_backtest


def main(argv):
    """Run the subcommand through its own parser (the lead adds it to finscore.cli.COMMANDS)."""
    parser = argparse.ArgumentParser(prog="finscore")
    cli_backtest.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def price_file(tmp_path_factory):
    prices = 100 * np.exp(gaussian_returns(420, n_assets=3, seed=21).cumsum())
    path = tmp_path_factory.mktemp("data") / "prices.csv"
    prices.to_csv(path)
    return path, prices.index


@pytest.mark.parametrize("model", ["fhs", "bootstrap"])
def test_cli_backtest_with_baseline(price_file, tmp_path, capsys, model):
    path, dates = price_file
    out = tmp_path / "bt.csv"
    rc = main(["backtest", model, "--data", str(path), "--start", str(dates[300].date()), "--end",
               str(dates[339].date()), "--weights", "0.2,0.3,0.5", "--levels", "0.95,0.99", "--n", "200",
               "--out", str(out), "--quiet"])
    assert rc == 0
    frame = pd.read_csv(out, index_col=0, parse_dates=True)
    assert len(frame) == 40 and list(frame.columns) == [
        "realized", "var_0.95", "es_0.95", "exceed_0.95", "var_0.99", "es_0.99", "exceed_0.99"]
    assert (frame["var_0.99"] > 0).all()
    summary = pd.read_csv(tmp_path / "bt_summary.csv", index_col=0)
    assert list(summary.index) == [0.95, 0.99] and "kupiec_p" in summary.columns
    assert "traffic_light" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_cli_errors(price_file, tmp_path):
    path, dates = price_file
    base = ["backtest", "fhs", "--data", str(path), "--start", str(dates[300].date()), "--n", "50", "--quiet"]
    with pytest.raises(ValueError, match="--levels"):
        main(base + ["--levels", "0.95,abc", "--out", str(tmp_path / "a.csv")])
    with pytest.raises(ValueError, match="inside \\(0, 1\\)"):
        main(base + ["--levels", "0.95,1.5", "--out", str(tmp_path / "a.csv")])
    with pytest.raises(ValueError, match="--weights has 2 entries"):
        main(base + ["--weights", "0.5,0.5", "--out", str(tmp_path / "a.csv")])
    (tmp_path / "b.csv").write_text("keep")
    with pytest.raises(FileExistsError, match="--force"):
        main(base + ["--out", str(tmp_path / "b.csv")])
    assert (tmp_path / "b.csv").read_text() == "keep"
    with pytest.raises(ValueError, match=r"must end in \.csv, got .*bt\.csv\.gz"):  # pandas would not compress it
        main(base + ["--out", str(tmp_path / "bt.csv.gz")])


def test_cli_var_method(price_file, tmp_path):
    path, dates = price_file
    base = ["backtest", "fhs", "--data", str(path), "--start", str(dates[300].date()), "--end",
            str(dates[339].date()), "--levels", "0.95,0.99", "--n", "200", "--quiet"]
    frames = {}
    for method in ("predictive", "empirical"):
        extra = [] if method == "predictive" else ["--var-method", "empirical"]  # predictive is the default
        assert main(base + extra + ["--out", str(tmp_path / f"{method}.csv")]) == 0
        frames[method] = pd.read_csv(tmp_path / f"{method}.csv", index_col=0, parse_dates=True)
    pred, emp = frames["predictive"], frames["empirical"]
    pd.testing.assert_series_equal(pred["realized"], emp["realized"])  # same seed, same scenarios
    # at position level (n + 1) the predictive VaR is never below the empirical ceil(n level)-th loss
    assert (pred["var_0.99"] >= emp["var_0.99"]).all() and (pred["var_0.99"] > emp["var_0.99"]).any()
    with pytest.raises(SystemExit):
        main(base + ["--var-method", "weibull", "--out", str(tmp_path / "c.csv")])
