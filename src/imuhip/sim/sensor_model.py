"""How a cheap consumer BLE IMU turns true motion into samples.

Every parameter is documented with its unit; the defaults describe a typical consumer MEMS IMU
(MPU-6050/ICM-42605/BMI160 class) in a strap-on BLE housing. Draws are per sensor and seeded by
the caller's random generator, so a seed reproduces a session exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip import quaternion as Q

G = 9.80665
#: Earth's field in ENU, µT (mid-latitude: 20 µT north, 45 µT down).
EARTH_FIELD_UT = np.array([0.0, 20.0, -45.0])


@dataclass(frozen=True)
class ImuErrorModel:
    """Sensor imperfections (1-sigma values of per-sensor random draws unless stated).

    Attributes:
        gyro_bias_dps: constant gyro bias per axis at switch-on, °/s.
        gyro_bias_walk_dps: bias random walk, °/s per √s.
        gyro_noise_dps: white noise per sample, °/s.
        gyro_scale: scale-factor error per axis (0.01 = 1 %).
        acc_bias: accelerometer bias per axis, m/s².
        acc_noise: white noise per sample, m/s².
        acc_scale: scale-factor error per axis.
        mag_hard_iron_ut: hard-iron offset per axis, µT.
        mag_noise_ut: white noise per sample, µT.
        mag_disturbance_ut: amplitude of slowly varying indoor disturbance, µT.
        acc_range_g, gyro_range_dps, mag_range_ut: full-scale ranges of the int16 outputs
            (values are quantised to 1/32768 of the range and clipped at it).
        clock_ppm: sensor crystal frequency error, parts per million.
        quantised: round outputs to the int16 steps of the ranges.
    """

    gyro_bias_dps: float = 0.5
    gyro_bias_walk_dps: float = 0.004
    gyro_noise_dps: float = 0.08
    gyro_scale: float = 0.01
    acc_bias: float = 0.05
    acc_noise: float = 0.015
    acc_scale: float = 0.005
    mag_hard_iron_ut: float = 10.0
    mag_noise_ut: float = 0.3
    mag_disturbance_ut: float = 5.0
    acc_range_g: float = 16.0
    gyro_range_dps: float = 2000.0
    mag_range_ut: float = 4900.0
    clock_ppm: float = 60.0
    quantised: bool = True

    @classmethod
    def ideal(cls) -> ImuErrorModel:
        """No errors, no quantisation, a perfect clock (for checking kinematics)."""
        return cls(
            gyro_bias_dps=0.0,
            gyro_bias_walk_dps=0.0,
            gyro_noise_dps=0.0,
            gyro_scale=0.0,
            acc_bias=0.0,
            acc_noise=0.0,
            acc_scale=0.0,
            mag_hard_iron_ut=0.0,
            mag_noise_ut=0.0,
            mag_disturbance_ut=0.0,
            clock_ppm=0.0,
            quantised=False,
        )


@dataclass(frozen=True)
class EffortModel:
    """What a contracting muscle adds to a strapped sensor's signals (RMS at effort level 1).

    Two components, added to the true body rate and specific force while the script's effort
    envelope (:meth:`imuhip.sim.scripts.Script.effort_envelope`) is non-zero, each band-limited
    Gaussian noise with independent axes (vector RMS as given):

    - physiological tremor, 8–12 Hz: the 8–12 Hz component of physiological tremor grows with
      the muscular force held (Sutton & Sykes 1967, J Physiol 191:699; Novak & Newell 2017,
      Neurosci Lett 643:89, isometric force control) and its frequency barely moves with the
      segment's mass (Lakie et al. 2015, J Physiol 593:4411). Healthy postural tremor of the
      hand is of the order of 0.01–0.1 m/s² RMS; a heavier segment trembles less, and the
      ankle's tremor grows 2–5 fold in action over rest (Pozos, Iaizzo & Petry 1982, J Appl
      Physiol 52:226). The defaults (0.2 °/s and 0.04 m/s² at the shin) sit in that range,
      about 16–19 dB above a consumer IMU's noise in the band: an assumption, not a
      measurement on a leg;
    - co-contraction micro-vibration, 10–40 Hz: the mechanomyogram of the contracting
      muscles under the strap (strongest on the thigh, which sits on the quadriceps and
      hamstrings; the shin sensor sits on the tibia) — accelerometer only.

    A relaxed, supported leg gets nothing (level 0). ``strap_coupling`` scales everything: 1
    for a snug strap; a loose strap (``LOOSE_STRAP_COUPLING``) rides on skin and fabric that
    filter the vibration away.

    Attributes:
        tremor_gyro_dps: shin tremor angular rate, °/s RMS.
        tremor_acc: shin tremor acceleration, m/s² RMS.
        thigh_tremor_share: the thigh's tremor relative to the shin's (closer to the hip).
        tremor_band_hz: (low, high) band of the tremor.
        mmg_acc: thigh micro-vibration, m/s² RMS.
        shin_mmg_share: the shin's micro-vibration relative to the thigh's.
        mmg_band_hz: (low, high) band of the micro-vibration.
        strap_coupling: share of the vibration the sensor follows (0..1).
    """

    tremor_gyro_dps: float = 0.2
    tremor_acc: float = 0.04
    thigh_tremor_share: float = 0.8
    tremor_band_hz: tuple[float, float] = (8.0, 12.0)
    mmg_acc: float = 0.02
    shin_mmg_share: float = 0.3
    mmg_band_hz: tuple[float, float] = (10.0, 40.0)
    strap_coupling: float = 1.0

    @classmethod
    def loose_strap(cls) -> EffortModel:
        """The defaults through a loosely strapped sensor."""
        return cls(strap_coupling=LOOSE_STRAP_COUPLING)


#: Share of the effort vibration a loosely strapped sensor follows (−14 dB).
LOOSE_STRAP_COUPLING = 0.2


def band_noise(
    rng: np.random.Generator, n: int, rate_hz: float, band_hz: tuple[float, float]
) -> np.ndarray:
    """(n, 3) Gaussian noise limited to ``band_hz`` (raised-cosine edges 0.5 Hz wide inside the
    band), vector RMS 1, for samples at ``rate_hz``."""
    white = rng.normal(size=(n, 3))
    if n < 4:
        return np.zeros((n, 3))
    f = np.fft.rfftfreq(n, 1.0 / rate_hz)
    lo, hi = band_hz
    edge = 0.5
    gain = np.clip(np.minimum(f - lo, hi - f) / edge, 0.0, 1.0)
    gain = np.sin(0.5 * np.pi * gain) ** 2
    out = np.fft.irfft(np.fft.rfft(white, axis=0) * gain[:, None], n=n, axis=0)
    rms = np.sqrt(np.mean(np.sum(out**2, axis=1)))
    return out / rms if rms > 0 else out


def effort_vibration(
    role: str,
    envelope: np.ndarray,
    rate_hz: float,
    m: EffortModel,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Body-rate (rad/s) and specific-force (m/s²) vibration, each (n, 3) in the sensor frame,
    that effort ``envelope`` (relative level per sample, ``rate_hz`` apart) adds on ``role``
    ("thigh" or "shin"; anything else, e.g. the pelvis, gets none)."""
    n = len(envelope)
    if role not in ("thigh", "shin") or not np.any(envelope > 0):
        return np.zeros((n, 3)), np.zeros((n, 3))
    tremor_share = m.thigh_tremor_share if role == "thigh" else 1.0
    mmg_share = 1.0 if role == "thigh" else m.shin_mmg_share
    k = m.strap_coupling * envelope[:, None]
    gyr = (
        np.radians(m.tremor_gyro_dps) * tremor_share * band_noise(rng, n, rate_hz, m.tremor_band_hz)
    )
    acc = m.tremor_acc * tremor_share * band_noise(rng, n, rate_hz, m.tremor_band_hz)
    acc = acc + m.mmg_acc * mmg_share * band_noise(rng, n, rate_hz, m.mmg_band_hz)
    return k * gyr, k * acc


