"""Whole-session entry points of the pipeline: a file's analysis and its replay."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from imuhip.align.aligner import feed_aligner
from imuhip.align.causal import CausalAligner
from imuhip.align.grid import StreamingGrid
from imuhip.align.offline import OfflineAligner
from imuhip.calibration_protocol import PHASE_EVENT, PHASES
from imuhip.errors import ImuhipError
from imuhip.files.session_file import SessionStream, stream_session
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.session_pipeline import (
    LEG_ROLES,
    Grid,
    Keep,
    SessionAnalysis,
    SessionPipeline,
)
from imuhip.samples import ImuSamples
from imuhip.session import (
    Event,
    SampleBlock,
    Session,
    SessionHeader,
    SessionInput,
    SessionSummary,
    session_inputs,
)

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
    return _analyze(
        session.header,
        session_inputs(session, as_arrived=aligner != "offline"),
        options,
        aligner,
        keep,
    )


@dataclass(frozen=True)
class FileAnalysis:
    """A session file's analysis (:func:`analyze_file`) and what reading the file found."""

    summary: SessionSummary
    analysis: SessionAnalysis


def analyze_file(
    path: str | os.PathLike[str],
    options: PipelineOptions | None = None,
    *,
    keep: Keep = Keep.ALL,
    on_read: Callable[[SessionSummary], None] | None = None,
) -> FileAnalysis:
    """The analysis of a session file streamed into the pipeline (offline aligner) as it is
    read (:func:`imuhip.files.session_file.stream_session`): the same result as
    :func:`analyze_session` of :func:`~imuhip.files.session_file.read_session`, without the
    session held in memory. ``on_read`` is called with what reading found once the file has
    been read, before the analysis finishes (so a command's warnings about the file come
    first even when the analysis fails).

    Raises:
        SessionFileError: not a session file, or its header is unreadable.
        CalibrationError, ImuhipError: as :func:`analyze_session`.
    """
    stream = stream_session(path)
    analysis = analyze_stream(stream, options, keep=keep, on_read=on_read)
    return FileAnalysis(stream.summary(), analysis)


def analyze_stream(
    stream: SessionStream,
    options: PipelineOptions | None = None,
    *,
    keep: Keep = Keep.ALL,
    on_read: Callable[[SessionSummary], None] | None = None,
) -> SessionAnalysis:
    """:func:`analyze_file` of a stream already opened (its header read): the analysis;
    what reading found is ``stream.summary()`` once it has been read to its end."""

    def read() -> Iterator[SessionInput]:
        yield from stream
        if on_read is not None:
            on_read(stream.summary())

    return _analyze(stream.header, read(), options, "offline", keep)


#: While being fed, the pipeline is advanced after every this many inputs (what the aligner
#: has released goes on through the stages).
ADVANCE_EVERY = 64


def _analyze(
    header: SessionHeader,
    items: Iterable[SessionInput],
    options: PipelineOptions | None,
    aligner: AlignerKind,
    keep: Keep,
) -> SessionAnalysis:
    """The one feeding loop of a whole session's analysis: ``items`` (arrival order for the
    causal aligner; each sensor's time order for the offline one) fed to the pipeline."""
    al: OfflineAligner | None = None
    if aligner == "offline":
        al = _file_aligner(header, keep_samples=bool(keep & Keep.SAMPLES))
        pipe = SessionPipeline(header, options, aligner=al, saved=True, keep=keep)
    else:
        pipe = make_pipeline(header, options, aligner, saved=True, keep=keep)
    for _ in _fed(items, pipe.feed, al):
        pipe.advance()
    pipe.finish()
    return pipe.analysis()


def _file_aligner(header: SessionHeader, *, keep_samples: bool) -> OfflineAligner:
    """The offline aligner a whole file is fed to, by the analysis and the per-sensor exports
    alike (so they time every sample the same), releasing pieces of ``ANALYSIS_PIECE_S``."""
    return OfflineAligner(header, release_s=ANALYSIS_PIECE_S, keep_samples=keep_samples)


def _fed(
    items: Iterable[SessionInput],
    feed: Callable[[SessionInput], object],
    offline: OfflineAligner | None,
) -> Iterator[None]:
    """Give ``items`` to ``feed`` one by one, pausing (yielding) whenever what was fed should go
    on (every ``ADVANCE_EVERY`` inputs, at the end, then once per piece an ``offline`` aligner
    releases after its flush): the one feeding loop of a whole file."""
    for k, item in enumerate(items, 1):
        feed(item)
        if k % ADVANCE_EVERY == 0:
            yield
    yield
    if offline is not None:
        offline.flush()
        while offline.release_next():
            yield


def aligned_samples(stream: SessionStream) -> Iterator[SampleBlock]:
    """Each sensor's merged samples (SI units, sensor frame) exactly as :func:`analyze_file`
    aligns them (the offline aligner, the file streamed), in the pieces the aligner releases:
    each sensor's in time order, none for a sensor without data. For the per-sensor exports
    of a long session, without the session or the analysis held in memory; what reading found
    is ``stream.summary()`` afterwards."""
    al = _file_aligner(stream.header, keep_samples=False)
    roles = stream.header.roles
    for _ in _fed(stream, lambda item: feed_aligner(al, item), al):
        for role in roles:
            s = al.take(role)
            if s is not None and len(s):
                yield SampleBlock(role, s)


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
    "FileAnalysis",
    "analyze_file",
    "analyze_session",
    "analyze_stream",
    "common_grid",
    "make_pipeline",
    "mark_sets",
]
