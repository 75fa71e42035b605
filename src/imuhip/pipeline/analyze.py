"""Whole-session entry points of the pipeline: a file's analysis and its replay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from imuhip.align.causal import CausalAligner
from imuhip.align.grid import StreamingGrid
from imuhip.align.offline import OfflineAligner
from imuhip.calibration_protocol import PHASE_EVENT, PHASES
from imuhip.errors import ImuhipError
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.session_pipeline import (
    LEG_ROLES,
    Grid,
    Keep,
    SessionAnalysis,
    SessionPipeline,
)
from imuhip.samples import ImuSamples
from imuhip.session import Event, Session, SessionHeader, session_inputs

#: How a session's sample times are found: with the whole session in view, or causally.
AlignerKind = Literal["offline", "causal"]

#: The offline analysis runs the stages after the aligner on pieces of this many seconds of
#: data (the result does not depend on it; the memory they hold does).
ANALYSIS_PIECE_S = 60.0


def make_pipeline(
    header: SessionHeader,
    options: PipelineOptions | None = None,
    aligner: AlignerKind = "offline",
    **kw,
) -> SessionPipeline:
    """A :class:`SessionPipeline` with the named alignment strategy (``kw``: the pipeline's
    keyword arguments; the aligner keeps its samples for the analysis's streams only where
    ``keep`` asks for the samples)."""
    keep = kw.get("keep", True)
    samples = keep is True or (keep is not False and bool(keep & Keep.SAMPLES))
    if aligner == "offline":
        al = OfflineAligner(header, keep_samples=samples)
        return SessionPipeline(header, options, aligner=al, **kw)
    if aligner == "causal":
        return SessionPipeline(header, options, aligner=CausalAligner(header, keep=samples), **kw)
    raise ImuhipError(f"unknown aligner {aligner!r}: 'offline' or 'causal'")


def analyze_session(
    session: Session,
    options: PipelineOptions | None = None,
    aligner: AlignerKind = "offline",
    *,
    keep: Keep = Keep.ALL,
) -> SessionAnalysis:
    """Run the session pipeline over a whole session read into memory.

    ``keep``: what the analysis keeps of every grid point (:class:`Keep`; ``Keep.EVENTS`` for
    a summary of a long session: reps, holds, calibration, warnings). With the offline aligner
    the stages after it run on pieces of ``ANALYSIS_PIECE_S`` of data, so what they hold
    does not grow with the session beyond what ``keep`` asks for.

    Raises:
        CalibrationError: no calibration could be made (what was missing or refused).
        ImuhipError: the thigh or shin data is missing or they never overlap.
    """
    header = session.header
    if aligner == "offline":
        al = OfflineAligner(
            header, release_s=ANALYSIS_PIECE_S, keep_samples=bool(keep & Keep.SAMPLES)
        )
        pipe = SessionPipeline(header, options, aligner=al, saved=True, keep=keep)
        for item in session_inputs(session, as_arrived=False):
            pipe.feed(item)
        al.flush()
        while al.release_next():
            pipe.advance()
    else:
        pipe = make_pipeline(header, options, aligner, saved=True, keep=keep)
        pipe.feed_all(session_inputs(session, as_arrived=True))
    pipe.finish()
    return pipe.analysis()


def common_grid(thigh: ImuSamples, shin: ImuSamples, rate_hz: float) -> Grid:
    """Both sensors' whole streams on one grid (:class:`~imuhip.align.grid.StreamingGrid`
    fed at once)."""
    g = StreamingGrid(LEG_ROLES, rate_hz)
    g.add("thigh", thigh)
    g.add("shin", shin)
    chunk = g.emit()
    g.check_overlap()
    assert chunk is not None
    return Grid(
        chunk.t, rate_hz, chunk.samples["thigh"], chunk.samples["shin"], chunk.valid, chunk.lost
    )


def mark_sets(events: Iterable[Event]) -> list[dict[str, float]]:
    """The calibration phase marks of live guidance, one dict (phase -> start time, s) per
    attempt: each ``still_start`` mark begins a new attempt."""
    sets: list[dict[str, float]] = []
    for e in sorted(
        (e for e in events if e.kind == PHASE_EVENT and e.data.get("phase")), key=lambda e: e.t
    ):
        phase = str(e.data["phase"])
        if not sets or (phase == PHASES[0] and sets[-1]):
            sets.append({})
        sets[-1][phase] = float(e.t)
    return sets


__all__ = [
    "ANALYSIS_PIECE_S",
    "AlignerKind",
    "analyze_session",
    "common_grid",
    "make_pipeline",
    "mark_sets",
]
