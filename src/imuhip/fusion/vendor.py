"""The vendor's own orientation in place of a fusion filter (orientation-only exports).

Some sensors' apps export only the orientation they computed (the Movella DOT "Extended"
modes: quaternion or Euler angles, free acceleration, no gyroscope or raw accelerometer). For
such a sensor the pipeline runs :class:`VendorOrientation` instead of
:class:`~imuhip.fusion.orientation.OrientationFilter`: it has the same streaming interface
(``update``, ``hold``, ``level``) and returns the vendor's quaternions, re-normalised and
interpolated (slerp) onto the pipeline's time grid. The calibration and the detector still
need an angular rate and a specific force; :func:`vendor_samples` derives them:

- body rate ``ω = 2·q⁻¹ ⊗ dq/dt`` (rad/s, sensor frame), from successive quaternions: the
  rotation vector of ``q[k]* ⊗ q[k+1]`` over the step, the two steps around a sample averaged;
- specific force ``q* ⊗ (free_acc + g·ẑ) ⊗ q`` (m/s², sensor frame; gravity alone without free
  acceleration).

Quaternions are ``[w, x, y, z]``, sensor to the vendor's local earth frame, ENU (z up), the
same convention as imuhip's filters; a heading the vendor took from its magnetometer is kept
(the hip tracker's heading calibration does not need it). Maths only: no I/O.
"""

from __future__ import annotations

import numpy as np

from imuhip import quaternion as Q
from imuhip.samples import ImuSamples, OrientationSamples

#: Gravity added back to the free acceleration, m/s² (ENU: along +z as specific force).
GRAVITY = 9.80665
#: A quaternion whose norm is outside this range is no orientation (a zeroed or damaged
#: sample) and is dropped; inside it is re-normalised.
NORM_RANGE = (0.5, 2.0)


def vendor_orientation_note(role: str) -> str:
    """What the outputs (analysis warnings, info, report, export) say of a sensor whose data
    are its vendor's orientation."""
    return (
        f"the vendor's orientation was used for the {role} (its file holds orientation, not "
        "raw gyroscope and accelerometer: imuhip's fusion was skipped for it, its angular "
        "rate and specific force derived from the orientation)"
    )


def euler_zyx_deg_to_quat(euler_deg: np.ndarray) -> np.ndarray:
    """Quaternions ``[w, x, y, z]`` (N, 4) from Euler angles (N, 3) in degrees, columns x (roll),
    y (pitch), z (yaw), in the ZYX (aerospace) sequence: ``q = Rz(z) ⊗ Ry(y) ⊗ Rx(x)``, sensor
    to earth."""
    e = np.radians(np.asarray(euler_deg, dtype=float))
    half = e / 2.0
    cr, sr = np.cos(half[:, 0]), np.sin(half[:, 0])
    cp, sp = np.cos(half[:, 1]), np.sin(half[:, 1])
    cy, sy = np.cos(half[:, 2]), np.sin(half[:, 2])
    return np.stack(
        [
            cy * cp * cr + sy * sp * sr,
            cy * cp * sr - sy * sp * cr,
            cy * sp * cr + sy * cp * sr,
            sy * cp * cr - cy * sp * sr,
        ],
        axis=1,
    )


def usable_quaternions(quat: np.ndarray) -> np.ndarray:
    """(N,) True where a quaternion (N, 4) is finite with a norm in :data:`NORM_RANGE`."""
    q = np.asarray(quat, dtype=float)
    with np.errstate(invalid="ignore"):
        norm = np.linalg.norm(q, axis=1)
        return np.isfinite(q).all(axis=1) & (norm >= NORM_RANGE[0]) & (norm <= NORM_RANGE[1])


