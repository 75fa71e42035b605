"""Relative heading between the thigh's and the shin's orientation estimates.

Without a magnetometer each sensor's heading (rotation about world z) is arbitrary at the start
and drifts on its own. The knee is nearly a hinge whose axis stays perpendicular to the femur's
long axis: with the knee axis ``j`` seen by the shin and the femur axis ``f`` seen by the thigh,
``(Rz(δ) j)·f = c0`` pins the heading offset ``δ`` of the shin's world frame relative to the
thigh's, independently of soft tissue on the thigh (rotation about ``f`` does not move ``f``).
``c0`` is the small non-perpendicularity measured during calibration.

Each sample gives a root ``δ_i`` of that equation (the one nearest the calibrated offset) and a
weight, its squared sensitivity. The tracked offset is their exponentially weighted mean with time
constant ``tau_s``, started from the calibrated offset with the weight of ``tau_s`` seconds of
data: a causal linear filter, so the batch form (one ``lfilter`` pass) and the streaming form
(state carried between chunks) give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from imuhip.joint.geometry import wrap


def heading_roots(
    j_world_shin: np.ndarray, f_world_thigh: np.ndarray, c0: float, delta_ref: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample heading offset (radians, relative to ``delta_ref``) and weight.

    Args:
        j_world_shin: (N, 3) knee axis in the shin filter's world frame.
        f_world_thigh: (N, 3) femur axis in the thigh filter's world frame.
        c0: calibrated value of ``j·f``.
        delta_ref: reference offset; the root nearest to it is taken.
    """
    a, f = j_world_shin, f_world_thigh
    A = a[:, 0] * f[:, 0] + a[:, 1] * f[:, 1]
    B = a[:, 0] * f[:, 1] - a[:, 1] * f[:, 0]
    C = a[:, 2] * f[:, 2] - c0
    R = np.hypot(A, B)
    phi = np.arctan2(B, A)
    ratio = np.clip(-C / np.maximum(R, 1e-9), -1.0, 1.0)
    spread = np.arccos(ratio)
    r1 = wrap(phi + spread - delta_ref)
    r2 = wrap(phi - spread - delta_ref)
    d = np.where(np.abs(r1) <= np.abs(r2), r1, r2)
    weight = (R * np.sin(spread)) ** 2
    weight = np.where(np.abs(-C) > R, 0.0, weight)  # no exact root: no information
    return d, weight


@dataclass
class HeadingTracker:
    """Causal tracker of the shin-to-thigh heading offset (radians).

    Args:
        delta0: calibrated offset, radians.
        c0: calibrated ``j·f``.
        rate_hz: sample rate.
        tau_s: time constant of the tracking, seconds.
        max_step: per-sample roots further than this from ``delta0`` (radians) are ignored.
    """

    delta0: float
    c0: float
    rate_hz: float
    tau_s: float = 20.0
    max_step: float = np.radians(45.0)

    #: Weight of the calibrated offset at the start, in units of the (steady-state) mean
    #: per-sample weight, which is at most 1 (knee axis horizontal, femur axis horizontal).
    prior_weight: float = 0.5

    def __post_init__(self) -> None:
        self._lam = float(np.exp(-1.0 / (self.tau_s * self.rate_hz)))
        self._num_zi = np.zeros(1)
        self._den_zi = np.array([self._lam * self.prior_weight])

    def update(self, j_world_shin: np.ndarray, f_world_thigh: np.ndarray) -> np.ndarray:
        """Offsets (N,) in radians for the next N samples."""
        d, w = heading_roots(j_world_shin, f_world_thigh, self.c0, self.delta0)
        w = np.where(np.abs(d) <= self.max_step, w, 0.0)
        b, a = [1.0 - self._lam], [1.0, -self._lam]
        num, self._num_zi = lfilter(b, a, w * d, zi=self._num_zi)
        den, self._den_zi = lfilter(b, a, w, zi=self._den_zi)
        return self.delta0 + num / den
