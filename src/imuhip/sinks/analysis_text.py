"""What ``imuhip analyze`` prints: one JSON document, or a readable summary."""

from __future__ import annotations

import math
from pathlib import Path

from imuhip.analysis.events import END_RANGE_DEG, Direction
from imuhip.files.session_file import vendor_orientation_roles
from imuhip.pipeline import SessionAnalysis
from imuhip.session import Session, SessionSummary, summary_of
from imuhip.sinks.legs_document import (
    asymmetry_text,
    both_legs_document,
    leg_failed,
    leg_sides,
    leg_view,
    several_legs,
)
from imuhip.sinks.training_sets import sets_text, training_sets

SCHEMA = "imuhip.analysis/2"
#: Every analysis schema the readers of a saved document (report, history, tests) accept:
#: /2 adds ``stretches``, ``timeline``, ``direction`` on reps and the stretch summary fields
#: to /1 without changing what /1's fields mean.
SCHEMAS = ("imuhip.analysis/1", SCHEMA)

#: What a hold's steadiness and effort figures mean (the text output and the report).
STEADINESS_NOTE = "Steadiness: standard deviation of the angle during the hold."
EFFORT_NOTE = (
    "Effort: shin tremor power in the hold against rest, in dB (0 = like resting; pushing "
    "against a band typically gives 10 dB and more)."
)

END_RANGE_NOTE = (
    f"End range: time within {END_RANGE_DEG:g}° of the stretch's farthest angle; overpressure: "
    "pushed further at the end (a hand or the other foot), and how much further."
)
EXTERNAL = str(Direction.EXTERNAL)


def analysis_document(session: Session | SessionSummary, result: SessionAnalysis) -> dict:
    """The analysis document: of one leg (below), or of both legs
    (:func:`imuhip.sinks.legs_document.both_legs_document`: the session's fields once, each
    leg's under ``legs``, and their ``asymmetry``). ``session``: the session, or what a
    streaming read found of it (:class:`imuhip.session.SessionSummary`)."""
    session = summary_of(session)
    if several_legs(result):
        return both_legs_document(session, result, one_leg_document)
    return one_leg_document(session, result)


def one_leg_document(session: Session | SessionSummary, result: SessionAnalysis) -> dict:
    """The ``imuhip.analysis/2`` JSON object of one leg, every field described in
    ``docs/analysis-schema.md`` (times in seconds on the session's time base, the one the live
    view, replay, the report and the exports show; angles in degrees): ``duration_s`` is the
    span of the data, ``data_s`` its first and last sample's time; ``hip_reference`` says what
    the hip angle is relative to ("pelvis sensor": corrected by the pelvis's obliquity; "start
    pose": the femur relative to the start pose, including any movement of the pelvis);
    ``file`` is what reading the file found (:meth:`imuhip.session.ReadReport.as_dict`:
    damage, lost tail, records out of order); ``stretches`` and ``timeline`` are the
    detector's."""
    session = summary_of(session)
    t0, t1 = session.time_range
    ex = result.exercise
    drops = {
        role: {"dropped": s.stats.dropped, "lost_samples": s.stats.lost_samples}
        for role, s in result.streams.items()
        if s.stats is not None
    }
    sets, set_warnings = training_sets(session.events, ex, t1)
    return {
        "schema": SCHEMA,
        "side": session.header.side,
        "exercise": session.header.exercise,
        "duration_s": round(t1 - t0, 3),
        "data_s": [round(t0, 3), round(t1, 3)],
        "calibration": result.calibration.summary(),
        "hip_reference": result.hip_reference,
        "reps": [r.as_dict() for r in ex.reps],
        "partial_reps": [p.as_dict() for p in ex.partial_reps],
        "holds": [h.as_dict() for h in ex.holds],
        "stretches": [x.as_dict() for x in ex.stretches],
        "timeline": [a.as_dict() for a in ex.timeline],
        "summary": ex.summary(),
        "sensor_health": drops,
        "orientation_source": {  # "vendor": an orientation-only import, no fusion by imuhip
            s.role: "vendor" if s.role in vendor_orientation_roles(session.header) else "fused"
            for s in session.header.sensors
        },
        "warnings": [*result.warnings, *set_warnings],
        "file": session.report.as_dict(),
        "sets": sets,
    }


def data_span_text(t0: float, t1: float) -> str:
    """How long the data lasts and when, on the session's time base: "66.9 s of data
    (1.7-68.6 s)" (the live summary and ``analyze`` say it alike). The times are first rounded
    to the millisecond, as the analysis document's ``data_s`` holds them, so the text is the
    same from the file's times as from the document's (rounding 4.0496 to 0.1 s gives 4.0, but
    4.05 from the document gives 4.1)."""
    t0, t1 = round(t0, 3), round(t1, 3)
    return f"{t1 - t0:.1f} s of data ({t0:.1f}-{t1:.1f} s)"


def _fmt(x: float | None, unit: str = "", digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}{unit}"


