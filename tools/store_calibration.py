"""Store the calibration a live session would have stored, in sessions written without one.

    python tools/store_calibration.py recordings/*.imuhip

``record`` and ``live`` write a ``calibration`` event when their live analysis calibrates, so
that an analysis of the file whose calibration window was damaged can still use it. Files made
by the simulator (the shipped recordings) have none; this replays each through the session
pipeline as it ran live (causal aligner, as received) and writes the file back with that event
added (atomically, in place; every other byte of content kept). Files that are not intact, or
that already hold such an event, are left as they are.
"""

from __future__ import annotations

import sys

from imuhip.calibration_protocol import CALIBRATION_EVENT
from imuhip.files.session_file import read_session, write_session
from imuhip.live.replay import replay
from imuhip.pipeline import SessionPipeline
from imuhip.session import session_inputs


def store(path: str) -> str:
    """Add the live calibration event to ``path``; what was done, in words."""
    session = read_session(path)
    if not session.report.ok:
        return "not intact, left as it is"
    if any(e.kind == CALIBRATION_EVENT for e in session.events):
        return "already holds a calibration event"
    live = SessionPipeline(session.header)
    replay(session_inputs(session), live)
    live.finish()
    stored = [e for e in live.outbox if e.kind == CALIBRATION_EVENT]
    if not stored:
        return f"the live analysis did not calibrate ({live.state.message})"
    write_session(
        path,
        session.header,
        samples=session.samples,
        notifications=session.notifications,
        events=sorted((*session.events, stored[-1]), key=lambda e: e.t),
        overwrite=True,
    )
    return f"calibration event at {stored[-1].t:.2f} s added"


def main(paths: list[str]) -> None:
    for p in paths:
        print(f"{p}: {store(p)}")


if __name__ == "__main__":
    main(sys.argv[1:])
