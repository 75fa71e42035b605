"""Lab Streaming Layer output: the hip angle and the exercise events as LSL outlets, so a lab
recorder (LabRecorder, XDF) captures them beside EMG, force plates or video.

Two streams, published while ``imuhip live``, ``demo`` or ``replay`` runs with ``--lsl``:

``imuhip-angles`` (type ``Angles``, ``cf_double64``, nominal rate = the session grid rate)
    one sample per grid point from the calibration's final still phase on (the tracker's
    first sample), three channels:

    ====================  ========  ==============================================
    label                 unit      meaning
    ====================  ========  ==============================================
    ``hip_rotation_deg``  degrees   hip internal (+) / external (-) rotation, 0 in
                                    the calibrated start pose; NaN where undefined
    ``knee_flexion_deg``  degrees   knee flexion relative to the start pose; NaN
                                    where undefined
    ``valid``             (1/0)     1 where the hip angle is defined, 0 inside lost
                                    data and the recovery after it
    ====================  ========  ==============================================

    Nothing is sent before the calibration is decided; the samples from the final still
    phase to that moment are then sent at once with their own (past) time stamps.

``imuhip-events`` (type ``Markers``, irregular rate, one ``cf_string`` channel ``event``)
    one marker per exercise event, compact JSON: ``{"kind": ..., "t": <session s>, ...}``
    with the rep's, hold's or stretch's figures (``peak_deg``, ``range_deg``, ``direction``,
    ``duration_s``, ``mean_deg`` …, as in ``imuhip analyze --json``); ``kind`` is
    ``rep_started``, ``rep_counted``, ``partial_rep`` (both with ``direction``: ``internal``
    or ``external``), ``hold_started``, ``hold_ended``, ``stretch_started`` (``t`` the
    stretch's start), ``overpressure_started`` (``t`` when the push further began),
    ``stretch_ended`` (with ``max_deg``, ``time_at_end_range_s``, ``overpressure_start_s``,
    ``overpressure_gain_deg`` and ``direction``), and also
    ``calibrated`` (angles follow), ``calibration_refused`` (with ``message``) and, last,
    ``session_end`` (``t`` the last grid time, with the number of angle ``samples`` and of
    ``markers`` sent before it: a recorder can check it has them all).

Both streams' ``desc()`` carry the channels (label, unit, type), the side, the exercise, the
imuhip version, what publishes (live, demo, replay) and the time mapping.

Time stamps: LSL's local clock, mapped from the session time base by :class:`LslClock`,
``lsl = lsl_s + (t - session_s) / speed``, with ``(session_s, lsl_s)`` read back to back when
the command starts (the session clock and ``pylsl.local_clock()``): live, a sample's stamp is
the LSL time of its grid time on the host clock the receive times are on; in an accelerated
demo or replay (``speed`` > 1) the stamps run at wall-clock pace; a replay at ``--speed max``
keeps the session's own spacing from the replay's start (the stamps then run ahead of the
clock). An event's stamp is its time ``t`` mapped the same way.

``pylsl`` (the optional extra ``imuhip[lsl]``) is imported only when outlets are opened; its
Linux x86-64 wheel bundles liblsl.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from imuhip import __version__
from imuhip.analysis.events import AnalysisEvent
from imuhip.errors import ImuhipError
from imuhip.exercises import TECHNIQUE_KEY
from imuhip.pipeline import SessionPipeline, Status, TrackedAngles
from imuhip.session import SessionHeader

ANGLES_STREAM = "imuhip-angles"
ANGLES_TYPE = "Angles"
EVENTS_STREAM = "imuhip-events"
EVENTS_TYPE = "Markers"
#: At the end, connected recorders get this long (s) for the last samples before the outlets
#: close.
LAST_SAMPLES_S = 0.25
#: The hip's sign convention, in the angle stream's description.
SIGN_CONVENTION = "internal rotation positive, 0 in the calibrated start pose"


class LslUnavailableError(ImuhipError):
    """pylsl or its liblsl cannot be loaded; the message says how to install it."""


@dataclass(frozen=True)
class LslChannel:
    """One channel of an LSL stream as its ``desc()`` lists it."""

    label: str
    unit: str
    type: str


#: The angle stream's channels, in sample order.
ANGLE_CHANNELS = (
    LslChannel("hip_rotation_deg", "degrees", "HipRotation"),
    LslChannel("knee_flexion_deg", "degrees", "KneeFlexion"),
    LslChannel("valid", "boolean", "Validity"),
)
#: The marker stream's channel.
EVENT_CHANNEL = LslChannel("event", "json", "Marker")


def load_pylsl() -> ModuleType:
    """The ``pylsl`` module, with its liblsl loaded.

    Raises:
        LslUnavailableError: pylsl is not installed or its liblsl cannot be loaded.
    """
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as exc:
        raise LslUnavailableError(
            "the Lab Streaming Layer output (--lsl) needs pylsl with its liblsl: install it "
            f"with pip install 'imuhip[lsl]' (loading it failed: {exc})"
        ) from None
    return pylsl


@dataclass(frozen=True)
class LslClock:
    """Session time (s) to LSL local-clock time (s): ``lsl_s + (t - session_s) / speed``.

    Attributes:
        session_s: a session time ...
        lsl_s: ... and the LSL clock at the same moment.
        speed: session seconds per wall-clock second (1 live; the demo's or replay's speed;
            1 for a replay as fast as possible: the session's own spacing).
    """

    session_s: float
    lsl_s: float
    speed: float = 1.0

    def to_lsl(self, t: np.ndarray | float) -> np.ndarray:
        """LSL times (s) of session times ``t`` (s)."""
        return self.lsl_s + (np.asarray(t, float) - self.session_s) / self.speed

    @classmethod
    def now(cls, session_now: Callable[[], float], speed: float = 1.0) -> LslClock:
        """The mapping of the session clock ``session_now`` (read back to back with LSL's
        local clock, the mean of two LSL reads around it)."""
        pylsl = load_pylsl()
        a = pylsl.local_clock()
        s = session_now()
        b = pylsl.local_clock()
        return cls(float(s), 0.5 * (a + b), float(speed))


def marker_text(e: AnalysisEvent) -> str:
    """The compact JSON marker of an exercise event: kind, session time and the rep's, hold's
    or stretch's figures (as ``imuhip analyze --json`` writes them)."""
    doc: dict[str, Any] = {"kind": e.kind, "t": round(e.t, 3)}
    if e.item is not None:
        doc.update({k: v for k, v in e.item.as_dict().items() if k not in doc})
    return json.dumps(doc, separators=(",", ":"))


def _describe(desc: Any, header: SessionHeader, source: str, speed: float) -> None:
    desc.append_child_value("manufacturer", "imuhip")
    desc.append_child_value("imuhip_version", __version__)
    desc.append_child_value("source", source)
    desc.append_child_value("side", header.side)
    desc.append_child_value("exercise", header.exercise)
    technique = header.extra.get(TECHNIQUE_KEY)
    if technique:
        desc.append_child_value("technique", str(technique))
    m = desc.append_child("time_mapping")
    m.append_child_value("rule", "lsl = lsl_s + (t - session_s) / speed")
    m.append_child_value("speed", repr(float(speed)))


def _channels(desc: Any, channels: tuple[LslChannel, ...], side: str) -> None:
    chans = desc.append_child("channels")
    for c in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", c.label)
        ch.append_child_value("unit", c.unit)
        ch.append_child_value("type", c.type)
        ch.append_child_value("side", side)


def source_id(header: SessionHeader, source: str, stream: str) -> str:
    """The LSL source id of a stream: what publishes, the side and the thigh sensor (a
    recorder finds the same stream again after a restart)."""
    thigh = next((s.address for s in header.sensors if s.role == "thigh"), "") or "none"
    return f"imuhip:{source}:{header.side}:{thigh}:{stream}"


class LslPublisher:
    """The two LSL outlets of a session, fed from its pipeline after each step.

    Open the outlets, optionally :meth:`wait_for_consumers`, then :meth:`anchor` the time
    mapping to the session clock before the first :meth:`step`.

    Args:
        pipeline: the session pipeline, created with ``angle_feed=True``.
        source: what publishes ("live", "demo", "replay"; in the metadata and source ids).
        speed: session seconds per wall-clock second (see :class:`LslClock`).

    Raises:
        LslUnavailableError: pylsl cannot be loaded.
    """

    def __init__(self, pipeline: SessionPipeline, source: str, speed: float = 1.0) -> None:
        pylsl = load_pylsl()
        self.pipeline = pipeline
        self.speed = float(speed)
        self.clock: LslClock | None = None
        header = pipeline.header
        rate = float(pipeline.rate) if pipeline.rate else pylsl.IRREGULAR_RATE
        info = pylsl.StreamInfo(
            ANGLES_STREAM, ANGLES_TYPE, len(ANGLE_CHANNELS), rate, pylsl.cf_double64,
            source_id(header, source, "angles"),
        )  # fmt: skip
        _channels(info.desc(), ANGLE_CHANNELS, header.side)
        info.desc().append_child_value("sign_convention", SIGN_CONVENTION)
        _describe(info.desc(), header, source, self.speed)
        markers = pylsl.StreamInfo(
            EVENTS_STREAM, EVENTS_TYPE, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
            source_id(header, source, "events"),
        )  # fmt: skip
        _channels(markers.desc(), (EVENT_CHANNEL,), header.side)
        _describe(markers.desc(), header, source, self.speed)
        self._angles: Any = pylsl.StreamOutlet(info)
        self._events: Any = pylsl.StreamOutlet(markers)
        self._seen = 0  # pipeline events published
        self._status = pipeline.state.status
        self.samples_sent = 0
        self.markers_sent = 0

    def anchor(self, session_now: Callable[[], float]) -> LslClock:
        """Map the session clock ``session_now`` to LSL's clock from now on (see
        :meth:`LslClock.now`); the mapping made."""
        self.clock = LslClock.now(session_now, self.speed)
        return self.clock

    def wait_for_disconnect(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for every recorder to disconnect; whether all did."""
        end = time.monotonic() + max(0.0, timeout_s)
        while self._angles.have_consumers() or self._events.have_consumers():
            if time.monotonic() >= end:
                return False
            time.sleep(0.02)
        return True

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for a recorder to connect to both streams; whether
        it did."""
        end = time.monotonic() + max(0.0, timeout_s)
        if not self._angles.wait_for_consumers(max(0.0, timeout_s)):
            return False
        return bool(self._events.wait_for_consumers(max(0.0, end - time.monotonic())))

    def step(self) -> None:
        """Publish what the pipeline produced since the last step: the new angles, then the
        new exercise events and a change of calibration status."""
        if self._angles is None:
            return
        if self.clock is None:
            raise RuntimeError("anchor() the LSL publisher to the session clock first")
        self._push_angles(self.pipeline.new_angles())
        st = self.pipeline.state
        texts: list[str] = []
        times: list[float] = []
        if st.status != self._status:
            self._status = st.status
            if st.status == Status.READY and st.calibrated_at_s is not None:
                doc = {"kind": "calibrated", "t": round(st.calibrated_at_s, 3)}
                texts.append(json.dumps(doc, separators=(",", ":")))
                times.append(st.calibrated_at_s)
            elif st.status == Status.FAILED and st.t is not None:
                doc = {"kind": "calibration_refused", "t": round(st.t, 3), "message": st.message}
                texts.append(json.dumps(doc, separators=(",", ":")))
                times.append(st.t)
        events = self.pipeline.events[self._seen :]
        self._seen += len(events)
        texts += [marker_text(e) for e in events]
        times += [e.t for e in events]
        if texts:
            stamps = self.clock.to_lsl(times).tolist()
            self._events.push_chunk([[x] for x in texts], stamps)
            self.markers_sent += len(texts)

    def _push_angles(self, a: TrackedAngles) -> None:
        assert self.clock is not None
        if not len(a.t):
            return
        valid = np.isfinite(a.hip_rotation_deg).astype(float)
        x = np.column_stack([a.hip_rotation_deg, a.knee_flexion_deg, valid])
        self._angles.push_chunk(x, self.clock.to_lsl(a.t).tolist())
        self.samples_sent += len(a.t)

    def close(self, linger_s: float = 0.0) -> None:
        """Publish what is left and close the outlets (recorders see the streams end): with
        recorders connected, after up to ``linger_s`` seconds waiting for them to disconnect
        (at least ``LAST_SAMPLES_S``, for the last samples to leave)."""
        if self._angles is None:
            return
        if self.clock is not None:
            self.step()
            t = self.pipeline.state.t
            if t is not None:
                doc = {"kind": "session_end", "t": round(t, 3), "samples": self.samples_sent,
                       "markers": self.markers_sent}  # fmt: skip
                self._events.push_sample(
                    [json.dumps(doc, separators=(",", ":"))], self.clock.to_lsl(t).item()
                )
                self.markers_sent += 1
        self.wait_for_disconnect(max(linger_s, LAST_SAMPLES_S))
        self._angles = self._events = None


class LslView:
    """A live view that also publishes to LSL: after each pipeline step (the runner and the
    replay hand the view the step's analysis events) the publisher sends what is new; closing
    the view publishes the rest and closes the outlets (waiting up to ``linger_s`` for the
    recorders to disconnect). Everything else goes to ``inner``."""

    def __init__(self, inner: Any, publisher: LslPublisher, linger_s: float = 0.0) -> None:
        self.__dict__["inner"] = inner
        self.__dict__["publisher"] = publisher
        self.__dict__["linger_s"] = linger_s

    def analysis(self, events: list[AnalysisEvent]) -> None:
        self.inner.analysis(events)
        self.publisher.step()

    def close(self) -> None:
        try:
            self.publisher.close(self.linger_s)
        finally:
            self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)
