import json
import pickle

import pytest
import torch

from finscore.errors import CheckpointError
from finscore.train import load_checkpoint, save_checkpoint


def _tensors():
    g = torch.Generator().manual_seed(0)
    return {"a": torch.randn(3, 4, generator=g), "b": torch.arange(5), "c": torch.randn(2, dtype=torch.float64)}


def test_round_trip_is_bit_identical(tmp_path):
    t = _tensors()
    save_checkpoint(tmp_path / "ck", t, {"name": "x", "n": 3})
    back, meta = load_checkpoint(tmp_path / "ck")
    assert meta["name"] == "x" and meta["n"] == 3 and len(meta["sha256"]) == 64
    assert all(torch.equal(t[k], back[k]) and t[k].dtype == back[k].dtype for k in t)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    save_checkpoint(tmp_path / "ck", _tensors(), {"v": 1})
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_checkpoint(tmp_path / "ck", _tensors(), {"v": 2})
    save_checkpoint(tmp_path / "ck", _tensors(), {"v": 2}, overwrite=True)
    assert load_checkpoint(tmp_path / "ck")[1]["v"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary leftovers


def test_tampered_or_truncated_weights_are_detected(tmp_path):
    save_checkpoint(tmp_path / "ck", _tensors(), {})
    w = tmp_path / "ck" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:-7])
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(tmp_path / "ck")


def test_a_pickle_payload_is_never_executed(tmp_path):
    """A malicious file with a matching hash must fail as 'not safetensors', never run code."""
    ck = tmp_path / "ck"
    save_checkpoint(ck, _tensors(), {})

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (ck / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    meta = json.loads((ck / "config.json").read_text())
    import hashlib

    meta["sha256"] = hashlib.sha256((ck / "model.safetensors").read_bytes()).hexdigest()
    (ck / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_checkpoint(ck)
    assert not (tmp_path / "pwned").exists()


def test_missing_pieces(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint directory"):
        load_checkpoint(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(CheckpointError, match="missing config.json"):
        load_checkpoint(tmp_path / "d")
    (tmp_path / "d" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "d")


def test_overwrite_replaces_only_a_checkpoint(tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("the user's")
    with pytest.raises(FileExistsError, match=r"holds files that are not part of a checkpoint \(sub, thesis\.tex\)"):
        save_checkpoint(mine, _tensors(), {}, overwrite=True)
    assert (mine / "thesis.tex").read_text() == "the user's" and (mine / "sub").is_dir()
    a_file = tmp_path / "f"
    a_file.write_text("x")
    with pytest.raises(FileExistsError, match="is a file, not a checkpoint directory"):
        save_checkpoint(a_file, _tensors(), {}, overwrite=True)
    (tmp_path / "empty").mkdir()
    save_checkpoint(tmp_path / "empty", _tensors(), {"v": 1}, overwrite=True)  # nothing to lose: replaced
    assert load_checkpoint(tmp_path / "empty")[1]["v"] == 1
