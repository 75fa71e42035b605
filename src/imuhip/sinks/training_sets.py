"""The training sets of a session (``imuhip train``'s ``set_start`` / ``set_end`` events) with
their targets and what the analysis found inside each set's window.

The reps and holds are those of the analysis (timed from the signal, not from the prompts): a
rep belongs to the set whose window holds its end (when it is counted, as the live coach
counts it), a hold to the set whose window holds its start (from :data:`HOLD_EARLY_S` before
the cue: a person may start as the cue begins). A set whose ``set_end`` is missing (a cut-off
file) ends at the next set's start or the session's end and is marked ``complete: false``.
Events whose data is not what ``imuhip train`` writes are skipped and counted in a warning,
never trusted.

A set done by both legs together (``side`` "both") is, in one leg's list, that leg's part of
it; a session of both legs also has :func:`both_legs_sets`: each together set with its
``per_leg`` results and the legs' ``asymmetry`` (:mod:`imuhip.analysis.asymmetry`), its own
``result`` being what both legs reached (fewer reps, shorter hold, smaller best peak; ``met``
when both met the targets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imuhip.analysis.asymmetry import asymmetry
from imuhip.analysis.exercise import ExerciseResult
from imuhip.session import Event
from imuhip.training.coach import HOLD_EARLY_S

#: Seconds after a set's end within which a rep's end still counts for it (the live coach
#: ends a set of reps when the last rep is counted, a step after the rep's end).
END_SLACK_S = 0.5
_MEASURES = ("hold_s", "reps", "range_deg")
_KINDS = ("reps", "hold", "stretch")


@dataclass(frozen=True)
class SetWindow:
    """One set as the file records it: its planned fields, window and targets."""

    start_s: float
    end_s: float
    complete: bool
    exercise: int
    technique: str
    side: str
    kind: str
    number: int
    of: int
    targets: dict[str, float]


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _window_fields(e: Event) -> dict[str, Any] | None:
    d = e.data
    if not isinstance(d, dict):
        return None
    ok = (
        isinstance(d.get("exercise"), int)
        and isinstance(d.get("technique"), str)
        and d.get("side") in ("left", "right", "both")
        and d.get("kind") in _KINDS
        and isinstance(d.get("set"), int)
        and isinstance(d.get("of"), int)
        and isinstance(d.get("targets"), dict)
        and all(k in _MEASURES and _num(v) for k, v in d["targets"].items())
    )
    return d if ok else None


def set_windows(events: Sequence[Event], t_end: float) -> tuple[list[SetWindow], int]:
    """The sets recorded in ``events`` (time order), each closed by its ``set_end``, else by
    the next set's start or ``t_end``; and how many set events were malformed (skipped)."""
    out: list[SetWindow] = []
    bad = 0
    open_: tuple[Event, dict[str, Any]] | None = None

    def close(end: float, complete: bool) -> None:
        e, d = open_  # type: ignore[misc]
        out.append(
            SetWindow(
                e.t, max(end, e.t), complete, d["exercise"], d["technique"], d["side"],
                d["kind"], d["set"], d["of"],
                {k: float(v) for k, v in d["targets"].items()},
            )
        )  # fmt: skip

    for e in events:
        if e.kind not in ("set_start", "set_end"):
            continue
        d = _window_fields(e)
        if d is None or not _num(e.t):
            bad += 1
            continue
        if e.kind == "set_start":
            if open_ is not None:
                close(e.t, False)
            open_ = (e, d)
        elif open_ is not None and (d["exercise"], d["set"], d["side"]) == (
            open_[1]["exercise"], open_[1]["set"], open_[1]["side"],
        ):  # fmt: skip
            close(e.t, True)
            open_ = None
        else:
            bad += 1  # an end without its start
    if open_ is not None:
        close(t_end, False)
    return out, bad


def _window_items(w: SetWindow, exercise: ExerciseResult) -> tuple[list, list, list]:
    """The reps, holds and stretches of ``exercise`` that belong to the set ``w``."""
    reps = [r for r in exercise.reps if w.start_s <= r.end_s <= w.end_s + END_SLACK_S]
    holds = [h for h in exercise.holds if w.start_s - HOLD_EARLY_S <= h.start_s <= w.end_s]
    stretches = [x for x in exercise.stretches if w.start_s - HOLD_EARLY_S <= x.start_s <= w.end_s]
    return reps, holds, stretches


def _result(w: SetWindow, exercise: ExerciseResult) -> dict[str, Any]:
    """What one leg got in the set ``w`` (the ``result`` object)."""
    reps, holds, stretches = _window_items(w, exercise)
    timed = [*holds, *stretches]
    longest = max((h.duration_s for h in timed), default=None)
    best = max([r.peak_deg for r in reps] + [h.mean_deg for h in timed], default=None)
    t = w.targets
    if w.kind == "reps":
        met = bool(reps) and len(reps) >= t.get("reps", 0)
    else:
        met = longest is not None and longest >= t.get("hold_s", 0.0) - 0.5
    if "range_deg" in t:
        met = met and best is not None and best >= t["range_deg"]
    return {
        "reps": len(reps),
        "rep_peaks_deg": [round(r.peak_deg, 2) for r in reps],
        "holds": [
            {
                "start_s": round(h.start_s, 3),
                "duration_s": round(h.duration_s, 3),
                "mean_deg": round(h.mean_deg, 2),
            }
            for h in holds
        ],
        "stretches": [
            {
                "start_s": round(x.start_s, 3),
                "duration_s": round(x.duration_s, 3),
                "mean_deg": round(x.mean_deg, 2),
                "max_deg": round(x.max_deg, 2),
            }
            for x in stretches
        ],
        "longest_hold_s": None if longest is None else round(longest, 3),
        "best_deg": None if best is None else round(best, 2),
        "met": met,
    }


