"""BROAD error metric: heading-offset removal, heading/inclination split, counted samples."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.errors import FusionError
from imuhip.fusion.metrics import (
    counted_samples,
    error_angles,
    heading_offset,
    orientation_errors,
    rotate_heading,
)


def _random_orientations(n, seed=0):
    rng = np.random.default_rng(seed)
    return Q.normalize(rng.normal(size=(n, 4)))


def test_constant_heading_offset_is_removed_exactly():
    q_ref = _random_orientations(500)
    q_est = rotate_heading(q_ref, np.radians(37.0))
    err = orientation_errors(q_est, q_ref)
    assert err.heading_offset_deg == pytest.approx(-37.0, abs=1e-4)
    assert err.total_rmse_deg < 1e-3
    raw = orientation_errors(q_est, q_ref, remove_heading_offset=False)
    assert raw.total_rmse_deg == pytest.approx(37.0, abs=1e-6)
    assert raw.heading_rmse_deg == pytest.approx(37.0, abs=1e-6)
    assert raw.inclination_rmse_deg < 1e-6


def test_pure_tilt_error_is_inclination_only():
    q_ref = _random_orientations(200, seed=1)
    tilt = Q.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(3.0))  # about world x
    q_est = Q.multiply(tilt, q_ref)
    err = orientation_errors(q_est, q_ref)
    assert err.inclination_rmse_deg == pytest.approx(3.0, abs=1e-6)
    assert err.heading_rmse_deg < 1e-6
    assert err.total_rmse_deg == pytest.approx(3.0, abs=1e-6)


def test_error_angles_split():
    e = Q.multiply(
        Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), 0.2),
        Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), 0.1),
    )
    total, heading, incl = error_angles(e[None])
    assert heading[0] == pytest.approx(0.2, abs=1e-12)
    assert incl[0] == pytest.approx(0.1, abs=1e-12)
    assert total[0] == pytest.approx(Q.angle(e), abs=1e-12)


def test_only_movement_samples_with_finite_reference_count():
    q_ref = _random_orientations(100, seed=2)
    q_est = q_ref.copy()
    q_est[:10] = rotate_heading(q_est[:10], 1.0)  # wrong, but outside movement
    q_ref[50] = np.nan  # optical dropout
    movement = np.ones(100, bool)
    movement[:10] = False
    err = orientation_errors(q_est, q_ref, movement)
    assert err.samples == 89
    assert err.total_rmse_deg < 1e-6
    assert counted_samples(q_ref, movement).sum() == 89


def test_heading_offset_ignores_sign_of_quaternions():
    q_ref = _random_orientations(300, seed=3)
    q_est = rotate_heading(q_ref, -0.5)
    q_est[::2] *= -1
    assert heading_offset(q_est, q_ref) == pytest.approx(0.5, abs=1e-6)


def test_bad_inputs():
    q = _random_orientations(5)
    with pytest.raises(FusionError, match="shape"):
        orientation_errors(q[:, :3], q)
    with pytest.raises(FusionError, match="movement"):
        orientation_errors(q, q, np.ones(4, bool))
    with pytest.raises(FusionError, match="no samples"):
        orientation_errors(q, q, np.zeros(5, bool))
