"""Sharded generation: the dataset depends on (n, shards, seed) only, never on the number of workers."""

import numpy as np
import pandas as pd
import pytest

from finscore.errors import CheckpointError
from finscore.scenarios import Scenarios
from finscore.sharding import plan_shards, sample_sharded


def test_plan_shards_splits_and_seeds():
    plan = plan_shards(10, 3, seed=7)
    assert [s.n for s in plan] == [4, 3, 3] and [s.offset for s in plan] == [0, 4, 7]
    again = plan_shards(10, 3, seed=7)
    assert [s.seed.generate_state(2).tolist() for s in plan] == [s.seed.generate_state(2).tolist() for s in again]
    with pytest.raises(ValueError, match="cannot exceed"):
        plan_shards(2, 3)
    with pytest.raises(ValueError, match="shards must be a positive integer"):
        plan_shards(2, 0)


def test_output_is_identical_for_any_number_of_workers(tiny_generator, tmp_path):
    model = tmp_path / "model"
    tiny_generator.save(model)
    kw = dict(shards=3, seed=11, chunk=70, progress=False, sampler="euler", steps=4, device="cpu")
    one = sample_sharded(model, 300, tmp_path / "w1", workers=1, **kw)
    two = sample_sharded(model, 300, tmp_path / "w2", workers=2, **kw)
    assert [p.name for p in one] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    a, b = pd.read_parquet(tmp_path / "w1"), pd.read_parquet(tmp_path / "w2")
    assert a.shape == (300 * 10, 5) and a.equals(b)
    assert sorted(a.index.get_level_values("scenario").unique()) == list(range(300))  # global ids, no overlap
    part = Scenarios.from_parquet(one[1])  # each part is a readable Scenarios file (written in 2 chunks)
    assert part.values.shape == (100, 10, 5) and np.isfinite(part.values).all()
    with pytest.raises(FileExistsError, match="part files"):
        sample_sharded(model, 300, tmp_path / "w1", workers=1, **kw)


def test_bad_arguments(tiny_generator, tmp_path):
    with pytest.raises(ValueError, match="engine"):
        sample_sharded(tmp_path, 10, tmp_path / "o", engine="spark")
    with pytest.raises(FileNotFoundError, match="not a saved model"):
        sample_sharded(tmp_path, 10, tmp_path / "o")


def test_a_failed_run_leaves_the_earlier_dataset(tiny_generator, tmp_path, monkeypatch):
    from finscore import sharding

    model = tmp_path / "model"
    tiny_generator.save(model)
    kw = {"seed": 1, "workers": 1, "progress": False, "sampler": "euler", "steps": 4, "device": "cpu"}
    out = tmp_path / "out"
    sample_sharded(model, 30, out, shards=3, **kw)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = sharding.run_shard

    def fails_on_the_second(*args):
        if args[1].index == 1:
            raise RuntimeError("worker died")
        return real(*args)

    monkeypatch.setattr(sharding, "run_shard", fails_on_the_second)
    with pytest.raises(RuntimeError, match="worker died"):
        sample_sharded(model, 40, out, shards=2, overwrite=True, **{**kw, "seed": 2})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "out"]  # no staging folder left
    monkeypatch.setattr(sharding, "run_shard", real)
    # a damaged checkpoint fails in the caller, before any worker starts
    (model / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="sha256"):
        sample_sharded(model, 40, out, shards=2, overwrite=True, **kw)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_smaller_dataset_replaces_a_larger_one_whole(tiny_generator, tmp_path):
    model = tmp_path / "model"
    tiny_generator.save(model)
    kw = {"workers": 1, "progress": False, "sampler": "euler", "steps": 4, "device": "cpu"}
    sample_sharded(model, 30, tmp_path / "out", shards=3, seed=1, **kw)
    sample_sharded(model, 20, tmp_path / "out", shards=2, seed=2, overwrite=True, **kw)
    sample_sharded(model, 20, tmp_path / "fresh", shards=2, seed=2, **kw)
    assert pd.read_parquet(tmp_path / "out").equals(pd.read_parquet(tmp_path / "fresh"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["part-00000.parquet", "part-00001.parquet"]


def test_a_missing_engine_fails_before_anything_is_written(tiny_generator, tmp_path):
    import importlib.util

    engine = next((e for e in ("dask", "ray") if importlib.util.find_spec(e) is None), None)
    if engine is None:
        pytest.skip("dask and ray are both installed")
    model = tmp_path / "model"
    tiny_generator.save(model)
    with pytest.raises(ImportError, match=rf"engine='{engine}' needs {engine}: pip install 'finscore\[scale\]'"):
        sample_sharded(model, 10, tmp_path / "o", engine=engine)
    assert not (tmp_path / "o").exists()
