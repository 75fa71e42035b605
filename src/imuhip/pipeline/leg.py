"""One instrumented leg's chain: its sensors' grid samples in, the hip angle and exercise events
of that leg out.

    grid chunk (the leg's thigh and shin columns)
      -> [buffered until the calibration phases are known]
      -> orientation per sensor (seeded with the still start's gyro bias, from the first sample)
      -> calibration -> hip rotation tracker -> rep/hold detector

A session pipeline (:mod:`imuhip.pipeline.session_pipeline`) runs one chain per leg of the
layout on the same grid. Times are seconds on the session time base; angles in degrees
(internal rotation positive, 0 in the calibrated start pose).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

import numpy as np

from imuhip import quaternion as Q
from imuhip.analysis.detector import ExerciseDetector
from imuhip.analysis.events import AnalysisEvent, Direction, EventKind, Hold, Rep, Stretch
from imuhip.analysis.exercise import ExerciseResult, combine_detectors
from imuhip.analysis.hold_prior import HoldPrior
from imuhip.calibration_protocol import CALIBRATION_EVENT, START_POSE_SHANK_TILT_DEG
from imuhip.errors import CalibrationError, LostCalibrationDataError
from imuhip.fusion.gyro_scale import correct_gyro
from imuhip.fusion.losses import update_through_losses
from imuhip.fusion.orientation import OrientationFilter
from imuhip.fusion.vendor import VendorOrientation, VendorTrack
from imuhip.joint.calibration import (
    Calibration,
    calibrate,
    calibration_from_record,
    phase_times,
)
from imuhip.joint.calibration import calibration_record as make_calibration_record
from imuhip.joint.hip_rotation import BATCH_CHUNK, HipAngles, HipRotationTracker
from imuhip.joint.phases import (
    STILL_RATE,
    Phases,
    find_phases,
    phases_from_marks,
    phases_near_marks,
    runs,
    still_mask,
)
from imuhip.joint.shin_only import ShinOnlyCalibration, ShinOnlyTracker, calibrate_shin_only
from imuhip.layout import Leg
from imuhip.pipeline.advice import UNCHECKED_HEADING_S, heading_needs_rests
from imuhip.pipeline.calibration_schedule import (
    MARKS_RETRY_S,
    MIN_STILL_END_S,
    CalibrationSchedule,
    DecisionKind,
)
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.state import LiveState, Status
from imuhip.pipeline.trace_envelope import LegTrace, LegTraceFeed
from imuhip.samples import ImuSamples
from imuhip.session import Event

#: After a lost stretch the orientation filters re-settle on gravity for this long (seconds);
#: the angle is left undefined meanwhile.
RECOVERY_S = 3.0
#: Without guidance marks the phases are searched for until the data span this long (s).
SEARCH_SPAN_S = 100.0

#: What to do about a calibration that lost data, live (the protocol can be done again) ...
REDO_LIVE = "do the calibration again (keep the sensors in range and charged)"
#: ... and in a saved file (it cannot).
REDO_FILE = (
    "a saved session cannot be calibrated again: imuhip takes a later attempt of the protocol "
    "in the file where there is one (there is none that works here), so this session's angles "
    "cannot be computed; its raw samples can still be exported (imuhip export --samples DIR), "
    "and the next recording should start with the protocol in range of the sensors"
)


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


class Keep(enum.Flag):
    """What a leg chain keeps of every grid point for the analysis (the exercise events, the
    calibration, the streams' counters and the warnings are always kept).

    ``ANGLES``: the grid times, ``valid`` and ``lost``, and the hip rotation, knee and hip
    flexion and heading offset; ``SAMPLES``: the grid's accelerometer and gyroscope of both
    sensors (and the times); ``ORIENTATIONS``: both sensors' orientations. What is not kept is
    an empty array (length 0) in the analysis. ``TRACE``: what the report draws, of bounded
    size (:class:`~imuhip.pipeline.trace_envelope.LegTrace`), accumulated as the chunks pass.
    """

    EVENTS = 0
    ANGLES = enum.auto()
    SAMPLES = enum.auto()
    ORIENTATIONS = enum.auto()
    TRACE = enum.auto()
    ALL = ANGLES | SAMPLES | ORIENTATIONS | TRACE


@dataclass(frozen=True)
class LegSettings:
    """What a leg chain needs to know of its session.

    Attributes:
        leg: the leg's side and sensor roles.
        exercise: the session's exercise (the start pose's shank tilt depends on it).
        rate_hz: the grid rate.
        method: orientation filter method.
        options: filter, grid rate and detector choices.
        gyro_scale: role -> per-axis gyro scale (measured / true), None where there is none.
        every_s: how often (data time) the data are searched for the calibration phases.
        keep: what to keep of every grid point for the analysis (:class:`Keep`).
        angle_feed: collect the tracked angles for :meth:`LegChain.new_angles`.
        redo_advice: what a user can do about a refused calibration.
        tag_events: put the leg's side on its detector events (sessions of both legs).
        vendor: role -> the vendor's orientation of a sensor that gave one instead of raw data
            (the session pipeline fills it as such data come); such a sensor is not fused.
    """

    leg: Leg
    exercise: str
    rate_hz: float
    method: str
    options: PipelineOptions
    gyro_scale: dict[str, np.ndarray | None]
    every_s: float
    keep: Keep
    angle_feed: bool
    redo_advice: str
    tag_events: bool = False
    vendor: dict[str, VendorTrack] = field(default_factory=dict)


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
        raise LostCalibrationDataError(
            f"the sensors lost data during the calibration (from {t[a + bad[0]]:.1f} s to "
            f"{t[a + bad[-1]]:.1f} s), so it cannot be trusted: {advice}"
        )


#: A still phase cut to its intact part must keep at least this long (s).
MIN_INTACT_STILL_S = 1.0
#: A sensor's lost stretch inside the knee bends or the rocks is bridged up to this long (s);
#: a longer one may hide a whole bend, and the axes' signs with it.
MAX_BRIDGED_S = 1.0


def intact_phases(
    t: np.ndarray,
    undefined: np.ndarray,
    lost: np.ndarray,
    times: dict[str, tuple[float, float]],
    rate_hz: float,
) -> Phases | None:
    """The phases at ``times`` on the grid ``t``, each still phase cut to its longest intact
    stretch (None when one keeps under ``MIN_INTACT_STILL_S``, when a moving phase has no
    intact sample, or a lost stretch in it is over ``MAX_BRIDGED_S``; ``undefined``: lost and
    recovering samples, ``lost``: samples lost by either sensor)."""
    idx = {
        n: (int(np.searchsorted(t, a)), int(np.searchsorted(t, b, side="right")))
        for n, (a, b) in times.items()
    }
    out = {}
    for name, (a, b) in idx.items():
        good = runs(~undefined[a:b])
        if not good:
            return None
        if not name.startswith("still"):
            longest = max((d - c for c, d in runs(lost[a:b])), default=0)
            if longest / rate_hz > MAX_BRIDGED_S:
                return None
        else:
            ga, gb = max(good, key=lambda r: r[1] - r[0])
            if (gb - ga) / rate_hz < MIN_INTACT_STILL_S:
                return None
            a, b = a + ga, a + gb
        out[name] = (a, b)
    return Phases(out["still_start"], out["bends"], out["rocks"], out["still_end"])


def bridged_rates(gyr: np.ndarray, q: np.ndarray, lost: np.ndarray, rate_hz: float) -> np.ndarray:
    """Angular rates (N, 3) rad/s, sensor frame, with each lost stretch filled by the steady
    rate of the turn the orientations ``q`` (N, 4) show across it (the filter is levelled after
    a gap, so that turn is the tilt it missed): integrals over the stretch then agree with the
    orientations, where zeros would lose the turn."""
    out = np.array(gyr, dtype=float)
    for a, b in runs(lost):
        if a == 0 or b >= len(q) or not (np.isfinite(q[a - 1]).all() and np.isfinite(q[b]).all()):
            continue
        turn = Q.to_rotvec(Q.multiply(Q.conjugate(q[a - 1]), q[b]))
        out[a:b] = turn * rate_hz / (b - a + 1)
    return out


def still_start_bias(gyr: np.ndarray, phases: Phases, lost: np.ndarray) -> np.ndarray | None:
    """Gyro bias (3,) rad/s seen in the calibration's still start pose: the mean rate there,
    lost samples left out (None when none is left). Seeds the orientation filter."""
    s0, s1 = phases.still_start
    g = gyr[s0:s1][~lost[s0:s1]]
    return g.mean(axis=0) if len(g) else None


class Columns:
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


class Tracker(Protocol):
    """A leg's streaming angle tracker (two sensors, or the shin alone)."""

    def update(self, q_thigh: np.ndarray, q_shin: np.ndarray) -> HipAngles: ...

    def after_gap(self) -> None: ...


