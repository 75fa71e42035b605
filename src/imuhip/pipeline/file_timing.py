"""A session file's sensors as the offline aligner puts them on the session time base, the
file streamed (what ``imuhip info`` shows): each sensor's stream figures and its sample times
summed up (count, effective rate, gaps), with no per-sample array kept, so the memory does
not grow with the session. Times in seconds on the session time base."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from imuhip.align.aligner import feed_aligner
from imuhip.align.offline import OfflineAligner
from imuhip.align.streams import SensorStream
from imuhip.files.session_file import stream_session
from imuhip.pipeline.analyze import ADVANCE_EVERY
from imuhip.pipeline.trace_envelope import SampleTimes, SampleTimesFeed
from imuhip.session import SessionSummary


@dataclass(frozen=True)
class FileTiming:
    """What :func:`file_timing` found.

    Attributes:
        summary: what reading the file found (header, events, time range, damage).
        streams: per role, the aligned stream's figures (decoder counters, timing, lost
            samples, segment starts, connection interval); its samples are empty.
        times: per role, its aligned sample times summed up.
    """

    summary: SessionSummary
    streams: dict[str, SensorStream]
    times: dict[str, SampleTimes]


def file_timing(
    path: str | os.PathLike[str], *, on_read: Callable[[SessionSummary], None] | None = None
) -> FileTiming:
    """Stream the session file at ``path`` through the offline aligner and sum up each
    sensor's sample times as they are released; ``on_read`` is called with what reading
    found once the file has been read, before the last of the alignment.

    Raises:
        SessionFileError: not a session file, or its header is unreadable.
    """
    stream = stream_session(path)
    aligner = OfflineAligner(stream.header, keep_samples=False)
    feeds = {s.role: SampleTimesFeed(s.rate_hz) for s in stream.header.sensors}

    def take() -> None:
        for role, feed in feeds.items():
            s = aligner.take(role)
            if s is not None:
                feed.add(s.t)

    for k, item in enumerate(stream, 1):
        feed_aligner(aligner, item)
        if k % ADVANCE_EVERY == 0:
            take()
    summary = stream.summary()
    if on_read is not None:
        on_read(summary)
    aligner.flush()
    take()
    return FileTiming(summary, aligner.streams(), {r: f.summary() for r, f in feeds.items()})
