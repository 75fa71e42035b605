"""Functional calibration: sensor-to-segment axes and the neutral pose, from the protocol.

No exact sensor placement is needed. From the calibration movements this finds, in each
sensor's own frame:

- the knee axis in the shin frame ``j_s`` (shin rotation axis during the knee bends), signed so
  that knee flexion is a positive rotation (the protocol bends further first);
- the femur's long axis (hip to knee) in the thigh frame ``f_t`` and in the shin frame ``f_s``
  (rotation axis of both segments during the rocks), signed so that internal rotation is
  positive about it for a left leg and negative for a right leg (the protocol rocks inward first);
- the heading offset ``δ0`` between the shin's and the thigh's orientation estimates (the femur
  axis seen from both must point the same way during the rocks; then refined in the final still
  pose through the hinge constraint, since the thigh's heading drifts meanwhile);
- the knee/femur axis non-perpendicularity ``c0`` (within the shin's own frame), the zero angle
  ``θ0`` of the start pose, the pelvis's lateral axis and the femur's heading in it, and the
  thigh's heading drift rate between the two still poses.

Soft tissue on the thigh only scales the thigh's rotation about the femur axis, and rocks done
with the foot planted bring adduction along; both tilt the thigh's rotation axis away from the
femur's. Adduction moves skin and bone alike, so the shin's rate minus the thigh's (in one frame)
is the part of the axial turn the skin missed, along the femur axis alone: the axes are refined
with it (unless the thigh follows the bone so closely that the difference is too small).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import CalibrationError
from imuhip.joint.geometry import (
    azimuth,
    circular_mean,
    leg_plane_angle,
    rotate_z,
    signed_angle_about,
    unit,
    wrap,
)
from imuhip.joint.heading import heading_roots
from imuhip.joint.phases import (
    MIN_BEND_DEG,
    MIN_ROCK_DEG,
    MOVING_RATE,
    Phases,
    find_phases,
    first_excursion_sign,
    principal_axis,
)
from imuhip.quaternion import cross

SIDE_SIGN = {"left": 1.0, "right": -1.0}


#: A thigh turning more than this share of the shin's rate during the knee bends is doubted ...
THIGH_BEND_SHARE_MAX = 0.5
#: ... where the femur lies level: the vertical component of its direction under this.
LEVEL_FEMUR_Z = 0.2


@dataclass(frozen=True)
class CalibrationQuality:
    """How well the movements fit the model (all angles in degrees).

    Attributes:
        bend_range_deg: knee rotation range seen during the bends.
        rock_range_deg: shin rotation range about the femur axis during the rocks.
        knee_axis_fit: share of the shin's angular-rate energy along the knee axis during the
            bends (1 = a perfect hinge).
        femur_axis_fit_thigh, femur_axis_fit_shin: same for the femur axis during the rocks.
        axes_angle_deg: angle between knee and femur axes in the shin frame (ideally 90).
        heading_spread_deg: circular spread of the per-sample heading offsets in the rocks.
        still_rms_dps: angular-rate RMS in the still start pose, °/s.
        thigh_bend_share: the thigh's angular-rate RMS over the shin's during the knee bends,
            where the femur lies level (prone: the thigh stays on the floor, about 0.03; near 1
            the two sensors moved alike: swapped, or the same data); 0 where the femur is
            raised (seated, supine: the foot slides and the hip flexes along with the knee).
    """

    bend_range_deg: float
    rock_range_deg: float
    knee_axis_fit: float
    femur_axis_fit_thigh: float
    femur_axis_fit_shin: float
    axes_angle_deg: float
    heading_spread_deg: float
    still_rms_dps: float
    thigh_bend_share: float = 0.0

    def warnings(self) -> list[str]:
        """Plain-language doubts about this calibration (empty when all is well)."""
        out = []
        if self.knee_axis_fit < 0.9:
            out.append("the knee bends were not clean hinge movements; bend only the knee")
        if min(self.femur_axis_fit_thigh, self.femur_axis_fit_shin) < 0.7:
            out.append("the leg rocks were not clean rotations about the thigh's long axis")
        if abs(self.axes_angle_deg - 90.0) > 20.0:
            out.append("knee and thigh axes are not perpendicular: repeat the calibration")
        if self.heading_spread_deg > 10.0:
            out.append("the two sensors disagree on the thigh axis during the rocks")
        if self.still_rms_dps > 3.0:
            out.append("the leg was not quite still in the start pose")
        if self.thigh_bend_share > THIGH_BEND_SHARE_MAX:
            out.append(
                "the thigh sensor turned about as much as the shin during the knee bends "
                f"({100 * self.thigh_bend_share:.0f} %): are the thigh and shin sensors (or "
                "files) swapped, or both on the shin?"
            )
        return out


class CalibrationTimes:
    """What every calibration kind derives from its ``side`` and ``phase_times`` (phase name
    -> (start, end) seconds): the side's sign and when the calibration ends."""

    side: str
    phase_times: dict[str, tuple[float, float]]

    @property
    def side_sign(self) -> float:
        return SIDE_SIGN[self.side]

    @property
    def end_s(self) -> float:
        """Time at which the calibration (its final still phase) ends, seconds."""
        return self.phase_times["still_end"][1]


