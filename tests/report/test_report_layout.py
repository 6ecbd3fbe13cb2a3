"""Page layout helpers: wrapping, column widths, table splitting; number formatting."""

import numpy as np
import pandas as pd
import pytest

from finscore.report.format import fmt, fmt_pct, fmt_pvalue, format_frame, key_value_frame, side_by_side
from finscore.report.layout import MARGIN, Flow, _fit_widths, text_width, wrap


@pytest.mark.parametrize("value, expected", [
    (0.123456, "0.1235"), (12.3456, "12.35"), (123456.4, "123456"), (1234.56, "1235"), (1.5e-5, "1.500e-05"),
    (3.2e9, "3.200e+09"),
    (0.0, "0"), (np.nan, "–"), (None, "–"), (True, "yes"), (np.int64(7), "7"), ("text", "text"),
    (pd.Timestamp("2020-01-02"), "2020-01-02"), (float("inf"), "inf"),
])
def test_fmt_shortens_to_four_significant_digits(value, expected):
    assert fmt(value) == expected


def test_pvalue_and_percent_formats():
    assert fmt_pvalue(0.04567) == "0.046" and fmt_pvalue(1e-7) == "<0.001" and fmt_pvalue(np.nan) == "–"
    assert fmt_pct(0.01234) == "1.23%" and fmt_pct(None) == "–"


def test_format_frame_and_key_values():
    frame = pd.DataFrame({"a": [1.23456789, np.nan]}, index=pd.MultiIndex.from_tuples([("x", "y"), ("x", "z")]))
    out = format_frame(frame, index_name="metric")
    assert out.to_dict("list") == {"metric": ["x / y", "x / z"], "a": ["1.235", "–"]}
    kv = key_value_frame({"state": {"windows": (5, 20)}, "lr": 0.002})
    assert kv.values.tolist() == [["state.windows", "5, 20"], ["lr", "0.002"]]
    folded = side_by_side(pd.DataFrame({"k": list("abc"), "v": ["1", "2", "3"]}))
    assert folded.shape == (2, 4) and folded.iloc[1, 2:].tolist() == ["", ""]


def test_wrap_keeps_every_line_within_width():
    text = "lorem ipsum dolor sit amet " * 30 + "averyveryverylongtokenwithoutanyspaces" * 3
    lines = wrap(text, 2.0, 9)
    assert len(lines) > 10
    assert all(text_width(line, 9) <= 2.0 + 1e-3 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_fit_widths_shrinks_widest_columns_only():
    widths = _fit_widths([1.0, 4.0, 3.0, 0.5], 6.0, None)
    assert sum(widths) == pytest.approx(6.0)
    assert widths[0] == 1.0 and widths[3] == 0.5 and widths[1] == pytest.approx(widths[2])
    assert _fit_widths([1.0, 2.0], 6.0, 1.5) == [1.0, 1.5]


def test_long_table_continues_on_new_pages_with_header():
    flow = Flow(page_size="a4")
    flow.section("Tables")
    frame = pd.DataFrame({"name": [f"row {i}" for i in range(150)], "value": [fmt(i / 7) for i in range(150)]})
    flow.table(frame, caption="Long table")
    pages = flow.pages()
    assert len(pages) >= 3
    texts = [[t.get_text() for t in page.texts] for page in pages]
    assert all("name" in page for page in texts)  # header repeated on every page
    assert any("Long table (continued)" in page for page in texts[1:])
    assert sum(t.startswith("row ") for page in texts for t in page) == 150
    for page in pages:  # nothing below the bottom margin except the footer
        ys = [t.get_position()[1] for t in page.texts if t.get_text().startswith("row ")]
        assert min(ys) * flow.size[1] >= MARGIN - 0.01


def test_wide_table_font_shrinks_to_fit_width():
    flow = Flow()
    frame = pd.DataFrame({f"column {j}": ["0.123456789"] * 3 for j in range(9)})
    flow.table(frame)
    sizes = {t.get_fontsize() for t in flow.pages()[0].texts if t.get_text() == "0.123456789"}
    assert sizes and max(sizes) < 8.0  # shrunk from the default 8 pt


def test_flow_rejects_unknown_page_size():
    with pytest.raises(ValueError, match="page_size"):
        Flow(page_size="a3")