def quantise(x: np.ndarray, full_scale: float) -> np.ndarray:
    """Round to int16 steps of ``full_scale / 32768`` and clip at the range (same unit as x)."""
    lsb = full_scale / 32768.0
    return np.clip(np.round(x / lsb), -32768, 32767) * lsb


def nominal_mount(segment: str, side: str) -> np.ndarray:
    """Quaternion sensor frame -> anatomical segment frame for a neat placement.

    Thigh: sensor x along the femur towards the hip, z out of the lateral skin. Shin: sensor x
    along the tibia towards the knee, z out of the flat front-inner surface. Pelvis: on the
    sacrum, x towards the head, z out of the back. Trunk: on the sternum, x towards the head,
    z out of the chest.
    """
    s = 1.0 if side == "right" else -1.0
    x_ax, y_ax, z_ax = np.eye(3)
    if segment == "thigh":
        z = s * z_ax
    elif segment == "pelvis":
        z = -x_ax
    elif segment == "trunk":
        z = x_ax
    elif segment == "shin":
        z = x_ax - 0.7 * s * z_ax
        z = z / np.linalg.norm(z)
    else:
        raise ValueError(f"no nominal mount for segment {segment!r}")
    x = y_ax
    return Q.from_matrix(np.stack([x, np.cross(z, x), z], axis=1))


