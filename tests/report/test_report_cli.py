"""``finscore report`` on a small CSV price file with a baseline as the model (no stress support)."""

import argparse

import numpy as np
import pytest
from pypdf import PdfReader
from report_fakes import returns_frame

from finscore.cli import report as cli_report
from finscore.errors import DataError


def main(argv):
    """Run the subcommand through its own parser (the lead adds it to finscore.cli.COMMANDS)."""
    parser = argparse.ArgumentParser(prog="finscore")
    cli_report.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def price_file(tmp_path_factory):
    prices = 100 * np.exp(returns_frame(520, 3, seed=5).cumsum())
    path = tmp_path_factory.mktemp("data") / "prices.csv"
    prices.to_csv(path)
    return path, prices.index


def test_cli_report_writes_pdf_and_respects_force(price_file, tmp_path, capsys):
    path, dates = price_file
    out = tmp_path / "reports" / "small.pdf"
    argv = ["report", "copula", "--data", str(path), "--out", str(out), "--baselines", "bootstrap",
            "--train-end", str(dates[399].date()), "--horizon", "5", "--n", "50", "--stride", "20",
            "--backtest-n", "100", "--levels", "0.95,0.99", "--quiet"]
    assert main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    reader = PdfReader(str(out))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Benchmarking against baselines" in text and "bootstrap" in text
    assert "Stress scenarios were skipped" in text  # GaussianCopula.sample takes no guidance
    assert str(path) in text  # the data source is named on the cover
    with pytest.raises(FileExistsError, match="--force"):
        main(argv)
    assert main(argv + ["--force", "--no-stress", "--baselines", ""]) == 0
    text = "\n".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert "not requested" in text and "bootstrap" not in text


def test_cli_report_rejects_bad_options(price_file, tmp_path):
    path, _ = price_file
    base = ["report", "copula", "--data", str(path), "--out", str(tmp_path / "x.pdf")]
    with pytest.raises(ValueError, match="--baselines"):
        main(base + ["--baselines", "nope"])
    with pytest.raises(ValueError, match="--levels"):
        main(base + ["--levels", "high"])
    with pytest.raises(DataError, match="train_end"):  # an unfitted baseline has no training period
        main(base + ["--baselines", ""])
    assert not (tmp_path / "x.pdf").exists()
