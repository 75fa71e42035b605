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


def quantise(x: np.ndarray, full_scale: float) -> np.ndarray:
    """Round to int16 steps of ``full_scale / 32768`` and clip at the range (same unit as x)."""
    lsb = full_scale / 32768.0
    return np.clip(np.round(x / lsb), -32768, 32767) * lsb


def nominal_mount(segment: str, side: str) -> np.ndarray:
    """Quaternion sensor frame -> anatomical segment frame for a neat placement.

    Thigh: sensor x along the femur towards the hip, z out of the lateral skin. Shin: sensor x
    along the tibia towards the knee, z out of the flat front-inner surface. Pelvis: on the
    sacrum, x towards the head, z out of the back.
    """
    s = 1.0 if side == "right" else -1.0
    x_ax, y_ax, z_ax = np.eye(3)
    if segment == "thigh":
        z = s * z_ax
    elif segment == "pelvis":
        z = -x_ax
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
