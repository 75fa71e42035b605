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
    t0, t_end = input_time(items[0]), input_time(items[-1])
    wall0 = clock()
    # one item read ahead: nothing is held per input (a long session's inputs are made as read)
    rest = iter(items)
    it: SessionInput | None = next(rest, None)
    step_end = t0 + step_s
    while it is not None:
        events: list[Event] = []
        while it is not None and input_time(it) < step_end:
            pipeline.feed(it)
            if isinstance(it, Event):
                events.append(it)
            it = next(rest, None)
        if speed:
            wait = (step_end - t0) / speed - (clock() - wall0)
            if wait > 0:
                sleep(wait)
        evs = pipeline.advance()
        if on_step is not None and on_step(min(step_end, t_end), evs, events):
            return
        step_end += step_s