def _entry(w: SetWindow, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "start_s": round(w.start_s, 3),
        "end_s": round(w.end_s, 3),
        "complete": w.complete,
        "exercise": w.exercise,
        "technique": w.technique,
        "side": w.side,
        "kind": w.kind,
        "set": w.number,
        "of": w.of,
        "targets": w.targets,
        "result": result,
    }


def _warnings(bad: int) -> list[str]:
    return [f"{bad} training set event(s) with unexpected data were ignored"] if bad else []


def training_sets(
    events: Sequence[Event], exercise: ExerciseResult, t_end: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``sets`` list of the analysis document (of one leg: ``exercise``) and warnings
    about the set events.

    Each set: its window (``start_s``, ``end_s``, ``complete``), ``exercise``, ``technique``,
    ``side`` ("both": a together set, this leg's part of it), ``kind``, ``set``, ``of``,
    ``targets`` (``hold_s`` s, ``reps``, ``range_deg`` degrees), and ``result``: ``reps``
    (count), ``rep_peaks_deg``, ``best_deg`` (largest rep peak or hold or stretch mean angle,
    degrees), ``holds`` (each hold's start_s, duration_s, mean_deg), ``stretches`` (each
    stretch's start_s, duration_s, mean_deg, max_deg), ``longest_hold_s`` (the longest hold or
    stretch: a timed set counts either), ``met`` (every target reached)."""
    windows, bad = set_windows(events, t_end)
    return [_entry(w, _result(w, exercise)) for w in windows], _warnings(bad)


def _weakest(values: list[Any]) -> Any:
    return None if any(v is None for v in values) else min(values)


def both_legs_sets(
    events: Sequence[Event], exercises: Mapping[str, ExerciseResult], t_end: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``sets`` of a session of both legs (``exercises`` by side): a one-leg set with
    its leg's result, a together set (``side`` "both") with ``per_leg`` (each leg's result)
    and ``asymmetry`` (left minus right: ``mean_range_diff_deg``, ``range_index_pct`` of the
    set's paired reps, ``mean_effort_diff_db``, ``effort_index_pct`` of its paired holds;
    None without pairs), its ``result`` what both reached: ``reps`` the fewer,
    ``longest_hold_s`` and ``best_deg`` the smaller, ``met`` both."""
    windows, bad = set_windows(events, t_end)
    out = []
    for w in windows:
        if w.side != "both":
            if w.side in exercises:
                out.append(_entry(w, _result(w, exercises[w.side])))
            continue
        per_leg = {side: _result(w, ex) for side, ex in exercises.items()}
        rs = list(per_leg.values())
        result = {
            "reps": min(r["reps"] for r in rs),
            "longest_hold_s": _weakest([r["longest_hold_s"] for r in rs]),
            "best_deg": _weakest([r["best_deg"] for r in rs]),
            "met": all(r["met"] for r in rs),
        }
        entry = {**_entry(w, result), "per_leg": per_leg, "asymmetry": None}
        if "left" in exercises and "right" in exercises:
            (lr, lh, _), (rr, rh, _) = (_window_items(w, exercises[s]) for s in ("left", "right"))
            a = asymmetry(lr, rr, lh, rh).as_dict()
            entry["asymmetry"] = {k: a[k] for k in ASYMMETRY_FIELDS}
        out.append(entry)
    return out, _warnings(bad)


#: The asymmetry figures of a together set.
ASYMMETRY_FIELDS = ("mean_range_diff_deg", "range_index_pct", "mean_effort_diff_db",
                    "effort_index_pct")  # fmt: skip


def sets_text(sets: Sequence[dict[str, Any]]) -> list[str]:
    """The sets as lines of ``imuhip analyze``'s text output."""
    if not sets:
        return []
    lines = ["", f"training sets  {len(sets)}"]
    for s in sets:
        r, t = s["result"], s["targets"]
        if s["kind"] == "reps":
            got = f"{r['reps']} reps" + (f" / {t['reps']:g}" if "reps" in t else "")
        else:
            held = r["longest_hold_s"]
            got = ("no hold" if held is None else f"hold {held:.1f} s") + (
                f" / {t['hold_s']:g} s" if "hold_s" in t else ""
            )
        if "range_deg" in t:
            best = "-" if r["best_deg"] is None else f"{r['best_deg']:.1f}°"
            got += f", best {best} / {t['range_deg']:g}°"
        mark = "✓" if r["met"] else "✗"
        cut = "" if s["complete"] else " (not finished)"
        lines.append(
            f"  {mark} {s['technique']} {s['side']} {s['kind']} set {s['set']}/{s['of']}  "
            f"{s['start_s']:7.1f}-{s['end_s']:7.1f} s  {got}{cut}"
        )
    return lines