def continuous(quat: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Unit quaternions (N, 4) with signs chosen so that each is in the hemisphere of the one
    before (``q`` and ``-q`` are one orientation); ``previous`` (4,) precedes the first."""
    q = Q.normalize(quat)
    if not len(q):
        return q
    dots = np.einsum("ij,ij->i", q[1:], q[:-1])
    flips = np.concatenate([[False], dots < 0])
    if previous is not None and float(np.dot(q[0], previous)) < 0:
        flips[0] = True
    sign = np.where(np.cumsum(flips) % 2 == 1, -1.0, 1.0)
    return q * sign[:, None]


def clean_orientation(o: OrientationSamples) -> tuple[OrientationSamples, int]:
    """``o`` without its unusable samples (quaternion not finite, of zero or absurd norm, or
    free acceleration not finite), re-normalised and sign-continuous; and how many were
    dropped."""
    keep = usable_quaternions(o.quat)
    if o.free_acc is not None:
        keep &= np.isfinite(o.free_acc).all(axis=1)
    fa = None if o.free_acc is None else o.free_acc[keep]
    return OrientationSamples(o.t[keep], continuous(o.quat[keep]), fa), int((~keep).sum())


def body_rate(t: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """Angular rate (N, 3), rad/s, sensor frame, from sensor-to-earth unit quaternions (N, 4)
    at times ``t`` (N,) s: ``2·q⁻¹ ⊗ dq/dt``, each step's rotation vector over its duration,
    the steps before and after a sample averaged (one-sided at the ends; zero for a single
    sample)."""
    n = len(t)
    if n < 2:
        return np.zeros((n, 3))
    step = Q.to_rotvec(Q.multiply(Q.conjugate(quat[:-1]), quat[1:]))
    w = step / np.diff(t)[:, None]
    out = np.empty((n, 3))
    out[0], out[-1] = w[0], w[-1]
    out[1:-1] = 0.5 * (w[:-1] + w[1:])
    return out


def vendor_samples(o: OrientationSamples, gravity: float = GRAVITY) -> ImuSamples:
    """Samples for the pipeline from a vendor orientation (cleaned: :func:`clean_orientation`):
    the derived body rate (rad/s) and specific force (m/s², free acceleration plus gravity,
    turned into the sensor frame), with the quaternions attached as ``quat``."""
    q = continuous(o.quat)
    up = np.array([0.0, 0.0, gravity])
    acc_earth = up if o.free_acc is None else o.free_acc + up
    acc = Q.rotate(Q.conjugate(q), np.broadcast_to(acc_earth, (len(q), 3)))
    return ImuSamples(o.t, acc, body_rate(o.t, q), None, q)


def orientation_of(s: ImuSamples, gravity: float = GRAVITY) -> OrientationSamples:
    """The vendor orientation that :func:`vendor_samples` derived ``s`` from (``s.quat`` set):
    the quaternions and the free acceleration (m/s², earth frame: the specific force turned to
    earth, gravity taken out; None where that is zero, i.e. there was none)."""
    if s.quat is None:
        raise ValueError("these samples carry no vendor orientation (quat is None)")
    fa = Q.rotate(s.quat, s.acc) - np.array([0.0, 0.0, gravity])
    return OrientationSamples(s.t, s.quat, fa if len(fa) and np.abs(fa).max() > 1e-9 else None)


def slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions (N, 4) at fractions ``u`` (N,) in
    [0, 1], along the shorter arc."""
    d = np.einsum("ij,ij->i", q0, q1)
    q1 = np.where((d < 0)[:, None], -q1, q1)
    d = np.clip(np.abs(d), -1.0, 1.0)
    theta = np.arccos(d)
    s = np.sin(theta)
    small = s < 1e-9
    safe = np.where(small, 1.0, s)
    a = np.where(small, 1.0 - u, np.sin((1.0 - u) * theta) / safe)
    b = np.where(small, u, np.sin(u * theta) / safe)
    return Q.normalize(a[:, None] * q0 + b[:, None] * q1)


class VendorTrack:
    """A sensor's vendor quaternions as they arrive (sensor to earth, session seconds), for
    :class:`VendorOrientation` to read at grid times."""

    def __init__(self) -> None:
        self._t: list[np.ndarray] = []
        self._q: list[np.ndarray] = []

    def add(self, t: np.ndarray, quat: np.ndarray) -> None:
        """Samples after those added before: times (n,) s, quaternions (n, 4); unusable
        quaternions are left out (the file reader has counted them)."""
        keep = usable_quaternions(quat)
        if not keep.any():
            return
        prev = self._q[-1][-1] if self._q else None
        self._t.append(np.asarray(t, dtype=float)[keep])
        self._q.append(continuous(np.asarray(quat, dtype=float)[keep], prev))

    def __len__(self) -> int:
        return sum(len(x) for x in self._t)

    def _joined(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._t) > 1:
            self._t[:] = [np.concatenate(self._t)]
            self._q[:] = [np.concatenate(self._q)]
        if not self._t:
            return np.empty(0), np.empty((0, 4))
        return self._t[0], self._q[0]

    def at(self, t: np.ndarray) -> np.ndarray:
        """Orientations (n, 4) at times ``t`` (n,) s: slerp between the neighbouring samples,
        the first or last sample outside their span, identity before any sample came."""
        st, sq = self._joined()
        t = np.asarray(t, dtype=float)
        if not len(st):
            return np.tile([1.0, 0.0, 0.0, 0.0], (len(t), 1))
        if len(st) == 1:
            return np.tile(sq[0], (len(t), 1))
        i = np.clip(np.searchsorted(st, t, side="right"), 1, len(st) - 1)
        span = st[i] - st[i - 1]
        u = np.clip((t - st[i - 1]) / span, 0.0, 1.0)
        return slerp(sq[i - 1], sq[i], u)


class VendorOrientation:
    """The orientation "filter" of a sensor whose vendor gave its orientation: the interface of
    :class:`~imuhip.fusion.orientation.OrientationFilter` over grid points ``t0 + k / rate_hz``
    (k counting every sample given to ``update`` or ``hold`` since creation), returning the
    vendor's quaternions there (sensor to ENU). ``gyr`` and ``acc`` are not used: the
    vendor's filter has already fused its raw data."""

    def __init__(self, track: VendorTrack, t0: float, rate_hz: float) -> None:
        self.track = track
        self.t0 = float(t0)
        self.rate_hz = float(rate_hz)
        self._k = 0
        self._last: np.ndarray | None = None

    def _times(self, n: int) -> np.ndarray:
        t = self.t0 + (self._k + np.arange(n)) / self.rate_hz
        self._k += n
        return t

    def update(self, gyr: np.ndarray, acc: np.ndarray, mag: np.ndarray | None = None) -> np.ndarray:
        """(n, 4) vendor orientations at the next ``n`` grid points (n = len(gyr))."""
        q = self.track.at(self._times(len(gyr)))
        if len(q):
            self._last = q[-1]
        return q

    def hold(self, n: int) -> np.ndarray:
        """(n, 4) copies of the last orientation given (the grid points pass: a lost stretch)."""
        self._times(n)
        last = self._last if self._last is not None else self.track.at(np.array([self.t0]))[0]
        return np.tile(last, (n, 1))

    def level(self, acc: np.ndarray) -> None:
        """Nothing to do: the vendor's orientation is already levelled by the vendor."""
