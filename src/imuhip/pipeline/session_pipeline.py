"""The one session pipeline: raw inputs in, hip angles and exercise events out, as data arrive.

    inputs (notifications, sample blocks, events)
      -> aligner (decode, sample times on the session clock; causal or offline)
      -> a time grid per leg (:class:`~imuhip.align.grid.StreamingGrid`) of its sensors (two
         legs' grids share one lattice; a leg whose sensor is silent does not hold up the other)
      -> one leg chain per instrumented leg (:mod:`imuhip.pipeline.leg`): orientation per
         sensor, calibration, hip rotation tracker, rep/hold detector

Live use, replay and offline analysis all run this class; they differ only in the aligner
(:mod:`imuhip.align.aligner`) and in how big the pieces of input are. Every stage after the
aligner gives the same numbers however its input is cut, and the calibration is decided at
points fixed by the data (mark times, a search every ``auto_search_every_s`` of data), so the
offline aligner gives the same result fed one notification at a time or the whole file.

Times are seconds on the session time base; angles in degrees (internal rotation positive).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from imuhip.align.aligner import Aligner, feed_aligner
from imuhip.align.causal import CausalAligner
from imuhip.align.grid import GridChunk, StreamingGrid
from imuhip.align.streams import SensorStream
from imuhip.analysis.events import AnalysisEvent
from imuhip.analysis.exercise import ExerciseResult
from imuhip.calibration_protocol import (
    BODY_PHASES,
    CALIBRATION_EVENT,
    PHASE_EVENT,
    PHASES,
    step_of,
)
from imuhip.errors import CalibrationError, ImuhipError, LayoutError
from imuhip.fusion.gyro_scale import scale_from_config
from imuhip.fusion.orientation import DEFAULT_METHOD, OrientationFilter
from imuhip.fusion.vendor import VendorTrack, vendor_orientation_note
from imuhip.joint.calibration import Calibration
from imuhip.joint.shin_only import ShinOnlyCalibration
from imuhip.layout import Layout, Leg
from imuhip.pipeline.advice import heading_warnings, rate_warnings, timing_warnings
from imuhip.pipeline.compensation import START_POSE_REFERENCE, CompensationStage
from imuhip.pipeline.leg import (
    RECOVERY_S,
    REDO_FILE,
    REDO_LIVE,
    Columns,
    Keep,
    LegChain,
    LegChunk,
    LegSettings,
    TrackedAngles,
    check_calibration_data,
    still_start_bias,
)
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.state import LiveState
from imuhip.pipeline.trace_envelope import LegTrace, SampleTimesFeed
from imuhip.samples import ImuSamples
from imuhip.session import (
    LINK_EVENT,
    Event,
    SampleBlock,
    SessionHeader,
    SessionInput,
)

#: The grid rate of a sensor without a configured rate is measured over this many samples.
RATE_PROBE_SAMPLES = 200
#: The roles of a one-leg session's sensors (the plain roles).
LEG_ROLES = ("thigh", "shin")
#: The training program's set events (``imuhip.training.coach``'s ``set_start``, ``set_end``):
#: a hold set's are the asked-for hold windows.
HOLD_WINDOW_EVENTS = ("set_start", "set_end")
#: The exercise in which a shin sensor alone gives the hip's rotation.
SHIN_ONLY_EXERCISE = "prone"

__all__ = [
    "RECOVERY_S",
    "REDO_FILE",
    "REDO_LIVE",
    "Grid",
    "Keep",
    "LegFailure",
    "SessionAnalysis",
    "SessionPipeline",
    "TrackedAngles",
    "check_calibration_data",
    "gyro_scales",
    "still_start_bias",
]


@dataclass(frozen=True)
class Grid:
    """Both sensors on one uniform time grid (the whole session).

    Attributes:
        t: (N,) seconds.
        rate_hz: grid rate.
        thigh, shin: samples on ``t`` (gyro scales taken out); no thigh on a shin-only leg.
        valid: (N,) False where a sensor had no real sample within 1.5 periods.
        lost: (N,) True inside gaps over ``LONG_GAP_S`` of either sensor.
    """

    t: np.ndarray
    rate_hz: float
    thigh: ImuSamples | None
    shin: ImuSamples
    valid: np.ndarray
    lost: np.ndarray | None = None


@dataclass(frozen=True)
class LegFailure:
    """A leg of a session of several legs that could not be analysed (the others were).

    Attributes:
        side: the leg ("left" or "right").
        reason: why, in plain words (the calibration's refusal, or its sensors' missing data).
    """

    side: str
    reason: str


@dataclass(frozen=True)
class SessionAnalysis:
    """Everything ``imuhip analyze`` reports about one leg (a session of both legs has one per
    leg in ``legs``; its own fields are then those of the first, the left leg).

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
        side: the leg ("left" or "right").
        legs: every leg's analysis, in left, right order (this one among them).
        hip_reference: what the hip angle is relative to: "pelvis sensor" (corrected by the
            pelvis's obliquity) or "start pose" (the apparent angle: includes any movement of
            the pelvis).
        pelvis_obliquity_deg: (N,) on ``grid.t``, the leg's side's hip higher positive; None
            without a usable pelvis sensor.
        failed_legs: the legs of the session that could not be analysed (not in ``legs``;
            each analysed leg's ``warnings`` say so); empty when every leg was.
        trace: what the report draws of the leg, of bounded size (with ``Keep.TRACE``).
    """

    grid: Grid
    hip_rotation_deg: np.ndarray
    heading_offset_deg: np.ndarray
    calibration: Calibration | ShinOnlyCalibration
    exercise: ExerciseResult
    streams: dict[str, SensorStream]
    knee_flexion_deg: np.ndarray | None = None
    hip_flexion_deg: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    orientations: dict[str, np.ndarray] | None = None
    side: str = ""
    legs: tuple[SessionAnalysis, ...] = ()
    hip_reference: str = START_POSE_REFERENCE
    pelvis_obliquity_deg: np.ndarray | None = None
    failed_legs: tuple[LegFailure, ...] = ()
    trace: LegTrace | None = None


def gyro_scales(header: SessionHeader) -> dict[str, np.ndarray | None]:
    """Per-axis gyro scale (measured / true) of each role from its header entry (a table
    calibration, :mod:`imuhip.fusion.gyro_scale`), None where there is none."""
    return {s.role: scale_from_config(s.config) for s in header.sensors}


class SessionPipeline:
    """Streaming session analysis (see the module docstring).

    Args:
        header: the session header (side, exercise, sensors with profile, rate, config).
        options: filter, grid rate and detector choices.
        aligner: the alignment strategy; a :class:`~imuhip.align.causal.CausalAligner` of the
            header by default (live).
        auto_search_every_s: how often (data time) to search for the calibration phases when
            the session has no guidance marks.
        keep: what to keep of every grid point for :meth:`analysis` (:class:`Keep`; True:
            everything; False: nothing, and no :meth:`analysis`: only the exercise events and
            the state, for long live sessions).
        saved: the inputs come from a saved file (the advice for a refused calibration says
            what can be done with the file, not to do the protocol again).
        angle_feed: collect the tracked angles for :meth:`new_angles` (a streaming output
            such as LSL; off: nothing is collected).

    Raises:
        LayoutError: the sensors form no layout the pipeline can analyse.
    """

    def __init__(
        self,
        header: SessionHeader,
        options: PipelineOptions | None = None,
        *,
        aligner: Aligner | None = None,
        auto_search_every_s: float = 1.0,
        keep: bool | Keep = True,
        saved: bool = False,
        angle_feed: bool = False,
    ) -> None:
        self.layout = analysable_layout(header)
        self.header = header
        self.opts = options or PipelineOptions()
        self.aligner: Aligner = aligner or CausalAligner(header)
        method = self.opts.fusion_method or DEFAULT_METHOD
        self._method = method
        self._roles = tuple(r for leg in self.layout.legs for r in leg.roles)
        self.rate = self._configured_rate()
        if self.rate:
            OrientationFilter(method, self.rate, self.opts.fusion_params)  # bad ones raise here
        # one grid per leg (on one lattice when there are two), made once the rate is known
        self._grids: dict[str, StreamingGrid] = {}
        self._side_of = {r: leg.side for leg in self.layout.legs for r in leg.roles}
        # aligned samples held until the grid rate is measured (no rate in the header)
        self._probe: list[tuple[str, ImuSamples]] = []
        self._flushing = False
        self._gyro_scale = gyro_scales(header)
        self._auto_every = auto_search_every_s
        self._analysable = keep is not False
        self._keep = Keep.ALL if keep is True else Keep.EVENTS if keep is False else keep
        self._angle_feed = angle_feed
        self._times = (  # role -> its aligned sample times summed up, for the report
            {s.role: SampleTimesFeed(s.rate_hz) for s in header.sensors}
            if self._keep & Keep.TRACE
            else None
        )
        self.redo_advice = REDO_FILE if saved else REDO_LIVE
        self._stack_interval: dict[str, float] = {}  # role -> interval the BLE stack reported
        self._vendor: dict[str, VendorTrack] = {}  # role -> the vendor's orientation, if given
        # guidance marks and stored calibrations that came before the legs were set up
        self._early_marks: list[tuple[float, str, str]] = []
        self._early_windows: list[Event] = []  # training hold sets before the legs were made
        self._stored: dict[str, dict] = {}  # side ("" for any) -> stored calibration record
        self._states = {leg.side: LiveState() for leg in self.layout.legs}
        self.legs: list[LegChain] = []
        # the pelvis and trunk (pipeline/compensation.py), made with the legs
        self._body_roles = tuple(r for r in (self.layout.pelvis, self.layout.trunk) if r)
        self.body: CompensationStage | None = None
        self._early_body_marks: list[tuple[float, str]] = []
        self.outbox: list[Event] = []  # session events for the recorder (the calibrations)
        self.events: list[AnalysisEvent] = []
        self._finished = False

    def _configured_rate(self) -> float:
        if self.opts.rate_hz > 0:
            return float(self.opts.rate_hz)
        configured = self.header.sensor(self._roles[0]).rate_hz
        return float(configured) if configured and configured > 0 else 0.0

    # ------------------------------------------------------------------ the first leg
    @property
    def state(self) -> LiveState:
        """The live state of the first leg (the only one in a one-leg session)."""
        return self._states[self.layout.legs[0].side]

    @property
    def calibration(self) -> Calibration | None:
        """The first leg's calibration (None until decided)."""
        return self.legs[0].calibration if self.legs else None

    @property
    def result(self) -> ExerciseResult | None:
        """The first leg's reps and holds (after :meth:`finish`)."""
        return self.legs[0].result if self.legs else None

    @property
    def refused(self) -> list[str]:
        """Refused calibration attempts and stored-calibration notes, of every leg."""
        return [r for leg in self.legs for r in leg.refused]

    def leg_states(self) -> tuple[tuple[str, LiveState], ...]:
        """(side, live state) of every leg in left, right order, for a session of both legs;
        empty with one leg (its state is :attr:`state`)."""
        if len(self.layout.legs) < 2:
            return ()
        return tuple((leg.side, self._states[leg.side]) for leg in self.layout.legs)

    def leg_state(self, side: str) -> LiveState:
        """The live state of the leg on ``side``."""
        if side not in self._states:
            raise LayoutError(f"the {side} leg has no sensors in this session")
        return self._states[side]

    # ------------------------------------------------------------------ input
    def feed(self, item: SessionInput) -> None:
        """Take one input (in arrival order); call :meth:`advance` to process what came."""
        if isinstance(item, SampleBlock) and item.samples.quat is not None:
            # the vendor's orientation (LegChain._new_filter)
            self._vendor.setdefault(item.role, VendorTrack()).add(item.samples.t, item.samples.quat)
        if feed_aligner(self.aligner, item):
            return
        if isinstance(item, Event):
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
        side = e.data.get("side") if isinstance(e.data.get("side"), str) else ""
        if e.kind == CALIBRATION_EVENT and isinstance(e.data.get("calibration"), dict):
            self._stored[side] = e.data["calibration"]
        if e.kind == PHASE_EVENT and e.data.get("phase") in BODY_PHASES:
            self._body_mark_to_legs(float(e.t), str(e.data["phase"]))
            if self.body is not None:
                self.body.mark(float(e.t), str(e.data["phase"]))
            else:
                self._early_body_marks.append((float(e.t), str(e.data["phase"])))
        if e.kind in HOLD_WINDOW_EVENTS and e.data.get("kind") == "hold":
            if self.legs:
                self._hold_window(e, side)
            else:
                self._early_windows.append(e)
        if e.kind == PHASE_EVENT and e.data.get("phase") in PHASES:
            mark = (float(e.t), str(e.data["phase"]), side)
            if self.legs:
                self._mark(*mark)
            else:
                self._early_marks.append(mark)

    def _hold_window(self, e: Event, side: str) -> None:
        """A training set asking for a hold began or ended: the asked-for window of the leg
        on ``side`` ("both": a set of both legs together; any leg of a one-leg session) for
        :mod:`imuhip.analysis.hold_prior`."""
        for leg in self.legs:
            if side in ("", "both", leg.leg.side) or len(self.legs) == 1:
                if e.kind == HOLD_WINDOW_EVENTS[0]:
                    leg.prior.open(float(e.t))
                else:
                    leg.prior.close(float(e.t))

    def _body_mark_to_legs(self, t: float, phase: str) -> None:
        """A pelvis or trunk step began at ``t``: the legs look for no reps until its prompted
        time is over (the step moves the knee too)."""
        for leg in self.legs:
            leg.protocol_until(t + step_of(phase).duration_s)

    def _mark(self, t: float, phase: str, side: str) -> None:
        """A guidance mark for the leg on ``side`` ("": every leg)."""
        for leg in self.legs:
            if not side or side == leg.leg.side:
                leg.schedule.add_mark(t, phase)

    def poll(self, t: float) -> None:
        """The session clock reached ``t`` (s) without input (lets held data go)."""
        self.aligner.poll(t)

    def finish(self) -> ExerciseResult | None:
        """End of session: release everything, close an open excursion; the first leg's
        final reps and holds (None when it never got calibrated)."""
        if self._finished:
            return self.result
        self.aligner.flush()
        self._flushing = True
        self.advance()
        for leg in self.legs:
            leg.decide_at_end()
            stored = self._stored.get(leg.leg.side, self._stored.get(""))
            if leg.calibration is None and stored is not None:
                leg.use_stored(stored)
            if leg.calibration is None:
                leg.use_intact()
        if self.body is not None:
            self._advance_body()
            self.body.finish()
            for leg in self.legs:
                leg.release(final=True)
        self._finished = True
        for leg in self.legs:
            leg.finish()
            self.events += self._annotated(leg.take_events(), leg)
            if self.body is not None and leg.result is not None:
                leg.result = self.body.annotate_result(leg.result, leg.leg.side)
        self._collect_outbox()
        self._update_health()
        return self.result

    # ------------------------------------------------------------------ grid
    def advance(self) -> list[AnalysisEvent]:
        """Process what has been fed: new grid samples through every stage; the detector
        events that completed."""
        n_before = len(self.events)
        for role in (*self._roles, *self._body_roles):
            s = self.aligner.take(role)
            if s is not None:
                if self._times is not None and role in self._times:
                    self._times[role].add(s.t)
                self._to_grid(role, s)
        for leg in self.legs:  # each leg goes on with its own sensors' data
            chunk = self._grids[leg.leg.side].emit()
            if chunk is not None:
                leg.process(leg_chunk(chunk, leg.leg))
        for leg in self.legs:
            if leg.calibration is None:
                leg.decide()
        if self.body is not None:
            self._advance_body()
        for leg in self.legs:
            self.events += self._annotated(leg.take_events(), leg)
        self._collect_outbox()
        self._update_health()
        return self.events[n_before:]

    def _advance_body(self) -> None:
        """The pelvis and trunk go on; the legs' angles they now cover are released."""
        assert self.body is not None
        ends = [leg.calibration.end_s for leg in self.legs if leg.calibration is not None]
        times = [leg.state.t for leg in self.legs if leg.state.t is not None]
        self.body.advance(min(ends) if ends else None, max(times) if times else None)
        for sensor in self.body.sensors:
            if sensor.step_end_s is not None:  # the step moved the knee too: no reps in it
                for leg in self.legs:
                    leg.protocol_until(sensor.step_end_s)
        for leg in self.legs:
            leg.release()

    def _annotated(self, events: list[AnalysisEvent], leg: LegChain) -> list[AnalysisEvent]:
        return events if self.body is None else self.body.annotate(events, leg.leg.side)

    def _collect_outbox(self) -> None:
        for leg in self.legs:
            self.outbox += leg.outbox
            leg.outbox.clear()

    def _update_health(self) -> None:
        health = self.aligner.health()
        for st in self._states.values():
            st.sensors = health

    def _to_grid(self, role: str, s: ImuSamples) -> None:
        if self._grids and role in self._body_roles:
            if self.body is not None:
                sensor = self.body.sensor(role)
                if sensor is not None:
                    sensor.grid.add(role, s)
            return
        if not self._grids:
            self._probe.append((role, s))
            if not self.rate:
                first = self._roles[0]
                n = sum(len(p) for r, p in self._probe if r == first)
                if n < RATE_PROBE_SAMPLES and not self._flushing:
                    return
                self.rate = self._measured_rate()
                OrientationFilter(self._method, self.rate, self.opts.fusion_params)
            lattice = len(self.layout.legs) > 1 or bool(self._body_roles)
            for leg in self.layout.legs:
                self._grids[leg.side] = StreamingGrid(leg.roles, self.rate, lattice=lattice)
            self._start_legs()
            probe, self._probe = self._probe, []
            for r, p in probe:
                if r in self._body_roles:
                    self._to_grid(r, p)
                else:
                    self._grids[self._side_of[r]].add(r, p)
            return
        self._grids[self._side_of[role]].add(role, s)

    def _start_legs(self) -> None:
        """One chain per leg, once the grid rate is known; marks that came before go to it."""
        tag = len(self.layout.legs) > 1
        for leg in self.layout.legs:
            settings = LegSettings(
                leg=leg,
                exercise=self.header.exercise,
                rate_hz=self.rate,
                method=self._method,
                options=self.opts,
                gyro_scale=self._gyro_scale,
                every_s=self._auto_every,
                keep=self._keep,
                angle_feed=self._angle_feed,
                redo_advice=self.redo_advice,
                tag_events=tag,
                vendor=self._vendor,
            )
            self.legs.append(LegChain(settings, self._states[leg.side]))
        for mark in self._early_marks:
            self._mark(*mark)
        self._early_marks.clear()
        for e in self._early_windows:
            side = e.data.get("side")
            self._hold_window(e, side if isinstance(side, str) else "")
        self._early_windows.clear()
        if self._body_roles:
            self.body = CompensationStage(
                self.layout, self.header.exercise, self.rate, self._method, self.opts,
                self._gyro_scale, keep=self._analysable,
            )  # fmt: skip
            for t, phase in self._early_body_marks:
                self.body.mark(t, phase)
                self._body_mark_to_legs(t, phase)
            if self.body.pelvis is not None:
                for leg in self.legs:
                    leg.correction = self.body

    def _measured_rate(self) -> float:
        """The first leg sensor's sample rate (Hz) from its first samples (no rate in the
        header)."""
        first = self._roles[0]
        t = np.concatenate([p.t for r, p in self._probe if r == first] or [np.empty(0)])
        dt = np.diff(t[:RATE_PROBE_SAMPLES])
        dt = dt[dt > 0]
        if not len(dt):
            raise ImuhipError(
                f"the {first} sensor's rate is not in the session header and too few of its "
                "samples came to measure it; give the grid rate"
            )
        return 1.0 / float(np.median(dt))

    # ------------------------------------------------------------------ results
    def summary(self) -> dict:
        """Counts and extremes of the first leg in the form of ``ExerciseResult.summary``
        (after :meth:`finish`: exactly that)."""
        if not self.legs:
            return ExerciseResult((), (), (), ()).summary()
        return self.legs[0].summary()

    def failure(self, leg: LegChain | None = None) -> CalibrationError:
        """Why ``leg`` (the first by default) has no calibration (after :meth:`finish`)."""
        chain = leg or (self.legs[0] if self.legs else None)
        err = chain.last_error() if chain is not None else None
        msg = str(err) if err else "no calibration movements found"
        if len(self.legs) > 1 and chain is not None:
            msg = f"{chain.leg.side} leg: {msg}"
        hints = rate_warnings(self.aligner.streams(), self.header)
        if hints:  # a sensor at another rate than set looks like lost data
            msg = f"{msg}; note: {'; '.join(hints)}"
        return CalibrationError(msg)

    def analysis(self) -> SessionAnalysis:
        """The whole session's result (after :meth:`finish`, with ``keep``): the first analysed
        leg's, with every analysed leg's in ``legs`` (the per-sample arrays it was not to keep are
        empty: :class:`Keep`). A leg of a session of several legs that cannot be analysed is left
        out with its reason (``failed_legs``), the others stand.

        Raises:
            CalibrationError: no leg was calibrated (what was missing or refused, per leg).
            ImuhipError: no leg's sensors' data overlapped.
        """
        if not self._finished:
            raise RuntimeError("finish() the pipeline first")
        if not self._analysable:
            raise RuntimeError("create the pipeline with keep=True to get the analysis")
        if not self._grids:
            StreamingGrid(self._roles, self.rate or 1.0).check_overlap()
        legs, failed = [], []
        for leg in self.legs:
            try:
                self._grids[leg.leg.side].check_overlap()
                legs.append(self._leg_analysis(leg))
            except ImuhipError as exc:
                if len(self.legs) == 1:
                    raise
                failed.append((leg.leg.side, exc))
        if not legs:
            err = failed[0][1]
            raise type(err)("; ".join(_leg_reason(side, e, True) for side, e in failed)) from err
        failures = tuple(LegFailure(side, _leg_reason(side, e)) for side, e in failed)
        notes = tuple(f"the {f.side} leg could not be analysed: {f.reason}" for f in failures)
        legs = [dataclasses.replace(a, warnings=(*notes, *a.warnings)) for a in legs]
        first = legs[0]
        skip = ("legs", "failed_legs")
        return SessionAnalysis(
            **{f: getattr(first, f) for f in SessionAnalysis.__dataclass_fields__ if f not in skip},
            legs=tuple(legs),
            failed_legs=failures,
        )

    def _leg_analysis(self, leg: LegChain) -> SessionAnalysis:
        if leg.calibration is None or leg.result is None:
            raise self.failure(leg)
        o, a = leg.kept()
        t = o.get("t")
        samples = self._keep & Keep.SAMPLES
        grid = Grid(
            t,
            self.rate,
            None if leg.leg.shin_only else _samples(t, o, "th", samples),
            _samples(t, o, "sh", samples),
            o.get("valid"),
            o.get("lost"),
        )
        streams = self.aligner.streams()
        flex = a.get("flex")
        return SessionAnalysis(
            grid,
            a.get("rot"),
            a.get("head"),
            leg.calibration,
            leg.result,
            streams,
            a.get("knee"),
            None if np.isnan(flex).all() else flex,
            (
                *leg.refused,
                *rate_warnings(streams, self.header),
                *timing_warnings(streams, self.header, self._stack_interval),
                *(
                    w
                    for ab in leg.unrested_stretches()
                    for w in heading_warnings(np.array(ab), np.zeros(2, bool), leg.calibration)
                ),
                *(vendor_orientation_note(r) for r in leg.leg.roles if r in self._vendor),
                *(() if self.body is None else self.body.warnings),
            ),
            {
                **({} if leg.leg.thigh is None else {leg.leg.thigh: a.get("qt").reshape(-1, 4)}),
                leg.leg.shin: a.get("qs").reshape(-1, 4),
            },
            side=leg.leg.side,
            hip_reference=START_POSE_REFERENCE if self.body is None else self.body.hip_reference,
            pelvis_obliquity_deg=None
            if self.body is None or self.body.hip_reference == START_POSE_REFERENCE
            else self.body.obliquity(t, leg.leg.side),
            trace=self._leg_trace(leg),
        )

    def _leg_trace(self, leg: LegChain) -> LegTrace | None:
        """The leg's bounded trace with every sensor's sample times (``Keep.TRACE``)."""
        trace = leg.trace()
        if trace is None or self._times is None:
            return trace
        times = {role: f.summary() for role, f in self._times.items()}
        return dataclasses.replace(trace, sample_times=times)

    def new_angles(self) -> TrackedAngles:
        """The first leg's angles tracked since the last call (empty arrays if none), in time
        order, each grid point once; they start at the calibration's final still phase (the
        tracker's first sample), which is in the past when the calibration is decided.

        Raises:
            RuntimeError: the pipeline was created without ``angle_feed``.
        """
        if not self._angle_feed:
            raise RuntimeError("create the pipeline with angle_feed=True to get new_angles()")
        if not self.legs:
            return TrackedAngles(np.empty(0), np.empty(0), np.empty(0))
        return self.legs[0].new_angles()

    def calibration_index(self) -> int:
        """Grid index of the start of the first leg's calibration's final still phase."""
        return self.legs[0].calibration_index() if self.legs else 0


def _leg_reason(side: str, err: Exception, named: bool = False) -> str:
    """A leg's error message without (or, ``named``, with) its leading "<side> leg: "."""
    msg = str(err).removeprefix(f"{side} leg: ")
    return f"{side} leg: {msg}" if named else msg


def _samples(t: np.ndarray, o: Columns, prefix: str, kept: Keep) -> ImuSamples:
    """A sensor's kept grid samples (columns ``prefix_a``, ``prefix_g``), or empty ones where
    :class:`Keep` did not ask for them."""
    if kept:
        return ImuSamples(t, o.get(f"{prefix}_a"), o.get(f"{prefix}_g"))
    e = np.empty((0, 3))
    return ImuSamples(t[:0], e, e)


def analysable_layout(header: SessionHeader) -> Layout:
    """The header's layout, if the pipeline can analyse it (:class:`LayoutError` otherwise:
    no valid layout, or a shin-only leg in a pose where the shin alone cannot tell the hip's
    rotation: only prone does the femur lie still on the floor)."""
    layout = header.layout
    for leg in layout.legs:
        if leg.shin_only and header.exercise != SHIN_ONLY_EXERCISE:
            raise LayoutError(
                f"the {leg.side} leg has only a shin sensor: the hip angle from the shin alone "
                f"holds only prone, with the thigh on the floor (this session is "
                f"{header.exercise!r}); add a thigh sensor for this exercise"
            )
    return layout


def leg_chunk(chunk: GridChunk, leg: Leg) -> LegChunk:
    """The columns of ``leg``'s sensors in a grid chunk."""
    ls = chunk.lost_by_role[leg.shin]
    lt = np.zeros_like(ls) if leg.thigh is None else chunk.lost_by_role[leg.thigh]
    return LegChunk(
        chunk.t,
        None if leg.thigh is None else chunk.samples[leg.thigh],
        chunk.samples[leg.shin],
        chunk.valid,
        lt | ls,
        lt,
        ls,
    )
