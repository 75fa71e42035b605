"""Vectorised unit-quaternion maths, ``[w, x, y, z]`` order, Hamilton convention.

A quaternion ``q`` of a sensor orientation maps sensor-frame vectors to world (ENU) vectors:
``v_world = rotate(q, v_sensor)``. Every function accepts a single quaternion of shape (4,) or a
batch of shape (N, 4) and broadcasts like numpy.
"""

from __future__ import annotations

import numpy as np


def multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product ``p ⊗ q`` (apply ``q`` first, then ``p``)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion."""
    q = np.asarray(q, dtype=float)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def normalize(q: np.ndarray) -> np.ndarray:
    """Scale to unit norm."""
    q = np.asarray(q, dtype=float)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of vectors (..., 3), broadcasting; faster than ``np.cross`` on (N, 3)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    q = np.asarray(q, dtype=float)
    v = np.asarray(v, dtype=float)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    v0, v1, v2 = v[..., 0], v[..., 1], v[..., 2]
    # v + w t + u × t with t = 2 u × v, component by component (one stack, no temporaries)
    t0 = 2.0 * (y * v2 - z * v1)
    t1 = 2.0 * (z * v0 - x * v2)
    t2 = 2.0 * (x * v1 - y * v0)
    return np.stack(
        [
            v0 + w * t0 + (y * t2 - z * t1),
            v1 + w * t1 + (z * t0 - x * t2),
            v2 + w * t2 + (x * t1 - y * t0),
        ],
        axis=-1,
    )


def from_axis_angle(axis: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Quaternion of a rotation by ``angle`` radians about ``axis`` (normalised here)."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle, dtype=float)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def from_rotvec(rv: np.ndarray) -> np.ndarray:
    """Quaternion from rotation vectors (axis × angle in radians), safe near zero."""
    rv = np.asarray(rv, dtype=float)
    angle = np.linalg.norm(rv, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(half)/angle with a Taylor fallback near zero
    small = angle < 1e-8
    scale = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(half), scale * rv], axis=-1)


def to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (axis × angle, angle in [0, π]) of quaternions."""
    q = np.asarray(q, dtype=float)
    q = np.where(q[..., :1] < 0, -q, q)
    w = np.clip(q[..., :1], -1.0, 1.0)
    s = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, w)
    small = s < 1e-8
    scale = np.where(small, 2.0, angle / np.where(small, 1.0, s))
    return scale * q[..., 1:]


def angle(q: np.ndarray) -> np.ndarray:
    """Rotation angle of quaternions in radians, in [0, π]."""
    q = np.asarray(q, dtype=float)
    return 2.0 * np.arctan2(np.linalg.norm(q[..., 1:], axis=-1), np.abs(q[..., 0]))


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) with ``R @ v_sensor = v_world``."""
    q = np.asarray(q, dtype=float)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def from_matrix(R: np.ndarray) -> np.ndarray:
    """Unit quaternions (w ≥ 0) from rotation matrices (..., 3, 3); numerically stable."""
    R = np.asarray(R, dtype=float)
    m00, m11, m22 = R[..., 0, 0], R[..., 1, 1], R[..., 2, 2]
    trace = m00 + m11 + m22
    cand = np.stack(
        [
            np.stack(
                [
                    1 + trace,
                    R[..., 2, 1] - R[..., 1, 2],
                    R[..., 0, 2] - R[..., 2, 0],
                    R[..., 1, 0] - R[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 2, 1] - R[..., 1, 2],
                    1 + m00 - m11 - m22,
                    R[..., 0, 1] + R[..., 1, 0],
                    R[..., 0, 2] + R[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 0, 2] - R[..., 2, 0],
                    R[..., 0, 1] + R[..., 1, 0],
                    1 - m00 + m11 - m22,
                    R[..., 1, 2] + R[..., 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    R[..., 1, 0] - R[..., 0, 1],
                    R[..., 0, 2] + R[..., 2, 0],
                    R[..., 1, 2] + R[..., 2, 1],
                    1 - m00 - m11 + m22,
                ],
                -1,
            ),
        ],
        axis=-2,
    )
    best = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cand, best[..., None, None], axis=-2)[..., 0, :]
    q = normalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def from_two_vectors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotation taking direction ``a`` onto direction ``b`` (both (..., 3))."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    w = 1.0 + np.sum(a * b, axis=-1, keepdims=True)
    xyz = np.cross(a, b)
    # opposite vectors: rotate by π about any axis perpendicular to a
    opposite = w[..., 0] < 1e-12
    if np.any(opposite):
        perp = np.cross(a, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(perp, axis=-1) < 1e-6
        perp = np.where(small[..., None], np.cross(a, np.array([0.0, 1.0, 0.0])), perp)
        xyz = np.where(opposite[..., None], perp, xyz)
        w = np.where(opposite[..., None], 0.0, w)
    return normalize(np.concatenate([w, xyz], axis=-1))
