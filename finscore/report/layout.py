"""Page layout for the PDF report: text, tables and figures flowed top to bottom onto portrait pages.

:class:`Flow` keeps a cursor on the current page and starts a new page when the next block does
not fit. Text is wrapped with real font metrics; tables repeat their header and continue on the
next page; figures built elsewhere (any matplotlib Figure) are rasterized and placed at their
natural size, scaled down only when wider or taller than the page body.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

PAGE_SIZES = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}  # portrait, inches
MARGIN = 0.75  # inches on every side
FOOTER = 0.45  # inches from the bottom edge to the footer baseline
BODY_PT = 9.5
LEADING = 1.35  # line height / font size
FIGURE_DPI = 200
ZEBRA = "#f2f4f7"
_MEASURE_DPI = 1440
_SLACK = 1e-3  # inches: rounding tolerance when a text exactly fills its column
RESULT_COLORS = {"PASS": "#d7f0d9", "WARN": "#fff1c2", "FAIL": "#f8d3d3"}


@lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(10, 10, _MEASURE_DPI)  # high dpi: font hinting does not distort the widths


@lru_cache(maxsize=65536)
def text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width of one line of ``text`` in inches at font ``size`` (points)."""
    w, _, _ = _renderer().get_text_width_height_descent(text, FontProperties(size=size, weight=weight), ismath=False)
    return w / _MEASURE_DPI


