"""The pelvis and trunk stage of the session pipeline: the compensations and the hip angle
relative to the pelvis.

    pelvis / trunk samples -> their own grid each (:class:`~imuhip.align.grid.StreamingGrid`
      on the legs' lattice; a silent pelvis does not hold up the legs)
    -> raw columns kept until the sensor's protocol step is found (the first movement after
       the leg calibration's final still pose, or after the step's ``calibration_phase``
       mark, then still; the trunk's after the pelvis's step, in which it moves with the
       pelvis; :func:`imuhip.joint.pelvis.step_from_data`)
    -> orientation filter (seeded with the gyro bias of the still pose before the step), run
       over everything kept, then streaming
    -> per grid point: pelvic obliquity, the pelvis's turn, the trunk's tilt about its step axis
    -> each leg's hip angle corrected by the obliquity's share about its femur
       (:func:`imuhip.joint.pelvis.hip_correction_scale`); each rep and stretch gets its
       :class:`~imuhip.analysis.events.Compensation`, flagged by a ``COMPENSATION`` event above
       the thresholds below.

Where the pelvis's (trunk's) data were lost, and for ``RECOVERY_S`` after (its filter
re-settles on gravity), its angles are unknown (NaN), and so is the leg's corrected hip angle
there: a held or re-settling obliquity would correct it by a wrong amount without a word.

The leg's correction waits only where it must: a leg's angles are held until the pelvis's
obliquity covers them; if the pelvis step is not found within ``GIVE_UP_S`` of its data after
the leg's calibration, or the pelvis is silent (``SILENT_S``), or the session ends first, the
angle stays the apparent one (the femur relative to the start pose) and the analysis says so
(``hip_reference``).

Degrees at the outputs, seconds on the session time base.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from imuhip.align.grid import GridChunk, StreamingGrid
from imuhip.analysis.events import (
    LEAN_FLAG_DEG,
    OBLIQUITY_FLAG_DEG,
    ROTATION_FLAG_DEG,
    AnalysisEvent,
    Compensation,
    EventKind,
    Rep,
    Stretch,
)
from imuhip.analysis.exercise import ExerciseResult
from imuhip.calibration_protocol import BOTH_LEGS_STEP_SIDE, PELVIS_STEP, TRUNK_STEP
from imuhip.errors import CalibrationError
from imuhip.fusion.gyro_scale import correct_gyro
from imuhip.fusion.losses import update_through_losses
from imuhip.fusion.orientation import OrientationFilter
from imuhip.joint.pelvis import (
    StepAxes,
    azimuth_deg,
    find_step,
    hip_correction_scale,
    obliquity_deg,
    rotation_about_deg,
    signed_extreme,
    step_from_data,
)
from imuhip.layout import Layout
from imuhip.pipeline.options import PipelineOptions

#: The pelvis (trunk) data (s) after the leg calibration within which its step must be found,
#: else the hip angle stays the apparent one (the guidance gives the step 8 s); a pelvis whose
#: data lag the leg's by over ``SILENT_S`` is given up once the leg has ``GIVE_UP_S`` of data
#: after its calibration (a silent pelvis holds the leg up that long, no longer).
GIVE_UP_S = 30.0
SILENT_S = 10.0
#: The flag thresholds (``OBLIQUITY_FLAG_DEG`` etc., :class:`~imuhip.analysis.events.
#: Compensation`), degrees. Obliquity 5°: one hip ~1.5 cm higher over a 0.18 m hip width, a
#: visible lift ("keep your butt on the floor") and several times the measurement's error
#: (SIMULATED: under 1°). Pelvic rotation 10°: above the heading drift a rep of under 10 s can
#: carry (a few degrees). Trunk lateral flexion 10°: beyond postural sway (a few degrees) and
#: the trunk measurement's error (SIMULATED: about 1°).
THRESHOLDS_DEG = {
    "pelvis_obliquity_deg": OBLIQUITY_FLAG_DEG,
    "pelvis_rotation_deg": ROTATION_FLAG_DEG,
    "trunk_lateral_flexion_deg": LEAN_FLAG_DEG,
}
SIDE_SIGNS = {"left": -1.0, "right": 1.0}
#: Hip reference names (``SessionAnalysis.hip_reference``, the analysis JSON).
PELVIS_REFERENCE = "pelvis sensor"
START_POSE_REFERENCE = "start pose"


#: After a lost stretch of its data a body sensor's filter re-settles on gravity for this long
#: (s; the legs' ``RECOVERY_S``); its angles are unknown meanwhile.
RECOVERY_S = 3.0

#: Without ``keep`` (long live sessions) the pelvis and trunk series are kept this long (s):
#: enough for the longest rep or stretch.
KEEP_S = 300.0


class Series:
    """Growing columns (time, two angles in degrees, and 1/0 known) with amortised appends."""

    def __init__(self) -> None:
        self._a = np.empty((1024, 4))
        self._n = 0
        self._start = 0

    def append(self, t: np.ndarray, x: np.ndarray, y: np.ndarray, known: np.ndarray) -> None:
        n = len(t)
        if self._n + n > len(self._a):
            live = self._a[self._start : self._n]
            grown = np.empty((max(2 * len(live), len(live) + n, 1024), 4))
            grown[: len(live)] = live
            self._a, self._n, self._start = grown, len(live), 0
        self._a[self._n : self._n + n] = np.column_stack([t, x, y, known])
        self._n += n

    def column(self, k: int) -> np.ndarray:
        return self._a[self._start : self._n, k]

    def drop_before(self, t0: float) -> None:
        """Forget the points before ``t0`` (s)."""
        self._start += int(np.searchsorted(self.column(0), t0))

    def __len__(self) -> int:
        return self._n - self._start


#: While its step is not found, a body sensor's kept data are searched again once they grew by
#: this much (s of data; every step before, each search scanning everything kept: 59 s against
#: 18.5 s without the pelvis for a 10-min small-chunk replay). The step found is the same: the
#: first movement followed by a still pose, whenever the search runs.
SEARCH_EVERY_S = 0.25


class RawBuffer:
    """A body sensor's grid data kept until its step is found: times (N,) s, rates (N, 3)
    rad/s, specific force (N, 3) m/s² and lost flags (N,), with amortised appends."""

    def __init__(self) -> None:
        self._t = np.empty(0)
        self._g = np.empty((0, 3))
        self._a = np.empty((0, 3))
        self._l = np.empty(0, bool)
        self.n = 0

    def append(self, t: np.ndarray, gyr: np.ndarray, acc: np.ndarray, lost: np.ndarray) -> None:
        n = len(t)
        if self.n + n > len(self._t):
            cap = max(2 * len(self._t), self.n + n, 1024)
            grown = [
                np.empty((cap, *x.shape[1:]), x.dtype) for x in (self._t, self._g, self._a, self._l)
            ]
            for new, old in zip(grown, (self._t, self._g, self._a, self._l), strict=True):
                new[: self.n] = old[: self.n]
            self._t, self._g, self._a, self._l = grown
        k = slice(self.n, self.n + n)
        self._t[k], self._g[k], self._a[k], self._l[k] = t, gyr, acc, lost
        self.n += n

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t, gyr, acc, lost) of everything kept (views)."""
        n = self.n
        return self._t[:n], self._g[:n], self._a[:n], self._l[:n]


