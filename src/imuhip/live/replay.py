"""Drive a session pipeline from a session's inputs in time order, optionally paced."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from imuhip.analysis.events import AnalysisEvent
from imuhip.pipeline import SessionPipeline
from imuhip.session import Event, SessionInput, input_time


def replay(
    items: Sequence[SessionInput],
    pipeline: SessionPipeline,
    *,
    speed: float | None = None,
    step_s: float = 0.1,
    on_step: Callable[[float, list[AnalysisEvent], list[Event]], bool | None] | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Feed ``items`` (in arrival order, :func:`imuhip.session.session_inputs`) to
    ``pipeline`` in steps of ``step_s`` of session time.

    ``speed`` paces the steps against ``clock`` (1 = real time, 10 = ten times faster, None =
    as fast as possible). After each step ``on_step(t, analysis events, session events)`` is
    called (``t`` the session time reached); it may return True to stop early. The pipeline is
    not finished here.
    """
    if not items:
        return
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    times = [input_time(it) for it in items]
    t0, t_end = times[0], times[-1]
    wall0 = clock()
    i = 0
    n = len(items)
    step_end = t0 + step_s
    while i < n:
        events: list[Event] = []
        while i < n and times[i] < step_end:
            it = items[i]
            pipeline.feed(it)
            if isinstance(it, Event):
                events.append(it)
            i += 1
        if speed:
            wait = (step_end - t0) / speed - (clock() - wall0)
            if wait > 0:
                sleep(wait)
        evs = pipeline.advance()
        if on_step is not None and on_step(min(step_end, t_end), evs, events):
            return
        step_end += step_s