@dataclass(frozen=True)
class Calibration(CalibrationTimes):
    """Everything the hip angle needs from the calibration (vectors are unit, sensor frames)."""

    side: str
    knee_axis_shin: np.ndarray
    femur_axis_thigh: np.ndarray
    femur_axis_shin: np.ndarray
    heading_offset: float
    perpendicularity: float
    zero_angle: float
    phases: Phases
    phase_times: dict[str, tuple[float, float]]
    quality: CalibrationQuality
    knee_zero: float = 0.0
    pelvis_lateral: np.ndarray | None = None
    femur_azimuth: float = 0.0
    pelvis_zero_angle: float = 0.0
    thigh_drift_rate: float = 0.0
    shank_axis_shin: np.ndarray | None = None
    femur_start: np.ndarray | None = None
    knee_axis_thigh: np.ndarray | None = None

    def summary(self) -> dict:
        """JSON-friendly description (axes rounded, angles in degrees)."""
        return {
            "phases": {k: [round(a, 3), round(b, 3)] for k, (a, b) in self.phase_times.items()},
            "knee_axis_shin": np.round(self.knee_axis_shin, 4).tolist(),
            "femur_axis_thigh": np.round(self.femur_axis_thigh, 4).tolist(),
            "femur_axis_shin": np.round(self.femur_axis_shin, 4).tolist(),
            **(
                {"knee_axis_thigh": np.round(self.knee_axis_thigh, 4).tolist()}
                if self.knee_axis_thigh is not None
                else {}
            ),
            "heading_offset_deg": round(float(np.degrees(self.heading_offset)), 2),
            "quality": {k: round(v, 3) for k, v in asdict(self.quality).items()},
            "warnings": self.quality.warnings(),
        }


#: Version of :func:`calibration_record`'s layout.
RECORD_VERSION = 1
_VECTORS = (
    "knee_axis_shin", "femur_axis_thigh", "femur_axis_shin", "pelvis_lateral", "shank_axis_shin",
    "femur_start", "knee_axis_thigh",
)  # fmt: skip
_SCALARS = (
    "heading_offset", "perpendicularity", "zero_angle", "knee_zero", "femur_azimuth",
    "pelvis_zero_angle", "thigh_drift_rate",
)  # fmt: skip