class BodySensor:
    """One pelvis or trunk sensor: its grid, its step, its filter and its angle columns."""

    def __init__(
        self, role: str, phase: str, rate_hz: float, method: str, options: PipelineOptions,
        gyro_scale: np.ndarray | None,
    ) -> None:  # fmt: skip
        self.role = role
        self.phase = phase
        self.rate = rate_hz
        self.method = method
        self.options = options
        self.scale = gyro_scale
        self.grid = StreamingGrid((role,), rate_hz, lattice=True)
        self.axes: StepAxes | None = None
        self.mark_s: float | None = None
        self.refused: str | None = None
        self._filter: OrientationFilter | None = None
        self._raw = RawBuffer()
        self._searched_to = -np.inf  # the kept data's end (s) at the last search for the step
        # after the step: t, and for the pelvis obliquity and azimuth (unwrapped), for the
        # trunk its tilt about its step axis (degrees)
        self.series = Series()
        self.keep = True
        self.last_t = -np.inf  # the last grid time of its data (s)
        self.step_end_s: float | None = None  # when the step found in the data ended (s)
        self._since_lost = 10**12  # grid points since its last lost one
        self._was_lost = False  # its last point given to the filter was lost
        self._last_az = np.nan  # the last known azimuth (unwrapping across unknown stretches)

    def process(self, chunk: GridChunk) -> None:
        s = chunk.samples[self.role]
        if len(chunk.t):
            self.last_t = float(chunk.t[-1])
        gyr = correct_gyro(s.gyr, self.scale)
        lost = chunk.lost_by_role[self.role]
        gyr = np.where(lost[:, None], 0.0, gyr)
        if self._filter is None:
            if not self.refused:  # kept until the step is found
                self._raw.append(chunk.t, gyr, s.acc, lost)
            return
        self._append(chunk.t, self._run(gyr, s.acc, lost), lost)

    def _run(self, gyr: np.ndarray, acc: np.ndarray, lost: np.ndarray) -> np.ndarray:
        """The filter over a stretch: inside lost stretches it gets no input (its orientation
        is held), at the first sample after each it is levelled from the accelerometer (the
        tilt it missed; ``OrientationFilter.level``), as the legs' filters are."""
        assert self._filter is not None
        q = update_through_losses(self._filter, gyr, acc, lost, self._was_lost)
        if len(lost):
            self._was_lost = bool(lost[-1])
        return q

    def _unknown(self, lost: np.ndarray) -> np.ndarray:
        """Lost points and the ``RECOVERY_S`` after each lost stretch (advances the memory of
        the last lost point: call once per appended stretch)."""
        if not lost.any() and self._since_lost > len(lost) + RECOVERY_S * self.rate:
            self._since_lost += len(lost)
            return lost
        idx = np.arange(len(lost))
        last = np.maximum.accumulate(np.where(lost, idx, -self._since_lost))
        if len(lost):
            self._since_lost = len(lost) - int(last[-1])
        return (idx - last) <= round(RECOVERY_S * self.rate)

    def _append(self, t: np.ndarray, q: np.ndarray, lost: np.ndarray) -> None:
        ax = self.axes
        assert ax is not None
        unknown = self._unknown(lost)
        if self.phase == PELVIS_STEP.phase:
            if np.isfinite(ax.lateral).all():
                x = obliquity_deg(q, ax)
                y = azimuth_deg(q, ax.lateral)
                if np.isfinite(self._last_az) and len(y):  # unwrapped across chunks
                    y = y + 360.0 * np.round((self._last_az - y[0]) / 360.0)
                if len(y):
                    self._last_az = float(y[-1])
            else:  # a step about the vertical: no lateral axis
                x = y = np.full(len(t), np.nan)
        else:
            x = rotation_about_deg(q, ax.q_ref, ax.axis)
            y = np.zeros(len(t))
        if unknown.any():
            x = np.where(unknown, np.nan, x)
            y = np.where(unknown, np.nan, y)
        self.series.append(t, x, y, ~unknown)
        if not self.keep and len(t):
            self.series.drop_before(float(t[-1]) - KEEP_S)

    def stop(self, why: str) -> None:
        """Give the step up (``why``): no more data is kept for it."""
        if self.axes is None and not self.refused:
            self.refused = why
        self._raw = RawBuffer()

    @property
    def t(self) -> np.ndarray:
        return self.series.column(0)

    def unknown_at(self, t: np.ndarray) -> np.ndarray:
        """Where at times ``t`` its angles are unknown: its data lost, or its filter
        re-settling after that (False outside its data and before its step)."""
        if not len(self.series):
            return np.zeros(len(t), bool)
        return np.interp(t, self.t, self.series.column(3), left=1.0, right=1.0) < 1.0

    def at(self, t: np.ndarray, k: int) -> np.ndarray:
        """Column ``k`` (1, 2) interpolated at times ``t``, NaN outside the data."""
        if not len(self.series):
            return np.full(len(t), np.nan)
        return np.interp(t, self.t, self.series.column(k), left=np.nan, right=np.nan)

    def decide(self, after_s: float | None, *, final: bool = False) -> None:
        """Look for the step once the leg is calibrated (``after_s``: its final still pose's
        end; every ``SEARCH_EVERY_S`` of new data, or ``final``ly on all of it); on success
        start the filter over everything kept."""
        if self._filter is not None or after_s is None or self.refused or not self._raw.n:
            return
        t, gyr, acc, lost = self._raw.columns()
        if not final and t[-1] - self._searched_to < SEARCH_EVERY_S:
            return
        self._searched_to = float(t[-1])
        start = after_s if self.mark_s is None else max(after_s, self.mark_s)
        after = int(np.searchsorted(t, start))
        found = find_step(gyr, self.rate, after=after)
        if found is None:
            if len(t) and t[-1] - start > GIVE_UP_S:
                self.stop(f"no {self.phase.replace('_', ' ')} step was found in the "
                          f"{GIVE_UP_S:g} s after {start:.1f} s")  # fmt: skip
            return
        ref, _a, b = found
        self.step_end_s = float(t[min(b, len(t)) - 1])
        w0 = max(0, ref - round(self.rate))
        bias = gyr[w0 : ref + 1].mean(axis=0)
        self._filter = OrientationFilter(self.method, self.rate, self.options.fusion_params, bias)
        q = self._run(gyr, acc, lost)
        try:
            self.axes = step_from_data(gyr, q, t, self.rate, after=after)
        except CalibrationError as exc:
            self._filter = None
            self.stop(f"its step was refused ({exc})")
            return
        self._raw = RawBuffer()
        self._append(t, q, lost)

    @property
    def ready_until(self) -> float:
        """Last time (s) with an orientation; −inf before the step is found."""
        return float(self.t[-1]) if len(self.t) else -np.inf