def wrap(text: str, width: float, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap of ``text`` (newlines kept) into lines at most ``width`` inches wide.

    A line's width is the sum of its (cached) word widths and spaces; words longer than a line are
    broken at ``width``.
    """
    space = text_width("x x", size, weight) - 2 * text_width("x", size, weight)
    lines: list[str] = []
    for para in str(text).split("\n"):
        line, used = "", 0.0
        for word in para.split(" "):
            for piece in _break_word(word, width, size, weight):
                w = text_width(piece, size, weight)
                if line and used + space + w > width + _SLACK:
                    lines.append(line)
                    line, used = piece, w
                else:
                    line, used = (f"{line} {piece}", used + space + w) if line else (piece, w)
        lines.append(line)
    return lines


def _break_word(word: str, width: float, size: float, weight: str) -> list[str]:
    """``word`` split into chunks no wider than ``width`` (a hash or a path in a narrow column)."""
    if text_width(word, size, weight) <= width + _SLACK or len(word) < 2:
        return [word]
    per_char = text_width(word, size, weight) / len(word)
    n = max(1, int(width / per_char) - 1)
    return [word[i: i + n] for i in range(0, len(word), n)]


def _line_h(size: float) -> float:
    return size * LEADING / 72.0


class Flow:
    """Sequential layout onto portrait pages; call :meth:`pages` at the end to get the Figures.

    Parameters
    ----------
    page_size : "a4" or "letter".
    footer : text printed at the bottom left of every page (the page number goes right).
    """

    def __init__(self, *, page_size: str = "a4", footer: str = "") -> None:
        if page_size not in PAGE_SIZES:
            raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}, got {page_size!r}")
        self.size = PAGE_SIZES[page_size]
        self.width = self.size[0] - 2 * MARGIN
        self.footer = footer
        self.sections: list[tuple[str, int]] = []
        self._pages: list[Figure] = []
        self.fig: Figure | None = None
        self.y = 0.0

    # ---------------------------------------------------------------- pages
    @property
    def bottom(self) -> float:
        """Lowest usable y (inches from the top)."""
        return self.size[1] - MARGIN

    def remaining(self) -> float:
        return self.bottom - self.y if self.fig is not None else 0.0

    def new_page(self) -> None:
        fig = Figure(figsize=self.size)
        self._pages.append(fig)
        self.fig, self.y = fig, MARGIN
        n = len(self._pages)
        fig.text(MARGIN / self.size[0], FOOTER / self.size[1], self.footer, fontsize=7, color="0.4")
        fig.text(1 - MARGIN / self.size[0], FOOTER / self.size[1], f"page {n}", fontsize=7, color="0.4",
                 ha="right")

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` inches fit below the cursor."""
        if self.fig is None or height > self.remaining():
            self.new_page()

    def _text(self, x: float, y: float, s: str, *, fontsize: float, **kw) -> None:
        """One line of text whose line box starts ``y`` inches below the top edge, ``x`` from the left.

        Placed by its baseline (one em below the box top), so cells of a row line up whatever their glyphs.
        """
        self.fig.text(x / self.size[0], 1 - (y + fontsize / 72.0) / self.size[1], s, fontsize=fontsize,
                      va="baseline", **kw)

    def _rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        from matplotlib.patches import Rectangle

        W, H = self.size
        self.fig.add_artist(Rectangle((x / W, 1 - (y + h) / H), w / W, h / H, transform=self.fig.transFigure,
                                      facecolor=color, edgecolor="none", zorder=0))

    def _hline(self, y: float, x0: float, x1: float, lw: float = 0.6, color: str = "0.3") -> None:
        from matplotlib.lines import Line2D

        W, H = self.size
        self.fig.add_artist(Line2D([x0 / W, x1 / W], [1 - y / H] * 2, transform=self.fig.transFigure,
                                   lw=lw, color=color))

    # ----------------------------------------------------------------- text
    def section(self, title: str) -> None:
        """A numbered top-level section on a fresh page (recorded for the contents)."""
        self.new_page()
        number = len(self.sections) + 1
        self.sections.append((f"{number}. {title}", len(self._pages)))
        self._text(MARGIN, self.y, f"{number}. {title}", fontsize=16, weight="bold", color="#1f3b5c")
        self.y += 0.35
        self._hline(self.y, MARGIN, MARGIN + self.width, lw=1.2, color="#1f3b5c")
        self.y += 0.2

    def heading(self, text: str, *, size: float = 12.0) -> None:
        """A sub-heading, kept on the same page as at least an inch of what follows."""
        self.ensure(_line_h(size) + 1.2)
        self.y += 0.08
        self._text(MARGIN, self.y, text, fontsize=size, weight="bold", color="#1f3b5c")
        self.y += _line_h(size) + 0.06

    def paragraph(self, text: str, *, size: float = BODY_PT, indent: float = 0.0, color: str = "black",
                  weight: str = "normal", gap: float = 0.1) -> None:
        """Wrapped text; long paragraphs continue on the next page."""
        lh = _line_h(size)
        for line in wrap(text, self.width - indent, size, weight):
            self.ensure(lh)
            self._text(MARGIN + indent, self.y, line, fontsize=size, color=color, weight=weight)
            self.y += lh
        self.y += gap

    def bullets(self, items, *, size: float = BODY_PT) -> None:
        for item in items:
            self.ensure(_line_h(size))
            self._text(MARGIN + 0.05, self.y, "•", fontsize=size)
            self.paragraph(item, size=size, indent=0.22, gap=0.03)
        self.y += 0.06

    def space(self, height: float) -> None:
        self.y += height

    def placeholder(self, height: float) -> tuple[Figure, float]:
        """Reserve ``height`` inches on the current page; returns (page, y) for later drawing."""
        self.ensure(height)
        spot = (self.fig, self.y)
        self.y += height
        return spot

    # ---------------------------------------------------------------- table
    def table(self, frame: pd.DataFrame, *, caption: str | None = None, size: float = 8.0,
              min_size: float = 6.5, highlight: str | None = None, max_col_width: float | None = None) -> None:
        """Draw a DataFrame of strings (see :func:`~finscore.report.format.format_frame`) as a ruled table.

        The font shrinks down to ``min_size`` to fit the page width, then the widest columns wrap.
        Rows continue on the next page under a repeated header. ``highlight`` names a column whose
        PASS / WARN / FAIL values colour their row.
        """
        cols = [str(c) for c in frame.columns]
        cells = [[str(v) for v in row] for row in frame.itertuples(index=False)]
        pad = 0.12
        while True:
            natural = [max([text_width(c, size, "bold")] + [text_width(r[j], size) for r in cells]) + pad
                       for j, c in enumerate(cols)]
            if sum(natural) <= self.width or size <= min_size:
                break
            size = max(min_size, size - 0.5)
        widths = _fit_widths(natural, self.width, max_col_width)
        lh = _line_h(size)
        header = [wrap(c, widths[j] - pad, size, "bold") for j, c in enumerate(cols)]
        body = [[wrap(v, widths[j] - pad, size) for j, v in enumerate(r)] for r in cells]
        head_h = lh * max(len(h) for h in header) + 0.06
        if caption:
            self.ensure(_line_h(BODY_PT) + head_h + 2 * lh)
            self.paragraph(caption, weight="bold", size=BODY_PT - 0.5, gap=0.04)
        first = True
        for i, row in enumerate(body):
            row_h = lh * max(len(c) for c in row) + 0.04
            if first or row_h > self.remaining():
                if not first:
                    self.new_page()
                    self.paragraph(f"{caption or 'Table'} (continued)", size=BODY_PT - 1, color="0.35", gap=0.04)
                self.ensure(head_h + row_h)
                self._table_row(header, widths, size, head_h, bold=True)
                first = False
            if highlight is not None and cells[i][cols.index(highlight)] in RESULT_COLORS:
                self._rect(MARGIN, self.y, sum(widths), row_h, RESULT_COLORS[cells[i][cols.index(highlight)]])
            elif i % 2:
                self._rect(MARGIN, self.y, sum(widths), row_h, ZEBRA)
            self._table_row(row, widths, size, row_h)
        self._hline(self.y, MARGIN, MARGIN + sum(widths), lw=0.8)
        self.y += 0.18

    def _table_row(self, row: list[list[str]], widths: list[float], size: float, height: float,
                   bold: bool = False) -> None:
        x = MARGIN
        if bold:
            self._hline(self.y, MARGIN, MARGIN + sum(widths), lw=0.8)
        for lines, w in zip(row, widths):
            for k, line in enumerate(lines):
                self._text(x + 0.05, self.y + 0.02 + k * _line_h(size), line, fontsize=size,
                           weight="bold" if bold else "normal")
            x += w
        self.y += height
        if bold:
            self._hline(self.y, MARGIN, MARGIN + sum(widths), lw=0.5)

    # --------------------------------------------------------------- figure
    def figure(self, fig: Figure, *, caption: str | None = None, max_height: float | None = None,
               scale: float = 1.0) -> None:
        """Place a rasterized copy of ``fig`` at ``scale`` times its size (less if it does not fit), with a caption.

        A common ``scale`` keeps a series of figures of different widths at the same magnification.
        """
        w, h = fig.get_size_inches()
        limit_h = min(max_height or np.inf, self.bottom - MARGIN - 0.6)
        scale = min(scale, self.width / w, limit_h / h)
        w, h = w * scale, h * scale
        cap_lines = wrap(caption, self.width, BODY_PT - 1) if caption else []
        self.ensure(h + 0.1 + len(cap_lines) * _line_h(BODY_PT - 1))
        image = rasterize(fig)
        W, H = self.size
        x0 = MARGIN + (self.width - w) / 2
        ax = self.fig.add_axes((x0 / W, 1 - (self.y + h) / H, w / W, h / H))
        ax.imshow(image, interpolation="none")  # embedded at full resolution
        ax.set_axis_off()
        self.y += h + 0.08
        if caption:
            self.paragraph(caption, size=BODY_PT - 1, color="0.25", gap=0.16)

    # ------------------------------------------------------------------ end
    def contents(self, spot: tuple[Figure, float], *, size: float = BODY_PT) -> None:
        """Write the list of sections with their page numbers at a :meth:`placeholder` spot."""
        fig, y = spot
        saved = self.fig
        self.fig = fig
        for title, page in self.sections:
            self._text(MARGIN + 0.1, y, title, fontsize=size)
            self._text(MARGIN + self.width - 0.1, y, str(page), fontsize=size, ha="right")
            self._hline(y + _line_h(size) - 0.04, MARGIN + 0.1 + text_width(title, size) + 0.08,
                        MARGIN + self.width - 0.2, lw=0.4, color="0.7")
            y += _line_h(size) + 0.02
        self.fig = saved

    @staticmethod
    def contents_height(n_sections: int, size: float = BODY_PT) -> float:
        return n_sections * (_line_h(size) + 0.02)

    def pages(self) -> list[Figure]:
        return list(self._pages)


def rasterize(fig: Figure, dpi: int = FIGURE_DPI) -> np.ndarray:
    """RGB image (rows, cols, 3) uint8 of a Figure drawn with Agg."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    fig.draw_without_rendering()  # constrained layout settles colorbars of aspect-locked axes on a second pass
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _fit_widths(natural: list[float], total: float, max_col: float | None) -> list[float]:
    """Column widths summing to at most ``total``: the widest columns give up space first."""
    widths = [min(w, max_col) if max_col else w for w in natural]
    if sum(widths) <= total:
        return widths
    order = sorted(range(len(widths)), key=lambda j: -widths[j])
    for k in range(1, len(widths) + 1):  # cap the k widest at a common width c
        top, rest = order[:k], sum(widths[j] for j in order[k:])
        c = (total - rest) / k
        if k == len(widths) or c >= widths[order[k]]:
            return [c if j in top else widths[j] for j in range(len(widths))]
    return widths
