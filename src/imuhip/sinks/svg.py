"""Tiny dependency-free SVG line charts for the self-contained HTML report."""

from __future__ import annotations

import math
from html import escape
from itertools import pairwise

import numpy as np


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def decimate_minmax(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's min and max so peaks survive drawing long traces (NaNs dropped)."""
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) <= 2 * buckets:
        return x, y
    edges = np.linspace(0, len(x), buckets + 1).astype(int)
    xs, ys = [], []
    for a, b in pairwise(edges.tolist()):
        seg = y[a:b]
        i, j = a + int(np.argmin(seg)), a + int(np.argmax(seg))
        for k in sorted((i, j)):
            xs.append(x[k])
            ys.append(y[k])
    return np.asarray(xs), np.asarray(ys)


def line_chart(
    x: np.ndarray,
    y: np.ndarray,
    *,
    width: int = 960,
    height: int = 280,
    x_label: str = "time (s)",
    y_label: str = "",
    spans: list[tuple[float, float, str, str]] = (),
    markers: list[tuple[float, float, str]] = (),
) -> str:
    """An SVG line chart. ``spans``: (x0, x1, colour, title) shaded bands; ``markers``:
    (x, y, title) dots."""
    pad_l, pad_r, pad_t, pad_b = 56, 12, 12, 36
    x, y = decimate_minmax(np.asarray(x, float), np.asarray(y, float), width)
    if len(x) == 0:
        return f'<svg width="{width}" height="{height}"><text x="10" y="20">no data</text></svg>'
    x0, x1 = float(x.min()), float(x.max()) or 1.0
    y0, y1 = float(min(y.min(), 0.0)), float(max(y.max(), 1.0))
    ypad = 0.05 * (y1 - y0)
    y0, y1 = y0 - ypad, y1 + ypad
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(v: float) -> float:
        return pad_l + (v - x0) / ((x1 - x0) or 1.0) * w

    def sy(v: float) -> float:
        return pad_t + (y1 - v) / ((y1 - y0) or 1.0) * h

    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" class="chart">']
    for a, b, colour, title in spans:
        out.append(
            f'<rect x="{sx(a):.1f}" y="{pad_t}" width="{max(1.0, sx(b) - sx(a)):.1f}" '
            f'height="{h}" fill="{colour}" opacity="0.18"><title>{escape(title)}</title></rect>'
        )
    step = _nice_step(y1 - y0)
    v = math.ceil(y0 / step) * step
    while v <= y1:
        out.append(
            f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" '
            f'stroke="#ddd"/><text x="{pad_l - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{v:g}</text>'
        )
        v += step
    step = _nice_step(x1 - x0, 10)
    v = math.ceil(x0 / step) * step
    while v <= x1:
        out.append(
            f'<text x="{sx(v):.1f}" y="{pad_t + h + 16}" text-anchor="middle" '
            f'font-size="11">{v:g}</text>'
        )
        v += step
    pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y, strict=True))
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1f5fa8" stroke-width="1.3"/>')
    for mx, my, title in markers:
        out.append(
            f'<circle cx="{sx(mx):.1f}" cy="{sy(my):.1f}" r="3.5" fill="#c0392b">'
            f"<title>{escape(title)}</title></circle>"
        )
    out.append(
        f'<text x="{pad_l + w / 2}" y="{height - 4}" text-anchor="middle" font-size="12">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{pad_t + h / 2}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 14 {pad_t + h / 2})">{escape(y_label)}</text></svg>'
    )
    return "".join(out)