def stretches_text(doc: dict) -> list[str]:
    """The stretches' lines of :func:`analysis_text` (none for a /1 document)."""
    if "stretches" not in doc:
        return []
    s = doc["summary"]
    out = [
        "",
        f"stretches  {s['stretch_count']}   longest {_fmt(s['longest_stretch_s'], ' s')}   "
        f"farthest {_fmt(s['max_stretch_deg'], '°')}",
    ]
    if doc["stretches"]:
        out.append(
            "   #   start s    end s  duration s   mean °    max °  end range s  overpressure"
        )
        for i, x in enumerate(doc["stretches"], 1):
            over = (
                "-"
                if x["overpressure_start_s"] is None
                else f"from {x['overpressure_start_s']:.1f} s, "
                f"+{_fmt(x['overpressure_gain_deg'], '°')}"
            )
            out.append(
                f"  {i:2d}  {x['start_s']:8.2f} {x['end_s']:8.2f} {x['duration_s']:11.2f}"
                f" {x['mean_deg']:8.1f} {x['max_deg']:8.1f} {x['time_at_end_range_s']:12.2f}"
                f"  {over}" + ("  ext" if x["direction"] == EXTERNAL else "")
            )
        out.append(f"  {END_RANGE_NOTE}")
    return out


def analysis_text(path: Path, doc: dict) -> str:
    """Readable summary of :func:`analysis_document`'s output (each leg in turn, then their
    asymmetry, for a session of both legs)."""
    if "legs" not in doc:
        return one_leg_text(path, doc)
    lines = [f"{path.name}: both legs, {doc['exercise']}, {data_span_text(*doc['data_s'])}"]
    lines += [f"warning: {w}" for w in doc.get("warnings", [])]
    for side in leg_sides(doc):
        leg = leg_view(doc, side)
        if leg_failed(leg):
            lines += ["", f"== {side} leg ==", f"not analysed: {leg['error']}"]
            continue
        leg["warnings"] = [w for w in leg["warnings"] if w not in doc.get("warnings", [])]
        lines += ["", f"== {side} leg ==", *one_leg_text(path, leg).splitlines()[1:]]
    lines += asymmetry_text(doc)
    return "\n".join(lines)


def one_leg_text(path: Path, doc: dict) -> str:
    """Readable summary of a one-leg document."""
    s = doc["summary"]
    cal = doc["calibration"]
    lines = [
        f"{path.name}: {doc['side']} leg, {doc['exercise']}, {data_span_text(*doc['data_s'])}",
        "",
        f"calibration  bends {cal['phases']['bends'][0]:.1f}-{cal['phases']['bends'][1]:.1f} s, "
        f"rocks {cal['phases']['rocks'][0]:.1f}-{cal['phases']['rocks'][1]:.1f} s, "
        f"ready at {cal['phases']['still_end'][1]:.1f} s",
    ]
    lines += [f"  warning: {w}" for w in cal["warnings"]]
    lines += [f"warning: {w}" for w in doc.get("warnings", [])]
    lines += [
        "",
        f"reps   {s['rep_count']}   max rotation {_fmt(s['max_rotation_deg'], '°')}   "
        f"mean peak {_fmt(s['mean_peak_deg'], '°')}",
    ]
    external = s.get("external_rep_count") or 0
    if external:
        lines[-1] += f"   ({external} into external rotation, marked ext)"
    if doc["reps"]:
        lines.append("   #   start s   peak s    end s   peak °  range °  duration s")
        for i, r in enumerate(doc["reps"], 1):
            lines.append(
                f"  {i:2d}  {r['start_s']:8.2f} {r['peak_s']:8.2f} {r['end_s']:8.2f}"
                f" {r['peak_deg']:8.1f} {r['range_deg']:8.1f} {r['duration_s']:11.2f}"
                + ("  ext" if r.get("direction") == EXTERNAL else "")
            )
    if doc["partial_reps"]:
        lines.append(
            f"  not counted: {len(doc['partial_reps'])} partial rep(s): "
            + ", ".join(
                f"{p['start_s']:.1f} s ({p['reason']}, {p['range_deg']:.1f}°)"
                for p in doc["partial_reps"]
            )
        )
    lines += [
        "",
        f"holds  {s['hold_count']}   total {_fmt(s['total_hold_s'], ' s')}   "
        f"longest {_fmt(s['longest_hold_s'], ' s')}",
    ]
    if doc["holds"]:
        lines.append("   #   start s    end s  duration s   mean °  steadiness °  effort dB")
        for i, h in enumerate(doc["holds"], 1):
            lines.append(
                f"  {i:2d}  {h['start_s']:8.2f} {h['end_s']:8.2f} {h['duration_s']:11.2f}"
                f" {h['mean_deg']:8.1f} {h['steadiness_deg']:13.2f}  {_fmt(h['effort_index'])}"
            )
        lines += [f"  {STEADINESS_NOTE}", f"  {EFFORT_NOTE}"]
    lines += stretches_text(doc)
    lines += sets_text(doc.get("sets", []))
    return "\n".join(lines)