class AngleCorrection(Protocol):
    """What a leg's hip angle is corrected by (:mod:`imuhip.pipeline.compensation`)."""

    def ready_until(self) -> float:
        """Angles up to this time (s) can be corrected now."""
        ...

    def correction_deg(
        self, t: np.ndarray, side: str, femur_start: np.ndarray | None
    ) -> np.ndarray:
        """Degrees to take from the apparent hip rotation at ``t`` (NaN: unknown there, the
        angle is left undefined)."""
        ...


class LegChain:
    """Calibration, angle and exercise detection of one leg (see the module docstring)."""

    def __init__(self, s: LegSettings, state: LiveState | None = None) -> None:
        self.s = s
        self.leg = s.leg
        self.rate = s.rate_hz
        self.schedule = CalibrationSchedule(s.every_s)
        self._last_error: CalibrationError | None = None
        self.refused: list[str] = []
        # attempts refused for lost data in their window: phase name -> (start, end) seconds
        self._damaged: list[dict[str, tuple[float, float]]] = []
        # the current attempt's grid data, and every filter input since the session's start
        self._buf = Columns("t", "gt", "gs", "u", "l")
        self._raw = Columns("t", "gt", "at", "gs", "as", "lt", "ls", "u", "l")
        self.outbox: list[Event] = []  # session events for the recorder (the calibration)
        self._was_lost = {"thigh": False, "shin": False}  # a sensor's last grid sample lost
        self._tracker_was_lost = False
        self._last_lost = -(10**12)  # grid index of the last lost sample, relative to the next
        self._still_tail = np.empty(0)
        self._still_count = 0
        self._still_from: float | None = None
        self._filters: dict[str, OrientationFilter | VendorOrientation] = {}
        self.calibration: Calibration | ShinOnlyCalibration | None = None
        self.tracker: Tracker | None = None
        self.detector: ExerciseDetector | None = None
        self._done_detectors: list[ExerciseDetector] = []
        self._interrupted = False
        self._rested_at = 0.0
        self._out = Columns("t", "th_a", "th_g", "sh_a", "sh_g", "valid", "lost")
        self._ang = Columns("rot", "head", "knee", "flex", "qt", "qs")
        self._trace = LegTraceFeed() if s.keep & Keep.TRACE else None
        self._points = 0  # grid points processed
        self._emit_k = 0  # grid index of the next tracked point
        self._rests = RestGaps()  # the heading warnings' stretches, as the angles go
        self.state = state or LiveState()
        self.events: list[AnalysisEvent] = []
        self.result: ExerciseResult | None = None
        self._fresh: list[TrackedAngles] = []  # tracked since the last new_angles()
        # the pelvis correction of the hip angle (set by the pipeline with a pelvis sensor)
        # and the tracked chunks held until it covers them
        self.correction: AngleCorrection | None = None
        self._held: list[tuple] = []
        self._taken = 0  # events handed on by take_events()
        self._detect_after = -np.inf  # the protocol's steps go on until then (s)
        #: holds on weaker evidence where the training program asked for one
        self.prior = HoldPrior(self.rate)

    # ------------------------------------------------------------------ grid
    def undefined(self, lost: np.ndarray) -> np.ndarray:
        """Lost samples and the ``RECOVERY_S`` after each lost stretch (advances the chain's
        memory of the last lost sample: call once per chunk)."""
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
        self._still_tail = x[-(w - 1) :].copy() if w > 1 else np.empty(0)
        moving = np.flatnonzero(~still)
        if len(moving):
            k = int(moving[-1]) + 1
            self._still_from = float(t[k]) if k < len(t) else None
        elif self._still_from is None and len(t):
            self._still_from = float(t[0])
        self.state.still_s = 0.0 if self._still_from is None else float(t[-1]) - self._still_from

    def process(self, chunk: LegChunk) -> None:
        """Take the leg's next grid chunk through every stage the calibration allows (a
        shin-only leg's thigh columns are zeros: a still, absent thigh)."""
        sh = chunk.shin
        th = chunk.thigh or ImuSamples(chunk.t, np.zeros_like(sh.acc), np.zeros_like(sh.gyr))
        t, lost = chunk.t, chunk.lost
        leg = self.leg
        gyr_t = correct_gyro(th.gyr, self.s.gyro_scale.get(leg.thigh or ""))
        gyr_s = correct_gyro(sh.gyr, self.s.gyro_scale.get(leg.shin))
        self._stillness(t, gyr_t, gyr_s)
        undefined = self.undefined(lost)
        self._points += len(t)
        keep = self.s.keep
        if keep & (Keep.ANGLES | Keep.SAMPLES):
            self._out.add(t=t, valid=chunk.valid, lost=lost)
        if keep & Keep.SAMPLES:
            self._out.add(th_a=th.acc, th_g=gyr_t, sh_a=sh.acc, sh_g=gyr_s)
        if self._trace is not None:
            self._trace.add_grid(t, chunk.valid, gyr_s)
        # no motion is invented inside a sensor's lost stretch: its filter sees a still sensor
        # there (the other sensor's filter goes on with its data)
        in_t = np.where(chunk.lost_thigh[:, None], 0.0, gyr_t)
        in_s = np.where(chunk.lost_shin[:, None], 0.0, gyr_s)
        self.state.t = float(t[-1])
        if self.tracker is None:
            self._buf.add(t=t, gt=gyr_t, gs=gyr_s, u=undefined, l=lost)
            self._raw.add(
                t=t, gt=in_t, at=th.acc, gs=in_s, lt=chunk.lost_thigh, ls=chunk.lost_shin,
                u=undefined, l=lost, **{"as": sh.acc},
            )  # fmt: skip
            if self.state.status == Status.WAITING:
                self.state.status = Status.CALIBRATING
            return
        q_t = self._filter("thigh", in_t, th.acc, chunk.lost_thigh)
        q_s = self._filter("shin", in_s, sh.acc, chunk.lost_shin)
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
        if self.correction is not None:  # held until the pelvis's obliquity covers them
            self._held.append((t, h, q_t, q_s, gyr_s, undefined, detect_from))
            self.release()
            return
        self._emit(t, h, q_t, q_s, gyr_s, undefined, detect_from, None)

    def release(self, *, final: bool = False) -> None:
        """Angles held for the correction (:attr:`correction`) that it now covers (``final``:
        all of them) go on, corrected, to the outputs and the detector."""
        if self.correction is None:
            return
        until = self.correction.ready_until()
        cal = self.calibration
        femur = getattr(cal, "femur_start", None)
        while self._held and (final or not len(self._held[0][0]) or self._held[0][0][-1] <= until):
            t, h, q_t, q_s, gyr_s, undefined, detect_from = self._held.pop(0)
            corr = self.correction.correction_deg(t, self.leg.side, femur)  # NaN: unknown
            self._emit(t, h, q_t, q_s, gyr_s, undefined, detect_from, corr)

    def _emit(
        self,
        t: np.ndarray,
        h: HipAngles,
        q_t: np.ndarray,
        q_s: np.ndarray,
        gyr_s: np.ndarray,
        undefined: np.ndarray,
        detect_from: int,
        corr: np.ndarray | None,
    ) -> None:
        """A chunk's tracked angles (less ``corr``, degrees, where given) kept, shown and
        detected from ``detect_from`` on."""
        rot = h.hip_rotation_deg if corr is None else h.hip_rotation_deg - corr
        ang = np.where(undefined, np.nan, rot)
        knee = np.where(undefined, np.nan, h.knee_flexion_deg)
        if self.s.angle_feed and len(t):
            self._fresh.append(TrackedAngles(t, ang, knee))
        self._rests.add(self._emit_k, t, h.heading_offset_deg, h.rest_seen)
        self._emit_k += len(t)
        if self._trace is not None:
            self._trace.add_angles(ang)
        if self.s.keep & Keep.ANGLES:
            none = np.full(len(t), np.nan)
            self._ang.add(
                rot=ang,
                head=h.heading_offset_deg,
                knee=knee,
                flex=none
                if h.hip_flexion_deg is None
                else np.where(undefined, np.nan, h.hip_flexion_deg),
            )
        if self.s.keep & Keep.ORIENTATIONS:
            self._ang.add(qt=q_t, qs=q_s)
        st = self.state
        if len(ang):
            st.angle_deg = None if undefined[-1] else float(ang[-1])
            if not undefined.all():
                hi = float(np.nanmax(ang))
                st.highest_deg = hi if st.highest_deg is None else max(st.highest_deg, hi)
        detect_from = max(detect_from, int(np.searchsorted(t, self._detect_after)))
        self._detect(
            t[detect_from:], ang[detect_from:], gyr_s[detect_from:], undefined[detect_from:]
        )

    def _tracked(self, q_t: np.ndarray, q_s: np.ndarray, lost: np.ndarray) -> HipAngles:
        """The hip rotation tracker over a chunk, told of every end of a lost stretch."""
        assert self.tracker is not None
        ends = np.flatnonzero(~lost & np.r_[self._tracker_was_lost, lost[:-1]]) if len(lost) else []
        if len(lost):
            self._tracker_was_lost = bool(lost[-1])
        if not len(ends) and len(q_s) <= BATCH_CHUNK:
            return self.tracker.update(q_t, q_s)
        parts, a = [], 0
        for e in [*ends, len(lost)]:
            # long stretches in pieces: the same numbers (a streaming tracker), faster (its
            # temporaries stay in cache)
            for k in range(a, e, BATCH_CHUNK):
                k1 = min(e, k + BATCH_CHUNK)
                parts.append(self.tracker.update(q_t[k:k1], q_s[k:k1]))
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
                    self.prior.gap()
                    self._interrupted = True
                continue
            if self._interrupted:  # data again: a fresh detector from where the last stopped
                self._done_detectors.append(self.detector)
                fresh = ExerciseDetector(self.rate, self.s.options.detector)
                fresh.resume_from(self.detector)
                self.detector = fresh
                self._interrupted = False
            self._handle(self.detector.update(t[a:b], ang[a:b], gyr_s[a:b]))
            self._prior_holds(self.prior.update(t[a:b], ang[a:b], gyr_s[a:b]))
        st = self.state
        if st.hold_start_s is not None and st.t is not None:
            st.hold_s = max(0.0, st.t - st.hold_start_s)
        self._stretch_timer()

    # ------------------------------------------------------------------ calibration
    def decide(self) -> None:
        """Take every calibration decision the buffered data allow, in time order: apply the
        guidance marks, calibrate a complete attempt once its final still phase is in, search
        the data every ``every_s`` when there are no usable marks."""
        while self.calibration is None:
            t = self._buf.get("t")
            if not len(t):
                return
            failed = self.state.status == Status.FAILED
            d = self.schedule.next_decision(float(t[0]), float(t[-1]), failed=failed)
            if d is None:
                return
            if d.kind == DecisionKind.MARKS_READY:
                self._attempt_marks(int(np.searchsorted(t, d.t, side="right")))
            elif d.kind == DecisionKind.MARK:
                self._apply_mark(d.t, d.phase)
            else:
                self._search(int(np.searchsorted(t, d.t, side="right")))

    def decide_at_end(self) -> None:
        """The last decision, on all the data (the session ended before a regular one)."""
        if self.calibration is not None or self.state.status == Status.FAILED:
            return
        for t, phase in self.schedule.pending_marks():
            self._apply_mark(t, phase)
        n = len(self._buf)
        if n < 2:
            return
        if self.schedule.ready_at() is not None:
            self._attempt_marks(n, final=True)
        if self.calibration is None and self.state.status != Status.FAILED:
            self._search(n, final=True)

    def _apply_mark(self, t: float, phase: str) -> None:
        # the guidance starts (over, after a refused calibration): a new attempt
        if self.schedule.apply_mark(t, phase) and self.state.status == Status.FAILED:
            self.state.status = Status.CALIBRATING
            self.state.message = ""

    def _attempt_marks(self, n: int, *, final: bool = False) -> None:
        """Calibrate the current attempt: the phases the person did, found in the data around
        the marks (:func:`~imuhip.joint.phases.phases_near_marks`; looked for again every
        ``every_s`` for up to ``MARKS_RETRY_S`` while the leg is still moving: a slow
        person's final still pose comes late), else the marks' own phases."""
        b, sch = self._buf, self.schedule
        t = b.get("t")[:n]
        phases = phases_near_marks(t, b.get("gt")[:n], b.get("gs")[:n], self.rate, sch.marks)
        if phases is None and not final and sch.waited_s() < MARKS_RETRY_S and self._moving_at(n):
            sch.mark_tries += 1  # still moving: the final still pose may yet come
            return
        if phases is None:
            phases = phases_from_marks(t, sch.marks, MIN_STILL_END_S)
        sch.marks = {}
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
            cal = self._calibration(t, b.get("gt")[:n], b.get("gs")[:n], q_t[:n], q_s[:n], phases)
            check_calibration_data(t, b.get("u")[:n], cal, self.s.redo_advice)
        except LostCalibrationDataError as exc:
            self._damaged.append(phase_times(t, phases))
            if noted:
                self.refused.append(
                    f"the calibration begun at {t[phases.still_start[0]]:.1f} s was refused ({exc})"
                )
            self._fail(exc, n)
            return
        except CalibrationError as exc:
            if noted:
                self.refused.append(
                    f"the calibration begun at {t[phases.still_start[0]]:.1f} s was refused ({exc})"
                )
            self._fail(exc, n)
            return
        self._calibrated(cal, q_t, q_s)

    def _calibration(
        self,
        t: np.ndarray,
        gyr_t: np.ndarray,
        gyr_s: np.ndarray,
        q_t: np.ndarray,
        q_s: np.ndarray,
        phases: Phases,
    ) -> Calibration | ShinOnlyCalibration:
        """The calibration of this leg's method (two sensors, or the shin alone)."""
        if self.leg.shin_only:
            return calibrate_shin_only(
                t, gyr_s, q_s, side=self.leg.side, rate_hz=self.rate, phases=phases
            )
        return calibrate(
            t, gyr_t, gyr_s, q_t, q_s, side=self.leg.side, rate_hz=self.rate, phases=phases,
            shank_tilt_deg=START_POSE_SHANK_TILT_DEG.get(self.s.exercise),
        )  # fmt: skip

    def _tracker(self, cal: Calibration | ShinOnlyCalibration) -> Tracker:
        if isinstance(cal, ShinOnlyCalibration):
            return ShinOnlyTracker(cal, self.rate)
        return HipRotationTracker(cal, self.rate)

    def _fuse(self, phases: Phases) -> tuple[np.ndarray, np.ndarray]:
        """Start both orientation filters, seeded with the gyro bias of the still start in
        ``phases`` (indices into the attempt's buffer), and run them over every grid sample
        since the session's start; the buffer's part of their output."""
        raw, b = self._raw, self._buf
        off = len(raw.get("gt")) - len(b)  # the buffer is the tail of the raw inputs
        out = [np.full((len(b), 4), np.nan)] if self.leg.shin_only else []
        segs = (("thigh", "gt", "at", "lt"), ("shin", "gs", "as", "ls"))
        for seg, g, a, lo in segs[1:] if self.leg.shin_only else segs:
            bias = still_start_bias(raw.get(g)[off:], phases, b.get("l"))
            self._filters[seg] = self._new_filter(seg, bias, float(raw.get("t")[0]))
            self._was_lost[seg] = False
            out.append(self._filter(seg, raw.get(g), raw.get(a), raw.get(lo))[off:])
        return out[0], out[1]

    def _new_filter(
        self, seg: str, bias: np.ndarray | None, t0: float
    ) -> OrientationFilter | VendorOrientation:
        """The fusion filter of segment ``seg``, or the vendor's orientation on the grid from
        ``t0`` (the first grid point) when its sensor gave one (no fusion; the rates the
        calibration and the detector use are derived from it, :mod:`imuhip.fusion.vendor`).
        Either runs from the first grid point on."""
        role = self.leg.thigh if seg == "thigh" else self.leg.shin
        track = self.s.vendor.get(role or "")
        if track is None:
            return OrientationFilter(self.s.method, self.rate, self.s.options.fusion_params, bias)
        return VendorOrientation(track, t0, self.rate)

    def _filter(self, seg: str, gyr: np.ndarray, acc: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """The orientation filter of segment ``seg`` over a chunk. Inside the sensor's lost
        stretches it gets no input (its orientation is held; no motion is invented, and no
        false bias learnt); at the first sample after each it is levelled from the
        accelerometer (the turn it missed shows as tilt; ``OrientationFilter.level``)."""
        if not len(lost):
            return np.empty((0, 4))
        if seg not in self._filters:  # a shin-only leg's absent thigh
            return np.full((len(lost), 4), np.nan)
        q = update_through_losses(self._filters[seg], gyr, acc, lost, self._was_lost[seg])
        self._was_lost[seg] = bool(lost[-1])
        return q

    def _fail(self, exc: CalibrationError, n: int) -> None:
        """A refused attempt: say why, drop its data (up to the decision) and wait for the
        next attempt."""
        self._last_error = exc
        self.state.status = Status.FAILED
        self.state.message = str(exc)
        self._buf.drop_before(n)

    def use_stored(self, rec: dict) -> None:
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

    def use_intact(self) -> None:
        """No attempt in the data worked and no calibration was stored: calibrate from the
        intact parts of the first attempt that was refused only for lost data (its still
        phases cut to their longest intact stretch; no rates from inside the lost stretches in
        the axes), and say so."""
        if not self._damaged or self.calibration is not None:
            return
        raw = self._raw
        t, u = raw.get("t"), raw.get("u")
        phases = intact_phases(t, u, raw.get("l"), self._damaged[0], self.rate)
        if phases is None:
            return
        self._buf.clear()
        self._buf.add(t=t, gt=raw.get("gt"), gs=raw.get("gs"), u=u, l=raw.get("l"))
        q_t, q_s = self._fuse(phases)
        gt = bridged_rates(raw.get("gt"), q_t, raw.get("lt"), self.rate)
        gs = bridged_rates(raw.get("gs"), q_s, raw.get("ls"), self.rate)
        try:
            cal = self._calibration(t, gt, gs, q_t, q_s, phases)
        except CalibrationError as exc:
            self.refused.append(f"a calibration from the intact parts failed too ({exc})")
            return
        lost = runs(u[phases.still_start[0] : phases.still_end[1]])
        a0 = phases.still_start[0]
        spans = ", ".join(f"{t[a0 + a]:.1f}-{t[a0 + b - 1]:.1f} s" for a, b in lost)
        self.refused.append(
            f"the calibration lost data ({spans}) and no other attempt or stored calibration "
            "could be used: it was made from the intact parts of the movements, so the angles "
            "may be less accurate than usual"
        )
        self._calibrated(cal, q_t, q_s, stored=True)

    def _calibrated(
        self,
        cal: Calibration | ShinOnlyCalibration,
        q_t: np.ndarray,
        q_s: np.ndarray,
        *,
        stored: bool = False,
    ) -> None:
        b = self._buf
        t, gs, u = b.get("t"), b.get("gs"), b.get("u")
        self.calibration = cal
        if not stored and isinstance(cal, Calibration):  # kept for a damaged file's analysis
            record: dict = {"calibration": make_calibration_record(cal)}
            if self.s.tag_events:
                record["side"] = self.leg.side
            self.outbox.append(Event(cal.end_s, CALIBRATION_EVENT, None, record))
        k0, k1 = cal.phases.still_end
        self.tracker = self._tracker(cal)
        self._rested_at = float(t[k0])
        self.detector = ExerciseDetector(self.rate, self.s.options.detector)
        before = self._points - (len(t) - k0)  # grid points before the tracker's first
        self._emit_k = before
        if self._trace is not None:
            self._trace.add_angles(np.full(before, np.nan))
        if self.s.keep & Keep.ANGLES:  # no angle before the final still pose
            none = np.full(before, np.nan)
            self._ang.add(rot=none, head=none, knee=none, flex=none)
        if self.s.keep & Keep.ORIENTATIONS:
            # orientations from the attempt's buffer on (earlier ones are not kept)
            q_none = np.full((before - k0, 4), np.nan)
            self._ang.add(
                qt=np.concatenate([q_none, q_t[:k0]]), qs=np.concatenate([q_none, q_s[:k0]])
            )
        probe = self._tracker(cal).update(q_t[k0:k1], q_s[k0:k1])
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
        self.schedule.calibrated()

    # ------------------------------------------------------------------ events
    def _prior_holds(self, holds: list[Hold]) -> None:
        """Holds the asked-for windows let through (:mod:`imuhip.analysis.hold_prior`) join
        the detector's."""
        assert self.detector is not None
        for h in holds:
            self._handle(self.detector.add_hold(h))

    def _handle(self, evs: list[AnalysisEvent]) -> None:
        st = self.state
        self.prior.observe(evs)
        for e in evs:
            self.events.append(replace(e, side=self.leg.side) if self.s.tag_events else e)
            if e.kind == EventKind.REP_COUNTED and isinstance(e.item, Rep):
                st.reps += 1
                st.last_rep_peak_deg = e.item.peak_deg
                st.best_rep_deg = (
                    e.item.peak_deg
                    if st.best_rep_deg is None
                    else max(st.best_rep_deg, e.item.peak_deg)
                )
                st.external_reps += e.item.direction is Direction.EXTERNAL
            elif e.kind == EventKind.PARTIAL_REP:
                st.partial_reps += 1
                st.hold_start_s = None  # a plateau re-read as a new rest was no hold
                st.hold_s = 0.0
            elif e.kind == EventKind.HOLD_STARTED:
                st.hold_start_s = e.t
                st.hold_s = max(0.0, (st.t or e.t) - e.t)
            elif e.kind == EventKind.HOLD_ENDED and isinstance(e.item, Hold):
                st.holds += 1
                st.hold_start_s = None
                st.hold_s = 0.0
                st.last_hold_s = e.item.duration_s
                st.total_hold_s += e.item.duration_s
            elif e.kind == EventKind.STRETCH_STARTED:
                st.stretch_start_s = e.t
                st.overpressure_start_s = st.overpressure_deg = None
            elif e.kind == EventKind.OVERPRESSURE_STARTED:
                st.overpressure_start_s = e.t
            elif e.kind == EventKind.STRETCH_ENDED and isinstance(e.item, Stretch):
                st.stretches += 1
                st.stretch_start_s = st.stretch_max_deg = None
                st.overpressure_start_s = st.overpressure_deg = None
                st.stretch_s = st.stretch_at_end_range_s = 0.0
                st.last_stretch_s = e.item.duration_s
                st.last_stretch_at_end_range_s = e.item.time_at_end_range_s
                st.last_overpressure_deg = e.item.overpressure_gain_deg

    def _stretch_timer(self) -> None:
        """The stretch in progress on ``state``: its time so far, end range and overpressure,
        from the detector (the stretch timer, as ``hold_s`` is the hold timer)."""
        st, d = self.state, self.detector
        prog = None if d is None or st.stretch_start_s is None else d.stretch_progress()
        if prog is None or st.t is None:
            return
        st.stretch_s = max(0.0, st.t - prog.start_s)
        st.stretch_at_end_range_s = prog.at_end_range_s
        st.stretch_max_deg = prog.max_deg
        st.overpressure_start_s = prog.overpressure_start_s
        st.overpressure_deg = prog.overpressure_deg

    # ------------------------------------------------------------------ results
    def finish(self) -> ExerciseResult | None:
        """Close an open excursion; the leg's reps and holds (None: never calibrated)."""
        if self.detector is not None and self.result is None:
            if not self._interrupted:
                self._handle(self.detector.finish())
                self._prior_holds(self.prior.finish())
            self.result = combine_detectors([*self._done_detectors, self.detector])
        return self.result

    def summary(self) -> dict:
        """Counts and extremes in the form of ``ExerciseResult.summary`` (after
        :meth:`finish`: exactly that)."""
        if self.result is not None:
            return self.result.summary()
        d = self.detector
        if d is None:
            return ExerciseResult((), (), (), ()).summary()
        return ExerciseResult(tuple(d.reps), (), tuple(d.holds), ()).summary()

    def protocol_until(self, t: float) -> None:
        """The protocol's steps (a guidance mark says so) go on until ``t`` (s): no reps or
        holds are looked for before it."""
        self._detect_after = max(self._detect_after, t)

    def take_events(self) -> list[AnalysisEvent]:
        """The detector events since the last call, in the order they came."""
        new = self.events[self._taken :]
        self._taken = len(self.events)
        return new

    def last_error(self) -> CalibrationError | None:
        """Why the last calibration attempt or search failed (None: none failed)."""
        return self._last_error

    def kept(self) -> tuple[Columns, Columns]:
        """The kept grid columns (t, th_a, th_g, sh_a, sh_g, valid, lost) and angle columns
        (rot, head, knee, flex, qt, qs), on the same grid points (what :class:`Keep` did not
        ask for is empty)."""
        return self._out, self._ang

    def trace(self) -> LegTrace | None:
        """What the report draws of this leg (None: not asked for, :attr:`Keep.TRACE`)."""
        return None if self._trace is None else self._trace.trace()

    def unrested_stretches(self) -> list[tuple[float, float]]:
        """(start, end) seconds of the tracked stretches of at least ``UNCHECKED_HEADING_S``
        without a rest (:func:`~imuhip.pipeline.advice.unchecked_heading_stretches` of the
        whole tracked part, from the first tracked heading on), found as the angles went."""
        return self._rests.stretches()

    def new_angles(self) -> TrackedAngles:
        """The angles tracked since the last call (empty arrays if none), in time order."""
        parts, self._fresh = self._fresh, []
        if not parts:
            return TrackedAngles(np.empty(0), np.empty(0), np.empty(0))
        return TrackedAngles(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(TrackedAngles))
        )

    def calibration_index(self) -> int:
        """Grid index of the start of the calibration's final still phase."""
        if not self.s.keep & Keep.ANGLES:
            return self._rests.first_k if self._rests.first_k is not None else self._points
        rot = self._ang.get("rot")
        head = self._ang.get("head")
        finite = np.flatnonzero(np.isfinite(head))
        return int(finite[0]) if len(finite) else len(rot)


