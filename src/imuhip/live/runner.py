"""The live session loop shared by ``imuhip record``, ``live`` and ``demo``.

    sensors --bleak (OS stack or bumble)--> LinkThread (the BLE edge: its own thread and
        event loop) --> notification sink
        sink --> WriterThread --> SessionWriter (raw notifications and events, crash-safe)
        sink --> deque --> [every tick, this thread] SessionPipeline --> view
    Guidance --> calibration_phase events --> file and pipeline

BLE callbacks only append to two deques; the pipeline runs in the caller's thread every
``tick_s`` (a batch of notifications per step), and the writer on its own thread, so neither
analysis nor disk ever delays a notification's receive time stamp. This module is plain
synchronous code: the event loop stays in :mod:`imuhip.sources.ble`.

Ending: ``duration_s`` elapsed (paused time not counted), ``q``, ``stop_event``, or Ctrl-C or
SIGTERM (the first one ends the session like ``q``; a second one interrupts). In every case
the sensors are stopped, everything received is written and the file is flushed and closed.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imuhip.align.aligner import SensorHealth
from imuhip.analysis.events import AnalysisEvent
from imuhip.host_time import host_now
from imuhip.live.guidance import Guidance, GuidanceStatus, protocol_steps
from imuhip.pipeline import LiveState, SessionPipeline, slow_link
from imuhip.session import Event, Notification, SessionHeader, SessionInput
from imuhip.sinks.live_view import SensorLine, Snapshot

if TYPE_CHECKING:  # the BLE edge (and its event loop) is loaded only when a session runs
    from imuhip.sources.ble.connection import (
        Assignment,
        LinkStatus,
        ManagerSettings,
        WriterThread,
    )
    from imuhip.sources.ble.edge import LinkThread


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


def run_session(
    assignments: Sequence[Assignment],
    header: SessionHeader,
    view: Any,
    *,
    writer: Any | None = None,
    backend: Any | None = None,
    options: RunOptions | None = None,
    settings: ManagerSettings | None = None,
    clock: Callable[[], float] = host_now,
    keys: Any | None = None,
    stop_event: threading.Event | None = None,
    on_streaming: Callable[[float], None] | None = None,
    pipeline: SessionPipeline | None = None,
    link: LinkThread | None = None,
) -> RunResult:
    """Connect, guide, record and analyse one session (see the module docstring).

    ``writer`` (a SessionWriter, left open) receives the raw notifications and events;
    None records nothing. ``clock`` is the session clock (receive time stamps, durations);
    ``on_streaming(t)`` is called once every sensor streams, with the session time then.
    ``keys`` has ``read() -> str`` (see :class:`~imuhip.sinks.live_view.KeyReader`).
    ``stop_event`` set (from any thread) ends the session. ``link``: a started
    :class:`~imuhip.sources.ble.edge.LinkThread` to connect through (its peripherals on the
    air, e.g. virtual sensors), left running; None: one made here on ``backend``, stopped
    at the end.

    Raises:
        SensorNotFoundError: a sensor never started streaming.
    """
    from imuhip.sources.ble.edge import LinkThread

    edge = link or LinkThread(backend).start()
    try:
        session = _LiveSession(
            edge, header, view, writer, options or RunOptions(), clock, keys,
            stop_event or threading.Event(), pipeline or SessionPipeline(header),
        )  # fmt: skip
        return session.run(assignments, settings, on_streaming)
    finally:
        if link is None:
            edge.stop()


class _LiveSession:
    """One run of :func:`run_session`: its state and its steps."""

    def __init__(
        self,
        link: LinkThread,
        header: SessionHeader,
        view: Any,
        writer: Any | None,
        opts: RunOptions,
        clock: Callable[[], float],
        keys: Any | None,
        stop: threading.Event,
        pipe: SessionPipeline,
    ) -> None:
        self.link = link
        self.header = header
        self.view = view
        self.opts = opts
        self.clock = clock
        self.keys = keys
        self.stop = stop
        from imuhip.sources.ble.connection import WriterThread

        self.pipe = pipe
        self.wt = WriterThread(writer) if writer is not None else None
        self.inbox = _Inbox(self.wt)
        self.signals = StopSignals(stop)
        self.guidance: Guidance | None = None
        self.paused_total = 0.0
        self.paused_at: float | None = None
        self.ended_by = "duration"
        self.t_start = clock()
        self.notice = ""
        self.marks = 0

    def run(
        self,
        assignments: Sequence[Assignment],
        settings: ManagerSettings | None,
        on_streaming: Callable[[float], None] | None,
    ) -> RunResult:
        """Connect, wait for the sensors, loop until the end, then close everything."""
        self.signals.install()
        self.view.start(self.opts.title)
        try:
            self.link.connect(
                assignments, self.inbox.notification, self.inbox.event, settings=settings,
                clock=self.clock,
            )  # fmt: skip
            self._wait_streaming()
            self.t_start = self.clock()
            if on_streaming is not None:
                on_streaming(self.t_start)
            self._start_guidance()
            self._loop()
        finally:
            duration = self.clock() - self.t_start
            self._close()
        return RunResult(
            self.pipe,
            duration,
            self.link.status,
            self.wt.written if self.wt is not None else 0,
            self.inbox.events,
            self.guidance.status if self.guidance is not None else None,
            self.ended_by,
            self.t_start,
        )

    def _wait_streaming(self) -> None:
        """Show the search until every sensor streams (or the wait ends, or the user stops).

        Raises:
            SensorNotFoundError: a sensor did not stream within the wait.
        """
        opts = self.opts
        waiter = self.link.streaming(opts.wait_connected_s)
        search_end = time.monotonic() + opts.wait_connected_s  # real seconds, whatever clock
        missing: list[str] = []
        while True:
            left = max(0.0, search_end - time.monotonic())
            self.view.update(
                Snapshot(
                    opts.title, self.clock(), self.pipe.state, self._lines(),
                    notice="connecting…", recording=opts.recording, searching_left_s=left,
                )
            )  # fmt: skip
            try:
                missing = waiter.result(timeout=0.2)
                break
            except concurrent.futures.TimeoutError:
                pass
            if self.stop.is_set():
                waiter.cancel()
                self.ended_by = "user"
                return
        if missing:
            raise self.link.not_found(missing)

    def _start_guidance(self) -> None:
        opts = self.opts
        if opts.guidance and not self.stop.is_set():
            self.guidance = Guidance(
                self.inbox.event,
                steps=protocol_steps(self.header.layout.roles),
                still_timeout_s=opts.still_timeout_s,
                schedule=opts.schedule,
            )
            self.guidance.start(self.t_start)

    def _loop(self) -> None:
        """Step the pipeline, the guidance, the keys and the view every ``tick_s`` until the
        session ends (its length, ``q``, the stop event or a signal)."""
        opts = self.opts
        while not self.stop.is_set():
            now = self.clock()
            g = self._step(now)
            self._read_keys(now)
            self.view.update(self._snapshot(now, g))
            if opts.duration_s is not None and self._elapsed(now) >= opts.duration_s:
                return
            if self.signals.hit:
                self.ended_by = "interrupt"
                return
            self.stop.wait(opts.tick_s)
        if self.ended_by == "duration":
            self.ended_by = "interrupt" if self.signals.hit else "user"

    def _step(self, now: float) -> GuidanceStatus | None:
        """Feed what came in to the pipeline, call ``on_tick``, update the guidance."""
        pipe = self.pipe
        evs = self.inbox.drain(pipe)
        self.view.analysis(evs)
        on_tick = self.opts.on_tick
        for e in on_tick(now, pipe.state, evs) if on_tick is not None else ():
            self.inbox.event(e)
        if self.guidance is None:
            return None
        # refused: guide the protocol again (the analysis takes the first attempt that works,
        # live and from the file)
        refused = self.guidance.done and pipe.state.status == "failed"
        if refused and self.guidance.retry(now, pipe.state.message):
            self.notice = "calibration refused: starting it again"
        still = pipe.state.still_s if pipe.state.t is not None else None
        return self.guidance.update(now, still)

    def _read_keys(self, now: float) -> None:
        """``q`` ends, ``m`` marks, ``p`` pauses and resumes."""
        for k in self.keys.read() if self.keys is not None else "":
            k = k.lower()
            if k == "q":
                self.ended_by = "user"
                self.stop.set()
            elif k == "m":
                self.marks += 1
                self.inbox.event(Event(now, "mark", None, {"label": f"mark {self.marks}"}))
                self.notice = f"mark {self.marks} at {now:.1f} s"
            elif k == "p":
                self._toggle_pause(now)

    def _toggle_pause(self, now: float) -> None:
        if self.paused_at is None:
            self.paused_at = now
            self.inbox.event(Event(now, "pause"))
            self.notice = "paused (p resumes)"
        else:
            self.paused_total += now - self.paused_at
            self.paused_at = None
            self.inbox.event(Event(now, "resume"))
            self.notice = "resumed"

    def _elapsed(self, now: float) -> float:
        """Session seconds since the start, paused time not counted."""
        paused_now = 0.0 if self.paused_at is None else now - self.paused_at
        return now - self.t_start - self.paused_total - paused_now

    def _snapshot(self, now: float, g: GuidanceStatus | None) -> Snapshot:
        opts, keys = self.opts, self.keys
        return Snapshot(
            opts.title,
            now,
            self.pipe.state,
            self._lines(),
            g,
            opts.duration_s,
            opts.hold_target_s,
            self.paused_at is not None,
            opts.recording,
            self.notice,
            keys is not None and bool(getattr(keys, "enabled", True)),
            started_s=self.t_start,
            legs=self.pipe.leg_states(),
        )

    def _lines(self) -> tuple[SensorLine, ...]:
        return sensor_lines(self.link.status, self.pipe)

    def _close(self) -> None:
        """Disconnect (everything received then delivered), write it, finish the analysis."""
        try:
            self.link.disconnect()
        finally:
            if self.wt is not None:
                self.wt.close()
            self.signals.remove()
            self.view.analysis(self.inbox.drain(self.pipe))
            if self.guidance is not None and not self.guidance.done:
                self.guidance.abort("the session ended before the calibration was complete")
            self.view.analysis(_finish(self.pipe))
            self.view.close()


def _finish(pipe: SessionPipeline) -> list[AnalysisEvent]:
    n = len(pipe.events)
    pipe.finish()
    return pipe.events[n:]


#: Signals that end a session like Ctrl-C (SIGTERM: ``kill``, a service manager, a logout).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """The first Ctrl-C (or SIGTERM) sets ``stop`` and is noted in :attr:`hit`; the previous
    handlers are then back, so a second one interrupts (KeyboardInterrupt, or the default
    SIGTERM action). Plain ``signal`` handlers: installed only from the main thread
    (elsewhere nothing is installed, and Ctrl-C interrupts as usual)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.hit = False
        self._previous: dict[int, Any] = {}

    def install(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in STOP_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.hit = True
        self.stop.set()
        self.remove()

    def remove(self) -> None:
        """Put the previous handlers back (idempotent)."""
        previous, self._previous = self._previous, {}
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def __enter__(self) -> StopSignals:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.remove()


def session_clock(
    base: Callable[[], float] = host_now,
) -> tuple[Callable[[], float], float]:
    """A clock that reads 0 at the session start, and its origin on ``base`` (seconds): session
    files then count seconds from the start, whatever the machine's uptime."""
    t0 = base()
    return (lambda: base() - t0), t0


def scaled_clock(speed: float, base: Callable[[], float] = host_now) -> Callable[[], float]:
    """A session clock running ``speed`` times faster than ``base`` (accelerated demos): it
    starts at ``base()`` and advances ``speed`` seconds per second."""
    t0 = base()
    if speed == 1:
        return base
    return lambda: t0 + (base() - t0) * speed
