"""Leg kinematics: exercise start poses, the hip in the ISB joint order, the knee as a hinge.

Frames:
- World: ENU (x east, y north, z up). The hip joint centre is the origin and the pelvis is
  fixed; the body's head points north in the lying poses and the person faces north seated.
- Anatomical segment frames (pelvis, femur, shank), one convention for both sides: X anterior,
  Y superior (along the segment towards its proximal end), Z to the person's right.

The hip is composed in the ISB order (Wu et al. 2002): flexion about the pelvis Z axis, then
adduction about the floating (anterior) axis, then rotation about the femur's long axis Y:

    R_femur = R_pelvis · Rz(flexion) · Rx(σ · adduction) · Ry(σ · internal_rotation)

with σ = +1 for a right leg and −1 for a left leg, so that adduction (knee towards the midline)
and internal rotation (anterior surface turning towards the midline) are positive on both sides.
The knee is a hinge about Z with optional small axial rotation and varus play:

    R_shank = R_femur · Rz(−knee_flexion) · Ry(σ · knee_rotation) · Rx(σ · knee_varus)

All angles here are radians; :class:`JointAngles` holds time series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip import quaternion as Q

X, Y, Z = np.eye(3)

SIDE_SIGN = {"left": -1.0, "right": 1.0}


@dataclass(frozen=True)
class Pose:
    """An exercise's start pose.

    Attributes:
        name: "prone", "seated" or "supine".
        pelvis: quaternion, anatomical pelvis frame -> world.
        hip_flexion_deg, knee_flexion_deg: joint angles in the start pose.
        rep_peak_deg: (low, high) range of AROM peak internal rotation for this exercise.
        adduction_per_rotation: co-moving hip adduction per unit of internal rotation in reps
            (knee falling inward towards the floor brings adduction with it when seated and
            supine).
        knee_bend_coupling: hip flexion change per unit of knee bend during the calibration
            bends (the foot slides on the floor when seated or supine).
        description: what the start pose looks like.
    """

    name: str
    pelvis: np.ndarray
    hip_flexion_deg: float
    knee_flexion_deg: float
    rep_peak_deg: tuple[float, float]
    adduction_per_rotation: float
    knee_bend_coupling: float
    description: str


def _frame(x: list[float], y: list[float], z: list[float]) -> np.ndarray:
    return Q.from_matrix(np.array([x, y, z], dtype=float).T)


POSES: dict[str, Pose] = {
    "prone": Pose(
        "prone",
        _frame([0, 0, -1], [0, 1, 0], [1, 0, 0]),
        0.0,
        90.0,
        (25.0, 45.0),
        0.08,
        0.0,
        "face down, hips straight, knees bent 90°, shins vertical",
    ),
    "seated": Pose(
        "seated",
        _frame([0, 1, 0], [0, 0, 1], [1, 0, 0]),
        110.0,
        110.0,
        (30.0, 50.0),
        0.25,
        0.5,
        "sitting on the floor, hips flexed ~110°, knees ~110°, feet on the floor, knee up",
    ),
    "supine": Pose(
        "supine",
        _frame([0, 0, 1], [0, 1, 0], [-1, 0, 0]),
        45.0,
        90.0,
        (15.0, 35.0),
        0.4,
        0.5,
        "on the back, hips ~45°, knees ~90°, feet flat, knee pointing up",
    ),
}


def pose(name: str) -> Pose:
    """The start pose of exercise ``name``; ValueError lists the known ones."""
    try:
        return POSES[name]
    except KeyError:
        raise ValueError(
            f"unknown exercise pose {name!r}; choose one of {', '.join(POSES)}"
        ) from None


@dataclass(frozen=True)
class JointAngles:
    """Joint angle time series, radians, each (N,).

    Attributes:
        hip_flexion, hip_adduction, hip_rotation: hip in the ISB order (internal rotation +).
        knee_flexion, knee_rotation, knee_varus: knee.
        thigh_skin_rotation: rotation of the thigh's skin (where the thigh sensor sits) about
            the femur's long axis, in place of ``hip_rotation`` (soft tissue follows only part
            of the bone's axial rotation and wobbles).
    """

    hip_flexion: np.ndarray
    hip_adduction: np.ndarray
    hip_rotation: np.ndarray
    knee_flexion: np.ndarray
    knee_rotation: np.ndarray
    knee_varus: np.ndarray
    thigh_skin_rotation: np.ndarray


@dataclass(frozen=True)
class Segments:
    """Segment orientations (anatomical frame -> world), each (N, 4)."""

    femur: np.ndarray
    thigh_skin: np.ndarray
    shank: np.ndarray


def segments(p: Pose, side: str, a: JointAngles, pelvis: np.ndarray | None = None) -> Segments:
    """Femur, thigh-skin and shank orientations for joint angles ``a`` on ``side``; ``pelvis``
    (N, 4) is the pelvis orientation (anatomical frame -> world) when it moves, None for the
    pose's fixed one."""
    s = SIDE_SIGN[side]
    n = len(a.hip_flexion)
    if pelvis is None:
        pelvis = np.broadcast_to(p.pelvis, (n, 4))
    hip_fa = Q.multiply(
        Q.multiply(pelvis, Q.from_axis_angle(Z, a.hip_flexion)),
        Q.from_axis_angle(X, s * a.hip_adduction),
    )
    femur = Q.multiply(hip_fa, Q.from_axis_angle(Y, s * a.hip_rotation))
    skin = Q.multiply(hip_fa, Q.from_axis_angle(Y, s * a.thigh_skin_rotation))
    knee = Q.multiply(
        Q.multiply(
            Q.from_axis_angle(Z, -a.knee_flexion),
            Q.from_axis_angle(Y, s * a.knee_rotation),
        ),
        Q.from_axis_angle(X, s * a.knee_varus),
    )
    return Segments(femur, skin, Q.multiply(femur, knee))