class RestGaps:
    """:func:`~imuhip.pipeline.advice.unchecked_heading_stretches` of the tracked angles from
    the first finite heading on, computed chunk by chunk (the same pairs of times are compared,
    so the stretches are exactly those of the whole arrays); holds a few numbers, not the
    per-sample rest flags."""

    def __init__(self) -> None:
        self.first_k: int | None = None  # grid index of the first finite heading
        self._edge = 0.0  # time of the last rest seen (or of the first finite heading)
        self._last = 0.0  # time of the last tracked point
        self._any_rest = False
        self._found: list[tuple[float, float]] = []

    def add(self, k: int, t: np.ndarray, head: np.ndarray, rest: np.ndarray | None) -> None:
        """A tracked chunk starting at grid index ``k``: times, heading offset, rests seen."""
        if not len(t):
            return
        if rest is not None and rest.any():
            self._any_rest = True
        j = 0
        if self.first_k is None:
            finite = np.flatnonzero(np.isfinite(head))
            if not len(finite):
                return
            j = int(finite[0])
            self.first_k = k + j
            self._edge = float(t[j])
        tt = t[j:]
        seen = tt[rest[j:]] if rest is not None else tt[:0]
        edges = np.r_[self._edge, seen]
        gaps = np.flatnonzero(np.diff(edges) >= UNCHECKED_HEADING_S)
        self._found += [(float(edges[i]), float(edges[i + 1])) for i in gaps]
        self._edge = float(edges[-1])
        self._last = float(tt[-1])

    def stretches(self) -> list[tuple[float, float]]:
        if self.first_k is None or not self._any_rest:
            return []
        tail = [(self._edge, self._last)] if self._last - self._edge >= UNCHECKED_HEADING_S else []
        return [*self._found, *tail]


@dataclass(frozen=True)
class LegChunk:
    """A leg's columns of a grid chunk.

    Attributes:
        t: (n,) seconds.
        thigh, shin: the two sensors' samples on ``t`` (no thigh on a shin-only leg).
        valid: (n,) every sensor had a real sample within 1.5 periods.
        lost: (n,) inside a gap over ``LONG_GAP_S`` of either of the leg's sensors.
        lost_thigh, lost_shin: (n,) inside such a gap of that sensor.
    """

    t: np.ndarray
    thigh: ImuSamples | None
    shin: ImuSamples
    valid: np.ndarray
    lost: np.ndarray
    lost_thigh: np.ndarray
    lost_shin: np.ndarray
