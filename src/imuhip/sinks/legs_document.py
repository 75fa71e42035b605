"""The analysis document of a session of both legs, and its one-leg views.

A both-legs document has the session's fields once (schema, exercise, span, sensor health,
file state, the session's own warnings) and, under ``legs``, one entry per leg with what a
one-leg document has at its top (``side``, ``calibration``, ``reps``, ``partial_reps``,
``holds``, ``stretches``, ``timeline``, ``summary``, ``warnings``, ``sets``), plus
``asymmetry`` (:mod:`imuhip.analysis.asymmetry`), and ``sets`` (a trained session's sets, each
set done by both legs together with its ``per_leg`` results and their asymmetry:
:func:`imuhip.sinks.training_sets.both_legs_sets`). Each entry's ``status`` says whether the leg
was analysed (``"analysed"``) or not (``"failed"``: only ``side``, ``status`` and ``error``, the
reason in plain words; the other legs stand alone). :func:`leg_view` gives back one leg as a
one-leg document, so every reader of one-leg documents (text, report, history) serves each leg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from imuhip.analysis.asymmetry import asymmetry
from imuhip.pipeline import SessionAnalysis
from imuhip.session import Session, SessionSummary, summary_of
from imuhip.sinks.training_sets import both_legs_sets

#: The order of the legs in a document.
SIDES = ("left", "right")
#: The fields of a one-leg document that belong to its leg.
LEG_FIELDS: tuple[str, ...] = (
    "calibration",
    "reps",
    "partial_reps",
    "holds",
    "stretches",
    "timeline",
    "summary",
    "warnings",
    "sets",
)

OneLegDocument = Callable[[Session | SessionSummary, SessionAnalysis], dict]

#: ``legs[].status`` of an analysed leg and of one that could not be analysed.
ANALYSED = "analysed"
FAILED = "failed"


def several_legs(result: SessionAnalysis) -> bool:
    """Whether ``result`` is of a session of several legs (analysed or not)."""
    return len(result.legs) + len(result.failed_legs) > 1


def leg_failed(doc: dict) -> bool:
    """Whether a leg entry (or :func:`leg_view`) is of a leg that could not be analysed."""
    return doc.get("status") == FAILED


def both_legs_document(
    session: Session | SessionSummary, result: SessionAnalysis, one_leg: OneLegDocument
) -> dict:
    """The document of a session of both legs; ``one_leg`` makes a one-leg document of one
    leg's analysis (:func:`imuhip.sinks.analysis_text.analysis_document`)."""
    session = summary_of(session)
    docs = [one_leg(session, leg) for leg in result.legs]
    first = docs[0]
    common = {k: v for k, v in first.items() if k not in LEG_FIELDS and k != "side"}
    shared = set(first["warnings"]).intersection(*(d["warnings"] for d in docs[1:]))
    legs = []
    for leg, doc in zip(result.legs, docs, strict=True):
        entry: dict[str, Any] = {"side": leg.side, "status": ANALYSED}
        for k in LEG_FIELDS:
            if k in doc:
                entry[k] = doc[k]
        entry["warnings"] = [w for w in doc["warnings"] if w not in shared]
        entry["sets"] = [
            s for s in doc.get("sets", []) if s.get("side") in (None, leg.side, "both")
        ]
        legs.append(entry)
    legs += [{"side": f.side, "status": FAILED, "error": f.reason} for f in result.failed_legs]
    legs.sort(key=lambda e: SIDES.index(e["side"]) if e["side"] in SIDES else len(SIDES))
    by_side = {leg.side: leg.exercise for leg in result.legs}
    left, right = by_side.get("left"), by_side.get("right")
    asym = None
    if left is not None and right is not None:
        asym = asymmetry(left.reps, right.reps, left.holds, right.holds).as_dict()
    sets, _ = both_legs_sets(session.events, by_side, session.time_range[1])
    return {
        "schema": first["schema"],
        "side": session.header.side,
        **{k: v for k, v in common.items() if k != "schema"},
        "warnings": [w for w in first["warnings"] if w in shared],
        "legs": legs,
        "asymmetry": asym,
        "sets": sets,
    }


