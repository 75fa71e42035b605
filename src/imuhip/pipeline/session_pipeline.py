"""The one session pipeline: raw inputs in, hip angles and exercise events out, as data arrive.

    inputs (notifications, sample blocks, events)
      -> aligner (decode, sample times on the session clock; causal or offline)
      -> one time grid (:class:`~imuhip.align.grid.StreamingGrid`), gyro scales taken out
      -> [buffered until the calibration phases are known]
      -> orientation per sensor (seeded with the still start's gyro bias, from the first sample)
      -> calibration -> hip rotation tracker -> rep/hold detector

Live use, replay and offline analysis all run this class; they differ only in the aligner
(:mod:`imuhip.align.aligner`) and in how big the pieces of input are. Every stage after the
aligner gives the same numbers however its input is cut, and the calibration is decided at
points fixed by the data (mark times, a search every ``auto_search_every_s`` of data), so the
offline aligner gives the same result fed one notification at a time or the whole file.

Times are seconds on the session time base; angles in degrees (internal rotation positive).
"""

from __future__ import annotations

import itertools
import math
from bisect import insort
from dataclasses import dataclass, fields

import numpy as np

from imuhip.align.aligner import Aligner
from imuhip.align.causal import CausalAligner
from imuhip.align.grid import GridChunk, StreamingGrid
from imuhip.align.streams import SensorStream
from imuhip.analysis.detector import ExerciseDetector
from imuhip.analysis.events import AnalysisEvent, Hold, Rep
from imuhip.analysis.exercise import ExerciseResult, combine_detectors
from imuhip.calibration_protocol import (
    CALIBRATION_EVENT,
    PHASE_EVENT,
    PHASES,
    START_POSE_SHANK_TILT_DEG,
)
from imuhip.errors import CalibrationError, ImuhipError
from imuhip.fusion.gyro_scale import correct_gyro, scale_from_config
from imuhip.fusion.orientation import DEFAULT_METHOD, OrientationFilter
from imuhip.joint.calibration import (
    Calibration,
    calibrate,
    calibration_from_record,
    calibration_record,
)
from imuhip.joint.hip_rotation import HipAngles, HipRotationTracker
from imuhip.joint.phases import (
    STILL_RATE,
    Phases,
    find_phases,
    phases_from_marks,
    phases_near_marks,
    still_mask,
)
from imuhip.pipeline.advice import (
    heading_needs_rests,
    heading_warnings,
    rate_warnings,
    timing_warnings,
)
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.state import LiveState, Status
from imuhip.samples import ImuSamples
from imuhip.session import (
    LINK_EVENT,
    Event,
    Notification,
    NotificationBlock,
    SampleBlock,
    SessionHeader,
    SessionInput,
)

#: After a lost stretch the orientation filters re-settle on gravity for this long (seconds);
#: the angle is left undefined meanwhile.
RECOVERY_S = 3.0
#: Seconds of still data after the ``still_end`` mark that the calibration uses.
MIN_STILL_END_S = 1.5
#: Without guidance marks the phases are searched for until the data span this long (s).
SEARCH_SPAN_S = 100.0
#: How long (s) after a complete set of marks is ready the data are searched for the phases
#: the person did, before the marks' own phases are taken.
MARKS_RETRY_S = 10.0
#: Guidance marks that stop coming leave the search to the data after this long (s).
MARKS_PATIENCE_S = 30.0
#: The grid rate of a sensor without a configured rate is measured over this many samples.
RATE_PROBE_SAMPLES = 200
LEG_ROLES = ("thigh", "shin")


@dataclass(frozen=True)
class Grid:
    """Both sensors on one uniform time grid (the whole session).

    Attributes:
        t: (N,) seconds.
        rate_hz: grid rate.
        thigh, shin: samples on ``t`` (gyro scales taken out).
        valid: (N,) False where a sensor had no real sample within 1.5 periods.
        lost: (N,) True inside gaps over ``LONG_GAP_S`` of either sensor.
    """

    t: np.ndarray
    rate_hz: float
    thigh: ImuSamples
    shin: ImuSamples
    valid: np.ndarray
    lost: np.ndarray | None = None


@dataclass(frozen=True)
class SessionAnalysis:
    """Everything ``imuhip analyze`` reports.

    Attributes:
        grid: the aligned input.
        hip_rotation_deg: (N,) on ``grid.t``; NaN before the calibration's final still phase
            and where the data was lost.
        heading_offset_deg: (N,) tracked relative heading (diagnostic), NaN where not tracked.
        calibration: the calibration used.
        exercise: reps and holds after the calibration.
        streams: per-role aligned streams (decoder and alignment figures).
        knee_flexion_deg, hip_flexion_deg: (N,) relative to the start pose (hip: knee
            forward/up positive), NaN where not tracked.
        warnings: doubts about stretches of the result, in plain words.
        orientations: role -> (N, 4) sensor-to-world quaternions ``[w, x, y, z]`` on
            ``grid.t``, each in its own filter's world frame (ENU, heading arbitrary without a
            magnetometer), as the analysis used them.
    """

    grid: Grid
    hip_rotation_deg: np.ndarray
    heading_offset_deg: np.ndarray
    calibration: Calibration
    exercise: ExerciseResult
    streams: dict[str, SensorStream]
    knee_flexion_deg: np.ndarray | None = None
    hip_flexion_deg: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    orientations: dict[str, np.ndarray] | None = None


