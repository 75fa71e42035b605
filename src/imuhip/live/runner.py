"""The live session loop shared by ``imuhip record``, ``live`` and ``demo``.

    sensors --bleak (OS stack or bumble)--> ConnectionManager --> notification sink
        sink --> WriterThread --> SessionWriter (raw notifications and events, crash-safe)
        sink --> queue --> [every tick] SessionPipeline --> view
    Guidance --> calibration_phase events --> file and pipeline

BLE callbacks only append to two deques; the pipeline runs on the event loop every ``tick_s``
(a batch of notifications per step), and the writer on its own thread, so neither analysis nor
disk ever delays a notification's receive time stamp.

Ending: ``duration_s`` elapsed (paused time not counted), ``q``, ``stop_event``, or Ctrl-C (the
first one ends the session like ``q``; a second one interrupts). In every case the sensors are
stopped, everything received is written and the file is flushed and closed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from imuhip.align.aligner import SensorHealth
from imuhip.analysis.events import AnalysisEvent
from imuhip.live.guidance import Guidance, GuidanceStatus, protocol_steps
from imuhip.pipeline import LiveState, SessionPipeline, slow_link
from imuhip.session import Event, Notification, SessionHeader, SessionInput
from imuhip.sinks.live_view import SensorLine, Snapshot
from imuhip.sources.ble.connection import (
    Assignment,
    ConnectionManager,
    LinkStatus,
    ManagerSettings,
    WriterThread,
)


@dataclass
class RunOptions:
    """How a live session runs.

    Attributes:
        duration_s: recording length (None: until ended by the user).
        guidance: guide the calibration protocol (writes the phase marks).
        schedule: fixed guidance step starts (see :class:`Guidance`), e.g. for the demo.
        still_timeout_s: guidance's longest wait for stillness.
        hold_target_s: hold timer target (the view's cue).
        tick_s: pipeline and view update interval (real seconds).
        wait_connected_s: longest wait for every sensor to stream at the start.
        title: view title.
        recording: file name shown in the view (None: not recording).
        on_tick: called every loop step with the session time, the pipeline's state and the
            new analysis events; the events it returns are recorded (``imuhip train``'s
            coach). None: nothing.
    """

    duration_s: float | None = None
    guidance: bool = True
    schedule: dict[str, float] | None = None
    still_timeout_s: float = 30.0
    hold_target_s: float | None = None
    tick_s: float = 0.1
    wait_connected_s: float = 30.0
    title: str = "imuhip"
    recording: str | None = None
    on_tick: Callable[[float, LiveState, list[AnalysisEvent]], Sequence[Event]] | None = None


@dataclass
class RunResult:
    """What a live session did."""

    pipeline: SessionPipeline
    duration_s: float
    status: dict[str, LinkStatus]
    notifications_written: int
    events: list[Event] = field(default_factory=list)
    guidance: GuidanceStatus | None = None
    ended_by: str = "duration"
    t_start: float = 0.0


class _Inbox:
    """Notifications and events queued from BLE callbacks for the pipeline (and the file)."""

    def __init__(self, writer: WriterThread | None) -> None:
        self.items: collections.deque[SessionInput] = collections.deque()
        self.writer = writer
        self.events: list[Event] = []

    def notification(self, n: Notification) -> None:
        if self.writer is not None:
            self.writer.notification(n)
        self.items.append(n)

    def event(self, e: Event) -> None:
        if self.writer is not None:
            self.writer.event(e)
        self.items.append(e)
        self.events.append(e)

    def drain(self, pipeline: SessionPipeline) -> list[AnalysisEvent]:
        """Feed what came to the pipeline; record what it has for the file (its calibration)."""
        items = self.items
        while items:
            pipeline.feed(items.popleft())
        out = pipeline.advance()
        while pipeline.outbox:
            e = pipeline.outbox.pop(0)
            if self.writer is not None:
                self.writer.event(e)
            self.events.append(e)
        return out


def sensor_lines(
    status: dict[str, LinkStatus], pipeline: SessionPipeline, battery: dict[str, int] | None = None
) -> tuple[SensorLine, ...]:
    """The view's sensor lines from the link status and the pipeline's data counters. The
    connection interval is the stack's figure where it gives one, else the one judged from
    the receive times (timestamp-less sensors)."""
    out = []
    for role, st in status.items():
        h = pipeline.state.sensors.get(role)
        interval = link_interval(st, h)
        out.append(
            SensorLine(
                role,
                st.state.value,
                None if h is None else h.rate_hz,
                0 if h is None else h.dropped,
                0 if h is None else h.lost_samples,
                (battery or {}).get(role),
                st.address,
                interval,
                h is not None and slow_link(h.timing, interval),
            )
        )
    return tuple(out)


def link_interval(status: LinkStatus, health: SensorHealth | None) -> float | None:
    """A sensor's connection interval (s): the stack's figure, else the receive times'."""
    if status.link is not None and status.link.interval_s is not None:
        return status.link.interval_s
    return None if health is None else health.interval_s


async def run_session(
    assignments: Sequence[Assignment],
    header: SessionHeader,
    view: Any,
    *,
    writer: Any | None = None,
    backend: Any | None = None,
    options: RunOptions | None = None,
    settings: ManagerSettings | None = None,
    clock: Callable[[], float] = time.monotonic,
    keys: Any | None = None,
    stop_event: asyncio.Event | None = None,
    on_streaming: Callable[[float], None] | None = None,
    pipeline: SessionPipeline | None = None,
) -> RunResult:
    """Connect, guide, record and analyse one session (see the module docstring).

    ``writer`` (a SessionWriter, left open) receives the raw notifications and events;
    None records nothing. ``clock`` is the session clock (receive time stamps, durations);
    ``on_streaming(t)`` is called once every sensor streams, with the session time then.
    ``keys`` has ``read() -> str`` (see :class:`~imuhip.sinks.live_view.KeyReader`).

    Raises:
        SensorNotFoundError: a sensor never started streaming.
    """
    opts = options or RunOptions()
    pipe = pipeline or SessionPipeline(header)
    wt = WriterThread(writer) if writer is not None else None
    inbox = _Inbox(wt)
    manager = ConnectionManager(
        assignments, inbox.notification, inbox.event, backend=backend, settings=settings,
        clock=clock,
    )  # fmt: skip
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    sigint = _install_sigint(loop, stop)
    guidance: Guidance | None = None
    paused_total = 0.0
    paused_at: float | None = None
    ended_by = "duration"
    t_start = clock()
    notice = ""
    marks = 0
    view.start(opts.title)
    try:
        await manager.start()
        waiter = asyncio.ensure_future(manager.wait_streaming(opts.wait_connected_s))
        search_end = loop.time() + opts.wait_connected_s  # real seconds, whatever ``clock``
        while not waiter.done():
            view.update(
                Snapshot(
                    opts.title,
                    clock(),
                    pipe.state,
                    sensor_lines(manager.status, pipe),
                    notice="connecting…",
                    recording=opts.recording,
                    searching_left_s=max(0.0, search_end - loop.time()),
                )
            )
            await asyncio.wait({waiter}, timeout=0.2)
            if stop.is_set():
                waiter.cancel()
                ended_by = "user"
                break
        missing = waiter.result() if waiter.done() and not waiter.cancelled() else []
        if missing:
            raise manager.not_found(missing)
        t_start = clock()
        if on_streaming is not None:
            on_streaming(t_start)
        if opts.guidance and not stop.is_set():
            guidance = Guidance(
                inbox.event,
                steps=protocol_steps(header.layout.roles),
                still_timeout_s=opts.still_timeout_s,
                schedule=opts.schedule,
            )
            guidance.start(t_start)
        while not stop.is_set():
            now = clock()
            evs = inbox.drain(pipe)
            view.analysis(evs)
            for e in opts.on_tick(now, pipe.state, evs) if opts.on_tick is not None else ():
                inbox.event(e)
            g = None
            if guidance is not None:
                # refused: guide the protocol again (the analysis takes the first attempt that
                # works, live and from the file)
                refused = guidance.done and pipe.state.status == "failed"
                if refused and guidance.retry(now, pipe.state.message):
                    notice = "calibration refused: starting it again"
                still = pipe.state.still_s if pipe.state.t is not None else None
                g = guidance.update(now, still)
            for k in keys.read() if keys is not None else "":
                k = k.lower()
                if k == "q":
                    ended_by = "user"
                    stop.set()
                elif k == "m":
                    marks += 1
                    inbox.event(Event(now, "mark", None, {"label": f"mark {marks}"}))
                    notice = f"mark {marks} at {now:.1f} s"
                elif k == "p":
                    if paused_at is None:
                        paused_at = now
                        inbox.event(Event(now, "pause"))
                        notice = "paused (p resumes)"
                    else:
                        paused_total += now - paused_at
                        paused_at = None
                        inbox.event(Event(now, "resume"))
                        notice = "resumed"
            paused_now = 0.0 if paused_at is None else now - paused_at
            elapsed = now - t_start - paused_total - paused_now
            view.update(
                Snapshot(
                    opts.title,
                    now,
                    pipe.state,
                    sensor_lines(manager.status, pipe),
                    g,
                    opts.duration_s,
                    opts.hold_target_s,
                    paused_at is not None,
                    opts.recording,
                    notice,
                    keys is not None and bool(getattr(keys, "enabled", True)),
                    started_s=t_start,
                )
            )
            if opts.duration_s is not None and elapsed >= opts.duration_s:
                break
            if sigint.get("hit"):
                ended_by = "interrupt"
                break
            await asyncio.sleep(opts.tick_s)
        else:
            if ended_by == "duration":
                ended_by = "interrupt" if sigint.get("hit") else "user"
    finally:
        duration = clock() - t_start
        try:
            await manager.stop()
        finally:
            if wt is not None:
                wt.close()
            _remove_sigint(loop, sigint)
            view.analysis(inbox.drain(pipe))
            if guidance is not None and not guidance.done:
                guidance.abort("the session ended before the calibration was complete")
            view.analysis(_finish(pipe))
            view.close()
    return RunResult(
        pipe,
        duration,
        manager.status,
        wt.written if wt is not None else 0,
        inbox.events,
        guidance.status if guidance is not None else None,
        ended_by,
        t_start,
    )


def _finish(pipe: SessionPipeline) -> list[AnalysisEvent]:
    n = len(pipe.events)
    pipe.finish()
    return pipe.events[n:]


#: Signals that end a session like Ctrl-C (SIGTERM: ``kill``, a service manager, a logout).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _install_sigint(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> dict:
    """First Ctrl-C (or SIGTERM) ends the session cleanly; the handlers are then removed, so a
    second one interrupts. Only possible in the main thread on POSIX; elsewhere Ctrl-C cancels
    the loop and the cleanup in ``run_session``'s ``finally`` still closes the file."""
    state: dict = {"installed": False}

    def on_sigint() -> None:
        state["hit"] = True
        stop.set()
        _remove_sigint(loop, state)

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, on_sigint)
            state["installed"] = True
    return state


def _remove_sigint(loop: asyncio.AbstractEventLoop, state: dict) -> None:
    if state.get("installed"):
        for sig in _STOP_SIGNALS:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        state["installed"] = False


def session_clock(
    base: Callable[[], float] = time.monotonic,
) -> tuple[Callable[[], float], float]:
    """A clock that reads 0 at the session start, and its origin on ``base`` (seconds): session
    files then count seconds from the start, whatever the machine's uptime."""
    t0 = base()
    return (lambda: base() - t0), t0


def scaled_clock(speed: float, base: Callable[[], float] = time.monotonic) -> Callable[[], float]:
    """A session clock running ``speed`` times faster than ``base`` (accelerated demos): it
    starts at ``base()`` and advances ``speed`` seconds per second."""
    t0 = base()
    if speed == 1:
        return base
    return lambda: t0 + (base() - t0) * speed
