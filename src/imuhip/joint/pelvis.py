"""The pelvis and the trunk: obliquity, pelvic rotation, trunk lateral flexion, and the hip
angle relative to the pelvis. Pure functions, no I/O.

Every sensor's orientation filter is gravity-referenced with its own arbitrary heading (no
magnetometer), so the pelvis sensor's axes cannot be related to the leg's by heading. The
protocol's pelvis step (:data:`imuhip.calibration_protocol.PELVIS_STEP`: lift the working
side's hip off the floor twice, then hold still) shows the pelvis's roll axis ``a`` in the
sensor frame (the step's principal gyro axis, signed so that its first excursion is positive:
the working side rising). With world up ``u`` in the sensor frame from the still pose before
the step, the pelvis's lateral axis is ``l = unit(u × a_h)`` (``a_h``: ``a`` made horizontal);
it points to the working side. Then, from the sensor's orientation ``q`` (sensor -> world):

- **obliquity** = elevation of ``rotate(q, l)`` above the horizontal, minus that in the still
  pose: positive when the working side's hip is higher. Exact for a roll about the horizontal
  axis ``a`` (``l`` turns in a vertical plane), blind to a tilt about ``l`` (``l`` does not
  move) and to turns about the vertical (elevation does not change), and heading-free.
- **pelvic rotation** = the turn of ``l``'s horizontal projection about the vertical,
  counter-clockwise seen from above, times σ (+1 right, −1 left working side), from a
  reference (per rep: the rep's start). It rests on the filter's heading, which drifts without
  a magnetometer (the gyro bias left after the still-start estimate, of the order of 0.1–0.5
  °/s for consumer IMUs): over a rep of under 10 s the error stays under a few degrees.
- **trunk lateral flexion** relative to the pelvis: the trunk's rotation about its own step
  axis (:data:`~imuhip.calibration_protocol.TRUNK_STEP`: lean sideways towards the working
  side twice, then hold still; positive towards it) minus the pelvis's rotation about the same
  axis (its obliquity for the horizontal share of that axis, its turn for the vertical share;
  small-angle).

Angles returned are degrees; rates rad/s in the sensor frame; times seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import CalibrationError
from imuhip.joint.phases import MOVING_RATE, first_excursion_sign, principal_axis, runs

UP = np.array([0.0, 0.0, 1.0])
#: Smoothed angular rate (rad/s) under which the pelvis or trunk sensor counts as still (a
#: lift of the hip is slow: lower than the leg's threshold).
STEP_STILL_RATE = 0.05
#: Least rotation about the step axis (degrees) that counts as the step's movement.
MIN_STEP_DEG = 2.0
#: A step axis closer to vertical than this (|a·u|) shows no roll: its lateral axis is undefined.
MAX_VERTICAL_SHARE = 0.9
#: Still time (s) after the step's movement that ends it.
STEP_STILL_END_S = 1.0


@dataclass(frozen=True)
class StepAxes:
    """What a pelvis or trunk step showed of its sensor, in the sensor frame (unit vectors).

    Attributes:
        axis: the step's rotation axis ``a`` (positive: the working side rising / leaning
            towards it).
        up: world up at the still pose before the step.
        lateral: ``unit(up × a_h)``, towards the working side (horizontal in the still pose).
        q_ref: (4,) the sensor's orientation (sensor -> world) in that still pose.
        fit: share of the step's gyro energy about ``axis`` (0..1).
        range_deg: the rotation range about ``axis`` during the step, degrees.
        start_s, end_s: the step's movement, seconds (end: the still pose after it begins).
    """

    axis: np.ndarray
    up: np.ndarray
    lateral: np.ndarray
    q_ref: np.ndarray
    fit: float
    range_deg: float
    start_s: float
    end_s: float

    @property
    def vertical_share(self) -> float:
        """``a·u``: how much of the step axis is vertical (0: a roll, ±1: a turn)."""
        return float(self.axis @ self.up)


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to unit length (along the last axis)."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def step_axes(
    gyr: np.ndarray, q_ref: np.ndarray, rate_hz: float, start_s: float = 0.0, end_s: float = 0.0
) -> StepAxes:
    """The step's axes from its rates ``gyr`` (N, 3, rad/s, sensor frame, the step's movement)
    and the sensor's orientation ``q_ref`` (4,) in the still pose before it.

    Raises:
        CalibrationError: the step moved too little to show an axis.
    """
    dt = 1.0 / rate_hz
    moving = gyr[np.linalg.norm(gyr, axis=1) > MOVING_RATE]
    if len(moving) < 5:
        moving = gyr
    axis, fit = principal_axis(moving)
    axis = axis * first_excursion_sign(gyr, axis, dt)
    rng = float(np.degrees(np.ptp(np.cumsum(gyr @ axis) * dt)))
    if rng < MIN_STEP_DEG:
        raise CalibrationError(
            f"the pelvis/trunk step moved only {rng:.1f}°: lift the hip (or lean) a little "
            "further, twice, then hold still"
        )
    up = unit(Q.rotate(Q.conjugate(q_ref), UP))
    a_h = axis - (axis @ up) * up
    flat = np.linalg.norm(a_h) < 1e-6  # a turn about the vertical: no lateral axis
    lateral = np.full(3, np.nan) if flat else unit(np.cross(up, unit(a_h)))
    return StepAxes(axis, up, lateral, np.asarray(q_ref, float), fit, rng, start_s, end_s)


def elevation_deg(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Elevation above the horizontal of sensor-frame vector ``v`` rotated by ``q`` (N, 4),
    degrees."""
    w = Q.rotate(q, np.broadcast_to(v, (*np.shape(q)[:-1], 3)))
    return np.degrees(np.arcsin(np.clip(w[..., 2] / np.linalg.norm(w, axis=-1), -1.0, 1.0)))


