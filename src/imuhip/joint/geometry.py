"""Small vectorised geometry helpers for the joint-angle maths (world frame ENU, z up)."""

from __future__ import annotations

import numpy as np

UP = np.array([0.0, 0.0, 1.0])


def unit(v: np.ndarray) -> np.ndarray:
    """Normalise vectors along the last axis."""
    return v / np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2 + v[..., 2] ** 2)[..., None]


def rotate_z(v: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate vectors (..., 3) about world z by ``angle`` radians."""
    return turn_z(v, np.cos(angle), np.sin(angle))


def turn_z(v: np.ndarray, c: np.ndarray | float, s: np.ndarray | float) -> np.ndarray:
    """Rotate vectors (..., 3) about world z by the angle of cosine ``c`` and sine ``s`` (one
    angle's trigonometry shared by several rotations; the same numbers as :func:`rotate_z`)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([c * x - s * y, s * x + c * y, z + 0 * c], axis=-1)


def azimuth(v: np.ndarray) -> np.ndarray:
    """Heading of vectors about world z, radians (atan2 of y over x)."""
    return np.arctan2(v[..., 1], v[..., 0])


def wrap(a: np.ndarray | float) -> np.ndarray:
    """Wrap angles (radians) to [-π, π)."""
    a = np.asarray(a)
    return a - (2 * np.pi) * np.floor((a + np.pi) / (2 * np.pi))  # faster than a float modulo


def circular_mean(a: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean direction of angles ``a`` (radians), optionally weighted."""
    w = np.ones_like(a) if w is None else w
    return float(np.arctan2(np.sum(w * np.sin(a)), np.sum(w * np.cos(a))))


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of vectors (..., 3)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def signed_angle_about(axis: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (radians) rotating ``a`` onto ``b`` about unit ``axis``, after projecting both onto
    the plane perpendicular to it. All arguments (..., 3)."""
    # projecting onto the plane changes neither axis·(a×b) nor a·b − (a·axis)(b·axis), the
    # projections' triple product and dot product: no projected vectors are built
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    n0, n1, n2 = axis[..., 0], axis[..., 1], axis[..., 2]
    triple = n0 * (a1 * b2 - a2 * b1) + n1 * (a2 * b0 - a0 * b2) + n2 * (a0 * b1 - a1 * b0)
    along = (a0 * n0 + a1 * n1 + a2 * n2) * (b0 * n0 + b1 * n1 + b2 * n2)
    return np.arctan2(triple, a0 * b0 + a1 * b1 + a2 * b2 - along)


def leg_plane_angle(f_world: np.ndarray, j_world: np.ndarray) -> np.ndarray:
    """Angle (radians) about ``f`` from the vertical plane through ``f`` to the leg plane.

    Args:
        f_world: (N, 3) femur axis (hip to knee), world frame.
        j_world: (N, 3) knee axis, same world frame.
    """
    f = unit(f_world)
    jp = j_world - dot(j_world, f)[..., None] * f  # knee axis, perpendicular to f
    # the angle about f from up to the in-plane direction jp × f, whose triple product with
    # f and up is -jp_z and whose dot product with up is (jp × f)_z (|jp| cancels in atan2)
    return np.arctan2(-jp[..., 2], jp[..., 0] * f[..., 1] - jp[..., 1] * f[..., 0])
