"""Hip internal/external rotation from the thigh's and the shin's orientations.

With the knee bent, the shank is a rigid lever of the femur: the knee axis ``j`` (seen by the
shin) turns about the femur's long axis ``f`` (seen by the thigh; its direction is not disturbed
by soft tissue sliding about it) as the hip rotates. The angle follows the ISB hip convention for
a hinge knee: the rotation about ``f`` from the pelvis's lateral axis to the knee axis, both
projected perpendicular to ``f``, minus its value in the calibrated start pose, signed so that
internal rotation is positive on both sides. Adduction and flexion move ``f`` but not this angle.
When the start pose is known, the knee axis is taken as the normal of the plane through ``f``
and the shank's long axis rather than from the shin's own knee axis: the tibia turning a little
about itself at the knee then does not count as hip rotation.

No magnetometer is used. Two headings are tracked (:class:`HeadingTracker`, a drift-following
line fit): the shin's relative to the thigh's, through the knee's hinge constraint; and the
thigh filter's own drift relative to the pelvis, from the femur's heading whenever the leg rests
still at its rest level (the pelvis does not move and turning about the femur does not move the
femur, so it comes back to the same heading wherever the leg settles between movements; holds
and rep tops, where adduction comes along, stay out: they are above the rest level). Between
rests the drift goes on along the line fitted there, and wherever the leg is held still (a
stretch at end range) the femur's azimuth change gives the drift's rate. A
simpler reference, the vertical plane through ``f`` (``reference="vertical"``), needs neither but
reads adduction as rotation when the hip is flexed.

Hip flexion relative to the start pose comes with the pelvis reference: the femur axis's turn
about the pelvis's lateral axis (:func:`femur_flexion`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from imuhip import quaternion as Q
from imuhip.align.numeric import running_min
from imuhip.joint.calibration import Calibration, pelvis_referenced_angle, shank_plane_normal
from imuhip.joint.geometry import azimuth, leg_plane_angle, signed_angle_about, turn_z, wrap
from imuhip.joint.heading import HeadingTracker

#: Still samples whose vertical-plane angle is within this of the current rest level (degrees)
#: inform the thigh's heading drift.
NEAR_REST_DEG = 4.0
#: The rest level is the lowest resting vertical-plane angle over this trailing window (seconds):
#: reps and holds go into internal rotation, so between them the leg comes back to the lowest
#: still position, wherever it settles (not necessarily the calibrated start pose). Longer than
#: a passive stretch held still at end range (40–60 s, and its slow way there), which would
#: otherwise become the rest level and turn the thigh's heading by the adduction that comes
#: with it (docs/fusion.md).
REST_WINDOW_S = 120.0
#: Only stillness lasting this long (seconds) sets the rest level (a rep's top is shorter).
REST_MIN_S = 1.0
#: For this long after the calibration's final still pose (seconds) the rest level also
#: counts the start pose, so that a hold begun right after the calibration is not taken for
#: the rest; afterwards only rests from then on count, so a leg that relaxed into a new rest
#: is followed soon.
START_REST_S = 20.0
#: Stillness this far above the lowest rest of the trailing window (degrees) is a held position
#: (a passive stretch at end range), not a leg that relaxed into a new rest.
NEW_REST_MAX_DEG = 15.0

#: Between rests (reps, holds, a stretch of a minute) the thigh's heading drift goes on along
#: the line fitted at the last rests for up to this long (seconds), rather than falling back
#: to their mean (:class:`HeadingTracker`'s ``keep_slope_s``).
THIGH_KEEP_SLOPE_S = 300.0

#: The leg held still (the shin turning slower than this, rad/s, for ``REST_MIN_S``) anywhere,
#: not only at rest: the femur does not move, so its azimuth's change is the thigh's drift.
HELD_STILL_RATE = np.radians(0.3)
#: Weight of that drift-rate observation per sample (``HeadingTracker.track``'s
#: ``rate_weight``; how it was chosen: docs/detector.md).
HELD_RATE_WEIGHT = 3e5

#: Samples per tracker call in batch :func:`hip_rotation`.
BATCH_CHUNK = 16384


@dataclass(frozen=True)
class HipAngles:
    """Angles on the common grid.

    Attributes:
        hip_rotation_deg: (N,) internal rotation positive, degrees, 0 in the start pose.
        heading_offset_deg: (N,) tracked shin-to-thigh heading offset, degrees (diagnostic).
        knee_flexion_deg: (N,) knee flexion relative to the start pose, degrees (bending further
            positive): the shin's turn about the knee axis relative to the thigh, from the femur
            axis seen by each sensor. Absolute knee flexion would need the shank's long axis,
            which the calibration does not measure.
        hip_flexion_deg: (N,) hip flexion relative to the start pose, degrees (knee moving
            forward/up positive; the first angle of the ISB order). None without a pelvis
            reference. Adduction is not given: it rests on the thigh's heading against the
            pelvis, which is only corrected at rest and was off by up to 10° between rests in
            simulated seated sessions.
        rest_seen: (N,) bool, where the leg rested (still for ``REST_MIN_S``) at its rest
            level, so that the thigh's heading against the pelvis was checked (None without a
            pelvis reference).
    """

    hip_rotation_deg: np.ndarray
    heading_offset_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    hip_flexion_deg: np.ndarray | None = None
    rest_seen: np.ndarray | None = None


def femur_flexion(f: np.ndarray, f0: np.ndarray, knee_lateral: np.ndarray) -> np.ndarray:
    """Hip flexion (radians) of the femur axis ``f`` relative to ``f0`` (hip to knee): the turn
    of ``f`` about the pelvis's lateral axis, both projected onto the sagittal plane (the first
    angle of the ISB order), positive when the knee moves forward/up. ``knee_lateral`` is the
    knee axis of the start pose, signed as the calibration signs the knee axis. All (N, 3), one
    world frame. Gravity fixes the femur's pitch, so this needs no heading beyond the lateral
    axis's own, which enters only to second order while that axis stays near horizontal."""
    return -signed_angle_about(knee_lateral, f0, f)