def leg_view(doc: dict, side: str) -> dict:
    """Leg ``side`` of a both-legs document as a one-leg document (a one-leg document is
    returned as it is when it is of that side)."""
    if "legs" not in doc:
        if doc.get("side") != side:
            raise KeyError(f"this session has no {side} leg (it is of the {doc.get('side')} leg)")
        return doc
    for leg in doc["legs"]:
        if leg["side"] == side:
            common = {k: v for k, v in doc.items() if k not in ("legs", "asymmetry", "warnings")}
            mine = leg.get("warnings", [])
            return {**common, **leg, "warnings": [*doc["warnings"], *mine]}
    raise KeyError(f"this session has no {side} leg")


def leg_sides(doc: dict) -> list[str]:
    """The sides a document covers, in left, right order."""
    return [leg["side"] for leg in doc["legs"]] if "legs" in doc else [doc["side"]]


def asymmetry_text(doc: dict) -> list[str]:
    """The asymmetry lines of ``imuhip analyze``'s text output of a both-legs document."""
    a = doc.get("asymmetry")
    if not a:
        return []
    floor = a["noise_floor"]
    lines = ["", "left/right asymmetry (left minus right; index 100·(L-R)/max(L,R))"]
    if a["rep_pairs"]:
        lines.append(
            f"  reps paired {len(a['rep_pairs'])}: range {a['mean_range_diff_deg']:+.1f}° "
            f"({a['range_index_pct']:+.0f} %), noise floor {floor['range_deg']:g}°"
        )
        for p in a["rep_pairs"]:
            note = "  (within noise)" if p["within_noise"] else ""
            lines.append(
                f"    {p['left_peak_s']:7.1f} s  L {p['left_range_deg']:5.1f}°  "
                f"R {p['right_range_deg']:5.1f}°  {p['range_diff_deg']:+5.1f}°{note}"
            )
    unpaired = len(a["unpaired_left_reps"]) + len(a["unpaired_right_reps"])
    if unpaired:
        lines.append(
            f"  not paired: {len(a['unpaired_left_reps'])} left and "
            f"{len(a['unpaired_right_reps'])} right rep(s) with no partner in time"
        )
    if a["hold_pairs"]:
        effort = a["mean_effort_diff_db"]
        effort_text = (
            "-" if effort is None else f"{effort:+.1f} dB ({a['effort_index_pct']:+.0f} %)"
        )
        lines.append(
            f"  holds paired {len(a['hold_pairs'])}: effort {effort_text}, noise floor "
            f"{floor['effort_db']:g} dB"
        )
    return lines + together_sets_text(doc)


def together_sets_text(doc: dict) -> list[str]:
    """The lines of a both-legs document's sets done by both legs together: each leg's figure
    and their asymmetry."""
    lines = []
    for s in doc.get("sets") or []:
        if s.get("side") != "both" or not isinstance(s.get("per_leg"), dict):
            continue
        figs = []
        for side, r in s["per_leg"].items():
            if s["kind"] == "reps":
                best = "-" if r["best_deg"] is None else f"{r['best_deg']:.1f}°"
                figs.append(f"{side} {r['reps']} reps best {best}")
            else:
                held = r["longest_hold_s"]
                figs.append(f"{side} " + ("no hold" if held is None else f"hold {held:.1f} s"))
        a = s.get("asymmetry") or {}
        if a.get("mean_range_diff_deg") is not None:
            figs.append(f"range L-R {a['mean_range_diff_deg']:+.1f}°")
        if a.get("mean_effort_diff_db") is not None:
            figs.append(f"effort L-R {a['mean_effort_diff_db']:+.1f} dB")
        mark = "✓" if s["result"]["met"] else "✗"
        lines.append(
            f"  {mark} {s['technique']} both legs {s['kind']} set {s['set']}/{s['of']}  "
            + ", ".join(figs)
        )
    return ["", "sets of both legs together", *lines] if lines else []
