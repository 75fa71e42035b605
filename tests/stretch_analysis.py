"""A shipped recording's analysis with hand-built stretches, external reps and a timeline
added (the detector that finds them is written elsewhere): input for the surfaces' tests."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from imuhip.analysis.events import Activity, ActivityKind, Direction, PartialRep, Rep, Stretch
from imuhip.files.session_file import read_session
from imuhip.pipeline import SessionAnalysis, analyze_session
from imuhip.session import DamagedRegion, Event, OrderIssue, OrderProblem, Session

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "recordings" / "prone-left-mixed-simulated.imuhip"

#: Two stretches: an internal one with overpressure, an external one without.
STRETCHES = (
    Stretch(100.0, 112.5, 30.25, 34.5, 6.0, 108.0, 4.25),
    Stretch(120.0, 128.0, -20.0, -24.5, 3.5, None, None, Direction.EXTERNAL),
)
EXTERNAL_REP = Rep(130.0, 131.0, 132.5, -25.0, 25.0, 0.25, Direction.EXTERNAL)


@cache
def shipped() -> tuple[Session, SessionAnalysis]:
    """The shipped mixed recording and its analysis (computed once per test process)."""
    session = read_session(SHIPPED)
    return session, analyze_session(session)


def timeline(result: SessionAnalysis) -> tuple[Activity, ...]:
    """A timeline over the analysed span: calibration, then rest, reps, holds and the
    stretches of :data:`STRETCHES` in order, a gap, and rest still open at the end."""
    ex = result.exercise
    items = [(r.start_s, r.end_s, ActivityKind.REP) for r in ex.reps]
    items += [(h.start_s, h.end_s, ActivityKind.HOLD) for h in ex.holds]
    items += [(s.start_s, s.end_s, ActivityKind.STRETCH) for s in STRETCHES]
    items += [(EXTERNAL_REP.start_s, EXTERNAL_REP.end_s, ActivityKind.REP)]
    items += [(140.0, 141.0, ActivityKind.GAP)]
    end_cal = result.calibration.phase_times["still_end"][1]
    # (an analysis that kept no per-sample arrays, as history's: from the calibration's start)
    t0 = (
        result.grid.t[0] if len(result.grid.t) else result.calibration.phase_times["still_start"][0]
    )
    out = [Activity(ActivityKind.CALIBRATION, float(t0), end_cal)]
    t = end_cal
    for a, b, kind in sorted(items):
        if a < t:  # overlaps what is drawn already (hand-built: keep the earlier)
            continue
        if a > t:
            out.append(Activity(ActivityKind.REST, t, a))
        out.append(Activity(kind, a, b))
        t = b
    out.append(Activity(ActivityKind.REST, t, None))
    return tuple(out)


def with_stretches(
    session: Session, result: SessionAnalysis, *, sets: bool = False, damage: bool = False
) -> tuple[Session, SessionAnalysis]:
    """``result`` with :data:`STRETCHES`, an external rep, an external partial rep and a
    timeline added; ``sets`` adds a recorded training set, ``damage`` a damaged region and
    an order issue to the file report (so every field of the document is present)."""
    ex = result.exercise
    partial = PartialRep(135.0, 135.5, 136.0, -6.0, 6.0, "below threshold", Direction.EXTERNAL)
    ex = replace(
        ex,
        reps=(*ex.reps, EXTERNAL_REP),
        partial_reps=(*ex.partial_reps, partial),
        stretches=STRETCHES,
        timeline=timeline(result),
    )
    result = replace(result, exercise=ex)
    if sets:
        targets = {"hold_s": 20.0, "reps": 1.0, "range_deg": 5.0}
        data = {"exercise": 0, "technique": "prone-active-ir", "side": "left", "kind": "hold",
                "set": 1, "of": 1, "targets": targets}  # fmt: skip
        events = (Event(28.0, "set_start", None, data), Event(130.0, "set_end", None, data))
        session = replace(session, events=(*session.events, *events))
    if damage:
        rep = replace(
            session.report,
            damaged=(DamagedRegion(1000, 20, "bad checksum"),),
            order=(OrderIssue(2000, "shin", 1.0, 2.0, OrderProblem.DUPLICATE),),
        )
        session = replace(session, report=rep)
    return session, result