def calibration_record(cal: Calibration) -> dict:
    """A calibration as plain JSON values, exactly (floats round-trip): what a live session
    stores in its file when it calibrates, so that an analysis whose calibration window was
    damaged can still use it (:func:`calibration_from_record`). Phases are stored as times."""
    rec: dict = {"version": RECORD_VERSION, "side": cal.side}
    for k in _VECTORS:
        v = getattr(cal, k)
        rec[k] = None if v is None else [float(x) for x in v]
    for k in _SCALARS:
        rec[k] = float(getattr(cal, k))
    rec["phase_times"] = {k: [float(a), float(b)] for k, (a, b) in cal.phase_times.items()}
    rec["quality"] = {k: float(v) for k, v in asdict(cal.quality).items()}
    return rec


def calibration_from_record(rec: object, t: np.ndarray) -> Calibration:
    """The calibration :func:`calibration_record` stored, its phases put on the grid ``t``
    (seconds). Raises :class:`CalibrationError` for a record that is not one."""
    try:
        if not isinstance(rec, dict) or rec.get("version") != RECORD_VERSION:
            raise ValueError("not a calibration record of this version")
        side = rec["side"]
        if side not in SIDE_SIGN:
            raise ValueError(f"side {side!r}")
        vec = {}
        for k in _VECTORS:
            v = rec[k]
            vec[k] = None if v is None else np.asarray(v, dtype=float).reshape(3)
        for k in ("knee_axis_shin", "femur_axis_thigh", "femur_axis_shin"):
            if vec[k] is None:
                raise ValueError(f"{k} missing")
        sc = {k: float(rec[k]) for k in _SCALARS}
        times = {k: (float(a), float(b)) for k, (a, b) in rec["phase_times"].items()}
        names = ("still_start", "bends", "rocks", "still_end")
        idx = [
            (int(np.searchsorted(t, times[n][0])), int(np.searchsorted(t, times[n][1])) + 1)
            for n in names
        ]
        quality = CalibrationQuality(**{k: float(v) for k, v in rec["quality"].items()})
        values = [*vec.values(), *sc.values()]
        if not all(np.all(np.isfinite(x)) for x in values if x is not None):
            raise ValueError("a value is not finite")
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"the stored calibration is unusable ({exc})") from exc
    return Calibration(
        side, vec["knee_axis_shin"], vec["femur_axis_thigh"], vec["femur_axis_shin"],
        sc["heading_offset"], sc["perpendicularity"], sc["zero_angle"], Phases(*idx), times,
        quality, sc["knee_zero"], vec["pelvis_lateral"], sc["femur_azimuth"],
        sc["pelvis_zero_angle"], sc["thigh_drift_rate"], vec["shank_axis_shin"],
        vec["femur_start"], vec["knee_axis_thigh"],
    )  # fmt: skip


def signed_axis(w: np.ndarray, dt: float, sign: float) -> tuple[np.ndarray, float, float]:
    """The principal rotation axis (unit, sensor frame) of rates ``w`` (N, 3) rad/s over one
    calibration phase, signed so that its first clear excursion is positive, times ``sign``;
    with its fit (energy share, 0..1) and the rotation range about it, degrees."""
    moving = w[np.linalg.norm(w, axis=1) > MOVING_RATE]
    if len(moving) < 5:
        moving = w
    axis, fit = principal_axis(moving)
    axis = axis * first_excursion_sign(w, axis, dt) * sign
    rng = float(np.degrees(np.ptp(np.cumsum(w @ axis) * dt)))
    return axis, fit, rng


def pelvis_referenced_angle(f: np.ndarray, j: np.ndarray, lateral: np.ndarray) -> np.ndarray:
    """Rotation (radians) about the femur axis ``f`` from the pelvis's lateral axis to the knee
    axis ``j``, both projected perpendicular to ``f`` (the ISB hip rotation for a hinge knee).
    All (..., 3), one world frame."""
    return signed_angle_about(f, lateral, j)


