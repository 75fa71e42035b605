"""Simulated gyro calibration on a table: a sensor turned by whole turns on three faces.

The motion :mod:`imuhip.fusion.gyro_scale` expects: still, then for each face (x, y, z axis
up) lay the sensor down, keep it still, turn it ``turns`` whole turns about the vertical and put
it back against the edge (off by ``put_back_deg``, 1 sigma), keep it still. The readings go
through the same sensor model as a session (:func:`imuhip.sim.sensor_model.measure`), so a
session's sensor and its table calibration can share one draw of errors.
"""

from __future__ import annotations

import numpy as np

from imuhip import quaternion as Q
from imuhip.samples import ImuSamples
from imuhip.sim.sensor_model import G, ImuErrorModel, SensorErrors, measure

#: Orientation (sensor -> world) lying on each face: the sensor's x, y, then z axis up.
_FACES = (
    Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), -np.pi / 2),  # x up
    Q.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.pi / 2),  # y up
    np.array([1.0, 0.0, 0.0, 0.0]),  # z up
)


def _smooth(u: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero rate at both ends."""
    return 0.5 * (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0)))


def table_turns(
    errors: SensorErrors,
    model: ImuErrorModel,
    rng: np.random.Generator,
    *,
    rate_hz: float = 100.0,
    turns: int = 2,
    put_back_deg: float = 1.0,
    still_s: float = 2.5,
    turn_s: float = 3.0,
) -> ImuSamples:
    """Readings of one sensor (its drawn ``errors``) during the table procedure."""
    # keyframes: (duration, start orientation, end orientation as rotation vector step)
    q = _FACES[0]
    pieces: list[tuple[float, np.ndarray, np.ndarray]] = []  # (seconds, q_start, world step)
    pieces.append((still_s, q, np.zeros(3)))
    for k, face in enumerate(_FACES):
        if k:  # pick it up and lay it on the next face
            step = Q.to_rotvec(Q.multiply(face, Q.conjugate(q)))
            pieces.append((1.5, q, step))
            q = face
            pieces.append((still_s, q, np.zeros(3)))
        yaw = 2 * np.pi * turns + np.radians(put_back_deg) * rng.normal()
        pieces.append((turn_s * turns, q, np.array([0.0, 0.0, yaw])))
        q = Q.multiply(Q.from_rotvec(np.array([0.0, 0.0, yaw])), q)
        pieces.append((still_s, q, np.zeros(3)))
    total = sum(p[0] for p in pieces)
    t = np.arange(int(total * rate_hz)) / rate_hz

    def orientation(tt: np.ndarray) -> np.ndarray:
        out = np.empty((len(tt), 4))
        start = 0.0
        for k, (dur, q0, step) in enumerate(pieces):
            last = k == len(pieces) - 1
            m = (tt >= start) & ((tt < start + dur) | last)
            u = _smooth((tt[m] - start) / dur)
            out[m] = Q.multiply(Q.from_rotvec(u[:, None] * step), q0)
            start += dur
        return out

    h = 1e-4
    qt = orientation(t)
    gyr = Q.to_rotvec(Q.multiply(Q.conjugate(orientation(t - h)), orientation(t + h))) / (2 * h)
    acc = Q.rotate(Q.conjugate(qt), np.array([0.0, 0.0, G]))
    gyr_m, acc_m, _ = measure(t, gyr, acc, qt, model, errors, rng, with_mag=False)
    return ImuSamples(t, acc_m, gyr_m)