def obliquity_deg(q: np.ndarray, axes: StepAxes) -> np.ndarray:
    """Pelvic obliquity (degrees, (N,)) from the pelvis sensor's orientations ``q`` (N, 4):
    positive when the working side's hip is higher than in the still pose before the step."""
    return elevation_deg(q, axes.lateral) - float(elevation_deg(axes.q_ref[None], axes.lateral)[0])


def azimuth_deg(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Counter-clockwise azimuth (seen from above) of sensor vector ``v``'s horizontal
    projection after rotation by ``q`` (N, 4), unwrapped, degrees."""
    w = Q.rotate(q, np.broadcast_to(v, (*np.shape(q)[:-1], 3)))
    return np.degrees(np.unwrap(np.arctan2(w[..., 1], w[..., 0])))


def pelvic_rotation_deg(q: np.ndarray, axes: StepAxes, side_sign: float) -> np.ndarray:
    """The pelvis's turn about the vertical (degrees, (N,)) from the still pose before the
    step: the turn of the lateral axis's horizontal projection, counter-clockwise seen from
    above, times ``side_sign`` (+1 right, −1 left working side). Compare differences over
    short spans only (the filter's heading drifts; see the module docstring)."""
    ref = float(azimuth_deg(axes.q_ref[None], axes.lateral)[0])
    d = (azimuth_deg(q, axes.lateral) - ref + 180.0) % 360.0 - 180.0
    return side_sign * np.degrees(np.unwrap(np.radians(d)))


def rotation_about_deg(q: np.ndarray, q_ref: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle (degrees, (N,)) of the rotation from ``q_ref`` to ``q`` (both sensor -> world)
    about sensor-frame ``axis`` (its twist: exact for rotations about that axis, the
    component about it otherwise)."""
    rel = Q.multiply(q, Q.conjugate(q_ref)[None])  # world frame
    a_w = Q.rotate(q_ref, axis)
    s = rel[..., 1:] @ a_w
    ang = 2.0 * np.arctan2(s, rel[..., 0])
    return np.degrees((ang + np.pi) % (2 * np.pi) - np.pi)


def trunk_lateral_flexion_deg(
    q_trunk: np.ndarray,
    trunk: StepAxes,
    obliquity: np.ndarray,
    pelvis_turn_ccw: np.ndarray | None = None,
) -> np.ndarray:
    """The trunk's lateral flexion relative to the pelvis (degrees, (N,), positive towards the
    working side): its rotation about its own step axis since the still pose before its step,
    minus the pelvis's rotation about that axis: the obliquity (degrees, (N,)) for the axis's
    horizontal share (a pelvis raising the working side tilts the trunk away from it) and the
    pelvis's counter-clockwise turn (degrees, (N,), without the side sign; None: no turn) for
    its vertical share."""
    tilt = rotation_about_deg(q_trunk, trunk.q_ref, trunk.axis)
    v = trunk.vertical_share
    h = float(np.sqrt(max(0.0, 1.0 - v * v)))
    pelvis_part = -h * np.asarray(obliquity)
    if pelvis_turn_ccw is not None:
        pelvis_part = pelvis_part + v * np.asarray(pelvis_turn_ccw)
    return tilt - pelvis_part


def hip_correction_scale(femur_start: np.ndarray | None, exercise: str) -> float:
    """How much of the pelvic obliquity the leg's apparent hip rotation contains (degrees of
    rotation per degree of obliquity): the roll about the horizontal axis perpendicular to the
    hip line, projected on the femur's long axis, i.e. the femur's horizontal share
    (``femur_start``: the femur's direction in the thigh filter's world frame in the start
    pose; None: level). Its sign: seated and supine the femur points forward of the hip line
    and a rising working hip turns the knee inward (+); prone the femur points down the body
    and a rising working hip turns it outward (−)."""
    share = 1.0
    if femur_start is not None and np.all(np.isfinite(femur_start)):
        f = unit(np.asarray(femur_start, float))
        share = float(np.sqrt(max(0.0, 1.0 - float(f[2]) ** 2)))
    return -share if exercise == "prone" else share


def still_mask(gyr: np.ndarray, rate_hz: float, rate: float = STEP_STILL_RATE) -> np.ndarray:
    """True where one sensor is still (its rate smoothed over 0.25 s under ``rate`` rad/s)."""
    n = max(1, round(0.25 * rate_hz))
    m = np.linalg.norm(gyr, axis=1)
    c = np.concatenate([[0.0], np.cumsum(m)])
    idx = np.arange(len(m))
    lo = np.maximum(idx - n // 2, 0)
    hi = np.minimum(idx + n - n // 2, len(m))
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1) < rate


def find_step(
    gyr: np.ndarray,
    rate_hz: float,
    *,
    after: int = 0,
    min_still_s: float = STEP_STILL_END_S,
) -> tuple[int, int, int] | None:
    """The step in one sensor's rates ``gyr`` (N, 3): the first stretch of motion at or after
    index ``after`` followed by at least ``min_still_s`` of stillness. Returns (reference
    still index, movement start, movement end = the still pose's start), or None when the data
    hold no complete step yet."""
    still = still_mask(gyr, rate_hz)
    need = round(min_still_s * rate_hz)
    begin = after
    while begin < len(still) and not still[begin]:
        begin += 1  # the reference is the still pose at or after ``after``
    if begin >= len(still):
        return None
    first: int | None = None
    for a, b in runs(~still[begin:]):
        a, b = a + begin, b + begin
        first = a if first is None else first
        if b >= len(still):
            return None
        if b + need <= len(still) and still[b : b + need].all():
            return max(begin, first - 1), first, b
    return None


def step_from_data(
    gyr: np.ndarray,
    q: np.ndarray,
    t: np.ndarray,
    rate_hz: float,
    *,
    after: int = 0,
    mark: tuple[float, float] | None = None,
) -> StepAxes | None:
    """A pelvis or trunk step found in one sensor's data (rates ``gyr`` (N, 3), orientations
    ``q`` (N, 4), times ``t``): between the guidance's marks ``mark`` (start, end seconds) when
    given, else the first movement after index ``after`` followed by a still pose. None while
    the data hold no complete step.

    Raises:
        CalibrationError: a complete step moved too little.
    """
    if mark is not None:
        a0 = int(np.searchsorted(t, mark[0]))
        found = find_step(gyr, rate_hz, after=a0)
        if found is None:
            return None
    else:
        found = find_step(gyr, rate_hz, after=after)
        if found is None:
            return None
    ref, a, b = found
    return step_axes(gyr[a:b], q[ref], rate_hz, float(t[a]), float(t[b]))


def signed_extreme(x: np.ndarray) -> float | None:
    """The value of largest magnitude in ``x`` (signed; NaN ignored), None if none is finite."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    return float(x[int(np.argmax(np.abs(x)))])