@dataclass(frozen=True)
class TrackedAngles:
    """Angles the hip tracker produced since the last :meth:`SessionPipeline.new_angles`.

    Attributes:
        t: (N,) grid times, seconds on the session time base, increasing.
        hip_rotation_deg: (N,) degrees, internal positive, 0 in the calibrated start pose;
            NaN where lost data (and the recovery after it) leave it undefined. Equal to
            ``SessionAnalysis.hip_rotation_deg`` at the same grid points.
        knee_flexion_deg: (N,) degrees relative to the start pose, NaN where undefined.
    """

    t: np.ndarray
    hip_rotation_deg: np.ndarray
    knee_flexion_deg: np.ndarray


def gyro_scales(header: SessionHeader) -> dict[str, np.ndarray | None]:
    """Per-axis gyro scale (measured / true) of each role from its header entry (a table
    calibration, :mod:`imuhip.fusion.gyro_scale`), None where there is none."""
    return {s.role: scale_from_config(s.config) for s in header.sensors}


def still_start_bias(gyr: np.ndarray, phases: Phases, lost: np.ndarray) -> np.ndarray | None:
    """Gyro bias (3,) rad/s seen in the calibration's still start pose: the mean rate there,
    lost samples left out (None when none is left). Seeds the orientation filter."""
    s0, s1 = phases.still_start
    g = gyr[s0:s1][~lost[s0:s1]]
    return g.mean(axis=0) if len(g) else None


#: What to do about a calibration that lost data, live (the protocol can be done again) ...
REDO_LIVE = "do the calibration again (keep the sensors in range and charged)"
#: ... and in a saved file (it cannot).
REDO_FILE = (
    "a saved session cannot be calibrated again: imuhip takes a later attempt of the protocol "
    "in the file where there is one (there is none that works here), so this session's angles "
    "cannot be computed; its raw samples can still be exported (imuhip export --samples DIR), "
    "and the next recording should start with the protocol in range of the sensors"
)


def check_calibration_data(
    t: np.ndarray, undefined: np.ndarray, cal: Calibration, advice: str = REDO_LIVE
) -> None:
    """Refuse a calibration whose movements overlap lost data: the filters saw no motion
    there, so the axes, the heading offset and the zero would be silently wrong.

    Args:
        t: (N,) grid times, seconds.
        undefined: (N,) lost samples and the recovery after them (as the angle uses).
        cal: the calibration found on the same grid.
        advice: what the user can do about it (live or for a saved file).

    Raises:
        CalibrationError: with where the data was lost and ``advice``.
    """
    a, b = cal.phases.still_start[0], cal.phases.still_end[1]
    bad = np.flatnonzero(undefined[a:b])
    if len(bad):
        raise CalibrationError(
            f"the sensors lost data during the calibration (from {t[a + bad[0]]:.1f} s to "
            f"{t[a + bad[-1]]:.1f} s), so it cannot be trusted: {advice}"
        )


class _Columns:
    """Growing arrays kept as chunks, joined on demand."""

    def __init__(self, *names: str) -> None:
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def add(self, **arrays: np.ndarray) -> None:
        for k, v in arrays.items():
            self.parts[k].append(v)

    def get(self, name: str) -> np.ndarray:
        p = self.parts[name]
        if len(p) > 1:
            p[:] = [np.concatenate(p)]
        return p[0] if p else np.empty(0)

    def __len__(self) -> int:
        return len(self.get("t"))

    def drop_before(self, n: int) -> None:
        for k in self.parts:
            x = self.get(k)
            self.parts[k] = [x[n:]] if len(x) else []

    def clear(self) -> None:
        for p in self.parts.values():
            p.clear()


