"""``imuhip report``: one self-contained HTML page per session (no scripts, no external files)."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from imuhip import __version__
from imuhip.align.gaps import stream_health
from imuhip.pipeline import SessionAnalysis
from imuhip.session import Session
from imuhip.sinks.svg import line_chart

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1000px;color:#222;padding:0 12px}
h1{font-size:1.5em;margin-bottom:0}
h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
.sub{color:#666;margin-top:4px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:1.6em}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;text-align:right;border-bottom:1px solid #eee}th{background:#f5f5f5}
.warn{color:#a15c00}.legend span{margin-right:16px}.sim{background:#fff4d6;padding:6px 10px;
border-radius:6px}
"""


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _f(x: float | None, digits: int = 1) -> str:
    return "&ndash;" if x is None else f"{x:.{digits}f}"


def render_report(path: Path, session: Session, result: SessionAnalysis, doc: dict) -> str:
    """The report page as a string. ``doc`` is the ``imuhip.analysis/1`` document."""
    h = session.header
    s = doc["summary"]
    ex = result.exercise
    g = result.grid
    spans = [
        (r.start_s, r.end_s, "#2e86de", f"rep {i}: {r.peak_deg:.1f}°")
        for i, r in enumerate(ex.reps, 1)
    ]
    spans += [
        (x.start_s, x.end_s, "#27ae60", f"hold {i}: {x.duration_s:.1f} s")
        for i, x in enumerate(ex.holds, 1)
    ]
    c = result.calibration.phase_times
    spans.append((c["still_start"][0], c["still_end"][1], "#999", "calibration"))
    markers = [
        (r.peak_s, r.peak_deg, f"rep {i} peak {r.peak_deg:.1f}°") for i, r in enumerate(ex.reps, 1)
    ]
    chart = line_chart(
        g.t,
        result.hip_rotation_deg,
        y_label="hip rotation (°, internal +)",
        spans=spans,
        markers=markers,
    )
    sim_note = ""
    if h.extra.get("simulated") or h.time_base == "simulated":
        sim_note = '<p class="sim">This session is <b>simulated</b> data, not a real leg.</p>'
    cards = [
        ("reps", str(s["rep_count"])),
        ("max rotation", f"{_f(s['max_rotation_deg'])}°"),
        ("mean peak", f"{_f(s['mean_peak_deg'])}°"),
        ("holds", str(s["hold_count"])),
        ("longest hold", f"{_f(s['longest_hold_s'])} s"),
        ("total hold", f"{_f(s['total_hold_s'])} s"),
    ]
    rep_rows = [
        [
            str(i),
            _f(r["start_s"], 2),
            _f(r["peak_s"], 2),
            _f(r["end_s"], 2),
            _f(r["peak_deg"]),
            _f(r["range_deg"]),
            _f(r["duration_s"], 2),
        ]
        for i, r in enumerate(doc["reps"], 1)
    ]
    hold_rows = [
        [
            str(i),
            _f(x["start_s"], 2),
            _f(x["end_s"], 2),
            _f(x["duration_s"], 2),
            _f(x["mean_deg"]),
            _f(x["steadiness_deg"], 2),
            _f(x["effort_index"]),
        ]
        for i, x in enumerate(doc["holds"], 1)
    ]
    q = doc["calibration"]["quality"]
    cal_rows = [[escape(k.replace("_", " ")), _f(v, 3)] for k, v in q.items()]
    health_rows = []
    for info in h.sensors:
        st = result.streams[info.role]
        hl = stream_health(st.samples.t, info.rate_hz, st.segment_starts_s)
        health_rows.append(
            [
                escape(info.role),
                escape(info.profile),
                escape(info.address) or "&ndash;",
                str(hl.count),
                f"{hl.effective_rate_hz:.1f}",
                str(len(hl.gaps)),
                str(hl.missing),
                str(st.stats.dropped if st.stats else 0),
            ]
        )
    lost = [e for e in session.events if e.kind in ("connection_lost", "connection_restored")]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>imuhip report &ndash; {escape(path.name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Hip rotation &ndash; {escape(h.side)} leg, {escape(h.exercise)}</h1>",
        f"<p class='sub'>{escape(path.name)} · {escape(h.created_utc or '')} · "
        f"{doc['duration_s']:.1f} s · imuhip {escape(__version__)}</p>",
        sim_note,
        "<div class='cards'>"
        + "".join(
            f"<div class='card' data-k='{escape(k)}'>{escape(k)}<b>{escape(v)}</b></div>"
            for k, v in cards
        )
        + "</div>",
        "<h2>Hip rotation</h2>",
        "<p class='legend'><span>blue: reps</span><span>green: holds</span>"
        "<span>grey: calibration</span><span>red dots: rep peaks</span></p>",
        chart,
        f"<h2>Repetitions ({len(rep_rows)})</h2>",
        _table(
            ["#", "start s", "peak s", "end s", "peak °", "range °", "duration s"], rep_rows, "reps"
        )
        if rep_rows
        else "<p>No repetitions.</p>",
    ]
    if doc["partial_reps"]:
        parts.append(
            "<p>Not counted: "
            + ", ".join(
                f"{p['start_s']:.1f} s ({escape(p['reason'])}, {p['range_deg']:.1f}°)"
                for p in doc["partial_reps"]
            )
            + "</p>"
        )
    parts += [
        f"<h2>Holds ({len(hold_rows)})</h2>",
        _table(
            ["#", "start s", "end s", "duration s", "mean °", "steadiness °", "effort dB"],
            hold_rows,
            "holds",
        )
        if hold_rows
        else "<p>No holds.</p>",
        "<h2>Calibration</h2>",
        _table(["measure", "value"], cal_rows, "calibration"),
    ]
    parts += [f"<p class='warn'>⚠ {escape(w)}</p>" for w in doc["calibration"]["warnings"]]
    parts += [
        "<h2>Sensor health</h2>",
        _table(
            ["role", "profile", "address", "samples", "rate Hz", "gaps", "missing", "dropped"],
            health_rows,
            "health",
        ),
    ]
    if lost:
        parts.append(
            "<p>"
            + "; ".join(
                f"{e.t:.1f} s {escape(e.kind.replace('_', ' '))} ({escape(e.sensor or '')})"
                for e in lost
            )
            + "</p>"
        )
    if not session.report.ok:
        parts += [f"<p class='warn'>⚠ {escape(m)}</p>" for m in session.report.messages()]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: str | os.PathLike[str], html: str) -> Path:
    """Write the page atomically."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
