"""Smoke tests of the runnable scripts in ``examples/``: each ``main([...])`` at toy size.

The model-based examples share the session's tiny fitted generator (5 stocks, horizon 10),
saved once and passed with ``--model``; only ``custom_data`` fits its own (tiny) models.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
NAMES = ["stress_test", "risk_backtest", "validation_report", "custom_data"]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"finscore_example_{name}", EXAMPLES_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model_dir(tiny_generator, tmp_path_factory):
    """The tiny generator (fitted on 2009-2014) saved where the examples can ``--model`` load it."""
    return str(tiny_generator.save(tmp_path_factory.mktemp("examples") / "model"))


@pytest.mark.parametrize("name", NAMES)
def test_example_has_docstring_defaults_and_runs_as_a_script(name):
    module = load_example(name)
    assert "Run" in module.__doc__ and f"python examples/{name}.py" in module.__doc__
    args = module.parse_args([])
    assert args.preset == "fast"
    assert Path(args.out_dir) == EXAMPLES_DIR / "output" / name
    proc = subprocess.run([sys.executable, str(EXAMPLES_DIR / f"{name}.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--out-dir" in proc.stdout and "--preset" in proc.stdout


def test_stress_test_guided_scenarios_exceed_the_var(model_dir, tmp_path, capsys):
    from finscore import Scenarios

    module = load_example("stress_test")
    argv = ["--preset", "tiny", "--model", model_dir, "--out-dir", str(tmp_path), "--start", "2014-06-01",
            "--context-end", "2015-06-30", "--n", "100", "--max-draws", "2000", "--quiet"]
    assert module.main(argv) == 0
    scen = Scenarios.from_parquet(tmp_path / "stress_scenarios.parquet")
    assert scen.values.shape == (100, 10, 5)
    assert scen.start == pd.Timestamp("2015-06-30")
    level = scen.metadata["stress"]["level"][0]
    losses = -scen.portfolio_pnl(module.book_weights(scen.assets).to_numpy())
    assert level > 0 and np.mean(losses >= level) >= 0.95
    table = pd.read_csv(tmp_path / "stress_losses.csv", index_col=0)
    assert list(table.index) == ["guided", "rejection", "unguided (all)"]
    assert table.loc["rejection", "share >= threshold"] == 1.0
    assert table.loc["unguided (all)", "n"] == 2000
    assert table.loc["guided", "mean"] > table.loc["unguided (all)", "q95"]  # the tail, not the bulk
    assert "guided vs rejection: KS statistic" in capsys.readouterr().out


def test_risk_backtest_writes_tables_and_figure(model_dir, tmp_path, capsys):
    module = load_example("risk_backtest")
    argv = ["--preset", "tiny", "--model", model_dir, "--out-dir", str(tmp_path), "--start", "2013-06-01",
            "--test-end", "2015-02-15", "--n", "100", "--quiet"]
    assert module.main(argv) == 0
    for name in ("finscore", "garch"):
        summary = pd.read_csv(tmp_path / f"summary_{name}.csv", index_col="level")
        assert list(summary.index) == [0.95, 0.99]
        assert (summary["n_obs"] > 20).all() and (summary["exceedances"] <= summary["n_obs"]).all()
        assert summary["kupiec_p"].between(0, 1).all()
        forecasts = pd.read_csv(tmp_path / f"forecasts_{name}.csv", index_col=0, parse_dates=True)
        assert forecasts.index[0] == pd.Timestamp("2015-01-02")  # first date after the model's training data
        assert (forecasts["var_0.99"] > 0).all() and (forecasts["es_0.99"] >= forecasts["var_0.99"]).all()
    comparison = pd.read_csv(tmp_path / "comparison.csv", index_col=0)
    assert list(comparison.index) == ["finscore", "garch"]
    assert (tmp_path / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "comparison at 0.99" in capsys.readouterr().out


def test_validation_report_writes_a_pdf(model_dir, tmp_path):
    from pypdf import PdfReader

    module = load_example("validation_report")
    argv = ["--preset", "tiny", "--model", model_dir, "--out-dir", str(tmp_path), "--start", "2013-06-01",
            "--test-end", "2015-03-31", "--n", "30", "--stride", "10", "--backtest-n", "100",
            "--stress-n", "20", "--quiet"]
    assert module.main(argv) == 0
    pdf = tmp_path / "validation_report.pdf"
    assert pdf.read_bytes()[:4] == b"%PDF"
    text = "\n".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    assert "garch" in text and "gaussian copula" in text and "sp500 (embedded)" in text
    assert "Stress scenarios" in text


def test_custom_data_default_stand_in_csv(tmp_path, capsys):
    from finscore import Scenarios, ScoreGenerator

    module = load_example("custom_data")
    argv = ["--preset", "tiny", "--out-dir", str(tmp_path), "--start", "2012-01-01", "--end", "2014-12-31",
            "--assets", "AAPL,KO,XOM", "--horizon", "5", "--n", "50", "--quiet"]
    assert module.main(argv) == 0
    csv = pd.read_csv(tmp_path / "my_prices.csv", index_col="date", parse_dates=True)
    assert list(csv.columns) == ["AAPL", "KO", "XOM"] and (csv > 0).all().all()
    scen = Scenarios.from_parquet(tmp_path / "scenarios.parquet")
    assert scen.values.shape == (50, 5, 3) and scen.start == pd.Timestamp("2014-12-31")
    assert ScoreGenerator.load(tmp_path / "model").assets_ == ("AAPL", "KO", "XOM")
    assert "reproduces the scenarios: True" in capsys.readouterr().out


def test_custom_data_reads_a_users_long_form_parquet(tmp_path):
    from finscore import Scenarios, load_prices

    wide = load_prices("sp500", start="2012-01-01", end="2014-12-31", assets=["JPM", "PG"])
    long = wide.rename_axis("date").reset_index().melt(id_vars="date", var_name="ticker", value_name="price")
    path = tmp_path / "user_prices.parquet"
    long.to_parquet(path)
    module = load_example("custom_data")
    argv = ["--preset", "tiny", "--prices", str(path), "--out-dir", str(tmp_path / "out"), "--horizon", "5",
            "--n", "20", "--quiet"]
    assert module.main(argv) == 0
    assert not (tmp_path / "out" / "my_prices.csv").exists()
    assert Scenarios.from_parquet(tmp_path / "out" / "scenarios.parquet").assets == ("JPM", "PG")