def _shank_axis(
    q_shin: np.ndarray, jw: np.ndarray, fw: np.ndarray, delta0: float, tilt: float
) -> np.ndarray:
    """The shank's long axis in the shin frame from a still start pose: in the leg plane
    (perpendicular to the knee axis), ``tilt`` radians from vertical towards the feet."""
    j = unit(jw.mean(axis=0))
    f = unit(fw.mean(axis=0))
    up = np.array([0.0, 0.0, 1.0])
    up_p = unit(up - (up @ j) * j)
    f_p = f - (f @ j) * j
    feet = unit(f_p - (f_p @ up_p) * up_p)
    v_w = -np.cos(tilt) * up_p + np.sin(tilt) * feet
    v_s = Q.rotate(Q.conjugate(q_shin), rotate_z(np.broadcast_to(v_w, (len(q_shin), 3)), -delta0))
    return unit(v_s.mean(axis=0))


def _knee_axis_thigh(
    q_thigh: np.ndarray, q_shin: np.ndarray, j_s: np.ndarray, delta0: float
) -> np.ndarray:
    """The knee axis in the thigh frame: the shin's knee axis during the bends, carried into the
    thigh frame through the heading offset (the bends barely turn the thigh)."""
    jw = rotate_z(Q.rotate(q_shin, j_s), delta0)
    return unit(Q.rotate(Q.conjugate(q_thigh), jw).mean(axis=0))