@dataclass(frozen=True)
class Anthropometry:
    """Segment lengths and sensor sites, metres.

    Attributes:
        femur_m: hip joint centre to knee joint centre.
        shank_m: knee to ankle.
        thigh_site: thigh sensor position in the femur frame (before side mirroring of Z):
            lateral mid-thigh.
        shin_site: shin sensor position in the shank frame relative to the knee (Z mirrored
            per side): flat front-inner surface of the tibia.
    """

    femur_m: float = 0.43
    shank_m: float = 0.42
    thigh_site: tuple[float, float, float] = (0.0, -0.22, 0.085)
    shin_site: tuple[float, float, float] = (0.045, -0.14, -0.02)


def sensor_positions(
    segs: Segments, side: str, body: Anthropometry, hip: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (N, 3) of the thigh and shin sensor sites, metres: relative to the hip
    joint centre, or with ``hip`` ((N, 3) or (3,), metres) its world position added."""
    s = SIDE_SIGN[side]
    mirror = np.array([1.0, 1.0, s])
    thigh = Q.rotate(segs.thigh_skin, np.asarray(body.thigh_site) * mirror)
    knee = Q.rotate(segs.femur, np.array([0.0, -body.femur_m, 0.0]))
    shin = knee + Q.rotate(segs.shank, np.asarray(body.shin_site) * mirror)
    if hip is not None:
        thigh, shin = thigh + hip, shin + hip
    return thigh, shin


def hip_angles(
    pelvis: np.ndarray, femur: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hip flexion, adduction and internal rotation (radians, each (N,)) of ``femur`` relative
    to ``pelvis`` (both (N, 4) or (4,), anatomical frame -> world), in the ISB order of
    :func:`segments` (the inverse of its hip composition)."""
    s = SIDE_SIGN[side]
    r = Q.to_matrix(Q.multiply(Q.conjugate(pelvis), femur))
    # r = Rz(f) Rx(a) Ry(y): r[2,1] = sin a, r[2,0] = -cos a sin y, r[2,2] = cos a cos y,
    # r[0,1] = -sin f cos a, r[1,1] = cos f cos a
    add = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    rot = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    flex = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return flex, s * add, s * rot
