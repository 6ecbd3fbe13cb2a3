"""describe_model: duck-typed model description, every optional attribute may be missing or malformed."""

from dataclasses import dataclass
from types import SimpleNamespace

import pandas as pd
import pytest
from report_fakes import copula_model

from finscore.report import describe_model


class Params:
    def get_params(self):
        return {"k": 1}


def test_bare_model_gives_empty_info():
    info = describe_model(Params(), "m")
    assert info.params == {"k": 1} and info.class_name.endswith("Params") and len(info.model_id) == 12
    assert info.config is info.history is info.loss_per_sigma is info.fingerprint is info.train_end is None
    with pytest.raises(TypeError, match="get_params"):
        describe_model(object(), "m")


def test_full_record_is_read():
    info = describe_model(copula_model(), "finscore")
    assert info.history.columns.tolist()[:3] == ["step", "train_loss", "val_loss"]
    assert len(info.loss_per_sigma) == 8 and info.fingerprint == "0123456789abcdef" * 4
    assert info.config["sampler"] == "ode" and info.train_summary["best_step"] == 450


def test_history_dict_wins_and_data_history_is_ignored():
    m = Params()
    m.history_ = {"step": [0, 10], "train_loss": [2.0, 1.0]}
    assert describe_model(m, "m").history["train_loss"].tolist() == [2.0, 1.0]
    # BaseGenerator.fit stores the last context rows as history_: not a training curve
    m.history_ = pd.DataFrame({"A": [0.01, -0.02]}, index=pd.bdate_range("2020-01-01", periods=2))
    assert describe_model(m, "m").history is None
    m.train_result_ = SimpleNamespace(history=pd.DataFrame({"step": [5], "train_loss": [0.3]}), best_step=5)
    assert describe_model(m, "m").history["step"].tolist() == [5]


def test_fingerprint_dict_config_dataclass_and_dates():
    @dataclass(frozen=True)
    class Inner:
        a: tuple = (1, 2)

    @dataclass(frozen=True)
    class Cfg:
        inner: Inner = Inner()
        steps: int = 3

    m = Params()
    m.config_ = Cfg()
    m.fingerprint_ = {"sha256": "ff" * 32, "n_dates": 10}
    m.fit_start_, m.fit_end_ = "2020-01-01", pd.Timestamp("2021-01-01")
    m.assets_ = ["X", "Y"]
    m.loss_per_sigma_ = {"sigma": ["a"], "loss": [None]}  # malformed: ignored
    info = describe_model(m, "m")
    assert info.config == {"inner": {"a": (1, 2)}, "steps": 3}
    assert info.fingerprint == "ff" * 32 and info.fingerprint_details == {"n_dates": 10}
    assert info.train_start == pd.Timestamp("2020-01-01") and info.assets == ("X", "Y")
    assert info.loss_per_sigma is None
    assert describe_model(m, "m").model_id == info.model_id  # deterministic
