"""Sensor orientation from gyroscope + accelerometer (+ magnetometer): batch and streaming.

Every method returns unit quaternions ``[w, x, y, z]`` (Hamilton), sensor-to-world, world ENU
(z up): ``v_world = q ⊗ v_sensor ⊗ q*``. Inputs are SI: ``gyr`` rad/s, ``acc`` m/s² specific force
(+9.81 on the up axis at rest), ``mag`` any unit (only its direction is used; µT by convention).
Without a magnetometer (6D) the heading reference is arbitrary but fixed: the first sample's
orientation is the tilt from its accelerometer with no rotation about the vertical.

Methods (``METHODS``):

- ``"vqf"`` (default): VQF (Laidig & Seel 2023), the causal/online filter run through the C++
  ``VQF.updateBatch`` (no Python loop), so live streaming and file replay give identical results.
  6D output without ``mag``, 9D with it. It initialises its inclination from the first
  accelerometer samples by itself. imuhip changes the package's defaults (``VQF_DEFAULTS``):
  its rest bias estimation is off. VQF's rest test compares each gyro and accelerometer sample
  with its own low-pass mean, so a steady turn slower than its ``biasClip`` (2 °/s) passes it
  (a rep at a crawl, a leg sinking into a stretch) and would be learned as gyro bias. The bias
  then comes from the still start pose (``initial_bias``) and VQF's motion bias estimation.
  ``restMinT`` is 3 s for callers who switch rest estimation back on
  (``{"restBiasEstEnabled": True}``). The evidence: ``docs/fusion.md``.
- ``"madgwick"``, ``"mahony"``, ``"ekf"``: the ``ahrs`` package filters stepped per sample
  (slow, pure Python; alternatives for comparison). Their frames differ and are converted here:
  ahrs Madgwick works in north-west-up (its magnetic reference lies on +x), so its quaternion is
  turned +90° about the vertical; ahrs Mahony is ENU; the ahrs EKF runs with ``frame="ENU"``, which
  expects the accelerometer to read gravity (down) at rest, so it gets ``-acc``; its 9D mode needs
  the magnetic dip, taken from the first sample unless given as ``magnetic_dip`` (degrees).
  They start from the first sample's accelerometer tilt (and magnetometer heading in 9D).

A known gyro bias (``initial_bias``, rad/s, e.g. the mean rate over a still start pose) can be
handed to the filter: VQF starts its bias estimate there (uncertainty ``BIAS_SEED_SIGMA_DPS``)
instead of at zero; the ahrs filters, which do not estimate bias, get it subtracted from every
sample. Without it VQF learns the bias only slowly during motion, and until the bias is learned
the accelerometer correction leaves an inclination error of about bias × ``tauAcc`` (up to 3°
in SIMULATED supine sessions, which tilted the calibrated femur axis by 3.5°).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import FusionError

METHODS: tuple[str, ...] = ("vqf", "madgwick", "mahony", "ekf")
DEFAULT_METHOD = "vqf"

#: VQF parameters imuhip uses unless told otherwise (see the module docstring: rest bias
#: estimation off, and a 3 s rest test if it is switched back on); the rest are the ``vqf``
#: package's own defaults.
VQF_DEFAULTS: dict[str, Any] = {"restMinT": 3.0, "restBiasEstEnabled": False}

#: Uncertainty (°/s, 1 sigma) VQF is told for an ``initial_bias`` (VQF's own initial value for
#: an unknown bias is 0.5 °/s).
BIAS_SEED_SIGMA_DPS = 0.1

_VQF_PARAMS = frozenset(
    {
        "tauAcc", "tauMag", "motionBiasEstEnabled", "restBiasEstEnabled",
        "magDistRejectionEnabled", "biasSigmaInit", "biasForgettingTime", "biasClip",
        "biasSigmaMotion", "biasVerticalForgettingFactor", "biasSigmaRest", "restMinT",
        "restFilterTau", "restThGyr", "restThAcc", "magCurrentTau", "magRefTau", "magNormTh",
        "magDipTh", "magNewTime", "magNewFirstTime", "magNewMinGyr", "magMinUndisturbedTime",
        "magMaxRejectionTime", "magRejectionFactor",
    }
)  # fmt: skip
_ALLOWED_PARAMS: dict[str, frozenset[str]] = {
    "vqf": _VQF_PARAMS,
    "madgwick": frozenset({"gain"}),
    "mahony": frozenset({"k_P", "k_I"}),
    "ekf": frozenset({"var_gyr", "var_acc", "var_mag", "magnetic_dip"}),
}

# ENU <-> north-west-up (ahrs Madgwick): NWU = Rz(-90°) ENU
_ENU_FROM_NWU = Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.pi / 2)
_NWU_FROM_ENU = Q.conjugate(_ENU_FROM_NWU)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise FusionError(
            f"unknown orientation method {method!r}; choose one of: {', '.join(METHODS)}"
        )
    return method


def _check_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    unknown = sorted(set(params) - _ALLOWED_PARAMS[method])
    if unknown:
        raise FusionError(
            f"unknown parameter(s) {', '.join(unknown)} for method {method!r}; "
            f"allowed: {', '.join(sorted(_ALLOWED_PARAMS[method]))}"
        )
    return params


def _check_rate(rate_hz: float) -> float:
    try:
        rate = float(rate_hz)
    except (TypeError, ValueError):
        raise FusionError(f"rate_hz must be a number, got {rate_hz!r}") from None
    if not np.isfinite(rate) or rate <= 0:
        raise FusionError(f"rate_hz must be a positive finite number, got {rate_hz!r}")
    return rate


def _as_vectors(name: str, x: Any, n: int | None) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise FusionError(f"{name} must have shape (N, 3), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise FusionError(f"{name} has {arr.shape[0]} samples but gyr has {n}; they must match")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise FusionError(
            f"{name} contains NaN or infinite values (first at sample {bad}); "
            "fill or cut gaps before fusion"
        )
    return arr


def _nonneg(params: Mapping[str, Any], key: str, default: float, positive: bool = False) -> float:
    value = params.get(key, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FusionError(f"parameter {key} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise FusionError(f"parameter {key} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


def initial_orientation(acc: np.ndarray, mag: np.ndarray | None = None) -> np.ndarray:
    """Sensor-to-ENU quaternion from one accelerometer (and magnetometer) sample.

    Without ``mag``: the shortest rotation taking the measured up direction onto +z (no rotation
    about the vertical). With ``mag``: x east, y magnetic north (horizontal part of ``mag``), z up.
    """
    acc = np.asarray(acc, dtype=float)
    if np.linalg.norm(acc) == 0:
        raise FusionError("the first accelerometer sample is zero; cannot find the vertical")
    q_tilt = Q.from_two_vectors(acc, np.array([0.0, 0.0, 1.0]))
    if mag is None:
        return q_tilt
    up = acc / np.linalg.norm(acc)
    east = np.cross(np.asarray(mag, dtype=float), up)
    if np.linalg.norm(east) < 1e-9 * max(np.linalg.norm(mag), 1e-300):
        return q_tilt  # magnetometer parallel to the vertical (or zero): heading undefined
    east /= np.linalg.norm(east)
    north = np.cross(up, east)
    return Q.from_matrix(np.stack([east, north, up]))


def _levelling(up: np.ndarray) -> np.ndarray:
    """The smallest rotation (quaternion) turning the direction ``up`` (3,) onto +z."""
    u = up / np.linalg.norm(up)
    axis = np.array([u[1], -u[0], 0.0])  # u x z
    s = float(np.linalg.norm(axis))
    if s < 1e-12:
        return np.array([1.0, 0.0, 0.0, 0.0]) if u[2] > 0 else np.array([0.0, 1.0, 0.0, 0.0])
    return Q.from_axis_angle(axis / s, float(np.arctan2(s, u[2])))


class OrientationFilter:
    """Streaming orientation estimator; chunks of any size give exactly the batch result.

    ``update(gyr, acc, mag=None)`` takes (n, 3) arrays and returns (n, 4) quaternions. Whether a
    magnetometer is used (9D) is fixed by the first non-empty chunk. ``initial_bias``: a known
    gyro bias (3,) rad/s, sensor frame (module docstring).
    """

    def __init__(
        self,
        method: str = DEFAULT_METHOD,
        rate_hz: float = 100.0,
        params: Mapping[str, Any] | None = None,
        initial_bias: np.ndarray | None = None,
    ) -> None:
        self.method = _check_method(method)
        self.rate_hz = _check_rate(rate_hz)
        self.params = _check_params(method, params)
        if method != "vqf":  # numeric checks now, not at the first sample
            for key in self.params:
                _nonneg(self.params, key, 0.0, positive=key not in ("k_P", "k_I", "magnetic_dip"))
        self.uses_mag: bool | None = None  # decided by the first non-empty chunk
        self._q: np.ndarray | None = None  # last quaternion in the filter's native frame
        self._impl: Any = None
        self._bias: np.ndarray | None = None  # subtracted from the input (ahrs filters)
        if initial_bias is not None:
            bias = np.asarray(initial_bias, dtype=float)
            if bias.shape != (3,) or not np.all(np.isfinite(bias)):
                raise FusionError(f"initial_bias must be 3 finite rates (rad/s), got {bias!r}")
        if method == "vqf":
            from vqf import VQF

            self._impl = VQF(1.0 / self.rate_hz, **{**VQF_DEFAULTS, **self.params})
            if initial_bias is not None:
                self._impl.setBiasEstimate(bias, np.radians(BIAS_SEED_SIGMA_DPS))
        elif initial_bias is not None:
            self._bias = bias

    def update(self, gyr: np.ndarray, acc: np.ndarray, mag: np.ndarray | None = None) -> np.ndarray:
        """Feed (n, 3) chunks; returns (n, 4) sensor-to-ENU quaternions, one per sample."""
        gyr = _as_vectors("gyr", gyr, None)
        n = gyr.shape[0]
        acc = _as_vectors("acc", acc, n)
        if mag is not None:
            mag = _as_vectors("mag", mag, n)
        if n == 0:
            return np.empty((0, 4))
        if self.uses_mag is None:
            self.uses_mag = mag is not None
        elif self.uses_mag != (mag is not None):
            raise FusionError(
                "magnetometer data must be given for every chunk or for none "
                f"(this filter started {'with' if self.uses_mag else 'without'} it)"
            )
        if self.method == "vqf":
            return self._update_vqf(gyr, acc, mag)
        if self._bias is not None:
            gyr = gyr - self._bias
        return self._update_ahrs(gyr, acc, mag)

    def hold(self, n: int) -> np.ndarray:
        """(n, 4) copies of the current orientation (sensor-to-ENU), the filter unchanged: the
        output for a sensor's lost stretch, where there is no input to give it (feeding it
        zeros would teach VQF a false gyro bias). Identity before the first update."""
        if self.method == "vqf":
            q = None if self._impl is None else np.asarray(self._impl.getQuat6D())
            if q is not None and self.uses_mag:
                q = np.asarray(self._impl.getQuat9D())
        elif self._q is None:
            q = None
        else:
            native = np.asarray(self._q, dtype=float)
            q = Q.multiply(_ENU_FROM_NWU, native) if self.method == "madgwick" else native
        if q is None:
            q = np.array([1.0, 0.0, 0.0, 0.0])
        return np.tile(q, (n, 1))

    def level(self, acc: np.ndarray) -> None:
        """Set the inclination from one specific-force sample ``acc`` (3,) m/s², sensor frame,
        keeping the heading; the accelerometer's low-pass starts afresh from it.

        For the first sample after a sensor's lost stretch: the filter saw a still sensor
        there, so the turn it missed shows in its tilt, which the accelerometer correction
        alone would take tens of seconds to remove. No effect before the first update (the
        filter starts level) or for a sample that is not a usable force (under 1 m/s²)."""
        a = np.asarray(acc, dtype=float)
        if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) < 1.0:
            return
        if self.method == "vqf":
            if self._impl is None:
                return
            st = self._impl.state
            acc_q, gyr_q = np.asarray(st["accQuat"]), np.asarray(st["gyrQuat"])
            a_i = Q.rotate(gyr_q, a)  # in VQF's gyro-integrated frame
            st["accQuat"] = Q.normalize(Q.multiply(_levelling(Q.rotate(acc_q, a_i)), acc_q))
            st["lastAccLp"] = a_i
            st["accLpState"] = np.array([np.nan, np.nan, 0.0, 0.0, 0.0, np.nan])  # re-init
            self._impl.state = st
            return
        if self._q is None:
            return
        native = np.asarray(self._q, dtype=float)
        enu = Q.multiply(_ENU_FROM_NWU, native) if self.method == "madgwick" else native
        enu = Q.normalize(Q.multiply(_levelling(Q.rotate(enu, a)), enu))
        self._q = Q.multiply(_NWU_FROM_ENU, enu) if self.method == "madgwick" else enu

    # -- vqf: C++ batch update, state kept between chunks ------------------------------------
    def _update_vqf(self, gyr, acc, mag) -> np.ndarray:
        if mag is None:
            return self._impl.updateBatch(gyr, acc)["quat6D"]
        return self._impl.updateBatch(gyr, acc, mag)["quat9D"]

    # -- ahrs filters: per-sample Python stepping ------------------------------------------------
    def _start_ahrs(self, acc0: np.ndarray, mag0: np.ndarray | None) -> np.ndarray:
        """Create the ahrs filter and return the first quaternion in its native frame."""
        p = self.params
        q_enu = initial_orientation(acc0, mag0)
        if self.method == "madgwick":
            from ahrs.filters import Madgwick

            self._impl = Madgwick(frequency=self.rate_hz)
            self._impl.gain = _nonneg(p, "gain", 0.033 if mag0 is None else 0.041, positive=True)
            return Q.multiply(_NWU_FROM_ENU, q_enu)
        if self.method == "mahony":
            from ahrs.filters import Mahony

            self._impl = Mahony(frequency=self.rate_hz)
            # set after construction: ahrs refuses k_I = 0 (no bias estimation) in __init__
            self._impl.k_P = _nonneg(p, "k_P", 1.0)
            self._impl.k_I = _nonneg(p, "k_I", 0.0)  # ahrs default 0.3 diverges on BROAD
            return q_enu
        from ahrs.filters import EKF

        kw = {
            k: _nonneg(p, k, 0.0, positive=True)
            for k in ("var_gyr", "var_acc", "var_mag")
            if k in p
        }
        self._impl = EKF(frequency=self.rate_hz, frame="ENU", **kw)
        if mag0 is not None:
            if "magnetic_dip" in p:
                dip = np.radians(float(p["magnetic_dip"]))
            else:  # dip from the first sample: angle of the field below the horizontal
                up = acc0 / np.linalg.norm(acc0)
                dip = -np.arcsin(np.clip(np.dot(mag0, up) / np.linalg.norm(mag0), -1, 1))
            self._impl.m_ref = np.array([0.0, np.cos(dip), -np.sin(dip)])
            # ahrs EKF switches its measurement model (h, H) to 9D on ``self.mag is not None``
            self._impl.mag = np.asarray(mag0, dtype=float)[None, :]
        return q_enu

    def _update_ahrs(self, gyr, acc, mag) -> np.ndarray:
        n = gyr.shape[0]
        out = np.empty((n, 4))
        start = 0
        if self._q is None:
            self._q = self._start_ahrs(acc[0], None if mag is None else mag[0])
            out[0] = self._q
            start = 1
        q = np.array(self._q, dtype=float)
        f = self._impl
        if self.method == "ekf":
            step = f.update
            acc = -acc  # ahrs EKF expects gravity (down) at rest, not specific force
            if mag is None:
                for i in range(start, n):
                    q = np.array(step(q, gyr[i], acc[i]), dtype=float)
                    out[i] = q
            else:
                for i in range(start, n):
                    q = np.array(step(q, gyr[i], acc[i], mag[i]), dtype=float)
                    out[i] = q
        elif mag is None:
            step = f.updateIMU
            for i in range(start, n):
                q = np.array(step(q, gyr[i], acc[i]), dtype=float)
                out[i] = q
        else:
            step = f.updateMARG
            for i in range(start, n):
                q = np.array(step(q, gyr[i], acc[i], mag[i]), dtype=float)
                out[i] = q
        self._q = q
        if self.method == "madgwick":
            return Q.normalize(Q.multiply(_ENU_FROM_NWU, out))
        return out


def estimate_orientation(
    gyr: np.ndarray,
    acc: np.ndarray,
    mag: np.ndarray | None = None,
    *,
    rate_hz: float,
    method: str = DEFAULT_METHOD,
    params: Mapping[str, Any] | None = None,
    initial_bias: np.ndarray | None = None,
) -> np.ndarray:
    """Orientation of one sensor over a whole recording (the streaming filter in one chunk).

    Args:
        gyr: (N, 3) angular rate, rad/s, sensor frame.
        acc: (N, 3) specific force, m/s² (+9.81 on the up axis at rest).
        mag: optional (N, 3) magnetic field (µT); given → 9D (absolute heading), else 6D.
        rate_hz: sampling rate of the (uniformly sampled) data.
        method: one of ``METHODS``.
        params: method parameters (vqf: ``VQF`` keyword names such as ``tauAcc``, over
            ``VQF_DEFAULTS``; madgwick:
            ``gain``; mahony: ``k_P``, ``k_I``; ekf: ``var_gyr``, ``var_acc``, ``var_mag``,
            ``magnetic_dip`` in degrees).
        initial_bias: optional known gyro bias (3,), rad/s, sensor frame (module docstring).

    Returns:
        (N, 4) unit quaternions ``[w, x, y, z]`` sensor-to-world ENU.

    Raises:
        FusionError (a ValueError): bad shapes, NaN/inf, unknown method or parameter, bad rate.
    """
    return OrientationFilter(method, rate_hz, params, initial_bias).update(gyr, acc, mag)
