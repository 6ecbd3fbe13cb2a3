"""``finscore validate`` on fake data and fake generators (loaders monkeypatched: no files, no training)."""

import argparse

import numpy as np
import pandas as pd
import pytest

from finscore.cli import validate

from _validation_fakes import IIDGaussian


def _parse(argv):
    p = argparse.ArgumentParser(prog="finscore")
    validate.register(p.add_subparsers())
    return p.parse_args(["validate", *argv])


@pytest.fixture()
def patched(monkeypatch):
    idx = pd.bdate_range("2015-01-01", periods=600, name="date")
    rets = pd.DataFrame(np.random.default_rng(0).standard_normal((600, 2)) * 0.01, index=idx, columns=["X", "Y"])
    model = IIDGaussian().fit(rets.loc[:"2016-03-31"])  # a pre-trained "saved model"
    loaded = []

    def load_generator(spec):
        loaded.append(spec)
        return model if spec.startswith("/") else IIDGaussian(2.0 if spec == "copula" else 1.0)

    monkeypatch.setattr(validate, "load_returns", lambda args: rets)
    monkeypatch.setattr(validate, "load_generator", load_generator)
    return loaded, model


def test_validate_writes_table_atomically(tmp_path, patched, capsys):
    loaded, model = patched
    out, scores = tmp_path / "table.csv", tmp_path / "scores.csv"
    argv = ["/models/m", "--data", "fake", "--baselines", "garch,copula", "--train-end", "2016-06-30",
            "--test-start", "2016-07-01", "--n", "50", "--stride", "10", "--horizon", "5", "--out", str(out),
            "--scores", str(scores), "--quiet"]
    assert validate.run(_parse(argv)) == 0
    assert loaded == ["/models/m", "garch", "copula"]
    assert model.fit_end_ == pd.Timestamp("2016-03-31")  # the saved model is not refitted
    table = pd.read_csv(out, index_col=[0, 1])
    assert list(table.columns) == ["score", "garch", "copula", "real"]
    assert table.loc[("score", "energy_score"), "garch"] < table.loc[("score", "energy_score"), "copula"]
    assert set(pd.read_csv(scores)["generator"]) == {"score", "garch", "copula"}
    assert "energy_score" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(FileExistsError, match="--force"):
        validate.run(_parse(argv))


def test_validate_argument_errors(tmp_path, patched):
    base = ["--train-end", "2016-06-30", "--test-start", "2016-07-01", "--out", str(tmp_path / "t.csv")]
    with pytest.raises(ValueError, match="unknown"):
        validate.run(_parse(["none", "--baselines", "garch,nope", *base]))
    with pytest.raises(ValueError, match="nothing to validate"):
        validate.run(_parse(["none", "--baselines", "", *base]))
    assert not (tmp_path / "t.csv").exists()


def test_a_baseline_given_as_the_model_is_fitted(tmp_path, patched):
    """`finscore validate copula ...` failed with "pass fit=True", which a CLI user cannot do."""
    loaded, _ = patched
    argv = ["copula", "--data", "fake", "--baselines", "garch", "--train-end", "2016-06-30", "--test-start",
            "2016-07-01", "--n", "30", "--stride", "20", "--horizon", "5", "--out", str(tmp_path / "t.csv"), "--quiet"]
    assert validate.run(_parse(argv)) == 0 and loaded == ["copula", "garch"]
    with pytest.raises(ValueError, match="horizon must be a positive integer, got 0"):  # not silently 20
        validate.run(_parse([*argv[:-3], "--horizon", "0", "--out", str(tmp_path / "u.csv"), "--quiet"]))
