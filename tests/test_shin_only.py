"""The hip's rotation from the shin alone (prone): the knee axis's elevation, exact for any
knee flexion, any slide of the thigh on the floor and any heading of the shin's filter."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.joint.phases import Phases
from imuhip.joint.shin_only import ShinOnlyCalibration, ShinOnlyQuality, shin_only_rotation

F_WORLD = np.array([1.0, 0.0, 0.0])  # femur axis: horizontal (hip to knee)
J_WORLD = np.array([0.0, 1.0, 0.0])  # knee axis: horizontal, across the femur


def _calibration(side: str, mount: np.ndarray, tilt_deg: float = 0.0) -> ShinOnlyCalibration:
    """The calibration of a shin sensor mounted with ``mount`` (sensor-to-shin), the knee axis
    tilted by ``tilt_deg`` about the femur in the start pose."""
    q0 = Q.multiply(Q.from_axis_angle(F_WORLD, np.radians(tilt_deg)), mount)
    j = Q.rotate(Q.conjugate(mount), J_WORLD)
    f = Q.rotate(Q.conjugate(q0), F_WORLD)
    up = Q.rotate(Q.conjugate(q0), np.array([0.0, 0.0, 1.0]))
    j_par = (j @ f) * f
    quality = ShinOnlyQuality(20.0, 8.0, 1.0, 1.0, 90.0, 0.1, 0.0)
    ph = Phases((0, 1), (1, 2), (2, 3), (3, 4))
    return ShinOnlyCalibration(
        side, j, f, float(j_par @ up), float((j - j_par) @ up), float(np.cross(f, j) @ up),
        ph, {"still_end": (0.0, 1.0)}, quality,
    )  # fmt: skip


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("tilt", [0.0, 7.0])
def test_rotation_is_recovered_whatever_the_knee_the_slide_and_the_heading(side, tilt):
    rng = np.random.default_rng(1)
    mount = Q.normalize(rng.normal(size=4))
    cal = _calibration(side, mount, tilt)
    sign = 1.0 if side == "left" else -1.0
    hip = np.radians(np.linspace(-30, 45, 40))
    knee = np.radians(rng.uniform(-40, 40, 40))  # flexion about the knee axis
    slide = np.radians(rng.uniform(-20, 20, 40))  # the thigh sliding on the floor, about z
    z = np.array([0.0, 0.0, 1.0])
    q = Q.multiply(
        Q.from_axis_angle(z, slide),
        Q.multiply(
            Q.from_axis_angle(F_WORLD, sign * hip + np.radians(tilt)),
            Q.multiply(Q.from_axis_angle(J_WORLD, knee), mount),
        ),
    )
    got = shin_only_rotation(q, cal)
    assert np.allclose(got, np.degrees(hip), atol=1e-6)


def test_a_rotation_about_the_vertical_alone_is_no_hip_rotation():
    mount = Q.from_axis_angle(np.array([0.3, 0.5, 0.8]) / np.linalg.norm([0.3, 0.5, 0.8]), 1.0)
    cal = _calibration("left", mount)
    q = Q.multiply(Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.linspace(0, 6, 30)), mount)
    assert np.allclose(shin_only_rotation(q, cal), 0.0, atol=1e-9)


def test_a_raised_thigh_is_warned_about():
    q = ShinOnlyQuality(20.0, 8.0, 1.0, 1.0, 90.0, 0.1, femur_elevation_deg=35.0)
    assert any("does not lie flat" in w for w in q.warnings())
    assert ShinOnlyQuality(20.0, 8.0, 1.0, 1.0, 90.0, 0.1, 2.0).warnings() == []