def random_mount(
    segment: str, side: str, rng: np.random.Generator, cone_deg: float | None
) -> np.ndarray:
    """A mount within ``cone_deg`` of the nominal one, or uniformly random ('any way up')
    when ``cone_deg`` is None."""
    if cone_deg is None:
        return Q.normalize(rng.normal(size=4))
    axis = rng.normal(size=3)
    tilt = np.radians(cone_deg) * np.sqrt(rng.uniform())
    return Q.multiply(nominal_mount(segment, side), Q.from_axis_angle(axis, tilt))


@dataclass(frozen=True)
class SensorErrors:
    """One sensor's drawn imperfections (SI units)."""

    gyro_bias: np.ndarray
    gyro_scale: np.ndarray
    acc_bias: np.ndarray
    acc_scale: np.ndarray
    hard_iron: np.ndarray
    clock_ppm: float


def draw_errors(m: ImuErrorModel, rng: np.random.Generator) -> SensorErrors:
    """Draw one sensor's constant errors from the model."""
    return SensorErrors(
        np.radians(m.gyro_bias_dps) * rng.normal(size=3),
        1 + m.gyro_scale * rng.normal(size=3),
        m.acc_bias * rng.normal(size=3),
        1 + m.acc_scale * rng.normal(size=3),
        m.mag_hard_iron_ut * rng.normal(size=3),
        float(np.clip(m.clock_ppm * rng.normal(), -3 * m.clock_ppm, 3 * m.clock_ppm)),
    )


def measure(
    t: np.ndarray,
    gyr_true: np.ndarray,
    acc_true: np.ndarray,
    q_true: np.ndarray,
    m: ImuErrorModel,
    e: SensorErrors,
    rng: np.random.Generator,
    with_mag: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Apply errors and quantisation to true body rate (rad/s), specific force (m/s²) and
    orientation (sensor -> world); returns measured gyr, acc, mag (µT or None)."""
    n = len(t)
    dt = np.diff(t, prepend=t[0])
    walk = np.cumsum(rng.normal(size=(n, 3)) * np.sqrt(dt)[:, None], axis=0)
    gyr = (
        gyr_true * e.gyro_scale
        + e.gyro_bias
        + np.radians(m.gyro_bias_walk_dps) * walk
        + np.radians(m.gyro_noise_dps) * rng.normal(size=(n, 3))
    )
    acc = acc_true * e.acc_scale + e.acc_bias + m.acc_noise * rng.normal(size=(n, 3))
    if m.quantised:
        gyr = np.radians(quantise(np.degrees(gyr), m.gyro_range_dps))
        acc = quantise(acc / G, m.acc_range_g) * G
    mag = None
    if with_mag:
        phase = rng.uniform(0, 2 * np.pi, 3)
        slow = np.sin(2 * np.pi * 0.05 * t[:, None] + phase)
        field_world = EARTH_FIELD_UT + m.mag_disturbance_ut * slow
        mag = Q.rotate(Q.conjugate(q_true), field_world) + e.hard_iron
        mag = mag + m.mag_noise_ut * rng.normal(size=(n, 3))
        if m.quantised:
            mag = quantise(mag, m.mag_range_ut)
    return gyr, acc, mag