def shank_plane_normal(f: np.ndarray, v: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Unit normal of the plane through the femur axis ``f`` and the shank axis ``v``, on the
    side of the knee axis ``j`` (all (N, 3)): the knee axis free of the tibia's own turn."""
    n = unit(cross(f, v))
    return n * np.sign(np.sum(n * j, axis=-1, keepdims=True) + 1e-12)


def _heading_offset(
    q_thigh: np.ndarray, q_shin: np.ndarray, f_t: np.ndarray, f_s: np.ndarray
) -> tuple[float, float]:
    """Heading offset (radians) turning the shin's world frame onto the thigh's so that the
    femur axis seen by both points the same way, and its spread (degrees)."""
    fw_t = Q.rotate(q_thigh, f_t)
    fw_s = Q.rotate(q_shin, f_s)
    horiz = np.hypot(fw_t[:, 0], fw_t[:, 1]) * np.hypot(fw_s[:, 0], fw_s[:, 1])
    if horiz.mean() < 0.2:
        raise CalibrationError(
            "the thigh points almost straight up or down during the rocks; the sensors' "
            "relative heading cannot be found in this pose"
        )
    diffs = wrap(azimuth(fw_t) - azimuth(fw_s))
    delta0 = circular_mean(diffs, horiz)
    spread = float(np.degrees(np.sqrt(np.average(wrap(diffs - delta0) ** 2, weights=horiz))))
    return delta0, spread


#: Below this share of the shin's rock energy the thigh follows the bone too closely (little
#: soft tissue) for the shin-minus-thigh rate to show the femur axis: axes are kept as found.
MIN_AXIAL_DIFFERENCE = 0.04


def _axial_difference_axes(
    w_t: np.ndarray,
    w_s: np.ndarray,
    q_t: np.ndarray,
    q_s: np.ndarray,
    delta0: float,
    f_t: np.ndarray,
    f_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Femur axis in the thigh and shin frames from the shin's rate minus the thigh's during
    the rocks (signed like ``f_t``, ``f_s``); None when that difference is too small."""
    s_in_t = Q.rotate(Q.conjugate(q_t), rotate_z(Q.rotate(q_s, w_s), delta0))
    d_t = s_in_t - w_t
    if float(np.sum(d_t**2)) < MIN_AXIAL_DIFFERENCE * float(np.sum(w_s**2)):
        return None
    t_in_s = Q.rotate(Q.conjugate(q_s), rotate_z(Q.rotate(q_t, w_t), -delta0))
    a_t, _ = principal_axis(d_t)
    a_s, _ = principal_axis(w_s - t_in_s)
    return a_t * np.sign(a_t @ f_t), a_s * np.sign(a_s @ f_s)


def calibrate(
    t: np.ndarray,
    gyr_thigh: np.ndarray,
    gyr_shin: np.ndarray,
    q_thigh: np.ndarray,
    q_shin: np.ndarray,
    *,
    side: str,
    rate_hz: float,
    phases: Phases | None = None,
    shank_tilt_deg: float | None = None,
) -> Calibration:
    """Calibrate from samples on one common grid.

    Args:
        t: (N,) times, seconds.
        gyr_thigh, gyr_shin: (N, 3) angular rates, rad/s, sensor frames.
        q_thigh, q_shin: (N, 4) orientations ``[w, x, y, z]`` sensor-to-world (each in its own
            filter's world frame; headings need not agree).
        side: "left" or "right".
        rate_hz: grid rate.
        phases: phase ranges if known (live guidance markers); found automatically otherwise.

    Raises:
        CalibrationError: the movements were not found or are unusable.
    """
    if side not in SIDE_SIGN:
        raise CalibrationError(f"side must be 'left' or 'right', got {side!r}")
    ph = phases or find_phases(t, gyr_thigh, gyr_shin, rate_hz)
    s0, s1 = ph.still_start
    b0, b1 = ph.bends
    # gyro biases seen in the still start pose would otherwise tilt the integrated angles
    # that sign the axes (a 0.5°/s bias is 4° over a rock phase, as much as a thigh rock)
    w_thigh = gyr_thigh - gyr_thigh[s0:s1].mean(axis=0)
    w_shin = gyr_shin - gyr_shin[s0:s1].mean(axis=0)
    axes = _leg_axes(w_thigh, w_shin, q_thigh, q_shin, ph, 1.0 / rate_hz, SIDE_SIGN[side])
    start = _start_pose(q_thigh[s0:s1], q_shin[s0:s1], axes)
    end = _end_pose(q_thigh, q_shin, ph, axes, start.delta, shank_tilt_deg)
    az_start = circular_mean(azimuth(Q.rotate(q_thigh[s0:s1], axes.f_t)))
    e0, e1 = ph.still_end
    span = 0.5 * (t[e0] + t[e1 - 1] - t[s0] - t[s1 - 1])
    # both still poses are the start pose: the femur's heading change between them is the
    # thigh filter's own heading drift (rad/s), which the angle tracker starts from
    drift_rate = float(wrap(end.femur_az - az_start)) / span if span > 0 else 0.0
    still = np.concatenate([gyr_thigh[s0:s1], gyr_shin[s0:s1]])
    quality = CalibrationQuality(
        bend_range_deg=axes.bend_range,
        rock_range_deg=axes.rock_range,
        knee_axis_fit=axes.knee_fit,
        femur_axis_fit_thigh=axes.fit_ft,
        femur_axis_fit_shin=axes.fit_fs,
        axes_angle_deg=float(np.degrees(np.arccos(np.clip(abs(axes.j_s @ axes.f_s), 0, 1)))),
        heading_spread_deg=axes.spread,
        still_rms_dps=float(np.degrees(np.sqrt(np.mean(still**2)))),
        thigh_bend_share=(
            _rms_share(w_thigh[b0:b1], w_shin[b0:b1])
            if abs(float(end.femur_start[2])) < LEVEL_FEMUR_Z
            else 0.0
        ),
    )
    _check_movements(quality)  # marked phases come with no check that they were done
    return Calibration(
        side, axes.j_s, axes.f_t, axes.f_s, end.delta, axes.c0, start.theta0, ph,
        phase_times(t, ph), quality, start.knee0, end.lateral, end.femur_az,
        end.pelvis_zero, drift_rate, end.v_s, end.femur_start,
        _knee_axis_thigh(q_thigh[b0:b1], q_shin[b0:b1], axes.j_s, start.delta),
    )  # fmt: skip


@dataclass(frozen=True)
class _Axes:
    """The leg's axes in each sensor's frame (unit), with how well the movements showed them.

    ``j_s``: knee axis (shin frame); ``f_t``, ``f_s``: femur axis (thigh, shin frame);
    ``delta``: the shin-to-thigh heading offset from the rocks (rad); ``c0``: cosine of the
    knee-femur angle; ranges in degrees, fits 0..1, ``spread`` in degrees."""

    j_s: np.ndarray
    f_t: np.ndarray
    f_s: np.ndarray
    delta: float
    c0: float
    knee_fit: float
    fit_ft: float
    fit_fs: float
    bend_range: float
    rock_range: float
    spread: float


def _leg_axes(
    w_thigh: np.ndarray,
    w_shin: np.ndarray,
    q_thigh: np.ndarray,
    q_shin: np.ndarray,
    ph: Phases,
    dt: float,
    sign: float,
) -> _Axes:
    """Knee axis from the bends, femur axis from the rocks (inward first), heading offset."""
    b0, b1 = ph.bends
    r0, r1 = ph.rocks
    s1 = ph.still_start[1]
    j_s, knee_fit, bend_range = signed_axis(w_shin[b0:b1], dt, 1.0)
    f_s, fit_fs, rock_range = signed_axis(w_shin[r0:r1], dt, sign)
    # inward first: judged from the start pose on (the bends turn the shin about the knee
    # axis, not about f, so they barely move this angle), so that a split point found a little
    # late, after the first inward rock had begun, cannot flip the sign
    if first_excursion_sign(w_shin[s1:r1], f_s, dt) != sign:
        f_s = -f_s
    f_t, fit_ft, _ = signed_axis(w_thigh[r0:r1], dt, sign)
    # thigh and shin turn together about the femur axis during the rocks: sign the thigh's
    # axis by that agreement (the skin follows the bone only partly, the shin fully)
    if float(np.sum((w_thigh[r0:r1] @ f_t) * (w_shin[r0:r1] @ f_s))) < 0:
        f_t = -f_t
    qt, qs = q_thigh[r0:r1], q_shin[r0:r1]
    delta0, spread = _heading_offset(qt, qs, f_t, f_s)
    # The rocks' rotation axis is the femur axis only for a pure rock: with the foot planted
    # they bring adduction along, and the thigh's skin follows just part of the axial turn, so
    # the thigh's axis tilts towards the adduction axis (by tens of degrees seated or supine).
    # Adduction moves skin and bone alike: the shin's rate minus the thigh's, in one frame, is
    # the part of the axial turn the skin missed, along the femur axis alone.
    for _ in range(2):
        refined = _axial_difference_axes(w_thigh[r0:r1], w_shin[r0:r1], qt, qs, delta0, f_t, f_s)
        if refined is None:
            break
        f_t, f_s = refined
        delta0, spread = _heading_offset(qt, qs, f_t, f_s)
    c0 = float(j_s @ f_s)
    return _Axes(
        j_s, f_t, f_s, delta0, c0, knee_fit, fit_ft, fit_fs, bend_range, rock_range, spread
    )


@dataclass(frozen=True)
class _StartPose:
    """The still start pose: refined heading offset (rad), leg-plane zero and knee zero
    (rad)."""

    delta: float
    theta0: float
    knee0: float


def _start_pose(q_thigh: np.ndarray, q_shin: np.ndarray, axes: _Axes) -> _StartPose:
    """Knee and femur axes meet at a fixed angle, seen within the shin's own frame (no heading
    involved): the heading that gives that angle in the still start pose refines the offset;
    then the zeros of the leg-plane angle and of the knee."""
    delta0 = axes.delta
    fw = Q.rotate(q_thigh, axes.f_t)
    roots, weights = heading_roots(Q.rotate(q_shin, axes.j_s), fw, axes.c0, delta0)
    if weights.sum() > 0:
        delta0 = wrap(delta0 + circular_mean(roots, weights))
    jw = rotate_z(Q.rotate(q_shin, axes.j_s), delta0)
    theta0 = circular_mean(leg_plane_angle(fw, jw))
    fsw = rotate_z(Q.rotate(q_shin, axes.f_s), delta0)
    return _StartPose(delta0, theta0, circular_mean(signed_angle_about(jw, fw, fsw)))


@dataclass(frozen=True)
class _EndPose:
    """The final still pose: heading offset handed to the tracker (rad), the pelvis's lateral
    axis (world), the femur's heading (rad) and direction (world), the pelvis-referenced zero
    (rad) and the shank axis (shin frame; None without the pose's shank tilt)."""

    delta: float
    lateral: np.ndarray
    femur_az: float
    femur_start: np.ndarray
    pelvis_zero: float
    v_s: np.ndarray | None


def _end_pose(
    q_thigh: np.ndarray,
    q_shin: np.ndarray,
    ph: Phases,
    axes: _Axes,
    delta0: float,
    shank_tilt_deg: float | None,
) -> _EndPose:
    """The pelvis's lateral axis (the knee axis in the start pose, rotation and adduction 0)
    and the femur's heading then, from the final still pose (nearest to what follows). The
    thigh's heading may have drifted since the start (up to ~1°/s on cheap sensors): the
    heading offset handed on to the tracker is the one in this pose."""
    e0, e1 = ph.still_end
    qt, qs = q_thigh[e0:e1], q_shin[e0:e1]
    roots, weights = heading_roots(Q.rotate(qs, axes.j_s), Q.rotate(qt, axes.f_t), axes.c0, delta0)
    if weights.sum() > 0:
        delta0 = wrap(delta0 + circular_mean(roots, weights))
    jw_end = rotate_z(Q.rotate(qs, axes.j_s), delta0)
    fw_end = Q.rotate(qt, axes.f_t)
    lateral = unit(jw_end.mean(axis=0))
    v_s = None
    if shank_tilt_deg is not None:
        v_s = _shank_axis(qs, jw_end, fw_end, delta0, np.radians(shank_tilt_deg))
        jw_end = shank_plane_normal(fw_end, rotate_z(Q.rotate(qs, v_s), delta0), jw_end)
    return _EndPose(
        delta0,
        lateral,
        circular_mean(azimuth(fw_end)),
        unit(fw_end.mean(axis=0)),
        circular_mean(pelvis_referenced_angle(fw_end, jw_end, lateral)),
        v_s,
    )


def _rms_share(a: np.ndarray, b: np.ndarray) -> float:
    """RMS of the rates ``a`` over that of ``b`` (0 when ``b`` is still)."""
    rb = float(np.sqrt(np.mean(np.sum(b * b, axis=1)))) if len(b) else 0.0
    ra = float(np.sqrt(np.mean(np.sum(a * a, axis=1)))) if len(a) else 0.0
    return ra / rb if rb > 0 else 0.0


def _check_movements(q: CalibrationQuality) -> None:
    """Refuse a calibration whose movements were not done (or not clearly)."""
    if q.bend_range_deg < MIN_BEND_DEG:
        raise CalibrationError(
            f"no knee bends found in the bends step (the knee moved {q.bend_range_deg:.0f}°): "
            "bend the knee slowly three times, keeping the thigh still"
        )
    if q.rock_range_deg < MIN_ROCK_DEG:
        raise CalibrationError(
            f"no leg rocks found in the rocks step (the shin turned {q.rock_range_deg:.1f}° "
            "about the thigh): rock the leg gently three times, inward first"
        )
    if q.knee_axis_fit < 0.6:
        raise CalibrationError(
            "the knee bends did not rotate the shin about one axis (fit "
            f"{q.knee_axis_fit:.2f}); bend only the knee, slowly, keeping the thigh still"
        )


def phase_times(t: np.ndarray, ph: Phases) -> dict[str, tuple[float, float]]:
    """Phase name -> its first and last sample's time (s) on the grid ``t``."""
    ranges = {
        "still_start": ph.still_start,
        "bends": ph.bends,
        "rocks": ph.rocks,
        "still_end": ph.still_end,
    }
    return {name: (float(t[a]), float(t[min(b, len(t)) - 1])) for name, (a, b) in ranges.items()}