class SessionPipeline:
    """Streaming session analysis (see the module docstring).

    Args:
        header: the session header (side, exercise, sensors with profile, rate, config).
        options: filter, grid rate and detector choices.
        aligner: the alignment strategy; a :class:`~imuhip.align.causal.CausalAligner` of the
            header by default (live).
        auto_search_every_s: how often (data time) to search for the calibration phases when
            the session has no guidance marks.
        keep: keep the grid and the angles for :meth:`analysis` (off: only the exercise
            events and the state, for long live sessions).
        saved: the inputs come from a saved file (the advice for a refused calibration says
            what can be done with the file, not to do the protocol again).
        angle_feed: collect the tracked angles for :meth:`new_angles` (a streaming output
            such as LSL; off: nothing is collected).
    """

    def __init__(
        self,
        header: SessionHeader,
        options: PipelineOptions | None = None,
        *,
        aligner: Aligner | None = None,
        auto_search_every_s: float = 1.0,
        keep: bool = True,
        saved: bool = False,
        angle_feed: bool = False,
    ) -> None:
        for role in LEG_ROLES:
            if role not in header.roles:
                raise ImuhipError(f"the session has no {role} sensor; the hip angle needs both")
        self.header = header
        self.opts = options or PipelineOptions()
        self.aligner: Aligner = aligner or CausalAligner(header)
        method = self.opts.fusion_method or DEFAULT_METHOD
        self._method = method
        self.rate = self._configured_rate()
        if self.rate:
            OrientationFilter(method, self.rate, self.opts.fusion_params)  # bad ones raise here
        self._grid: StreamingGrid | None = None
        # aligned samples held until the grid rate is measured (no rate in the header)
        self._probe: list[tuple[str, ImuSamples]] = []
        self._flushing = False
        self._gyro_scale = gyro_scales(header)
        self._auto_every = auto_search_every_s
        self._keep = keep
        self.redo_advice = REDO_FILE if saved else REDO_LIVE
        # calibration: pending guidance marks (time-ordered), the current attempt's marks
        self._pending_marks: list[tuple[float, int, str]] = []
        self._mark_seq = 0
        self.marks: dict[str, float] = {}
        self._marks_seen = False
        self._mark_tries = 0  # data searches around the current attempt's marks so far
        self._next_search_t = math.nan
        self._last_error: CalibrationError | None = None
        self.refused: list[str] = []
        self._stack_interval: dict[str, float] = {}  # role -> interval the BLE stack reported
        # the current attempt's grid data, and every filter input since the session's start
        self._buf = _Columns("t", "gt", "gs", "u", "l")
        self._raw = _Columns("t", "gt", "at", "gs", "as", "lt", "ls", "u", "l")
        self._stored: dict | None = None  # the calibration a live session stored in its file
        self.outbox: list[Event] = []  # session events for the recorder (the calibration)
        self._was_lost = {"thigh": False, "shin": False}  # a sensor's last grid sample lost
        self._tracker_was_lost = False
        self._last_lost = -(10**12)  # grid index of the last lost sample, relative to the next
        self._still_tail = np.empty(0)
        self._still_count = 0
        self._still_from: float | None = None
        self._filters: dict[str, OrientationFilter] = {}
        self.calibration: Calibration | None = None
        self.tracker: HipRotationTracker | None = None
        self.detector: ExerciseDetector | None = None
        self._done_detectors: list[ExerciseDetector] = []
        self._interrupted = False
        self._rested_at = 0.0
        self._out = _Columns("t", "th_a", "th_g", "sh_a", "sh_g", "valid", "lost")
        self._ang = _Columns("rot", "head", "knee", "flex", "rest", "qt", "qs")
        self.state = LiveState()
        self.events: list[AnalysisEvent] = []
        self.result: ExerciseResult | None = None
        self._finished = False
        self._angle_feed = angle_feed
        self._fresh: list[TrackedAngles] = []  # tracked since the last new_angles()

    def _configured_rate(self) -> float:
        if self.opts.rate_hz > 0:
            return float(self.opts.rate_hz)
        configured = self.header.sensor("thigh").rate_hz
        return float(configured) if configured and configured > 0 else 0.0

    # ------------------------------------------------------------------ input
    def feed(self, item: SessionInput) -> None:
        """Take one input (in arrival order); call :meth:`advance` to process what came."""
        if isinstance(item, Notification):
            self.aligner.notification(item)
        elif isinstance(item, NotificationBlock):
            self.aligner.notifications(item)
        elif isinstance(item, SampleBlock):
            self.aligner.samples(item)
        elif isinstance(item, Event):
            self._event(item)
        else:
            raise TypeError(f"not a session input: {type(item).__name__}")

    def feed_all(self, items: list[SessionInput]) -> list[AnalysisEvent]:
        """Feed ``items`` and advance once."""
        for it in items:
            self.feed(it)
        return self.advance()

    def _event(self, e: Event) -> None:
        if e.kind == LINK_EVENT and e.sensor and isinstance(e.data.get("interval_ms"), int | float):
            self._stack_interval[e.sensor] = 1e-3 * float(e.data["interval_ms"])
        if e.kind == CALIBRATION_EVENT and isinstance(e.data.get("calibration"), dict):
            self._stored = e.data["calibration"]
        if e.kind == PHASE_EVENT and e.data.get("phase") in PHASES:
            self._mark_seq += 1
            insort(self._pending_marks, (float(e.t), self._mark_seq, str(e.data["phase"])))

    def poll(self, t: float) -> None:
        """The session clock reached ``t`` (s) without input (lets held data go)."""
        self.aligner.poll(t)

    def finish(self) -> ExerciseResult | None:
        """End of session: release everything, close an open excursion; the final reps and
        holds (None when the session never got calibrated)."""
        if self._finished:
            return self.result
        self.aligner.flush()
        self._flushing = True
        self.advance()
        if self.calibration is None and self.state.status != Status.FAILED:
            self._decide_at_end()
        if self.calibration is None and self._stored is not None:
            self._use_stored(self._stored)
        self._finished = True
        if self.detector is not None:
            if not self._interrupted:
                self._handle(self.detector.finish())
            self.result = combine_detectors([*self._done_detectors, self.detector])
        self.state.sensors = self.aligner.health()
        return self.result

    # ------------------------------------------------------------------ grid
    def advance(self) -> list[AnalysisEvent]:
        """Process what has been fed: new grid samples through every stage; the detector
        events that completed."""
        n_before = len(self.events)
        for role in LEG_ROLES:
            s = self.aligner.take(role)
            if s is not None:
                self._to_grid(role, s)
        if self._grid is not None:
            chunk = self._grid.emit()
            if chunk is not None:
                self._process(chunk)
        if self.calibration is None:
            self._decide()
        self.state.sensors = self.aligner.health()
        return self.events[n_before:]

    def _to_grid(self, role: str, s: ImuSamples) -> None:
        if self._grid is None:
            self._probe.append((role, s))
            if not self.rate:
                n = sum(len(p) for r, p in self._probe if r == "thigh")
                if n < RATE_PROBE_SAMPLES and not self._flushing:
                    return
                self.rate = self._measured_rate()
                OrientationFilter(self._method, self.rate, self.opts.fusion_params)
            self._grid = StreamingGrid(LEG_ROLES, self.rate)
            probe, self._probe = self._probe, []
            for r, p in probe:
                self._grid.add(r, p)
            return
        self._grid.add(role, s)

    def _measured_rate(self) -> float:
        """The thigh's sample rate (Hz) from its first samples (no rate in the header)."""
        t = np.concatenate([p.t for r, p in self._probe if r == "thigh"] or [np.empty(0)])
        dt = np.diff(t[:RATE_PROBE_SAMPLES])
        dt = dt[dt > 0]
        if not len(dt):
            raise ImuhipError(
                "the thigh sensor's rate is not in the session header and too few of its "
                "samples came to measure it; give the grid rate"
            )
        return 1.0 / float(np.median(dt))

    def _undefined(self, lost: np.ndarray) -> np.ndarray:
        """Lost samples and the ``RECOVERY_S`` after each lost stretch."""
        n = round(RECOVERY_S * self.rate)
        idx = np.arange(len(lost))
        last = np.maximum.accumulate(np.where(lost, idx, -(10**12)))
        last = np.maximum(last, self._last_lost)
        self._last_lost = int(last[-1]) - len(lost) if len(lost) else self._last_lost
        return (idx - last) <= n

    def _stillness(self, t: np.ndarray, gyr_t: np.ndarray, gyr_s: np.ndarray) -> None:
        """``state.still_s``: how long both sensors have been still (0.25 s mean rate under
        ``STILL_RATE``)."""
        w = max(1, round(0.25 * self.rate))
        m = np.maximum(np.linalg.norm(gyr_t, axis=1), np.linalg.norm(gyr_s, axis=1))
        x = np.concatenate([self._still_tail, m])
        c = np.concatenate([[0.0], np.cumsum(x)])
        end = np.arange(len(self._still_tail), len(x)) + 1  # window ends (exclusive)
        begin = np.maximum(end - w, 0)
        mean = (c[end] - c[begin]) / np.maximum(end - begin, 1)
        count = self._still_count + np.arange(1, len(m) + 1)
        still = (count >= w) & (mean < STILL_RATE)
        self._still_count += len(m)
        self._still_tail = x[-(w - 1) :] if w > 1 else np.empty(0)
        moving = np.flatnonzero(~still)
        if len(moving):
            k = int(moving[-1]) + 1
            self._still_from = float(t[k]) if k < len(t) else None
        elif self._still_from is None and len(t):
            self._still_from = float(t[0])
        self.state.still_s = 0.0 if self._still_from is None else float(t[-1]) - self._still_from

    def _process(self, chunk: GridChunk) -> None:
        th, sh = chunk.samples["thigh"], chunk.samples["shin"]
        t, lost = chunk.t, chunk.lost
        gyr_t = correct_gyro(th.gyr, self._gyro_scale.get("thigh"))
        gyr_s = correct_gyro(sh.gyr, self._gyro_scale.get("shin"))
        self._stillness(t, gyr_t, gyr_s)
        undefined = self._undefined(lost)
        if self._keep:
            self._out.add(
                t=t, th_a=th.acc, th_g=gyr_t, sh_a=sh.acc, sh_g=gyr_s, valid=chunk.valid,
                lost=lost,
            )  # fmt: skip
        # no motion is invented inside a sensor's lost stretch: its filter sees a still sensor
        # there (the other sensor's filter goes on with its data)
        in_t = np.where(chunk.lost_by_role["thigh"][:, None], 0.0, gyr_t)
        in_s = np.where(chunk.lost_by_role["shin"][:, None], 0.0, gyr_s)
        self.state.t = float(t[-1])
        if self.tracker is None:
            self._buf.add(t=t, gt=gyr_t, gs=gyr_s, u=undefined, l=lost)
            self._raw.add(
                t=t, gt=in_t, at=th.acc, gs=in_s, lt=chunk.lost_by_role["thigh"],
                ls=chunk.lost_by_role["shin"], u=undefined, l=lost, **{"as": sh.acc},
            )  # fmt: skip
            if self.state.status == Status.WAITING:
                self.state.status = Status.CALIBRATING
            return
        q_t = self._filter("thigh", in_t, th.acc, chunk.lost_by_role["thigh"])
        q_s = self._filter("shin", in_s, sh.acc, chunk.lost_by_role["shin"])
        self._track(t, q_t, q_s, gyr_s, undefined, lost, detect_from=0)

    def _track(
        self,
        t: np.ndarray,
        q_t: np.ndarray,
        q_s: np.ndarray,
        gyr_s: np.ndarray,
        undefined: np.ndarray,
        lost: np.ndarray,
        detect_from: int,
    ) -> None:
        """Angles for a chunk (the tracker's whole input), kept and shown; the detector
        gets them from ``detect_from`` on."""
        assert self.tracker is not None and self.calibration is not None
        h = self._tracked(q_t, q_s, lost)
        if h.rest_seen is not None and heading_needs_rests(self.calibration) and len(t):
            seen = np.flatnonzero(h.rest_seen)
            if len(seen):
                self._rested_at = float(t[seen[-1]])
            self.state.unrested_s = float(t[-1]) - self._rested_at
        ang = np.where(undefined, np.nan, h.hip_rotation_deg)
        knee = np.where(undefined, np.nan, h.knee_flexion_deg)
        if self._angle_feed and len(t):
            self._fresh.append(TrackedAngles(t, ang, knee))
        if self._keep:
            none = np.full(len(t), np.nan)
            self._ang.add(
                rot=ang,
                head=h.heading_offset_deg,
                knee=knee,
                flex=none
                if h.hip_flexion_deg is None
                else np.where(undefined, np.nan, h.hip_flexion_deg),
                rest=np.zeros(len(t), bool) if h.rest_seen is None else h.rest_seen,
                qt=q_t,
                qs=q_s,
            )
        st = self.state
        if len(ang):
            st.angle_deg = None if undefined[-1] else float(ang[-1])
            if not undefined.all():
                hi = float(np.nanmax(ang))
                st.highest_deg = hi if st.highest_deg is None else max(st.highest_deg, hi)
        self._detect(
            t[detect_from:], ang[detect_from:], gyr_s[detect_from:], undefined[detect_from:]
        )

    def _tracked(self, q_t: np.ndarray, q_s: np.ndarray, lost: np.ndarray) -> HipAngles:
        """The hip rotation tracker over a chunk, told of every end of a lost stretch."""
        assert self.tracker is not None
        ends = np.flatnonzero(~lost & np.r_[self._tracker_was_lost, lost[:-1]]) if len(lost) else []
        if len(lost):
            self._tracker_was_lost = bool(lost[-1])
        if not len(ends):
            return self.tracker.update(q_t, q_s)
        parts, a = [], 0
        for e in [*ends, len(lost)]:
            if e > a:
                parts.append(self.tracker.update(q_t[a:e], q_s[a:e]))
            if e < len(lost):
                self.tracker.after_gap()
            a = e
        return HipAngles(
            *(
                None if getattr(parts[0], f.name) is None
                else np.concatenate([getattr(x, f.name) for x in parts])
                for f in fields(HipAngles)
            )
        )  # fmt: skip

    def _detect(
        self, t: np.ndarray, ang: np.ndarray, gyr_s: np.ndarray, undefined: np.ndarray
    ) -> None:
        """The rep/hold detector over a chunk; interrupted across lost stretches and resumed
        after them with the same rest."""
        assert self.detector is not None
        edges = np.flatnonzero(np.diff(undefined.astype(np.int8))) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, len(t)], strict=True):
            if b <= a:
                continue
            if undefined[a]:  # a lost stretch: the open excursion cannot be finished
                if not self._interrupted:
                    self._handle(self.detector.interrupt())
                    self._interrupted = True
                continue
            if self._interrupted:  # data again: a fresh detector from where the last stopped
                self._done_detectors.append(self.detector)
                fresh = ExerciseDetector(self.rate, self.opts.detector)
                fresh.resume_from(self.detector)
                self.detector = fresh
                self._interrupted = False
            self._handle(self.detector.update(t[a:b], ang[a:b], gyr_s[a:b]))
        st = self.state
        if st.hold_start_s is not None and st.t is not None:
            st.hold_s = max(0.0, st.t - st.hold_start_s)

    # ------------------------------------------------------------------ calibration
    def _decide(self) -> None:
        """Take every calibration decision the buffered data allow, in time order: apply the
        guidance marks, calibrate a complete attempt once its final still phase is in, search
        the data every ``auto_search_every_s`` when there are no usable marks."""
        while self.calibration is None:
            t = self._buf.get("t")
            if not len(t):
                return
            end = float(t[-1])
            if math.isnan(self._next_search_t):
                self._next_search_t = float(t[0]) + self._auto_every
            mark = self._pending_marks[0][0] if self._pending_marks else math.inf
            ready = search = math.inf
            if self.state.status != Status.FAILED:
                ready = self._marks_ready_at() or math.inf
                if ready == math.inf:
                    search = self._next_search_time()
            d = min(mark, ready, search)
            if d > end:
                return
            if d == ready:
                self._attempt_marks(int(np.searchsorted(t, ready, side="right")))
            elif d == mark:
                self._apply_mark(*self._pending_marks.pop(0)[::2])
            else:
                self._next_search_t = search + self._auto_every
                self._search(int(np.searchsorted(t, search, side="right")))

    def _next_search_time(self) -> float:
        """When the data are next searched for the calibration movements: every
        ``auto_search_every_s``, but not while guidance marks are coming (up to
        ``MARKS_PATIENCE_S`` after the latest)."""
        if self._marks_seen and self.marks:
            latest = max(self.marks.values())
            while self._next_search_t < latest + MARKS_PATIENCE_S:
                self._next_search_t += self._auto_every
        return self._next_search_t

    def _decide_at_end(self) -> None:
        """The last decision, on all the data (the session ended before a regular one)."""
        while self._pending_marks:
            self._apply_mark(*self._pending_marks.pop(0)[::2])
        n = len(self._buf)
        if n < 2:
            return
        if self._marks_ready_at() is not None:
            self._attempt_marks(n, final=True)
        if self.calibration is None and self.state.status != Status.FAILED:
            self._search(n, final=True)

    def _apply_mark(self, t: float, phase: str) -> None:
        if phase == PHASES[0]:
            # the guidance starts (over, after a refused calibration): a new attempt
            self.marks = {}
            if self.state.status == Status.FAILED:
                self.state.status = Status.CALIBRATING
                self.state.message = ""
        self.marks[phase] = t
        self._mark_tries = 0
        self._marks_seen = True

    def _marks_ready_at(self) -> float | None:
        """When the current attempt's marks can be calibrated (None: incomplete)."""
        if not all(p in self.marks for p in PHASES):
            return None
        return self.marks["still_end"] + MIN_STILL_END_S + self._mark_tries * self._auto_every

    def _attempt_marks(self, n: int, *, final: bool = False) -> None:
        """Calibrate the current attempt: the phases the person did, found in the data around
        the marks (:func:`~imuhip.joint.phases.phases_near_marks`; looked for again every
        ``auto_search_every_s`` for up to ``MARKS_RETRY_S`` while the leg is still moving: a
        slow person's final still pose comes late), else the marks' own phases."""
        b = self._buf
        t = b.get("t")[:n]
        phases = phases_near_marks(t, b.get("gt")[:n], b.get("gs")[:n], self.rate, self.marks)
        waited = self._mark_tries * self._auto_every
        if phases is None and not final and waited < MARKS_RETRY_S and self._moving_at(n):
            self._mark_tries += 1  # still moving: the final still pose may yet come
            return
        if phases is None:
            phases = phases_from_marks(t, self.marks, MIN_STILL_END_S)
        self.marks = {}
        if phases is None:  # marks out of order: the data are searched instead
            return
        self._calibrate(phases, n, noted=True)

    def _moving_at(self, n: int) -> bool:
        """Whether the leg moved in the last ``MIN_STILL_END_S`` of the first ``n`` buffered
        samples (so it has not yet held the final still pose)."""
        b = self._buf
        w = max(1, round(MIN_STILL_END_S * self.rate))
        k = max(0, n - w - round(self.rate))
        still = still_mask(b.get("gt")[k:n], b.get("gs")[k:n], self.rate)
        return not still[-w:].all()

    def _search(self, n: int, *, final: bool = False) -> None:
        """Look for the calibration movements in the first ``n`` buffered samples."""
        b = self._buf
        t = b.get("t")[:n]
        if len(t) < 2:
            return
        try:
            phases = find_phases(t, b.get("gt")[:n], b.get("gs")[:n], self.rate)
        except CalibrationError as exc:
            self._last_error = exc
            if final or float(t[-1]) - float(t[0]) > SEARCH_SPAN_S:
                self._fail(exc, n)
            return
        self._calibrate(phases, n, noted=False)

    def _calibrate(self, phases: Phases, n: int, *, noted: bool) -> None:
        """Calibrate on the first ``n`` buffered samples with ``phases``; on success start the
        tracker and the detector on everything buffered."""
        b = self._buf
        t = b.get("t")[:n]
        q_t, q_s = self._fuse(phases)
        try:
            cal = calibrate(
                t, b.get("gt")[:n], b.get("gs")[:n], q_t[:n], q_s[:n],
                side=self.header.side, rate_hz=self.rate, phases=phases,
                shank_tilt_deg=START_POSE_SHANK_TILT_DEG.get(self.header.exercise),
            )  # fmt: skip
            check_calibration_data(t, b.get("u")[:n], cal, self.redo_advice)
        except CalibrationError as exc:
            if noted:
                self.refused.append(
                    f"the calibration begun at {t[phases.still_start[0]]:.1f} s was refused ({exc})"
                )
            self._fail(exc, n)
            return
        self._calibrated(cal, q_t, q_s)

    def _fuse(self, phases: Phases) -> tuple[np.ndarray, np.ndarray]:
        """Start both orientation filters, seeded with the gyro bias of the still start in
        ``phases`` (indices into the attempt's buffer), and run them over every grid sample
        since the session's start; the buffer's part of their output."""
        raw, b = self._raw, self._buf
        off = len(raw.get("gt")) - len(b)  # the buffer is the tail of the raw inputs
        out = []
        for role, g, a, lo in (("thigh", "gt", "at", "lt"), ("shin", "gs", "as", "ls")):
            bias = still_start_bias(raw.get(g)[off:], phases, b.get("l"))
            self._filters[role] = OrientationFilter(
                self._method, self.rate, self.opts.fusion_params, bias
            )
            self._was_lost[role] = False
            out.append(self._filter(role, raw.get(g), raw.get(a), raw.get(lo))[off:])
        return out[0], out[1]

    def _filter(self, role: str, gyr: np.ndarray, acc: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """The orientation filter of ``role`` over a chunk. Inside the sensor's lost stretches
        it gets no input (its orientation is held; no motion is invented, and no false bias
        learnt); at the first sample after each it is levelled from the accelerometer (the
        turn it missed shows as tilt; ``OrientationFilter.level``)."""
        f = self._filters[role]
        if not len(lost):
            return np.empty((0, 4))
        edges = np.flatnonzero(np.diff(np.r_[self._was_lost[role], lost].astype(np.int8)))
        bounds = [0, *edges.tolist(), len(lost)]
        parts = []
        for a, b in itertools.pairwise(bounds):
            if b <= a:
                continue
            if lost[a]:
                parts.append(f.hold(b - a))
                continue
            if a > 0 or self._was_lost[role]:
                f.level(acc[a])
            parts.append(f.update(gyr[a:b], acc[a:b]))
        self._was_lost[role] = bool(lost[-1])
        return np.concatenate(parts)

    def _fail(self, exc: CalibrationError, n: int) -> None:
        """A refused attempt: say why, drop its data (up to the decision) and wait for the
        next attempt."""
        self._last_error = exc
        self.state.status = Status.FAILED
        self.state.message = str(exc)
        self._buf.drop_before(n)

    def _use_stored(self, rec: dict) -> None:
        """No attempt in the data worked (a damaged file): calibrate with the result the live
        session stored when it calibrated, on all the data since the start, and say so."""
        raw = self._raw
        t = raw.get("t")
        try:
            cal = calibration_from_record(rec, t)
        except CalibrationError as exc:
            self.refused.append(str(exc))
            return
        if cal.phases.end > len(t) or cal.phases.still_start[0] >= len(t):
            return
        self._buf.clear()
        self._buf.add(t=t, gt=raw.get("gt"), gs=raw.get("gs"), u=raw.get("u"), l=raw.get("l"))
        q_t, q_s = self._fuse(cal.phases)
        self.refused.append(
            f"no calibration attempt in this file could be used ({self._last_error}); the "
            "calibration the live session made and stored in the file was used instead"
        )
        self._calibrated(cal, q_t, q_s, stored=True)

    def _calibrated(
        self, cal: Calibration, q_t: np.ndarray, q_s: np.ndarray, *, stored: bool = False
    ) -> None:
        b = self._buf
        t, gs, u = b.get("t"), b.get("gs"), b.get("u")
        self.calibration = cal
        if not stored:  # the recorder keeps it, for an analysis of a damaged file
            record = {"calibration": calibration_record(cal)}
            self.outbox.append(Event(cal.end_s, CALIBRATION_EVENT, None, record))
        k0, k1 = cal.phases.still_end
        self.tracker = HipRotationTracker(cal, self.rate)
        self._rested_at = float(t[k0])
        self.detector = ExerciseDetector(self.rate, self.opts.detector)
        if self._keep:  # no angle before the final still pose
            before = len(self._out) - (len(t) - k0)
            none = np.full(before, np.nan)
            # orientations from the attempt's buffer on (earlier ones are not kept)
            q_none = np.full((before - k0, 4), np.nan)
            self._ang.add(
                rot=none, head=none, knee=none, flex=none, rest=np.zeros(before, bool),
                qt=np.concatenate([q_none, q_t[:k0]]), qs=np.concatenate([q_none, q_s[:k0]]),
            )  # fmt: skip
        probe = HipRotationTracker(cal, self.rate).update(q_t[k0:k1], q_s[k0:k1])
        rest = np.where(u[k0:k1], np.nan, probe.hip_rotation_deg)
        self.detector.rest = float(np.nanmean(rest)) if np.isfinite(rest).any() else 0.0
        st = self.state
        st.status = Status.READY
        st.calibrated_at_s = cal.end_s
        st.message = "; ".join(cal.quality.warnings())
        self._track(
            t[k0:], q_t[k0:], q_s[k0:], gs[k0:], u[k0:], b.get("l")[k0:], detect_from=k1 - k0
        )
        self._buf.clear()
        self._raw.clear()
        self.marks = {}
        self._pending_marks.clear()

    # ------------------------------------------------------------------ events
    def _handle(self, evs: list[AnalysisEvent]) -> None:
        st = self.state
        for e in evs:
            self.events.append(e)
            if e.kind == "rep_counted" and isinstance(e.item, Rep):
                st.reps += 1
                st.last_rep_peak_deg = e.item.peak_deg
                st.best_rep_deg = (
                    e.item.peak_deg
                    if st.best_rep_deg is None
                    else max(st.best_rep_deg, e.item.peak_deg)
                )
            elif e.kind == "partial_rep":
                st.partial_reps += 1
                st.hold_start_s = None  # a plateau re-read as a new rest was no hold
                st.hold_s = 0.0
            elif e.kind == "hold_started":
                st.hold_start_s = e.t
                st.hold_s = max(0.0, (st.t or e.t) - e.t)
            elif e.kind == "hold_ended" and isinstance(e.item, Hold):
                st.holds += 1
                st.hold_start_s = None
                st.hold_s = 0.0
                st.last_hold_s = e.item.duration_s
                st.total_hold_s += e.item.duration_s

    # ------------------------------------------------------------------ results
    def summary(self) -> dict:
        """Counts and extremes in the form of ``ExerciseResult.summary`` (after
        :meth:`finish`: exactly that)."""
        if self.result is not None:
            return self.result.summary()
        d = self.detector
        if d is None:
            return ExerciseResult((), (), (), ()).summary()
        return ExerciseResult(tuple(d.reps), (), tuple(d.holds), ()).summary()

    def failure(self) -> CalibrationError:
        """Why the session has no calibration (after :meth:`finish`)."""
        msg = str(self._last_error) if self._last_error else "no calibration movements found"
        hints = rate_warnings(self.aligner.streams(), self.header)
        if hints:  # a sensor at another rate than set looks like lost data
            msg = f"{msg}; note: {'; '.join(hints)}"
        return CalibrationError(msg)

    def analysis(self) -> SessionAnalysis:
        """The whole session's result (after :meth:`finish`, with ``keep``).

        Raises:
            CalibrationError: the session was never calibrated (what was missing or refused).
            ImuhipError: the sensors' data never overlapped.
        """
        if not self._finished:
            raise RuntimeError("finish() the pipeline first")
        if not self._keep:
            raise RuntimeError("create the pipeline with keep=True to get the analysis")
        if self._grid is None:
            StreamingGrid(LEG_ROLES, self.rate or 1.0).check_overlap()
        assert self._grid is not None
        self._grid.check_overlap()
        if self.calibration is None or self.result is None:
            raise self.failure()
        o, a = self._out, self._ang
        t = o.get("t")
        grid = Grid(
            t,
            self.rate,
            ImuSamples(t, o.get("th_a"), o.get("th_g")),
            ImuSamples(t, o.get("sh_a"), o.get("sh_g")),
            o.get("valid"),
            o.get("lost"),
        )
        streams = self.aligner.streams()
        k0 = self.calibration_index()
        rest = a.get("rest")
        flex = a.get("flex")
        return SessionAnalysis(
            grid,
            a.get("rot"),
            a.get("head"),
            self.calibration,
            self.result,
            streams,
            a.get("knee"),
            None if np.isnan(flex).all() else flex,
            (
                *self.refused,
                *rate_warnings(streams, self.header),
                *timing_warnings(streams, self.header, self._stack_interval),
                *heading_warnings(t[k0:], rest[k0:] if rest.any() else None, self.calibration),
            ),
            {"thigh": a.get("qt"), "shin": a.get("qs")},
        )

    def new_angles(self) -> TrackedAngles:
        """The angles tracked since the last call (empty arrays if none), in time order, each
        grid point once; they start at the calibration's final still phase (the tracker's
        first sample), which is in the past when the calibration is decided.

        Raises:
            RuntimeError: the pipeline was created without ``angle_feed``.
        """
        if not self._angle_feed:
            raise RuntimeError("create the pipeline with angle_feed=True to get new_angles()")
        parts, self._fresh = self._fresh, []
        if not parts:
            return TrackedAngles(np.empty(0), np.empty(0), np.empty(0))
        return TrackedAngles(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(TrackedAngles))
        )

    def calibration_index(self) -> int:
        """Grid index of the start of the calibration's final still phase."""
        rot = self._ang.get("rot")
        head = self._ang.get("head")
        finite = np.flatnonzero(np.isfinite(head))
        return int(finite[0]) if len(finite) else len(rot)
