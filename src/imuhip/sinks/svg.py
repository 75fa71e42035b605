"""Tiny dependency-free SVG line and bar charts for the self-contained HTML report.

Charts scale with the page (``viewBox``), clip everything to the plot area, break the line where
the data are NaN (sensor gaps), and keep at most two points per horizontal pixel so an hour of
100 Hz data stays a few tens of kilobytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np


def nice_step(span: float, target: int = 6) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``target`` intervals."""
    raw = span / max(1, target)
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values from ``lo`` to ``hi`` (inclusive), about ``target`` intervals apart."""
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + 1e-9 * step:
        out.append(round(k * step, 10) + 0.0)  # + 0.0 turns -0.0 into 0.0
        k += 1
    return out


def decimate_minmax(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's min and max (in time order) so peaks survive drawing long traces.

    NaNs in ``y`` mark gaps: a bucket with no finite value becomes one NaN point, which
    :func:`line_chart` draws as a break in the line. Short traces are returned unchanged.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) <= 2 * buckets:
        return x, y
    edges = np.linspace(0, len(x), buckets + 1).astype(int)
    xs: list[float] = []
    ys: list[float] = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        seg = y[a:b]
        ok = np.isfinite(seg)
        if not ok.any():
            xs.append(float(x[a]))
            ys.append(math.nan)
            continue
        filled_lo = np.where(ok, seg, np.inf)
        filled_hi = np.where(ok, seg, -np.inf)
        i, j = a + int(np.argmin(filled_lo)), a + int(np.argmax(filled_hi))
        for k in sorted({i, j}):
            xs.append(float(x[k]))
            ys.append(float(y[k]))
    return np.asarray(xs), np.asarray(ys)


@dataclass(frozen=True)
class Span:
    """A shaded band from ``x0`` to ``x1``; ``label`` (optional) is written above the plot."""

    x0: float
    x1: float
    cls: str
    title: str
    label: str = ""


@dataclass(frozen=True)
class Marker:
    """A dot at (``x``, ``y``) with a hover title."""

    x: float
    y: float
    cls: str
    title: str


#: Width of a span label's character and the least gap between two labels, user units (the
#: report draws span labels at 10 px: digits are about 0.6 em wide).
SPAN_LABEL_CHAR_W = 6.5
SPAN_LABEL_GAP = 3.0

#: Height of the timeline strip along the bottom of a line chart's plot, user units.
BAND_H = 8


def _fmt_tick(v: float) -> str:
    return f"{v:g}".replace("-", "\u2212")


def line_chart(
    x: np.ndarray,
    y: np.ndarray,
    *,
    chart_id: str = "c",
    width: int = 960,
    height: int = 260,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    x_label: str = "time (s)",
    y_label: str = "",
    spans: Sequence[Span] = (),
    markers: Sequence[Marker] = (),
    description: str = "",
    x_ticks: Sequence[tuple[float, str]] | None = None,
    css_class: str = "chart",
    bands: Sequence[Span] = (),
) -> str:
    """An SVG line chart of ``y`` against ``x``.

    ``x_range``/``y_range`` fix the axes (so several charts share a scale); otherwise they come
    from the data (the y range always includes 0). Spans and markers outside the x range are
    left out; those crossing its edges are clipped. ``x_ticks`` (value, label) replaces the
    numeric x ticks (e.g. dates). Span labels that would overlap the previous one are left out
    (the span keeps its hover title). ``css_class`` is the ``<svg>``'s class. Styling is by CSS
    class (see the report's style sheet): ``line``, ``grid``, ``zero``, ``axis``, ``tick``,
    ``label``, and the span and marker classes given. ``bands`` are drawn as a strip
    :data:`BAND_H` high along the bottom of the plot (a timeline: one band per labelled stretch
    of time, its class saying the kind), over the spans and under the line; their labels are
    not drawn.
    """
    plot, xs, ys = _line_plot(x, y, width, height, x_range, y_range)
    clip = f"clip-{escape(chart_id)}"
    label = escape(description or y_label)
    pad_l, pad_t, w, h = plot.pad_l, plot.pad_t, plot.w, plot.h
    out = [
        f'<svg viewBox="0 0 {width} {height}" class="{escape(css_class)}" role="img" '
        f'aria-label="{label}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<defs><clipPath id="{clip}"><rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}"/>'
        "</clipPath></defs>",
        f'<rect class="plot" x="{pad_l}" y="{pad_t}" width="{w}" height="{h}"/>',
        f'<g clip-path="url(#{clip})">',
    ]
    span_rects, labels = _span_svg(plot, spans)
    out += span_rects
    out += _grid_svg(plot)
    out += _band_svg(plot, bands)
    out += _trace_svg(plot, xs, ys)
    out += _marker_svg(plot, markers)
    out.append("</g>")
    out += labels
    out += _axes_svg(plot, ys, x_ticks, x_label, y_label, height)
    return "".join(out)


@dataclass(frozen=True)
class _Plot:
    """A line chart's plot area (user units) and the data ranges it shows."""

    pad_l: int
    pad_t: int
    w: int
    h: int
    x0: float
    x1: float
    y0: float
    y1: float

    def sx(self, v: float) -> float:
        return self.pad_l + (v - self.x0) / (self.x1 - self.x0) * self.w

    def sy(self, v: float) -> float:
        return self.pad_t + (self.y1 - v) / (self.y1 - self.y0) * self.h


def _line_plot(
    x: np.ndarray,
    y: np.ndarray,
    width: int,
    height: int,
    x_range: tuple[float, float] | None,
    y_range: tuple[float, float] | None,
) -> tuple[_Plot, np.ndarray, np.ndarray]:
    """The plot area with its ranges (given, else from the data), and the decimated trace."""
    pad_l, pad_r, pad_t, pad_b = 52, 14, 22, 40
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x_range is None:
        x_range = (float(x[0]), float(x[-1])) if len(x) else (0.0, 1.0)
    x0, x1 = x_range
    if x1 <= x0:
        x1 = x0 + 1.0
    inside = (x >= x0) & (x <= x1)
    xs, ys = decimate_minmax(x[inside], y[inside], w)
    if y_range is None:
        fin = ys[np.isfinite(ys)]
        lo = float(min(fin.min(), 0.0)) if len(fin) else 0.0
        hi = float(max(fin.max(), 1.0)) if len(fin) else 1.0
        pad = 0.06 * (hi - lo)
        y_range = (lo - pad, hi + pad)
    y0, y1 = y_range
    if y1 <= y0:
        y1 = y0 + 1.0
    return _Plot(pad_l, pad_t, w, h, x0, x1, y0, y1), xs, ys


def _span_svg(plot: _Plot, spans: Sequence[Span]) -> tuple[list[str], list[str]]:
    """The spans' bands (clipped to the x range) and their labels (overlaps left out)."""
    out: list[str] = []
    labels: list[str] = []
    label_end = -math.inf  # right edge of the last span label drawn, user units
    for s in spans:
        if s.x1 < plot.x0 or s.x0 > plot.x1:
            continue
        a, b = plot.sx(max(s.x0, plot.x0)), plot.sx(min(s.x1, plot.x1))
        out.append(
            f'<rect class="{escape(s.cls)}" x="{a:.1f}" y="{plot.pad_t}" '
            f'width="{max(1.0, b - a):.1f}" '
            f'height="{plot.h}"><title>{escape(s.title)}</title></rect>'
        )
        half = SPAN_LABEL_CHAR_W * len(s.label) / 2
        if s.label and (a + b) / 2 - half >= label_end + SPAN_LABEL_GAP:
            label_end = (a + b) / 2 + half
            labels.append(
                f'<text class="spanlabel" x="{(a + b) / 2:.1f}" y="{plot.pad_t - 6}" '
                f'text-anchor="middle">{escape(s.label)}</text>'
            )
    return out, labels


def _y_ticks(plot: _Plot) -> list[float]:
    return ticks(plot.y0, plot.y1, max(2, plot.h // 36))


def _grid_svg(plot: _Plot) -> list[str]:
    """Horizontal grid lines at the y ticks (the zero line its own class)."""
    out = []
    for v in _y_ticks(plot):
        cls = "zero" if v == 0 else "grid"
        y = plot.sy(v)
        out.append(
            f'<line class="{cls}" x1="{plot.pad_l}" x2="{plot.pad_l + plot.w}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
    return out


def _band_svg(plot: _Plot, bands: Sequence[Span]) -> list[str]:
    """The timeline strip: each band :data:`BAND_H` high along the plot's bottom, clipped."""
    out = []
    for s in bands:
        if s.x1 < plot.x0 or s.x0 > plot.x1:
            continue
        a, b = plot.sx(max(s.x0, plot.x0)), plot.sx(min(s.x1, plot.x1))
        out.append(
            f'<rect class="{escape(s.cls)}" x="{a:.1f}" y="{plot.pad_t + plot.h - BAND_H}" '
            f'width="{max(1.0, b - a):.1f}" height="{BAND_H}">'
            f"<title>{escape(s.title)}</title></rect>"
        )
    return out


def _trace_svg(plot: _Plot, xs: np.ndarray, ys: np.ndarray) -> list[str]:
    """The trace as one path, broken at NaNs."""
    path = []
    pen_up = True
    for a, b in zip(xs.tolist(), ys.tolist(), strict=True):
        if not math.isfinite(b):
            pen_up = True
            continue
        path.append(f"{'M' if pen_up else 'L'}{plot.sx(a):.1f} {plot.sy(b):.1f}")
        pen_up = False
    return [f'<path class="line" d="{"".join(path)}"/>'] if path else []


def _marker_svg(plot: _Plot, markers: Sequence[Marker]) -> list[str]:
    """The markers inside the x range with a finite y."""
    out = []
    for m in markers:
        if not (plot.x0 <= m.x <= plot.x1) or not math.isfinite(m.y):
            continue
        out.append(
            f'<circle class="{escape(m.cls)}" cx="{plot.sx(m.x):.1f}" cy="{plot.sy(m.y):.1f}" '
            f'r="3.2"><title>{escape(m.title)}</title></circle>'
        )
    return out


def _axes_svg(
    plot: _Plot,
    ys: np.ndarray,
    x_ticks: Sequence[tuple[float, str]] | None,
    x_label: str,
    y_label: str,
    height: int,
) -> list[str]:
    """The axes, their ticks and labels (and a note when there is no data), closing the svg."""
    pad_l, pad_t, w, h = plot.pad_l, plot.pad_t, plot.w, plot.h
    out = [f'<path class="axis" d="M{pad_l} {pad_t}V{pad_t + h}H{pad_l + w}"/>']
    if not np.isfinite(ys).any():
        out.append(
            f'<text class="label" x="{pad_l + w / 2:.1f}" y="{pad_t + h / 2:.1f}" '
            'text-anchor="middle">no angle data</text>'
        )
    for v in _y_ticks(plot):
        out.append(
            f'<text class="tick" x="{pad_l - 6}" y="{plot.sy(v) + 4:.1f}" text-anchor="end">'
            f"{_fmt_tick(v)}</text>"
        )
    if x_ticks is None:
        x_ticks = [(v, _fmt_tick(v)) for v in ticks(plot.x0, plot.x1, max(4, w // 80))]
    for v, text in x_ticks:
        if not plot.x0 <= v <= plot.x1:
            continue
        out.append(
            f'<line class="axis" x1="{plot.sx(v):.1f}" x2="{plot.sx(v):.1f}" y1="{pad_t + h}" '
            f'y2="{pad_t + h + 4}"/><text class="tick" x="{plot.sx(v):.1f}" y="{pad_t + h + 16}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    out.append(
        f'<text class="label" x="{pad_l + w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text class="label" x="14" y="{pad_t + h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {pad_t + h / 2:.1f})">{escape(y_label)}</text></svg>'
    )
    return out


@dataclass(frozen=True)
class Bar:
    """One bar of :func:`bar_chart`: ``value`` drawn up from 0, ``label`` under it (may be
    left out where labels would crowd), ``title`` on hover."""

    value: float
    label: str
    title: str
    cls: str = ""  # CSS class of this bar (default: the chart's ``bar_class``)


#: Widest bar, user units (a few reps would otherwise give slabs).
BAR_MAX_W = 36.0


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str = "b",
    width: int = 960,
    height: int = 220,
    y_label: str = "",
    x_label: str = "",
    description: str = "",
    css_class: str = "chart",
    bar_class: str = "bar",
) -> str:
    """An SVG bar chart, one bar per item in order; the y range includes 0. Styling by CSS
    class as :func:`line_chart` (``bar_class`` for the bars)."""
    pad_l, pad_r, pad_t, pad_b = 52, 14, 14, 40
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    vals = [b.value for b in bars if math.isfinite(b.value)]
    lo = min([0.0, *vals])
    hi = max([1.0, *vals])
    pad = 0.06 * (hi - lo)
    y0, y1 = lo - (pad if lo < 0 else 0.0), hi + pad

    def sy(v: float) -> float:
        return pad_t + (y1 - v) / (y1 - y0) * h

    n = max(1, len(bars))
    slot = w / n
    bw = min(max(1.0, 0.7 * slot), BAR_MAX_W)
    every = max(1, math.ceil(SPAN_LABEL_CHAR_W * 3 / slot))  # labels at least 3 digits apart
    out = [
        f'<svg viewBox="0 0 {width} {height}" class="{escape(css_class)}" role="img" '
        f'aria-label="{escape(description or y_label)}" preserveAspectRatio="xMidYMid meet">',
        f'<rect class="plot" x="{pad_l}" y="{pad_t}" width="{w}" height="{h}"/>',
    ]
    grid = ticks(y0, y1, max(2, h // 36))
    for v in grid:
        cls = "zero" if v == 0 else "grid"
        out.append(
            f'<line class="{cls}" x1="{pad_l}" x2="{pad_l + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}"/>'
        )
    for i, b in enumerate(bars):
        cx = pad_l + (i + 0.5) * slot
        if math.isfinite(b.value):
            top, base = sy(max(b.value, 0.0)), sy(min(b.value, 0.0))
            out.append(
                f'<rect class="{escape(b.cls or bar_class)}" x="{cx - bw / 2:.1f}" y="{top:.1f}" '
                f'width="{bw:.1f}" height="{max(0.5, base - top):.1f}">'
                f"<title>{escape(b.title)}</title></rect>"
            )
        if b.label and i % every == 0:
            out.append(
                f'<text class="tick" x="{cx:.1f}" y="{pad_t + h + 16}" text-anchor="middle">'
                f"{escape(b.label)}</text>"
            )
    out.append(f'<path class="axis" d="M{pad_l} {pad_t}V{pad_t + h}H{pad_l + w}"/>')
    for v in grid:
        out.append(
            f'<text class="tick" x="{pad_l - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">'
            f"{_fmt_tick(v)}</text>"
        )
    out.append(
        f'<text class="label" x="{pad_l + w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text class="label" x="14" y="{pad_t + h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {pad_t + h / 2:.1f})">{escape(y_label)}</text></svg>'
    )
    return "".join(out)