def _trailing_min(tail: np.ndarray, x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Minimum of each of ``x``'s values and the ``w - 1`` before it (``tail`` holds those of
    earlier chunks; ``w`` odd), and the tail to keep for the next chunk."""
    buf = np.concatenate([tail, x])
    n = len(x)
    if n > 0 and len(tail) and (len(tail) + n <= w or (len(tail) == w - 1 and n < w)):
        # a chunk shorter than the window (live, and the analysis' pieces): sample k's window
        # is the tail from k on (all of it while the window is not yet full) and x up to k,
        # so the minima of the tail's suffixes and x's prefixes (the same numbers, without a
        # pass over the whole window per sample, nor the running minimum over tail and x)
        full = len(tail) + n > w
        level = np.empty(n)
        level[-1] = tail[n - 1 :].min() if full else tail.min()  # NaN if any is NaN
        if full:
            np.minimum(np.minimum.accumulate(tail[: n - 1][::-1])[::-1], level[-1], out=level[:-1])
        else:
            level[:-1] = level[-1]
        np.minimum(np.minimum.accumulate(x), level, out=level)
        if not np.isnan(level).any():  # (the filter's own way with NaN is kept below)
            return level, buf[-(w - 1) :]
    # each sample's window and the w - 1 before it (those there are)
    return running_min(buf, w, origin=(w - 1) // 2)[len(buf) - n :], buf[-(w - 1) :]


#: Share of the heading trackers' past weight kept over a lost stretch (:meth:`after_gap`).
GAP_MEMORY = 0.02


class HipRotationTracker:
    """Streaming hip rotation: feed orientation chunks, get angles; batch ≡ one big chunk.

    The heading constraint holds exactly only for a perfect hinge; while the leg moves, the
    knee's small axial and varus play bends it. Samples therefore inform the heading with a
    weight that falls with the shin's angular speed (``motion_rate`` rad/s halves it).
    """

    def __init__(
        self,
        calibration: Calibration,
        rate_hz: float,
        *,
        tau_s: float = 20.0,
        motion_rate: float = 0.3,
        reference: str = "pelvis",
    ) -> None:
        self.cal = calibration
        self.reference = reference
        # the thigh filter's own heading drifts too (about the vertical, unobservable in 6D);
        # the femur comes back to the same heading whenever the leg rests (the pelvis does not
        # move), so its heading then tracks that drift
        # its observations are plain azimuth differences, with no second root to confuse: none
        # is rejected as too far (a drift that ran ahead while the leg was away from rest, up
        # to a few degrees per second before the filter learns its bias, must be caught up)
        self.thigh_drift = HeadingTracker(
            0.0,
            0.0,
            rate_hz,
            tau_s=tau_s,
            max_step=np.pi,
            drift_rate=calibration.thigh_drift_rate,
            keep_slope_s=THIGH_KEEP_SLOPE_S,
        )
        self.rate_hz = rate_hz
        self.motion_rate = motion_rate
        self.heading = HeadingTracker(
            calibration.heading_offset, calibration.perpendicularity, rate_hz, tau_s=tau_s
        )
        self._last_q_shin: np.ndarray | None = None
        # resting vertical-plane angles of the trailing window: all of them, and those after
        # the start period (the final still pose and START_REST_S after it)
        self._rest_tail = np.zeros(1)
        self._rest_tail_later = np.full(1, np.inf)
        self._rest_n = round(REST_WINDOW_S * rate_hz) | 1  # odd: see _rest_level
        k0, k1 = calibration.phases.still_end
        self._start_until = (k1 - k0) + round(START_REST_S * rate_hz)
        self._seen = 0  # samples processed
        self._still_run = 0  # consecutive still samples up to the last one seen
        self._held_run = 0  # consecutive samples held still (HELD_STILL_RATE)
        self._last_az: float | None = None  # the femur's azimuth at the last sample seen

    def after_gap(self) -> None:
        """The data were lost just before the next sample: the filters' headings may have
        jumped, so the heading trackers start over from where they were, with
        ``GAP_MEMORY`` of their past weight."""
        self.heading.forget(GAP_MEMORY)
        self.thigh_drift.forget(GAP_MEMORY)
        self._held_run, self._last_az = 0, None  # no azimuth change across the gap

    def _resting(self, still: np.ndarray) -> np.ndarray:
        """Samples (N,) that end a run of stillness at least ``REST_MIN_S`` long."""
        s = still > 0.9
        i = np.arange(len(s))
        last_moving = np.maximum.accumulate(np.where(s, -1 - self._still_run, i))
        run = i - last_moving
        if len(s):
            self._still_run = int(run[-1])
        return run >= REST_MIN_S * self.rate_hz

    def _held_drift(
        self, az: np.ndarray, horizontal: np.ndarray, still: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The femur azimuth's (``az``, radians) change per sample and its weight where the leg
        is held still (for ``REST_MIN_S``, the shin under ``HELD_STILL_RATE``), 0 elsewhere
        (``horizontal``: the femur axis's squared horizontal length)."""
        prev = az[:1] if self._last_az is None else np.array([self._last_az])
        rate = wrap(np.diff(az, prepend=prev))
        if len(az):
            self._last_az = float(az[-1])
        speed = self.motion_rate * np.sqrt(np.maximum(1.0 / np.maximum(still, 1e-12) - 1.0, 0))
        held = speed < HELD_STILL_RATE
        i = np.arange(len(held))
        last_moving = np.maximum.accumulate(np.where(held, -1 - self._held_run, i))
        run = i - last_moving
        if len(held):
            self._held_run = int(run[-1])
        ok = run >= REST_MIN_S * self.rate_hz
        return rate, np.where(ok, HELD_RATE_WEIGHT * horizontal, 0.0)

    def _rest_level(self, theta: np.ndarray, resting: np.ndarray) -> np.ndarray:
        """Causal rest level (N,) radians: the lowest resting angle of the trailing window,
        counting the start period (the start pose, ``START_REST_S``) only during it or while
        the window holds no later rest; later stillness ``NEW_REST_MAX_DEG`` or more above the
        level of all rests is a held position, not a rest."""
        n = len(theta)
        i = self._seen + np.arange(n)
        self._seen += n
        x = np.where(resting, theta, np.inf)
        every, self._rest_tail = _trailing_min(self._rest_tail, x, self._rest_n)
        # where x is finite, so is every (it is the minimum over x among others)
        above = np.subtract(x, every, out=np.zeros(n), where=np.isfinite(x))
        far = (i < self._start_until) | (above >= np.radians(NEW_REST_MAX_DEG))
        later, self._rest_tail_later = _trailing_min(
            self._rest_tail_later, np.where(far, np.inf, x), self._rest_n
        )
        # no rest since the start period in the window (a stretch begun right after the
        # calibration): the start pose still stands for the rest, not the stretch
        return np.where((i < self._start_until) | ~np.isfinite(later), every, later)

    def _stillness(self, q_shin: np.ndarray) -> np.ndarray:
        prev = q_shin[:1] if self._last_q_shin is None else self._last_q_shin[None]
        q_prev = np.concatenate([prev, q_shin[:-1]])
        # the turn between consecutive orientations, from their dot product cos(angle / 2)
        half_cos = np.abs(np.sum(q_prev * q_shin, axis=-1))
        speed = 2.0 * np.arccos(np.minimum(half_cos, 1.0)) * self.rate_hz
        self._last_q_shin = q_shin[-1].copy()
        return 1.0 / (1.0 + (speed / self.motion_rate) ** 2)

    def update(self, q_thigh: np.ndarray, q_shin: np.ndarray) -> HipAngles:
        """Angles for (N, 4) orientation chunks of thigh and shin on the common grid."""
        cal = self.cal
        if len(q_shin) == 0:
            e = np.empty(0)
            return HipAngles(e, e, e, e.copy(), np.empty(0, bool))
        f = Q.rotate(q_thigh, cal.femur_axis_thigh)
        j_shin_world = Q.rotate(q_shin, cal.knee_axis_shin)
        still = self._stillness(q_shin)
        delta = self.heading.update(j_shin_world, f, still)
        cd, sd = np.cos(delta), np.sin(delta)  # shared by the shin's rotations below
        j = turn_z(j_shin_world, cd, sd)
        theta = cal.side_sign * wrap(leg_plane_angle(f, j) - cal.zero_angle)
        flexion = rest_seen = None
        if self.reference == "pelvis" and cal.pelvis_lateral is not None:
            resting = self._resting(still)
            level = self._rest_level(theta, resting)
            near_rest = np.abs(theta - level) < np.radians(NEAR_REST_DEG)
            horizontal = f[:, 0] ** 2 + f[:, 1] ** 2
            weight = still * near_rest * horizontal
            rest_seen = near_rest & resting & (horizontal > 0.05)
            az = azimuth(f)
            psi = self.thigh_drift.track(
                wrap(az - cal.femur_azimuth), None, weight,
                *self._held_drift(az, horizontal, still),
            )  # fmt: skip
            cp, sp = np.cos(psi), np.sin(psi)
            lateral = turn_z(np.broadcast_to(cal.pelvis_lateral, f.shape), cp, sp)
            knee = j
            if cal.shank_axis_shin is not None:
                v = turn_z(Q.rotate(q_shin, cal.shank_axis_shin), cd, sd)
                knee = shank_plane_normal(f, v, j)
            theta = cal.side_sign * wrap(
                pelvis_referenced_angle(f, knee, lateral) - cal.pelvis_zero_angle
            )
            if cal.femur_start is not None:
                f0 = turn_z(np.broadcast_to(cal.femur_start, f.shape), cp, sp)
                flexion = femur_flexion(f, f0, lateral)
        f_shin = turn_z(Q.rotate(q_shin, cal.femur_axis_shin), cd, sd)
        knee = wrap(signed_angle_about(j, f, f_shin) - cal.knee_zero)
        return HipAngles(
            np.degrees(theta),
            np.degrees(delta),
            np.degrees(knee),
            None if flexion is None else np.degrees(flexion),
            rest_seen,
        )


def hip_rotation(
    q_thigh: np.ndarray, q_shin: np.ndarray, calibration: Calibration, rate_hz: float
) -> HipAngles:
    """Batch hip rotation over whole (N, 4) orientation arrays (from the session start).

    The tracker is run over chunks of ``BATCH_CHUNK`` samples: the same result as one call (it
    is a streaming tracker), about a third faster on long sessions (temporaries stay in cache).
    """
    tracker = HipRotationTracker(calibration, rate_hz)
    n = len(q_shin)
    if n <= BATCH_CHUNK:
        return tracker.update(q_thigh, q_shin)
    parts = [
        tracker.update(q_thigh[i : i + BATCH_CHUNK], q_shin[i : i + BATCH_CHUNK])
        for i in range(0, n, BATCH_CHUNK)
    ]

    def joined(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    return HipAngles(*(joined(f.name) for f in fields(HipAngles)))  # type: ignore[arg-type]
