"""fit -> sample -> stress through the command line, on a tiny model (a few seconds)."""

import numpy as np
import pytest

from finscore.cli import main
from finscore.scenarios import Scenarios


@pytest.fixture(scope="module")
def model_dir(tiny_generator, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model"
    tiny_generator.save(path)
    return path


def test_sample_and_stress_commands(model_dir, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    assert main(["sample", str(model_dir), "--n", "64", "--steps", "4", "--out", str(out)]) == 0
    assert Scenarios.from_parquet(out).values.shape == (64, 10, 5)
    assert main(["sample", str(model_dir), "--n", "64", "--out", str(out)]) == 2  # exists, no --force
    assert "pass --force" in capsys.readouterr().err
    st = tmp_path / "stress.parquet"
    assert main(["stress", str(model_dir), "--alpha", "0.95", "--n", "50", "--out", str(st)]) == 0
    scen = Scenarios.from_parquet(st)
    loss = -scen.portfolio_returns("equal")[:, -1]
    level = scen.metadata["stress"]["level"][0]
    assert (loss >= level - 1e-6).mean() >= 0.95  # the bar: at least 95% meet the constraint
    assert "meet the constraint" in capsys.readouterr().out


def test_stress_by_rejection_is_exact(model_dir, tmp_path, capsys):
    st = tmp_path / "rej.parquet"
    assert main(["stress", str(model_dir), "--method", "rejection", "--alpha", "0.9", "--n", "40",
                 "--steps", "6", "--out", str(st)]) == 0
    scen = Scenarios.from_parquet(st)
    info = scen.metadata["stress"]
    assert scen.values.shape[0] == 40 and info["method"] == "rejection" and info["draws"] == 410
    assert scen.metadata["steps"] == 6
    loss = -scen.portfolio_returns("equal")[:, -1]
    # every scenario, not 95% of them; the level is one of the draws' losses, recomputed here on a different
    # number of rows (BLAS may sum in another order): equal up to rounding
    assert np.all(loss >= info["level"][0] - 1e-12)
    assert "rejection" in capsys.readouterr().out


def test_existing_outputs_are_refused_before_any_work(model_dir, tmp_path, capsys, monkeypatch):
    from finscore.generator import ScoreGenerator

    def no_load(*a, **k):
        raise AssertionError("the model was loaded although the output exists")

    monkeypatch.setattr(ScoreGenerator, "load", no_load)
    out = tmp_path / "keep.parquet"
    out.write_bytes(b"the user's file")
    for cmd in (["sample", str(model_dir), "--n", "64"], ["stress", str(model_dir), "--n", "50"]):
        assert main([*cmd, "--out", str(out)]) == 2
        assert "pass --force" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's file"


def test_stress_bad_input(model_dir, tmp_path, capsys):
    out = str(tmp_path / "x.parquet")
    assert main(["stress", str(model_dir), "--weights", "1,2", "--out", out]) == 2
    assert "5 assets" in capsys.readouterr().err
    assert main(["stress", str(model_dir), "--alpha", "1.5", "--out", out]) == 2
    assert "alpha" in capsys.readouterr().err
    assert main(["stress", str(model_dir), "--weights", "0,0,0,0,0", "--out", out]) == 2


def test_demo_refuses_existing_outputs_before_training(tmp_path, capsys):
    out = tmp_path / "demo.pdf"
    out.write_bytes(b"%PDF-1.4 a report the user keeps")
    assert main(["demo", "--out", str(out), "--model-dir", str(tmp_path / "m")]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert out.read_bytes().startswith(b"%PDF-1.4 a report")  # untouched
    assert not (tmp_path / "m").exists()  # nothing trained or written


def test_fit_fine_tunes_from_a_saved_model(model_dir, tmp_path, capsys):
    import json

    out = tmp_path / "tuned"
    args = ["fit", "--data", "factors", "--start", "2015-01-01", "--end", "2016-12-31", "--preset", "tiny",
            "--horizon", "10", "--steps", "3", "--init-from", str(model_dir), "--out", str(out)]
    assert main(args) == 0
    assert f"fine-tuned from {model_dir}" in capsys.readouterr().out
    meta = json.loads((out / "config.json").read_text())
    assert meta["warm_start"]["fit_end"].startswith("2014-12-31") and meta["assets"] != meta["warm_start"]["assets"]
    # a source trained past the end of this data would look ahead: a clear error, no checkpoint
    early = ["fit", "--data", "factors", "--end", "2014-11-28", "--preset", "tiny", "--horizon", "10", "--steps", "3",
             "--init-from", str(model_dir), "--out", str(tmp_path / "bad")]
    assert main(early) != 0
    assert "look ahead" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_cli_sampler_names_match_the_sampler_registry():
    # the CLI spells the names out (so that parsing does not import torch); this keeps the two lists equal
    from finscore.cli._common import SAMPLER_NAMES
    from finscore.sampling import SAMPLERS

    assert sorted(SAMPLER_NAMES) == sorted(SAMPLERS)


def test_fit_takes_any_config_field_with_set(tmp_path, capsys):
    import json

    out = tmp_path / "m"
    base = ["fit", "--data", "factors", "--start", "2015-01-01", "--end", "2016-12-31", "--preset", "tiny",
            "--horizon", "10", "--steps", "3"]
    assert main([*base, "--set", "horizon_shrink=True", "--set", "guidance_scale=0.1", "--set", "sampler=ode",
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["horizon_shrink"], config["guidance_scale"], config["sampler"], config["steps"]) == (True, 0.1, "ode", 3)
    capsys.readouterr()
    bad = {"bogus=1": "not a ScoreConfig field; valid: [", "horizon_shrink": "takes FIELD=VALUE",
           "horizon=5": "set horizon with --horizon", "steps=4": "--steps or --set steps",
           "horizon_shrink=1": "horizon_shrink must be True or False",
           "sampler=heun": "sampler must be one of ['dpmpp_2m', 'euler', 'langevin', 'ode', 'pc'], got 'heun'"}
    for item, message in bad.items():
        assert main([*base, "--set", item, "--out", str(tmp_path / "bad")]) == 2
        assert message in capsys.readouterr().err
    assert main([*base, "--set", "lr=1e-3", "--set", "lr=2e-3", "--out", str(tmp_path / "bad")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_sample_settings_cover_the_sampling_fields():
    from finscore.cli.sample import OWN_FLAGS, SAMPLE_SETTINGS
    from finscore.presets import SAMPLING_FIELDS

    assert sorted([*SAMPLE_SETTINGS, *OWN_FLAGS]) == sorted(SAMPLING_FIELDS)


def test_sample_takes_sampling_settings_with_set(model_dir, tmp_path, capsys):
    from finscore.generator import ScoreGenerator
    from finscore.sharding import sample_sharded

    common = ["--n", "64", "--steps", "4", "--seed", "5"]
    sets = ["--set", "guidance_scale=0.0", "--set", "horizon_spread=2.0"]
    assert main(["sample", str(model_dir), *common, *sets, "--out", str(tmp_path / "a.parquet")]) == 0
    assert main(["sample", str(model_dir), *common, "--out", str(tmp_path / "b.parquet")]) == 0
    got, plain = (Scenarios.from_parquet(tmp_path / f).values for f in ("a.parquet", "b.parquet"))
    want = ScoreGenerator.load(model_dir).with_settings(guidance_scale=0.0, horizon_spread=2.0).sample(
        64, seed=5, steps=4).values
    np.testing.assert_array_equal(got, want)
    assert not np.allclose(got, plain)
    # sharded: every worker applies the settings
    assert main(["sample", str(model_dir), *common, *sets, "--shards", "2", "--workers", "1",
                 "--out", str(tmp_path / "sh")]) == 0
    sample_sharded(model_dir, 64, tmp_path / "py", shards=2, workers=1, seed=5, steps=4, progress=False,
                   settings={"guidance_scale": 0.0, "horizon_spread": 2.0})
    sample_sharded(model_dir, 64, tmp_path / "py0", shards=2, workers=1, seed=5, steps=4, progress=False)
    cli, py, py0 = (Scenarios.from_parquet(tmp_path / d / "part-00001.parquet").values for d in ("sh", "py", "py0"))
    np.testing.assert_array_equal(cli, py)
    assert not np.allclose(cli, py0)
    capsys.readouterr()
    bad = {"width=8": "not a sampling setting (a saved model keeps its training settings); valid: [",
           "sampler=euler": "set sampler with --sampler", "sample_steps=3": "set sample_steps with --steps",
           "guidance_scale=inf": "guidance_scale must be a finite number",
           "horizon_shrink=1": "horizon_shrink must be True or False"}
    for item, message in bad.items():
        for extra in ([], ["--shards", "2"]):
            assert main(["sample", str(model_dir), *common, "--set", item, *extra, "--out", str(tmp_path / "bad")]) == 2
            assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_outputs_the_final_write_would_refuse_fail_before_any_work(model_dir, tmp_path, capsys, monkeypatch):
    from finscore.generator import ScoreGenerator

    def no_work(*a, **k):
        raise AssertionError("training started although the output is refused")

    monkeypatch.setattr(ScoreGenerator, "fit", no_work)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's")
    fit = ["fit", "--data", "sp500", "--preset", "tiny", "--out", str(mine)]
    assert main(fit) == 2 and "pass overwrite=True (CLI: --force)" in capsys.readouterr().err
    assert main([*fit, "--force"]) == 2  # --force replaces a checkpoint, never a folder of other files
    assert "not part of a checkpoint (notes.txt)" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "the user's"
    assert main(["demo", "--out", str(tmp_path / "demo.txt"), "--model-dir", str(tmp_path / "m")]) == 2
    assert "must end in .pdf" in capsys.readouterr().err and not (tmp_path / "m").exists()
    # a directory as the Parquet file: refused before sampling, even with --force
    monkeypatch.setattr(ScoreGenerator, "load", no_work)
    assert main(["sample", str(model_dir), "--n", "8", "--out", str(mine), "--force"]) == 2
    assert "is a directory; give a file path" in capsys.readouterr().err


def test_sample_sharding_flags_need_shards(model_dir, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    assert main(["sample", str(model_dir), "--n", "8", "--workers", "4", "--out", str(out)]) == 2
    assert "--workers applies only with --shards" in capsys.readouterr().err
    assert main(["sample", str(model_dir), "--n", "8", "--engine", "local", "--chunk", "4", "--out", str(out)]) == 2
    assert "--engine, --chunk apply only with --shards" in capsys.readouterr().err
    assert not out.exists()


def test_a_date_flag_that_is_not_a_date(capsys):
    for argv in (["data", "info", "sp500", "--end", "garbage"], ["demo", "--train-end", "2021-02-30"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert "not a date" in capsys.readouterr().err