class CompensationStage:
    """The pelvis and trunk of a session (see the module docstring).

    Args:
        layout: the session's layout (its ``pelvis`` and ``trunk`` roles).
        exercise: the exercise (the pose decides the correction's sign).
        rate_hz, method, options, gyro_scales: as the legs'.
    """

    def __init__(
        self, layout: Layout, exercise: str, rate_hz: float, method: str,
        options: PipelineOptions, gyro_scales: dict[str, np.ndarray | None], keep: bool = True,
    ) -> None:  # fmt: skip
        self.layout = layout
        self.exercise = exercise
        # the side the steps lift (with both legs: the protocol's fixed side)
        self.working = layout.legs[0].side if len(layout.legs) == 1 else BOTH_LEGS_STEP_SIDE

        def body(role: str | None, phase: str) -> BodySensor | None:
            if role is None:
                return None
            return BodySensor(role, phase, rate_hz, method, options, gyro_scales.get(role))

        self.pelvis = body(layout.pelvis, PELVIS_STEP.phase)
        self.trunk = body(layout.trunk, TRUNK_STEP.phase)
        for sensor in self.sensors:
            sensor.keep = keep
        self.keep = keep
        self.gave_up = self.pelvis is None
        self._seen: dict[tuple[str, float, float], Compensation] = {}  # annotated live
        self._calibrated_s: float | None = None  # the legs' calibration end, last advance
        self.warnings: list[str] = []

    @property
    def sensors(self) -> tuple[BodySensor, ...]:
        return tuple(s for s in (self.pelvis, self.trunk) if s is not None)

    def sensor(self, role: str) -> BodySensor | None:
        return next((s for s in self.sensors if s.role == role), None)

    def mark(self, t: float, phase: str) -> None:
        """A guidance mark of a pelvis or trunk step."""
        for s in self.sensors:
            if s.phase == phase and s.mark_s is None:
                s.mark_s = t

    def advance(self, calibrated_s: float | None, leg_time_s: float | None) -> None:
        """Process the grids' new points; decide the steps once the leg calibration ended
        (``calibrated_s``); give the pelvis up when its search failed, or when it is silent
        (see ``SILENT_S``; ``leg_time_s``: the legs' last grid time)."""
        for s in self.sensors:
            chunk = s.grid.emit()
            if chunk is not None:
                s.process(chunk)
            s.decide(self._after(s, calibrated_s))
        self._calibrated_s = calibrated_s
        p = self.pelvis
        if (
            p is not None
            and not self.gave_up
            and p.axes is None
            and calibrated_s is not None
            and leg_time_s is not None
            and (
                p.refused
                or (leg_time_s - calibrated_s > GIVE_UP_S and leg_time_s - p.last_t > SILENT_S)
            )
        ):
            self.give_up()

    def give_up(self) -> None:
        """No pelvis correction (the step was not found or refused): say so."""
        if self.gave_up:
            return
        self.gave_up = True
        p = self.pelvis
        if p is not None:
            p.stop("its step was not found")
        why = p.refused if p is not None and p.refused else "its step was not found"
        self.warnings.append(
            f"the pelvis sensor could not be used ({why}): the hip angle is the femur's rotation "
            "relative to the start pose and includes any movement of the pelvis; lift the hip "
            "of the working side twice after the leg calibration, then hold still"
        )

    def _after(self, s: BodySensor, calibrated_s: float | None) -> float | None:
        """From when (s) ``s``'s step is looked for: the leg calibration's end; the trunk's
        after the pelvis's step (the trunk moves with the pelvis in it); None: not yet."""
        if s is self.trunk and self.pelvis is not None and not self.gave_up:
            return None if self.pelvis.axes is None else self.pelvis.axes.end_s
        return calibrated_s

    def finish(self) -> None:
        """End of the session: the steps are looked for once more on all the data; a pelvis
        whose step was not found is given up."""
        for s in self.sensors:
            s.decide(self._after(s, self._calibrated_s), final=True)
        if self.pelvis is not None and self.pelvis.axes is None:
            self.give_up()
        t = self.trunk
        if t is not None and t.axes is None:
            t.stop("its step was not found")
            self.warnings.append(
                f"the trunk sensor could not be used ({t.refused}): no trunk lateral flexion; "
                "lean sideways towards the working side twice after the leg calibration (and "
                "the pelvis step), then hold still"
            )

    # ------------------------------------------------------------------ the hip correction
    @property
    def hip_reference(self) -> str:
        """What the hip angle is relative to (see the module's constants)."""
        p = self.pelvis
        return PELVIS_REFERENCE if p is not None and p.axes is not None else START_POSE_REFERENCE

    def ready_until(self) -> float:
        """Leg angles up to this time (s) can be corrected now (+inf: no correction)."""
        if self.gave_up:
            return np.inf
        assert self.pelvis is not None
        return self.pelvis.ready_until

    def correction_deg(
        self, t: np.ndarray, side: str, femur_start: np.ndarray | None
    ) -> np.ndarray:
        """Degrees to take from ``side``'s apparent hip rotation at times ``t`` (0 without a
        pelvis correction or its obliquity; NaN where the pelvis's angles are unknown: its
        data lost, or its filter re-settling after that)."""
        if self.gave_up:
            return np.zeros(len(t))
        scale = hip_correction_scale(femur_start, self.exercise)
        corr = np.nan_to_num(scale * self.obliquity(t, side))
        p = self.pelvis
        if p is not None and p.axes is not None:
            corr[p.unknown_at(t)] = np.nan
        return corr

    # ------------------------------------------------------------------ the angles
    def _sign(self, side: str) -> float:
        return 1.0 if side == self.working else -1.0

    def obliquity(self, t: np.ndarray, side: str) -> np.ndarray:
        """Pelvic obliquity at ``t``, degrees, positive with ``side``'s hip higher (NaN before
        the pelvis's data or without its step)."""
        p = self.pelvis
        if p is None or p.axes is None:
            return np.full(len(t), np.nan)
        return self._sign(side) * p.at(t, 1)

    def turn_ccw(self, t: np.ndarray) -> np.ndarray:
        """The pelvis's counter-clockwise turn at ``t`` (degrees, arbitrary zero; NaN where
        unknown)."""
        p = self.pelvis
        if p is None or p.axes is None:
            return np.full(len(t), np.nan)
        return p.at(t, 2)

    def trunk_flexion(self, t: np.ndarray, side: str) -> np.ndarray:
        """The trunk's lateral flexion relative to the pelvis at ``t`` (degrees, positive
        towards ``side``; arbitrary zero: compare differences), NaN where unknown. Without a
        pelvis sensor the pelvis is taken to stay still."""
        s = self.trunk
        if s is None or s.axes is None:
            return np.full(len(t), np.nan)
        tilt = s.at(t, 1)
        v = s.axes.vertical_share
        h = float(np.sqrt(max(0.0, 1.0 - v * v)))
        if self.pelvis is not None and self.pelvis.axes is not None:
            tilt = tilt + h * self.obliquity(t, self.working) - v * self.turn_ccw(t)
        return self._sign(side) * tilt

    # ------------------------------------------------------------------ reps and stretches
    def compensation(self, side: str, start_s: float, end_s: float) -> Compensation:
        """The signed extremes during ``[start_s, end_s]`` for ``side``'s leg: obliquity (from
        the still pose before the step), pelvic rotation and trunk lateral flexion (both from
        the movement's start); None where that sensor is absent or unusable."""
        n = max(2, round((end_s - start_s) * 50.0) + 1)
        t = np.linspace(start_s, end_s, n)
        obl = rot = lean = None
        if self.pelvis is not None:
            obl = signed_extreme(self.obliquity(t, side))
            turn = self.turn_ccw(t)
            rot = signed_extreme(SIDE_SIGNS[side] * (turn - turn[0]))
        if self.trunk is not None:
            x = self.trunk_flexion(t, side)
            lean = signed_extreme(x - x[0])
        return Compensation(obl, rot, lean)

    def annotate(self, events: list[AnalysisEvent], side: str) -> list[AnalysisEvent]:
        """``events`` with each counted rep and ended stretch given its compensation, and a
        ``COMPENSATION`` event after each that goes over a threshold."""
        if not self.sensors:
            return events
        out = []
        for e in events:
            if e.kind in (EventKind.REP_COUNTED, EventKind.STRETCH_ENDED) and isinstance(
                e.item, Rep | Stretch
            ):
                item = self.annotated(e.item, side)
                e = replace(e, item=item)
                out.append(e)
                if item.compensation is not None and item.compensation.flags():
                    out.append(replace(e, kind=EventKind.COMPENSATION))
                continue
            out.append(e)
        return out

    def annotated(self, item: Rep | Stretch, side: str) -> Rep | Stretch:
        if not self.sensors:
            return item
        key = (side, item.start_s, item.end_s)
        if not self.keep and key in self._seen:  # its data may be gone by now
            return replace(item, compensation=self._seen[key])
        c = self.compensation(side, item.start_s, item.end_s)
        self._seen[key] = c
        return replace(item, compensation=c)

    def annotate_result(self, result: ExerciseResult, side: str) -> ExerciseResult:
        """``result`` with every rep given its compensation (the whole session's data)."""
        if not self.sensors:
            return result
        return replace(
            result,
            reps=tuple(self.annotated(r, side) for r in result.reps),
            stretches=tuple(self.annotated(x, side) for x in result.stretches),
        )
