"""``imuhip report``: one self-contained HTML page per session.

The page has no scripts and loads nothing: the style sheet is inline and the angle trace is
inline SVG. Every figure in it comes from the ``imuhip.analysis/2`` document (the one
``imuhip analyze --json`` prints), formatted as ``imuhip analyze`` prints it, so the page, the
text summary and the JSON always agree. Long sessions are drawn in rows of equal length with at
most two points per pixel, so an hour-long session gives a page of a few hundred kilobytes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

import numpy as np

from imuhip import __version__
from imuhip.atomic import atomic_write
from imuhip.files.session_file import vendor_orientation_roles
from imuhip.fusion.vendor import vendor_orientation_note
from imuhip.layout import BOTH
from imuhip.pipeline import SessionAnalysis
from imuhip.pipeline.trace_envelope import (
    LegTrace,
    LegTraceFeed,
    SampleTimes,
    SampleTimesFeed,
    Trace,
)
from imuhip.session import Session, SessionSummary
from imuhip.sinks.analysis_text import EFFORT_NOTE, END_RANGE_NOTE, STEADINESS_NOTE
from imuhip.sinks.dates import local_time, local_zone_name, parse_iso
from imuhip.sinks.history import HistoryRow, asymmetry
from imuhip.sinks.legs_document import leg_view
from imuhip.sinks.svg import Bar, Marker, Span, bar_chart, line_chart

#: What the report reads of a session file: a whole session or what a streaming read found.
FileSession = Session | SessionSummary

CSS = """
:root{--ink:#1d2330;--muted:#5f6b7a;--line:#e3e7ed;--soft:#f5f7fa;--rep:#2f6fd6;
--hold:#1f9d63;--stretch:#7b4fc9;--cal:#8a94a3;--partial:#e08a1e;--peak:#c8372d;--warn:#8a5300;color-scheme:light}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);margin:0;background:#fff}
main{max-width:1040px;margin:0 auto;padding:28px 24px 40px}
header{border-bottom:2px solid var(--ink);padding-bottom:12px;margin-bottom:18px}
h1{font-size:1.6em;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:1.1em;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:.95em;margin:14px 0 6px;color:var(--muted);font-weight:600}
.meta{color:var(--muted);margin:0;display:flex;flex-wrap:wrap;gap:4px 18px}
.meta b{color:var(--ink);font-weight:600}
.badge{display:inline-block;vertical-align:middle;font-size:.55em;font-weight:700;
letter-spacing:.08em;padding:3px 8px;border-radius:4px;margin-left:10px;position:relative;top:-2px}
.badge.sim{background:#8a5300;color:#fff}
.banner{background:#fff6e0;border:1px solid #f0d48a;border-left:5px solid #d9a21b;
border-radius:6px;padding:9px 14px;margin:14px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:4px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--soft)}
.card .k{color:var(--muted);font-size:.85em}
.card .v{display:block;font-size:1.65em;font-weight:650;font-variant-numeric:tabular-nums;
white-space:nowrap}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;color:var(--muted);font-size:.88em;margin:4px 0}
.legend i{display:inline-block;width:14px;height:11px;border-radius:2px;margin-right:6px;
vertical-align:-1px}
.legend i.dot{width:9px;height:9px;border-radius:50%;background:var(--peak)}
.chart{width:100%;height:auto;display:block;margin:2px 0 8px;font-size:11px}
.chart .plot{fill:#fff}
.chart .line{fill:none;stroke:#17324d;stroke-width:1.2;stroke-linejoin:round}
.chart .grid{stroke:#edf0f4}.chart .zero{stroke:#b8c0cc}
.chart .axis{stroke:#6b7685;fill:none}
.chart .tick{fill:#5f6b7a}.chart .label{fill:#3a4452;font-size:12px}
.chart .spanlabel{fill:#5f6b7a;font-size:10px}
.chart .rep{fill:var(--rep);opacity:.13}.chart .hold{fill:var(--hold);opacity:.18}
.chart .cal{fill:var(--cal);opacity:.16}.chart .gap{fill:#c8372d;opacity:.10}
.chart .partial{fill:var(--partial);opacity:.16}
.chart .side-left{fill:#2e86de}.chart .side-right{fill:#e67e22}
.legend-left{color:#2e86de}.legend-right{color:#e67e22}
.chart .peak{fill:var(--peak);stroke:#fff;stroke-width:1}
.legend .rep{background:var(--rep);opacity:.35}.legend .hold{background:var(--hold);opacity:.45}
.legend .cal{background:var(--cal);opacity:.4}
.chart .stretch{fill:var(--stretch);opacity:.16}
.chart .overpressure{fill:#fff;stroke:var(--stretch);stroke-width:2}
.legend .stretch{background:var(--stretch);opacity:.4}
.legend i.ring{width:9px;height:9px;border-radius:50%;border:2px solid var(--stretch)}
.chart .tl-calibration,.legend .tl-calibration{fill:var(--cal);background:var(--cal)}
.chart .tl-rest,.legend .tl-rest{fill:#d5dbe3;background:#d5dbe3}
.chart .tl-rep,.legend .tl-rep{fill:var(--rep);background:var(--rep)}
.chart .tl-partial_rep,.legend .tl-partial_rep{fill:var(--partial);background:var(--partial)}
.chart .tl-hold,.legend .tl-hold{fill:var(--hold);background:var(--hold)}
.chart .tl-stretch,.legend .tl-stretch{fill:var(--stretch);background:var(--stretch)}
.chart .tl-gap,.legend .tl-gap{fill:#c8372d;background:#c8372d}
.chart .bar{fill:var(--rep)}.chart .still{fill:var(--cal);opacity:.10}
.chart .bar-left{fill:#2f6db5}.chart .bar-right{fill:#d07a2a}
.chart .bends{fill:var(--rep);opacity:.12}.chart .rocks{fill:var(--hold);opacity:.14}
.notes{white-space:pre-wrap;overflow-wrap:anywhere;border-left:4px solid var(--line);
padding:6px 12px;margin:6px 0;background:var(--soft);border-radius:0 6px 6px 0}
.legend .gap{background:#c8372d;opacity:.25}.legend .partial{background:var(--partial);opacity:.4}
table{border-collapse:collapse;margin:6px 0 4px;font-variant-numeric:tabular-nums;
font-size:.92em}
th,td{padding:4px 12px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:var(--soft);font-weight:600;border-bottom:1px solid #cfd5de}
th.t,td.t{text-align:left}
tbody tr:nth-child(even){background:#fafbfc}
.calibration td.t{white-space:normal}
.scroll{overflow-x:auto}
.two{display:flex;flex-wrap:wrap;gap:0 40px}
.warn{color:var(--warn);background:#fff6e0;border-radius:6px;padding:6px 12px;margin:6px 0}
.ok{color:#17613f;margin:6px 0}
.muted{color:var(--muted)}
footer{margin-top:36px;padding-top:10px;border-top:1px solid var(--line);color:var(--muted);
font-size:.85em}
.chart.narrow{display:none;max-width:480px}
@media (max-width:911px){.chart.wide{display:none}.chart.narrow{display:block}}
@media (max-width:600px){main{padding:18px 12px 32px}}
@media print{.chart.wide{display:block}.chart.narrow{display:none}}
@media print{main{padding:0;max-width:none}.chart,table,.cards{break-inside:avoid}
h2{break-after:avoid}}
"""

#: Longest stretch drawn in one chart row before the trace is split into rows, seconds.
ROW_MAX_S = 12 * 60
#: Most rows before the row length grows beyond the choices in :data:`ROW_CHOICES_S`.
MAX_ROWS = 8
ROW_CHOICES_S = (5 * 60, 10 * 60, 15 * 60, 20 * 60, 30 * 60)
#: Rep numbers are written above the trace when a row holds at most this many reps.
MAX_REP_LABELS = 40

#: Calibration quality measures: label, unit, digits, what it means.
QUALITY_LABELS: dict[str, tuple[str, str, int, str]] = {
    "bend_range_deg": ("knee bend range", "°", 1, "how far the knee bent"),
    "rock_range_deg": ("leg rock range", "°", 1, "how far the leg rocked in and out"),
    "knee_axis_fit": ("knee hinge fit", "", 3, "1 = a clean hinge movement"),
    "femur_axis_fit_thigh": ("thigh axis fit, thigh sensor", "", 3, "1 = a clean rotation"),
    "femur_axis_fit_shin": ("thigh axis fit, shin sensor", "", 3, "1 = a clean rotation"),
    "axes_angle_deg": ("knee to thigh axis angle", "°", 1, "ideally 90°"),
    "heading_spread_deg": ("heading spread", "°", 2, "sensors' agreement; small is good"),
    "still_rms_dps": ("movement in start pose", "°/s", 2, "small is good"),
}


def fmt(x: float | None, digits: int = 1) -> str:
    """A figure as the page (and ``imuhip analyze``) prints it; an en dash when absent."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "\u2013"
    return f"{x:.{digits}f}"


#: Table columns: heading, ``imuhip.analysis/2`` key, digits (those of ``imuhip analyze``).
REP_COLUMNS = (
    ("start s", "start_s", 2),
    ("peak s", "peak_s", 2),
    ("end s", "end_s", 2),
    ("peak °", "peak_deg", 1),
    ("range °", "range_deg", 1),
    ("duration s", "duration_s", 2),
)
HOLD_COLUMNS = (
    ("start s", "start_s", 2),
    ("end s", "end_s", 2),
    ("duration s", "duration_s", 2),
    ("mean °", "mean_deg", 1),
    ("steadiness °", "steadiness_deg", 2),
    ("effort dB", "effort_index", 1),
)
STRETCH_COLUMNS = (
    ("start s", "start_s", 2),
    ("end s", "end_s", 2),
    ("duration s", "duration_s", 2),
    ("mean °", "mean_deg", 1),
    ("max °", "max_deg", 1),
    ("end range s", "time_at_end_range_s", 2),
    ("overpressure from s", "overpressure_start_s", 1),
    ("overpressure gain °", "overpressure_gain_deg", 1),
)
#: The timeline's activity kinds as the trace's strip shows them: kind, legend label.
TIMELINE_KINDS = (
    ("calibration", "calibration"),
    ("rest", "rest"),
    ("rep", "rep"),
    ("partial_rep", "not counted"),
    ("hold", "hold"),
    ("stretch", "stretch"),
    ("gap", "gap"),
)
#: Summary cards: label, key of ``doc["summary"]``, digits, unit.
SUMMARY_CARDS = (
    ("reps", "rep_count", 0, ""),
    ("max rotation", "max_rotation_deg", 1, "°"),
    ("mean peak", "mean_peak_deg", 1, "°"),
    ("holds", "hold_count", 0, ""),
    ("longest hold", "longest_hold_s", 1, " s"),
    ("total hold time", "total_hold_s", 1, " s"),
)
#: Summary cards of a document with stretches (``imuhip.analysis/2``).
STRETCH_CARDS = (
    ("stretches", "stretch_count", 0, ""),
    ("longest stretch", "longest_stretch_s", 1, " s"),
    ("farthest stretch", "max_stretch_deg", 1, "°"),
)


def format_duration(seconds: float) -> str:
    """``2 min 03 s``, ``1 h 02 min``, ``45.2 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def format_created(created_utc: str) -> str:
    """The header's ISO-8601 creation time in local time, ``2026-03-01 15:05 CET`` (as is if
    unparsable)."""
    return local_time(created_utc, zone=True, missing="date unknown")


def _table(headers: list[str], rows: list[list[str]], cls: str, left: tuple[int, ...] = ()) -> str:
    """A table; columns in ``left`` are text (left-aligned), the others figures."""

    def cell(tag: str, i: int, v: str) -> str:
        return f"<{tag} class='t'>{v}</{tag}>" if i in left else f"<{tag}>{v}</{tag}>"

    head = "".join(cell("th", i, escape(h)) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows
    )
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _rows_layout(t0: float, t1: float) -> list[tuple[float, float]]:
    """Split ``t0..t1`` into chart rows of equal length (one row up to :data:`ROW_MAX_S`); the
    last row takes a short remainder (up to a tenth of a row) rather than drawing it alone."""
    span = t1 - t0
    if span <= ROW_MAX_S:
        return [(t0, t1)]
    length = next(
        (c for c in ROW_CHOICES_S if math.ceil(span / c - 0.1) <= MAX_ROWS),
        math.ceil(span / MAX_ROWS / 60) * 60,
    )
    n = max(1, math.ceil(span / length - 0.1))
    rows = [(t0 + k * length, t0 + (k + 1) * length) for k in range(n)]
    rows[-1] = (rows[-1][0], max(rows[-1][1], t1))
    return rows


def _minutes(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def leg_trace(result: SessionAnalysis) -> LegTrace:
    """What the report draws of a leg: the analysis's own trace (``Keep.TRACE``), else the same
    accumulated from its kept arrays (the grid, its shin gyroscope and the hip rotation)."""
    if result.trace is not None:
        return result.trace
    g = result.grid
    feed = LegTraceFeed()
    gyr = g.shin.gyr if len(g.shin.gyr) == len(g.t) else np.full((len(g.t), 3), np.nan)
    feed.add_grid(g.t, g.valid, gyr)
    feed.add_angles(result.hip_rotation_deg)
    return feed.trace()


#: Every chart is drawn twice: WIDE_W user units wide for screens, NARROW_W for phones (shown
#: below NARROW_BELOW_PX of viewport, see :data:`CSS`), so its labels keep at least 9 px.
WIDE_W, NARROW_W = 960, 360
NARROW_BELOW_PX = 912


def _chart(
    x: np.ndarray,
    y: np.ndarray,
    *,
    chart_id: str,
    x_ticks_for: Callable[[int], list[tuple[float, str]]] | None = None,
    **kw,
) -> str:
    """The wide and the narrow SVG of one chart (:func:`imuhip.sinks.svg.line_chart` arguments;
    ``x_ticks_for(most)`` gives x ticks, at most ``most`` of them)."""
    out = []
    for width, cls, suffix, most in (
        (WIDE_W, "chart wide", "", 7),
        (NARROW_W, "chart narrow", "-n", 3),
    ):
        ticks_kw = {} if x_ticks_for is None else {"x_ticks": x_ticks_for(most)}
        out.append(
            line_chart(
                x, y, chart_id=chart_id + suffix, width=width, css_class=cls, **ticks_kw, **kw
            )
        )
    return "".join(out)


def _trace(result: SessionAnalysis, doc: dict) -> str:
    """The hip angle over the session in chart rows: the items shaded, rep peaks and
    overpressure marked, the timeline as a strip along the bottom (drawn from the leg's
    bounded trace, :func:`leg_trace`)."""
    lt = leg_trace(result)
    tr = lt.hip_rotation
    finite = not math.isnan(tr.lo)
    lo = float(min(tr.lo, 0.0)) if finite else 0.0
    hi = float(max(tr.hi, 10.0)) if finite else 10.0
    pad = 0.06 * (hi - lo)
    y_range = (lo - pad, hi + pad)
    spans = _background_spans(lt, doc)
    holds = _hold_spans(doc)
    bands = _timeline_bands(doc, tr.t_last)
    reps = doc["reps"]
    markers = [
        Marker(r["peak_s"], r["peak_deg"], "peak", f"rep {i} peak {fmt(r['peak_deg'])}°")
        for i, r in enumerate(reps, 1)
    ] + _overpressure_markers(doc, tr)
    rows = _rows_layout(tr.t_first, tr.t_last)
    out = []
    for k, (a, b) in enumerate(rows):
        in_row = [
            r for r in reps if a <= r["peak_s"] < b or (k == len(rows) - 1 and r["peak_s"] == b)
        ]
        row_spans = [*spans, *_rep_spans(reps, len(in_row) <= MAX_REP_LABELS), *holds]
        if len(rows) > 1:
            out.append(f"<h3>{_minutes(a - rows[0][0])} to {_minutes(b - rows[0][0])}</h3>")
        out.append(
            _chart(
                tr.x,
                tr.y,
                chart_id=f"trace{k}",
                x_range=(a, b),
                y_range=y_range,
                x_label="time (s)",
                y_label="hip rotation (°, internal +)",
                spans=row_spans,
                markers=markers,
                bands=bands,
                description=f"hip rotation from {a:.0f} s to {b:.0f} s",
            )
        )
    return "\n".join(out)


def _background_spans(lt: LegTrace, doc: dict) -> list[Span]:
    """The trace's shading under the reps: calibration, partial reps, sensor gaps, stretches."""
    phases = doc["calibration"]["phases"]
    spans = [
        Span(phases["still_start"][0], phases["still_end"][1], "cal", "calibration", "calibration")
    ]
    spans += [
        Span(
            p["start_s"],
            p["end_s"] if p["end_s"] is not None else p["peak_s"],
            "partial",
            f"not counted ({p['reason']}): {fmt(p['range_deg'])}° range",
        )
        for p in doc["partial_reps"]
    ]
    spans += [Span(a, b, "gap", f"no data from a sensor: {b - a:.2f} s") for a, b in lt.gaps]
    for i, x in enumerate(doc.get("stretches", []), 1):
        title = f"stretch {i}: {fmt(x['duration_s'], 2)} s, max {fmt(x['max_deg'])}°"
        if x["overpressure_start_s"] is not None:
            title += f", overpressure from {fmt(x['overpressure_start_s'])} s"
        spans.append(Span(x["start_s"], x["end_s"], "stretch", title, f"S{i}"))
    return spans


def _rep_spans(reps: list[dict], labelled: bool) -> list[Span]:
    """Each rep shaded, numbered above the trace when ``labelled``."""
    return [
        Span(
            r["start_s"],
            r["end_s"],
            "rep",
            f"rep {i} ({r.get('direction', 'internal')}): peak {fmt(r['peak_deg'])}° at "
            f"{fmt(r['peak_s'], 2)} s",
            str(i) if labelled else "",
        )
        for i, r in enumerate(reps, 1)
    ]


def _hold_spans(doc: dict) -> list[Span]:
    """Each hold shaded, labelled H1, H2, ..."""
    return [
        Span(
            h["start_s"],
            h["end_s"],
            "hold",
            f"hold {i}: {fmt(h['duration_s'], 2)} s at {fmt(h['mean_deg'])}°",
            f"H{i}",
        )
        for i, h in enumerate(doc["holds"], 1)
    ]


def _timeline_bands(doc: dict, t_end: float) -> list[Span]:
    """The document's timeline as bands of the trace's strip (one still going on at the end of
    the data reaches ``t_end``)."""
    labels = dict(TIMELINE_KINDS)
    out = []
    for a in doc.get("timeline", []):
        end = t_end if a["end_s"] is None else a["end_s"]
        label = labels.get(a["kind"], a["kind"])
        out.append(
            Span(a["start_s"], end, f"tl-{a['kind']}", f"{label}: {fmt(a['start_s'])}-{fmt(end)} s")
        )
    return out


def _overpressure_markers(doc: dict, tr: Trace) -> list[Marker]:
    """A ring on the trace where each stretch's overpressure began (at the angle there)."""
    out = []
    for i, x in enumerate(doc.get("stretches", []), 1):
        t_op = x["overpressure_start_s"]
        angle = math.nan if t_op is None else tr.value_at(t_op)
        if math.isnan(angle):
            continue
        title = (
            f"stretch {i}: overpressure from {fmt(t_op)} s, "
            f"{fmt(x['overpressure_gain_deg'])}° further"
        )
        out.append(Marker(t_op, angle, "overpressure", title))
    return out


def _legend(doc: dict) -> str:
    """The trace's legend: the shaded items, the markers and (with a timeline) the strip."""
    items = [
        "<span><i class='rep'></i>rep (number above)</span>",
        "<span><i class='dot'></i>rep peak</span>",
        "<span><i class='hold'></i>hold (H1, H2, ...)</span>",
    ]
    if "stretches" in doc:
        items += [
            "<span><i class='stretch'></i>stretch (S1, S2, ...)</span>",
            "<span><i class='ring'></i>overpressure starts</span>",
        ]
    items += [
        "<span><i class='partial'></i>not counted</span>",
        "<span><i class='cal'></i>calibration (its movements: under Calibration)</span>",
        "<span><i class='gap'></i>sensor gap</span>",
    ]
    out = "<p class='legend'>" + "".join(items) + "</p>"
    if doc.get("timeline"):
        strip = "".join(
            f"<span><i class='tl-{kind}'></i>{escape(label)}</span>"
            for kind, label in TIMELINE_KINDS
        )
        out += f"<p class='legend timeline'><span>strip under the trace:</span>{strip}</p>"
    return out


#: The calibration phases as the calibration chart labels them: key, label, span class.
CAL_PHASES = (
    ("still_start", "still", "still"),
    ("bends", "knee bends", "bends"),
    ("rocks", "leg rocks", "rocks"),
    ("still_end", "still", "still"),
)
#: Seconds shown before and after the calibration in its chart.
CAL_MARGIN_S = 2.0


def _calibration_movements(result: SessionAnalysis, doc: dict) -> list[str]:
    """The shin's angular speed (°/s, from its gyroscope) over the calibration, phases shaded:
    the movements the calibration was found from, which the angle trace cannot show (there is
    no angle before the calibration is done)."""
    ph = doc["calibration"]["phases"]
    if not all(k in ph for k, _, _ in CAL_PHASES):
        return []
    speed = leg_trace(result).shin_speed
    a = max(speed.t_first, ph["still_start"][0] - CAL_MARGIN_S)
    b = min(speed.t_last, ph["still_end"][1] + CAL_MARGIN_S)
    x, y = speed.window(a, b)
    spans = [
        Span(ph[k][0], ph[k][1], cls, f"{label}: {fmt(ph[k][0])}-{fmt(ph[k][1])} s", label)
        for k, label, cls in CAL_PHASES
    ]
    return [
        "<h3>Calibration movements</h3>",
        "<p class='muted'>How fast the shin sensor turned during the calibration. Check it: "
        "flat near 0 in both still poses, two humps for each of the three knee bends (down "
        "and back) and for each of the three rocks of the leg (in and out).</p>",
        _chart(
            x,
            y,
            chart_id="calibration",
            height=200,
            x_range=(a, b),
            x_label="time (s)",
            y_label="shin speed (°/s)",
            spans=spans,
            description=f"shin angular speed during the calibration, {a:.0f} s to {b:.0f} s",
        ),
    ]


def _rep_peaks(doc: dict) -> list[str]:
    """Each rep's peak as a bar, in order (rep numbers under the bars)."""
    reps = doc["reps"]
    if not reps:
        return []
    bars = [
        Bar(r["peak_deg"], str(i), f"rep {i}: {fmt(r['peak_deg'])}° at {fmt(r['peak_s'], 2)} s")
        for i, r in enumerate(reps, 1)
    ]
    out = ["<h3>Peak of each rep</h3>"]
    for width, cls, suffix in ((WIDE_W, "chart wide", ""), (NARROW_W, "chart narrow", "-n")):
        out.append(
            bar_chart(
                bars,
                chart_id=f"peaks{suffix}",
                width=width,
                css_class=cls,
                x_label="rep",
                y_label="peak (°)",
                description="hip rotation peak of each rep",
            )
        )
    return out


def _left_right(session: FileSession, doc: dict, other: tuple[str, dict] | None) -> list[str]:
    """This session's rep peaks beside the latest session of the other side's (same
    exercise), rep by rep: left and right bars side by side, and the mean peaks."""
    if other is None:
        return []
    name, odoc = other
    side = session.header.side
    by_side = {side: doc, odoc["side"]: odoc}
    if set(by_side) != {"left", "right"}:
        return []
    left, right = by_side["left"]["reps"], by_side["right"]["reps"]
    out = [
        "<h3>Left and right: peak of each rep</h3>",
        "<p class='muted'>This session and the latest "
        f"{escape(odoc['side'])} session of the same exercise ({escape(name)}), rep by rep: "
        "<span style='color:#2f6db5'>■ left</span> <span style='color:#d07a2a'>■ right</span>."
        "</p>",
    ]
    if not left and not right:
        return [*out, "<p class='muted'>Neither session has counted reps.</p>"]
    bars = []
    for i in range(max(len(left), len(right))):
        for label, reps, cls in (("L", left, "bar-left"), ("R", right, "bar-right")):
            v = reps[i]["peak_deg"] if i < len(reps) else float("nan")
            title = f"{label}{i + 1}: {fmt(v)}°" if i < len(reps) else f"{label}{i + 1}: none"
            bars.append(Bar(v, f"{i + 1}" if label == "L" else "", title, cls))
    for width, cls, suffix in ((WIDE_W, "chart wide", ""), (NARROW_W, "chart narrow", "-n")):
        out.append(
            bar_chart(
                bars, chart_id=f"lr{suffix}", width=width, css_class=cls, x_label="rep",
                y_label="peak (°)", description="left and right rep peaks, rep by rep",
            )
        )  # fmt: skip
    means = {
        s: (sum(r["peak_deg"] for r in reps) / len(reps) if reps else None)
        for s, reps in (("left", left), ("right", right))
    }
    out.append(
        f"<p>mean peak: left {escape(fmt(means['left']))}° ({len(left)} reps), right "
        f"{escape(fmt(means['right']))}° ({len(right)} reps)</p>"
    )
    return out


def _notes(notes: str | None) -> list[str]:
    if not notes or not notes.strip():
        return []
    return ["<h2>Notes</h2>", f"<p class='notes'>{escape(notes.strip())}</p>"]


def _header(path: Path, session: FileSession, doc: dict) -> list[str]:
    h = session.header
    simulated = bool(h.extra.get("simulated"))
    badge = "<span class='badge sim'>SIMULATED</span>" if simulated else ""
    meta = [
        ("date", escape(format_created(h.created_utc))),
        ("side", "both legs" if h.side == BOTH else f"{escape(h.side)} leg"),
        ("exercise", escape(h.exercise)),
        ("duration", escape(format_duration(doc["duration_s"]))),
        ("file", escape(path.name)),
    ]
    parts = [
        "<header>",
        f"<h1>Hip rotation report{badge}</h1>",
        "<p class='meta'>"
        + "".join(f"<span>{k} <b data-k='{k}'>{v}</b></span>" for k, v in meta)
        + "</p>",
        "</header>",
    ]
    if simulated:
        sim = h.extra.get("simulator") or {}
        seed = f" (seed {escape(str(sim['seed']))})" if "seed" in sim else ""
        parts.append(
            "<p class='banner'><b>SIMULATED</b> &ndash; this session was made by the imuhip "
            f"simulator{seed}. It is not a measurement of a real leg.</p>"
        )
    return parts


#: Columns of the sensor health table.
HEALTH_HEADINGS = (
    "sensor", "profile", "address", "samples", "rate / set Hz", "gaps", "longest gap s",
    "missing", "rejected", "lost",
)  # fmt: skip
HEALTH_NOTE = (
    "Rate: samples per second received, against the rate the sensor was set to. Gaps: pauses "
    "longer than 1.5 sample periods (the trace is broken there); missing: samples estimated "
    "lost in them. Rejected: notifications the decoder rejected as malformed; lost: samples "
    "the sensor sent that never arrived (from its sequence numbers)."
)
#: Session event kinds listed under "Connection events".
LINK_KINDS = (
    "connection_lost", "connection_restored", "link_parameters", "packets_dropped", "pause",
    "resume",
)  # fmt: skip


def _health(session: FileSession, result: SessionAnalysis, doc: dict) -> list[str]:
    """Sensor health: one row per sensor, the connection events, the file's state."""
    return [
        "<h2>Sensor health</h2>",
        _table(list(HEALTH_HEADINGS), _health_rows(session, result, doc), "health", left=(0, 1, 2)),
        f"<p class='muted'>{escape(HEALTH_NOTE)}</p>",
        *(
            f"<p class='warn'>{escape(vendor_orientation_note(r).capitalize())}.</p>"
            for r in vendor_orientation_roles(session.header)
        ),
        *_connection_events(session),
        *_file_state(session),
    ]


def _health_rows(session: FileSession, result: SessionAnalysis, doc: dict) -> list[list[str]]:
    """Per sensor of the header with data: samples, rate against the set rate, gaps, and what
    the decoder rejected and the sensor lost (from ``doc["sensor_health"]``)."""
    rows = []
    for info in session.header.sensors:
        st = result.streams.get(info.role)
        if st is None:
            continue
        hl = _sample_times(result, info.role, info.rate_hz)
        dec = doc["sensor_health"].get(info.role, {})
        rate = f"{hl.effective_rate_hz:.1f}"
        if info.rate_hz > 0:
            rate += f" / {info.rate_hz:g}"
        rows.append(
            [
                escape(info.role),
                escape(info.profile),
                escape(info.address) or "\u2013",
                str(hl.count),
                rate,
                str(hl.gaps),
                fmt(hl.longest_gap_s, 2),
                str(hl.missing),
                str(dec.get("dropped", 0)),
                str(dec.get("lost_samples", 0)),
            ]
        )
    return rows


def _sample_times(result: SessionAnalysis, role: str, rate_hz: float) -> SampleTimes:
    """A sensor's sample times summed up: from the analysis's trace (``Keep.TRACE``), else from
    its stream's kept samples."""
    if result.trace is not None and role in result.trace.sample_times:
        return result.trace.sample_times[role]
    feed = SampleTimesFeed(rate_hz)
    feed.add(result.streams[role].samples.t)
    return feed.summary()


def _link_detail(e) -> str:
    """The detail cell of a connection event (escaped): interval, or packets dropped."""
    if e.kind == "link_parameters":
        ms = e.data.get("interval_ms")
        interval = "interval unknown" if ms is None else f"interval {ms:g} ms"
        asked = e.data.get("requested")
        return escape(interval + (f" (asked {asked})" if asked else ""))
    if e.kind != "packets_dropped":
        return ""
    reason = f" ({e.data['reason']})" if e.data.get("reason") else ""
    return escape(f"{e.data.get('count', '?')} packets{reason}")


def _connection_events(session: FileSession) -> list[str]:
    """The session's link events as a table (nothing when there were none)."""
    link = [e for e in session.events if e.kind in LINK_KINDS]
    if not link:
        return []
    rows = [
        [f"{e.t:.1f}", escape(e.sensor or "\u2013"), escape(e.kind.replace("_", " ")),
         _link_detail(e)]
        for e in link
    ]  # fmt: skip
    return [
        "<h3>Connection events</h3>",
        _table(["time s", "sensor", "event", ""], rows, "events", left=(1, 2, 3)),
    ]


def _file_state(session: FileSession) -> list[str]:
    """Whether the session file was intact, else what reading it found."""
    if session.report.ok:
        return ["<p class='ok'>Session file intact.</p>"]
    return [f"<p class='warn'>⚠ {escape(m)}</p>" for m in session.report.messages()]


def _calibration(result: SessionAnalysis, doc: dict) -> list[str]:
    cal = doc["calibration"]
    ph = cal["phases"]
    phase_rows = [
        [escape(name), fmt(ph[key][0], 1), fmt(ph[key][1], 1)]
        for name, key in (
            ("still start pose", "still_start"),
            ("knee bends", "bends"),
            ("leg rocks", "rocks"),
            ("still end pose", "still_end"),
        )
        if key in ph
    ]
    q_rows = []
    for key, v in cal["quality"].items():
        label, unit, digits, note = QUALITY_LABELS.get(key, (key.replace("_", " "), "", 3, ""))
        q_rows.append([escape(label), fmt(v, digits) + unit, escape(note)])
    parts = [
        "<h2>Calibration</h2>",
        "<div class='two'><div>",
        "<h3>Phases</h3>",
        _table(["phase", "from s", "to s"], phase_rows, "phases", left=(0,)),
        "</div><div>",
        "<h3>Quality</h3>",
        _table(["measure", "value", ""], q_rows, "calibration", left=(0, 2)),
        "</div></div>",
    ]
    if cal["warnings"]:
        parts += [f"<p class='warn'>⚠ {escape(w)}</p>" for w in cal["warnings"]]
    else:
        parts.append("<p class='ok'>No calibration warnings.</p>")
    return parts + _calibration_movements(result, doc)


DAY_S = 86400.0


def date_ticks(x0: float, x1: float, most: int = 7) -> list[tuple[float, str]]:
    """Ticks for a date axis: ``x0..x1`` in days since the POSIX epoch (UTC instants), labels in
    local time: hours (``14:00``, a day's first tick ``3 Mar 14:00``) for spans up to 36 h,
    else days (``3 Mar``), else months (``Mar 2026``)."""
    span_h = (x1 - x0) * 24.0
    start = datetime.fromtimestamp(x0 * DAY_S).astimezone()
    end = datetime.fromtimestamp(x1 * DAY_S).astimezone()
    out: list[tuple[float, str]] = []
    step_h = next((s for s in (1, 2, 3, 6, 12) if span_h / s <= most), None)
    if step_h is not None and span_h <= 36:
        d = start.replace(minute=0, second=0, microsecond=0)
        last_day = None
        while d <= end:
            if d >= start and d.hour % step_h == 0:
                label = d.strftime("%H:%M") if d.date() == last_day else d.strftime("%-d %b %H:%M")
                last_day = d.date()
                out.append((d.timestamp() / DAY_S, label))
            d = (d + timedelta(hours=1)).astimezone()
        return out
    step_d = next((s for s in (1, 2, 7, 14) if span_h / 24 / s <= most), None)
    if step_d is not None:
        d = start.replace(hour=0, minute=0, second=0, microsecond=0)
        k = 0
        while d <= end:
            if d >= start and k % step_d == 0:
                out.append((d.timestamp() / DAY_S, d.strftime("%-d %b")))
            d = (d.replace(tzinfo=None) + timedelta(days=1)).astimezone()
            k += 1
        return out
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step_m = next((s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= most), 120)
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        d = datetime(y, m, 1).astimezone()
        if d >= start and (y * 12 + m - 1) % step_m == 0:
            out.append((d.timestamp() / DAY_S, d.strftime("%b %Y")))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _progress_charts(rows: list[HistoryRow]) -> list[str]:
    """Max rotation and longest hold per session against the date (local time), left and right
    as dots (the line joins the left side's sessions, or the only side's)."""
    dated = sorted(
        ((d.timestamp() / DAY_S, r) for r in rows if (d := parse_iso(r.date)) is not None),
        key=lambda xr: (xr[0], xr[1].file),
    )
    out = []
    for attr, label, unit in (("max_rotation_deg", "max rotation (°)", "°"),
                              ("longest_hold_s", "longest hold (s)", " s")):  # fmt: skip
        pts = [(x, r) for x, r in dated if getattr(r, attr) is not None]
        if not pts:
            continue
        side = "left" if any(r.side == "left" for _, r in pts) else pts[0][1].side
        left = [(x, getattr(r, attr)) for x, r in pts if r.side == side]
        markers = [
            Marker(x, getattr(r, attr), f"side-{r.side}",
                   f"{local_time(r.date)} {r.side}: {fmt(getattr(r, attr))}{unit}")
            for x, r in pts
        ]  # fmt: skip
        lo, hi = pts[0][0], pts[-1][0]
        pad = max(0.05 * (hi - lo), 1.0 / 24.0)
        x_range = (lo - pad, hi + pad)
        out.append(
            _chart(
                np.array([x for x, _ in left]),
                np.array([y for _, y in left]),
                chart_id=f"progress-{attr}",
                height=220,
                x_range=x_range,
                x_ticks_for=lambda most, r=x_range: date_ticks(*r, most=most),
                x_label=f"date ({local_zone_name()})",
                y_label=label,
                markers=markers,
                description=f"{label} per session over time",
            )
        )
    if out:
        out.insert(
            0,
            "<p class='muted'><span class='legend-left'>&#9679; left</span> "
            "<span class='legend-right'>&#9679; right</span></p>",
        )
    return out


def _progress(path: Path, session: FileSession, history: list[HistoryRow]) -> list[str]:
    h = session.header
    same = [r for r in history if r.ok and r.exercise == h.exercise]
    parts = [f"<h2>Progress: {escape(h.exercise)} sessions over time ({len(same)})</h2>"]
    if not same:
        return [*parts, "<p class='muted'>No analysed sessions of this exercise found.</p>"]
    rows = []
    for r in same:
        this = Path(r.file).name == path.name and r.side == h.side
        rows.append(
            [
                escape(local_time(r.date)) + (" (this)" if this else ""),
                escape(r.side),
                escape(str(r.reps)),
                escape(fmt(r.max_rotation_deg)),
                escape(fmt(r.mean_peak_deg)),
                escape(str(r.holds)),
                escape(fmt(r.longest_hold_s)),
                escape(fmt(r.total_hold_s)),
                escape(fmt(r.longest_stretch_s)),
                escape(fmt(r.longest_stretch_max_deg)),
                escape(r.file) + (" (simulated)" if r.simulated else ""),
            ]
        )
    parts += _progress_charts(same)
    parts.append(
        _table(
            [f"date ({local_zone_name()})", "side", "reps", "max °", "mean peak °", "holds",
             "longest hold s", "total hold s", "longest stretch s", "its end range °", "file"],
            rows,
            "progress",
            left=(0, 1, 10),
        )
    )  # fmt: skip
    for a in asymmetry(same):
        if a.left and a.right:
            parts.append("<h3>Left/right asymmetry (latest session of each side)</h3>")
            parts.append(
                "<ul>"
                + "".join(
                    f"<li>{escape(c.metric)}: {escape(c.sentence())}</li>" for c in a.comparisons
                )
                + "</ul>"
            )
    return parts


def render_report(
    path: Path,
    session: FileSession,
    result: SessionAnalysis,
    doc: dict,
    history: list[HistoryRow] | None = None,
    notes: str | None = None,
    other_side: tuple[str, dict] | None = None,
) -> str:
    """The report page as a string. ``doc`` is the ``imuhip.analysis/2`` (or /1) document of
    ``result`` (:func:`imuhip.sinks.analysis_text.analysis_document`); ``history`` (rows of
    :func:`imuhip.sinks.history.scan`) adds a progress section: the sessions of the same
    exercise over time, and left/right asymmetry; ``other_side`` (file name, analysis
    document of the latest session of the other side) the two sides' rep peaks overlaid;
    ``notes`` (the user's own text, escaped, line breaks kept) a notes section under the
    header. A session of both legs shows each leg in turn, then their asymmetry."""
    h = session.header
    title = f"Hip rotation {h.side} {h.exercise} {format_created(h.created_utc)}"
    if h.extra.get("simulated"):
        title = "SIMULATED " + title
    parts = [
        "<!doctype html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<meta name='generator' content='imuhip {escape(__version__)}'>",
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        *_header(path, session, doc),
        *_notes(notes),
    ]
    if "legs" in doc:
        failed = {f.side: f.reason for f in result.failed_legs}
        for side in sorted({*failed, *(leg.side for leg in result.legs)}):
            parts.append(f"<h2 class='leg'>{escape(side.capitalize())} leg</h2>")
            if side in failed:  # a leg that could not be analysed: why
                parts.append(f"<p class='banner'>Not analysed: {escape(failed[side])}</p>")
                continue
            leg = next(x for x in result.legs if x.side == side)
            leg_doc = leg_view(doc, leg.side)
            parts += _leg_sections(leg, leg_doc)
            parts += _sets(leg_doc)
            parts += _calibration(leg, leg_doc)
        parts += _asymmetry(doc)
        parts += _together_sets(doc)
    else:
        parts += _leg_sections(result, doc)
        parts += _sets(doc)
        if history is not None:
            parts += _progress(path, session, history)
            parts += _left_right(session, doc, other_side)
        parts += _calibration(result, doc)
    parts += _health(session, result, doc)
    parts.append(
        f"<footer>imuhip {escape(__version__)} &middot; {escape(path.name)} &middot; "
        f"analysis schema {escape(doc['schema'])} &middot; angles in degrees of hip rotation "
        "(internal positive, 0 in the calibrated start pose), times in seconds on the "
        "recording's clock.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(p for p in parts if p)


def _cards(s: dict) -> str:
    """The summary cards (the stretch ones where the document has them)."""
    rows = [*SUMMARY_CARDS, *(STRETCH_CARDS if "stretch_count" in s else ())]
    return "".join(
        f"<div class='card'><span class='k'>{escape(label)}</span>"
        f"<span class='v' data-k='{key}'>{fmt(s[key], digits)}{unit if s[key] is not None else ''}"
        "</span></div>"
        for label, key, digits, unit in rows
    )


def _leg_sections(result: SessionAnalysis, doc: dict) -> list[str]:
    """One leg's summary cards, angle trace, reps, holds and stretches."""
    rep_rows = [
        [str(i), *(fmt(r[k], d) for _, k, d in REP_COLUMNS), escape(r.get("direction", "internal"))]
        for i, r in enumerate(doc["reps"], 1)
    ]
    parts = [
        f"<section class='cards' aria-label='summary'>{_cards(doc['summary'])}</section>",
        "<h2>Hip rotation over the session</h2>",
        _legend(doc),
        _trace(result, doc),
        f"<h2>Repetitions ({len(rep_rows)})</h2>",
    ]
    if rep_rows:
        last = len(REP_COLUMNS) + 1
        heads = ["#", *(c[0] for c in REP_COLUMNS), "direction"]
        parts.append(_table(heads, rep_rows, "reps", left=(last,)))
        parts += _rep_peaks(doc)
    else:
        parts.append("<p class='muted'>No repetitions.</p>")
    if doc["partial_reps"]:
        parts.append(
            "<p class='muted'>Not counted: "
            + "; ".join(
                f"{fmt(p['start_s'])} s ({escape(p['reason'])}, {fmt(p['range_deg'])}° range)"
                for p in doc["partial_reps"]
            )
            + "</p>"
        )
    return parts + _holds(doc) + _stretches(doc)


def _holds(doc: dict) -> list[str]:
    """The holds' table with what steadiness and effort mean."""
    rows = [
        [str(i), *(fmt(x[k], d) for _, k, d in HOLD_COLUMNS)] for i, x in enumerate(doc["holds"], 1)
    ]
    parts = [f"<h2>Holds ({len(rows)})</h2>"]
    if not rows:
        return [*parts, "<p class='muted'>No holds.</p>"]
    return [
        *parts,
        _table(["#", *(c[0] for c in HOLD_COLUMNS)], rows, "holds"),
        f"<p class='muted'>{escape(STEADINESS_NOTE)} {escape(EFFORT_NOTE)}</p>",
    ]


#: Columns of the asymmetry table: heading, rep pair key, digits.
ASYMMETRY_COLUMNS = (
    ("left peak s", "left_peak_s", 2),
    ("left range °", "left_range_deg", 1),
    ("right range °", "right_range_deg", 1),
    ("L - R °", "range_diff_deg", 1),
    ("index %", "range_index_pct", 0),
)


def _asymmetry(doc: dict) -> list[str]:
    """The two legs compared: rep pairs' range differences and holds' effort (both legs)."""
    a = doc.get("asymmetry")
    if not a:
        return []
    floor = a["noise_floor"]
    parts = [
        "<h2>Left / right asymmetry</h2>",
        "<p>Reps of the two legs done together, left minus right; index "
        "100·(L-R)/max(L,R). Over the session: range "
        f"<b data-k='mean_range_diff_deg'>{fmt(a['mean_range_diff_deg'])}°</b> "
        f"({fmt(a['range_index_pct'], 0)} %), hold effort "
        f"<b data-k='mean_effort_diff_db'>{fmt(a['mean_effort_diff_db'])} dB</b> "
        f"({fmt(a['effort_index_pct'], 0)} %).</p>",
    ]
    rows = [
        [*(fmt(p[k], d) for _, k, d in ASYMMETRY_COLUMNS), "yes" if p["within_noise"] else ""]
        for p in a["rep_pairs"]
    ]
    if rows:
        heads = [*(c[0] for c in ASYMMETRY_COLUMNS), "within noise"]
        parts.append(_table(heads, rows, "asymmetry"))
    parts.append(
        f"<p class='muted'>Noise floor: {fmt(floor['range_deg'])}° of range, "
        f"{fmt(floor['effort_db'])} dB of effort (SIMULATED); "
        f"{len(a['unpaired_left_reps'])} left and {len(a['unpaired_right_reps'])} right "
        "rep(s) had no partner in time.</p>"
    )
    return parts


def _stretches(doc: dict) -> list[str]:
    """The stretches' table (none for a document without stretches, ``imuhip.analysis/1``)."""
    if "stretches" not in doc:
        return []
    rows = [
        [str(i), *(fmt(x[k], d) for _, k, d in STRETCH_COLUMNS), escape(x["direction"])]
        for i, x in enumerate(doc["stretches"], 1)
    ]
    parts = [f"<h2>Stretches ({len(rows)})</h2>"]
    if not rows:
        return [*parts, "<p class='muted'>No stretches.</p>"]
    heads = ["#", *(c[0] for c in STRETCH_COLUMNS), "direction"]
    return [
        *parts,
        _table(heads, rows, "stretches", left=(len(heads) - 1,)),
        f"<p class='muted'>{escape(END_RANGE_NOTE)}</p>",
    ]


def _sets(doc: dict) -> list[str]:
    """The training sets (``imuhip train``) against their targets, when the session has any."""
    sets = doc.get("sets") or []
    if not sets:
        return []
    rows = []
    for i, x in enumerate(sets, 1):
        t, r = x["targets"], x["result"]
        units = (("hold_s", " s"), ("reps", " reps"), ("range_deg", "°"))
        target = ", ".join(f"{t[k]:g}{unit}" for k, unit in units if k in t)
        if x["kind"] == "reps":
            got = f"{r['reps']} reps"
        else:
            got = "no hold" if r["longest_hold_s"] is None else f"{fmt(r['longest_hold_s'])} s"
        if r["best_deg"] is not None:
            got += f", best {fmt(r['best_deg'])}°"
        rows.append([
            str(i), escape(f"{x['technique']} {_legs_label(x['side'])}"), escape(x["kind"]),
            f"{x['set']}/{x['of']}", f"{fmt(x['start_s'])}-{fmt(x['end_s'])}",
            escape(target or "-"), escape(got),
            ("✓" if r["met"] else "✗") + ("" if x["complete"] else " (not finished)"),
        ])  # fmt: skip
    met = sum(x["result"]["met"] for x in sets)
    headers = ["#", "exercise", "kind", "set", "window s", "target", "result", "met"]
    return [
        f"<h2>Training sets ({len(sets)}, {met} on target)</h2>",
        _table(headers, rows, "sets", left=(1, 2, 5, 6)),
        "<p class='muted'>Reps and holds inside each set's window, timed from the signal.</p>",
    ]


def _legs_label(side: str) -> str:
    """A set's side as the sets table shows it ("both": this leg's part of a together set)."""
    return "both legs (this leg)" if side == "both" else side


def _with_unit(x: float | None, unit: str) -> str:
    return fmt(x) if x is None else f"{fmt(x)}{unit}"


def _together_sets(doc: dict) -> list[str]:
    """The sets done by both legs together (a both-legs document's ``sets``): each leg's
    figure and their asymmetry."""
    rows = []
    for x in doc.get("sets") or []:
        if x.get("side") != "both" or not isinstance(x.get("per_leg"), dict):
            continue
        figs = []
        for side in ("left", "right"):
            r = x["per_leg"].get(side)
            if r is None:
                figs.append("-")
            elif x["kind"] == "reps":
                figs.append(f"{r['reps']} reps, best {fmt(r['best_deg'])}°")
            else:
                figs.append(f"{fmt(r['longest_hold_s'])} s")
        a = x.get("asymmetry") or {}
        rows.append([
            escape(x["technique"]), escape(x["kind"]), f"{x['set']}/{x['of']}",
            *(escape(f) for f in figs), _with_unit(a.get("mean_range_diff_deg"), "°"),
            _with_unit(a.get("mean_effort_diff_db"), " dB"), "✓" if x["result"]["met"] else "✗",
        ])  # fmt: skip
    if not rows:
        return []
    heads = ["exercise", "kind", "set", "left", "right", "range L-R", "effort L-R", "met"]
    return [
        "<h2>Sets of both legs together</h2>",
        _table(heads, rows, "together-sets", left=(0, 1, 3, 4)),
        "<p class='muted'>Each leg's reps and holds inside the set's window; left minus right "
        "over the set's paired reps and holds; met when both legs met the targets.</p>",
    ]


def write_report(out: str | os.PathLike[str], html: str) -> Path:
    """Write the page atomically."""
    out = Path(out)
    with atomic_write(out) as f:
        f.write(html)
    return out
