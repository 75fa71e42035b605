"""The hip's rotation from a shin sensor alone, prone (the thigh lying still on the floor).

Prone with the knee bent, the femur lies on the floor: its long axis ``f`` is horizontal and
fixed in the world. Hip rotation turns the shin about ``f``; the knee axis ``j`` (fixed in the
shin) turns with it and so tilts out of the horizontal, while knee flexion turns the shin about
``j`` itself, and sliding the thigh on the floor turns it about the vertical: neither changes
``j``'s elevation. So the hip's rotation ``α`` about ``f`` follows from the elevation of the knee
axis alone, which the shin's orientation filter gives from gravity, free of heading drift:

    ẑ·j(α) = ẑ·j∥ + cos α · ẑ·j⊥ + sin α · ẑ·(f × j)

with ``j∥``/``j⊥`` the parts of ``j`` along and across ``f`` and every vector taken in the
still start pose. The calibration finds ``j`` in the shin frame from the knee bends and ``f``
from the rocks, exactly as the two-sensor calibration does for the shin
(:mod:`imuhip.joint.calibration`).

Where the femur is not level (seated or supine, or a thigh lifted off the floor) the rotation
also moves ``j`` about the vertical, which this cannot see: the calibration says so.

Frames: shin sensor frame for the axes; the filter's world frame (ENU, z up) for elevations.
Angles in degrees at the outputs, internal rotation positive, 0 in the still start pose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import CalibrationError
from imuhip.joint.calibration import (
    LEVEL_FEMUR_Z,
    SIDE_SIGN,
    CalibrationTimes,
    phase_times,
    signed_axis,
)
from imuhip.joint.hip_rotation import HipAngles
from imuhip.joint.phases import MIN_BEND_DEG, MIN_ROCK_DEG, Phases, first_excursion_sign


@dataclass(frozen=True)
class ShinOnlyQuality:
    """How well the shin's movements fit the model (angles in degrees).

    Attributes:
        bend_range_deg: knee rotation range during the bends.
        rock_range_deg: shin rotation range about the femur axis during the rocks.
        knee_axis_fit, femur_axis_fit_shin: share of the shin's angular-rate energy along the
            knee axis in the bends, along the femur axis in the rocks (1 = clean).
        axes_angle_deg: angle between the knee and femur axes (ideally 90).
        still_rms_dps: angular-rate RMS in the still start pose, °/s.
        femur_elevation_deg: elevation of the femur axis in the start pose (0 = lying flat).
    """

    bend_range_deg: float
    rock_range_deg: float
    knee_axis_fit: float
    femur_axis_fit_shin: float
    axes_angle_deg: float
    still_rms_dps: float
    femur_elevation_deg: float

    def warnings(self) -> list[str]:
        """Plain-language doubts about this calibration (empty when all is well)."""
        out = []
        if self.knee_axis_fit < 0.9:
            out.append("the knee bends were not clean hinge movements; bend only the knee")
        if self.femur_axis_fit_shin < 0.7:
            out.append("the leg rocks were not clean rotations about the thigh's long axis")
        if abs(self.axes_angle_deg - 90.0) > 20.0:
            out.append("knee and thigh axes are not perpendicular: repeat the calibration")
        if self.still_rms_dps > 3.0:
            out.append("the leg was not quite still in the start pose")
        if abs(np.sin(np.radians(self.femur_elevation_deg))) >= LEVEL_FEMUR_Z:
            out.append(
                f"the thigh does not lie flat (its axis rises {self.femur_elevation_deg:.0f}°): "
                "the angle from the shin alone holds only prone, with the thigh on the floor"
            )
        return out


@dataclass(frozen=True)
class ShinOnlyCalibration(CalibrationTimes):
    """What the shin-only angle needs (vectors unit; axes in the shin frame).

    Attributes:
        side: "left" or "right".
        knee_axis_shin: knee axis ``j`` (knee flexion positive about it).
        femur_axis_shin: femur axis ``f`` in the start pose (hip to knee).
        along, across, turn: ``ẑ·j∥``, ``ẑ·j⊥`` and ``ẑ·(f × j)`` in the still start pose.
        phases: the calibration phases (indices into the calibration's samples).
        phase_times: phase name -> (start, end) seconds.
        quality: fit figures and warnings.
    """

    side: str
    knee_axis_shin: np.ndarray
    femur_axis_shin: np.ndarray
    along: float
    across: float
    turn: float
    phases: Phases
    phase_times: dict[str, tuple[float, float]]
    quality: ShinOnlyQuality

    #: no femur direction is tracked (the heading checks of the two-sensor method do not apply)
    femur_start = None

    def summary(self) -> dict:
        """JSON-friendly description (axes rounded, angles in degrees)."""
        return {
            "method": "shin only",
            "phases": {k: [round(a, 3), round(b, 3)] for k, (a, b) in self.phase_times.items()},
            "knee_axis_shin": np.round(self.knee_axis_shin, 4).tolist(),
            "femur_axis_shin": np.round(self.femur_axis_shin, 4).tolist(),
            "quality": {k: round(v, 3) for k, v in asdict(self.quality).items()},
            "warnings": self.quality.warnings(),
        }


def calibrate_shin_only(
    t: np.ndarray,
    gyr_shin: np.ndarray,
    q_shin: np.ndarray,
    *,
    side: str,
    rate_hz: float,
    phases: Phases,
) -> ShinOnlyCalibration:
    """Calibrate the shin-only angle from the protocol's phases.

    Args:
        t: (N,) times, seconds.
        gyr_shin: (N, 3) shin angular rate, rad/s, sensor frame.
        q_shin: (N, 4) shin orientation ``[w, x, y, z]`` sensor-to-world.
        side: "left" or "right".
        rate_hz: grid rate.
        phases: the calibration phases.

    Raises:
        CalibrationError: the movements were too small to show the axes.
    """
    if side not in SIDE_SIGN:
        raise CalibrationError(f"side must be 'left' or 'right', got {side!r}")
    dt = 1.0 / rate_hz
    s0, s1 = phases.still_start
    b0, b1 = phases.bends
    r0, r1 = phases.rocks
    w = gyr_shin - gyr_shin[s0:s1].mean(axis=0)
    sign = SIDE_SIGN[side]
    j, knee_fit, bend_range = signed_axis(w[b0:b1], dt, 1.0)
    f, rock_fit, rock_range = signed_axis(w[r0:r1], dt, sign)
    if first_excursion_sign(w[s1:r1], f, dt) != sign:  # inward first, from the start pose on
        f = -f
    if bend_range < MIN_BEND_DEG or rock_range < MIN_ROCK_DEG:
        raise CalibrationError(
            f"the knee bends ({bend_range:.1f}°) or the leg rocks ({rock_range:.1f}°) were too "
            "small to find the shin's axes: bend the knee further, rock the leg a little more"
        )
    q0 = Q.normalize(q_shin[s0:s1].mean(axis=0))
    up = Q.rotate(Q.conjugate(q0), np.array([0.0, 0.0, 1.0]))  # world up in the shin frame
    j_par = float(j @ f) * f
    j_perp = j - j_par
    still = w[s0:s1] + gyr_shin[s0:s1].mean(axis=0)
    quality = ShinOnlyQuality(
        bend_range_deg=bend_range,
        rock_range_deg=rock_range,
        knee_axis_fit=knee_fit,
        femur_axis_fit_shin=rock_fit,
        axes_angle_deg=float(np.degrees(np.arccos(np.clip(abs(float(j @ f)), 0.0, 1.0)))),
        still_rms_dps=float(np.degrees(np.sqrt(np.mean(still**2)))),
        femur_elevation_deg=float(np.degrees(np.arcsin(np.clip(float(f @ up), -1.0, 1.0)))),
    )
    return ShinOnlyCalibration(
        side, j, f, float(j_par @ up), float(j_perp @ up), float(np.cross(f, j) @ up), phases,
        phase_times(t, phases), quality,
    )  # fmt: skip


def shin_only_rotation(q_shin: np.ndarray, cal: ShinOnlyCalibration) -> np.ndarray:
    """Hip rotation (N,) degrees, internal positive, 0 in the still start pose, from the shin's
    orientations ``q_shin`` (N, 4) alone (prone; see the module docstring)."""
    e = Q.rotate(q_shin, cal.knee_axis_shin)[..., 2] - cal.along
    a, b = cal.across, cal.turn
    if b < 0:  # the same equation with b > 0, so the branch near α = 0 is the principal one
        a, b, e = -a, -b, -e
    r = float(np.hypot(a, b))
    alpha = np.arcsin(np.clip(e / r, -1.0, 1.0)) - np.arctan2(a, b)
    return cal.side_sign * np.degrees(alpha)


class ShinOnlyTracker:
    """Streaming shin-only hip rotation with the two-sensor tracker's interface (the thigh's
    orientations are ignored; knee flexion and the heading offset are not tracked: NaN)."""

    def __init__(self, calibration: ShinOnlyCalibration, rate_hz: float) -> None:
        self.cal = calibration
        self.rate = rate_hz

    def update(self, q_thigh: np.ndarray | None, q_shin: np.ndarray) -> HipAngles:
        """Angles for a chunk of shin orientations (N, 4)."""
        none = np.full(len(q_shin), np.nan)
        if not len(q_shin):
            return HipAngles(np.empty(0), np.empty(0), np.empty(0))
        return HipAngles(shin_only_rotation(q_shin, self.cal), none, none.copy())

    def after_gap(self) -> None:
        """Nothing is remembered across a gap (the angle is a function of the orientation)."""
