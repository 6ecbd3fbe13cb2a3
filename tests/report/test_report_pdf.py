"""write_pdf end to end on a small model: sections present, page bounds, overwrite rule, missing inputs."""

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from report_fakes import copula_model, returns_frame

from finscore.baselines import HistoricalSimulation
from finscore.errors import DataError
from finscore.report import StressResult, write_pdf
from finscore.report.sections_front import SECTION_TITLES
from finscore.risk import backtest
from finscore.validation import evaluate


def pdf_text(path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def inputs():
    returns = returns_frame(700, 3, seed=1)
    gens = {"finscore": copula_model(), "bootstrap": HistoricalSimulation(method="bootstrap")}
    ev = evaluate(gens, returns, train_end=returns.index[399], test_start=returns.index[400], horizon=10, stride=20,
                  n_scenarios=100, seed=0, progress=False, fact_scenarios=30)
    bts = {name: backtest(g, returns, "equal", returns.index[450], levels=(0.95, 0.99), n_scenarios=200,
                          end=returns.index[649], seed=0, progress=False) for name, g in gens.items()}
    rng = np.random.default_rng(0)
    stress = StressResult(guided_losses=0.03 + 0.01 * rng.exponential(size=150),
                          rejection_losses=0.03 + 0.01 * rng.exponential(size=120),
                          weights=pd.Series(1 / 3, index=returns.columns), alpha=0.95, threshold=0.03,
                          horizon_days=10, cost={"guided: seconds per scenario": 0.02}, metadata={"sampler": "ode"})
    return gens["finscore"], ev, bts, stress


@pytest.fixture(scope="module")
def full_report(inputs, tmp_path_factory):
    model, ev, bts, stress = inputs
    path = tmp_path_factory.mktemp("report") / "full.pdf"
    out = write_pdf(path, model=model, evaluation=ev, backtests=bts, stress=stress, data_name="synthetic t(5)",
                    seed=0)
    return out, *pdf_text(out)


def test_full_report_has_every_section_and_bounded_pages(full_report):
    path, n_pages, text = full_report
    assert path.exists() and path.suffix == ".pdf"
    for title in SECTION_TITLES:
        assert title in text, title
    # cover + 8 sections, each >= 1 page; 2 generators and 2 backtests need well under 30
    assert 9 <= n_pages <= 30
    for expected in ("Model validation report", "Findings", "0123456789abcdef", "synthetic t(5)", "Sign-off",
                     "Kupiec", "Diebold-Mariano", "Kolmogorov-Smirnov", "predictive quantile"):
        assert expected in text, expected
    assert "not available" not in text  # every optional input was supplied
    assert PdfReader(str(path)).metadata["/Title"] == "Model validation report: finscore"


def test_findings_table_flags_are_pass_warn_or_fail(full_report):
    _, _, text = full_report
    summary = text[text.index("1. Executive summary"): text.index("2. Model and data\n")]
    flags = [line.split()[-1] for line in summary.splitlines() if line.endswith(("PASS", "WARN", "FAIL"))]
    # 2 scores + 1 fact check vs the one baseline, 3 coverage rows per level x 2 levels
    assert len(flags) == 2 + 1 + 3 * 2


def test_refuses_to_overwrite_without_flag(full_report, inputs):
    path, _, _ = full_report
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_pdf(path, model=inputs[0])
    assert path.read_bytes() == before
    write_pdf(path, model=inputs[0], overwrite=True, page_size="letter", notes="stress run skipped: test")
    reader = PdfReader(str(path))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) < 15 and "Out-of-sample evaluation: not available" in text
    assert "stress run skipped: test" in text
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((612, 792))  # US Letter: 8.5 x 11 in at 72 pt


def test_missing_optional_inputs_say_not_available(tmp_path):
    class Bare:  # only get_params: nothing else is known about it
        def get_params(self):
            return {"alpha": 1}

    path = write_pdf(tmp_path / "bare.pdf", model=Bare(), model_name="bare")
    n_pages, text = pdf_text(path)
    assert 9 <= n_pages <= 12  # cover + one page per section
    for title in SECTION_TITLES:
        assert title in text
    for missing in ("Training curves: not available", "DSM loss per noise level: not available",
                    "Out-of-sample evaluation: not available", "VaR / ES backtest: not available",
                    "Stress scenarios: not available", "No quantitative checks were run"):
        assert missing in text, missing


def test_bad_arguments_are_rejected_before_writing(tmp_path, inputs):
    model, ev, bts, _ = inputs
    with pytest.raises(ValueError, match=".pdf"):
        write_pdf(tmp_path / "report.txt", model=model)
    with pytest.raises(TypeError, match="get_params"):
        write_pdf(tmp_path / "a.pdf", model=object())
    with pytest.raises(DataError, match="not a generator of the evaluation"):
        write_pdf(tmp_path / "a.pdf", model=model, evaluation=ev, model_name="other")
    with pytest.raises(DataError, match="has no backtest"):
        write_pdf(tmp_path / "a.pdf", model=model, backtests={"bootstrap": bts["bootstrap"]})
    with pytest.raises(ValueError, match="unknown fields"):
        write_pdf(tmp_path / "a.pdf", model=model, findings_thresholds={"p_value": 0.1})
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_var_estimator_sentence():
    from types import SimpleNamespace as NS

    from finscore.report.sections_results import _var_estimator

    def ctx(*metas):
        return NS(backtests={str(i): NS(metadata=m) for i, m in enumerate(metas)})

    assert "predictive quantile" in _var_estimator(ctx({"var_method": "predictive"}, {"var_method": "predictive"}))
    # a result from before the option (no var_method) used the empirical quantile
    text = _var_estimator(ctx({"n_scenarios": 500}, {"var_method": "empirical", "n_scenarios": 200}))
    assert "empirical quantile" in text and "200, 500" in text
    assert "differ" in _var_estimator(ctx({"var_method": "predictive"}, {"var_method": "empirical"}))
