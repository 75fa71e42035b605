"""Orientation error metrics of the BROAD benchmark (Laidig et al., Data 2021), as pure functions.

For estimate ``q_est`` and reference ``q_ref`` (both sensor-to-world ENU, ``[w, x, y, z]``):

1. error quaternion in the world frame ``e = q_est ⊗ q_ref*`` (the rotation that takes the reference
   world orientation of the sensor to the estimated one);
2. the estimate's heading reference is arbitrary (always in 6D; in 9D up to the residual
   magnetic-north misalignment), so first the constant rotation ``Rz(δ)`` about world z that best
   aligns estimate and reference over the counted samples is removed: ``q_est ← Rz(δ) ⊗ q_est``;
3. per sample: total error angle ``2·acos|w|``, heading part ``2·atan|z/w|`` (rotation about world
   z) and inclination part ``2·acos√(w² + z²)`` (the rest);
4. RMS of each over the counted samples: the ``movement`` samples whose reference is finite
   (optical dropouts are NaN in the reference and are skipped, as the BROAD code's ``nanmean``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import FusionError


@dataclass(frozen=True)
class OrientationErrors:
    """RMS errors in degrees over the counted samples and the removed heading offset."""

    total_rmse_deg: float
    heading_rmse_deg: float
    inclination_rmse_deg: float
    heading_offset_deg: float
    samples: int


def error_quaternion_world(q_est: np.ndarray, q_ref: np.ndarray) -> np.ndarray:
    """World-frame error quaternions ``q_est ⊗ q_ref*`` (inputs normalised first)."""
    return Q.normalize(Q.multiply(Q.normalize(q_est), Q.conjugate(Q.normalize(q_ref))))


def error_angles(e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Total, heading and inclination error angles (radians) of world-frame error quaternions."""
    e = np.asarray(e, dtype=float)
    w, z = e[..., 0], e[..., 3]
    total = 2.0 * np.arccos(np.clip(np.abs(w), 0.0, 1.0))
    with np.errstate(divide="ignore"):
        heading = 2.0 * np.arctan(np.abs(z / w))
    inclination = 2.0 * np.arccos(np.clip(np.sqrt(w * w + z * z), 0.0, 1.0))
    return total, heading, inclination


def rotate_heading(q: np.ndarray, delta: float) -> np.ndarray:
    """``Rz(delta) ⊗ q``: turn orientations by ``delta`` radians about the world vertical."""
    rz = np.array([np.cos(delta / 2.0), 0.0, 0.0, np.sin(delta / 2.0)])
    return Q.multiply(rz, q)


def counted_samples(q_ref: np.ndarray, movement: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of samples that count: ``movement`` (all if None) and a finite reference."""
    q_ref = np.asarray(q_ref, dtype=float)
    mask = np.all(np.isfinite(q_ref), axis=-1)
    if movement is not None:
        movement = np.asarray(movement)
        if movement.dtype != bool or movement.shape != mask.shape:
            raise FusionError(
                f"movement must be a boolean array of shape {mask.shape}, "
                f"got {movement.dtype} {movement.shape}"
            )
        mask &= movement
    return mask


def heading_offset(q_est: np.ndarray, q_ref: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Constant heading offset ``δ`` (radians) minimising the RMS total error of ``Rz(δ) ⊗ q_est``.

    Closed-form start: with ``e = q_est ⊗ q_ref*``, ``Rz(δ) ⊗ e`` has scalar part
    ``w·cos(δ/2) − z·sin(δ/2)``; the δ maximising the sum of its squares (the chordal least-squares
    alignment) is the principal eigenvector of ``Σ [w, −z]ᵀ[w, −z]``. It is then refined by a
    bounded 1-D search on the RMS of the total error angle itself.
    """
    e = error_quaternion_world(q_est, q_ref)
    if mask is not None:
        e = e[mask]
    e = e[np.all(np.isfinite(e), axis=-1)]
    if len(e) == 0:
        raise FusionError("no samples to align: the reference is NaN wherever movement is true")
    v = np.stack([e[:, 0], -e[:, 3]], axis=1)
    _, vecs = np.linalg.eigh(v.T @ v)
    c, s = vecs[:, -1]
    delta0 = 2.0 * np.arctan2(s, c)

    def rms_total(delta: float) -> float:
        w = np.cos(delta / 2.0) * e[:, 0] - np.sin(delta / 2.0) * e[:, 3]
        ang = 2.0 * np.arccos(np.clip(np.abs(w), 0.0, 1.0))
        return float(np.mean(ang * ang))

    from scipy.optimize import minimize_scalar  # here: costly to import, used by benchmarks

    res = minimize_scalar(
        rms_total, bounds=(delta0 - np.pi / 6, delta0 + np.pi / 6), method="bounded",
        options={"xatol": 1e-7},
    )  # fmt: skip
    delta = float(res.x) if res.fun <= rms_total(delta0) else float(delta0)
    return float(np.arctan2(np.sin(delta), np.cos(delta)))


def orientation_errors(
    q_est: np.ndarray,
    q_ref: np.ndarray,
    movement: np.ndarray | None = None,
    *,
    remove_heading_offset: bool = True,
) -> OrientationErrors:
    """BROAD error metric: RMS total/heading/inclination error (degrees) over counted samples.

    Args:
        q_est: (N, 4) estimated sensor-to-world quaternions.
        q_ref: (N, 4) reference quaternions, same frames; NaN rows (dropouts) are skipped.
        movement: (N,) bool, samples that count (None: all).
        remove_heading_offset: remove the best constant heading offset first (the benchmark's
            rule; False gives the absolute error, meaningful only for 9D estimates).
    """
    q_est = np.asarray(q_est, dtype=float)
    q_ref = np.asarray(q_ref, dtype=float)
    if q_est.shape != q_ref.shape or q_est.ndim != 2 or q_est.shape[1] != 4:
        raise FusionError(
            f"q_est and q_ref must both have shape (N, 4), got {q_est.shape} and {q_ref.shape}"
        )
    mask = counted_samples(q_ref, movement) & np.all(np.isfinite(q_est), axis=1)
    if not np.any(mask):
        raise FusionError("no samples count: movement is all false or the reference is all NaN")
    delta = heading_offset(q_est, q_ref, mask) if remove_heading_offset else 0.0
    e = error_quaternion_world(rotate_heading(q_est[mask], delta), q_ref[mask])
    total, heading, incl = error_angles(e)

    def rms_deg(x: np.ndarray) -> float:
        return float(np.degrees(np.sqrt(np.mean(x * x))))

    return OrientationErrors(
        total_rmse_deg=rms_deg(total),
        heading_rmse_deg=rms_deg(heading),
        inclination_rmse_deg=rms_deg(incl),
        heading_offset_deg=float(np.degrees(delta)),
        samples=int(mask.sum()),
    )
