"""Gyroscope scale factors from whole turns on a table (a once-per-sensor calibration).

A MEMS gyro reads each axis's rate a little too high or too low (1-3 % is common; no accessory
reference is needed to measure it). The hip angle's peak carries that error: a rep of 50° is
read up to a degree off, and neither gravity nor the knee's hinge can see it during the rep
(SIMULATED supine sessions with 1 % per axis: worst rep peak 1.6°; with 0.2 % left: 1.2°).

The procedure: lay the sensor on a table against a straight edge (a book), keep it still for
two seconds, turn it by whole turns (one or two) on the table back against the edge, keep it
still again; do that lying on each of three faces, so that each of its axes points up once.
Each turn is then a rotation of exactly ``360° × turns`` about the vertical, and the gyro's
integrated angle over it, against that, is the scale along the turn's axis (in the sensor's
frame).

:func:`find_turns` finds the turns (motion between still stretches whose integrated angle is a
whole number of turns about one axis and that ends where it began); :func:`estimate_gyro_scale`
solves ``along = Σ axis_i² · scale_i`` over the turns for the per-axis scales. The result goes
into the sensor's header entry (``SensorInfo.config["gyro_scale"]``, written by ``imuhip record``
from the saved sensor calibration), and the pipeline divides the gyro's readings by it, live
and from the file alike (:func:`correct_gyro`).

Accuracy: a turn put back 1° off the edge is 0.28 % off for one turn; two turns per face halve
that. The bias is taken from the still stretches on both sides of each turn.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip import quaternion as Q
from imuhip.errors import ImuhipError

#: Key of the per-axis scale (measured / true, 3 numbers) in a sensor's header config.
CONFIG_KEY = "gyro_scale"
#: Smoothed rate below which the sensor is still (°/s; above any plausible bias).
STILL_DPS = 4.0
#: Shortest still stretch between turns, s.
STILL_MIN_S = 1.0
#: Largest net rotation over a turn about axes across the turn's own, degrees: more means
#: the sensor did not come back onto the same face (the net rotation about the turn's axis is
#: the scale error itself plus how far off the edge it was put back).
MAX_TILT_DEG = 5.0
#: Smallest share of a turn's rotation about its mean axis (a turn on a table is about one).
MIN_AXIS_SHARE = 0.95
#: Largest plausible scale error: readings further off are refused as a failed procedure.
MAX_SCALE_ERROR = 0.1
#: Largest share of samples with a non-finite time or gyro value that may be left out.
MAX_LEFT_OUT = 0.01


class GyroScaleError(ImuhipError):
    """No usable turns, or a result no gyro can have."""


@dataclass(frozen=True)
class Turn:
    """One whole-turn rotation found in the data.

    Attributes:
        start_s, end_s: the motion between two still stretches, seconds.
        axis: (3,) unit rotation axis, sensor frame.
        turns: number of whole turns (signed about ``axis``: always positive).
        measured_deg: the gyro's integrated angle about ``axis``, degrees.
        net_deg: the net rotation from start to end, degrees (0 for a perfect put-back and a
            perfect gyro).
    """

    start_s: float
    end_s: float
    axis: np.ndarray
    turns: int
    measured_deg: float
    net_deg: float

    @property
    def scale(self) -> float:
        """Measured over true angle along ``axis``."""
        return self.measured_deg / (360.0 * self.turns)


@dataclass(frozen=True)
class GyroScale:
    """Per-axis gyro scale (measured / true) and what it rests on.

    Attributes:
        scale: (3,) per axis; 1 where an axis was never turned about (see ``axes_turned``).
        axes_turned: (3,) bool, which axes the turns determined.
        turns: the turns used.
        residual_pct: RMS misfit of the turns' scales to the per-axis model, percent.
        left_out: samples left out for a non-finite time or gyro value.
    """

    scale: np.ndarray
    axes_turned: np.ndarray
    turns: tuple[Turn, ...]
    residual_pct: float
    left_out: int = 0

    def as_config(self) -> list[float]:
        return [round(float(v), 6) for v in self.scale]

    def warnings(self) -> list[str]:
        out = []
        missing = [n for n, ok in zip("xyz", self.axes_turned, strict=True) if not ok]
        if missing:
            out.append(
                f"the sensor was never turned about its {', '.join(missing)} axis: lay it on "
                "another face and turn it (that axis keeps scale 1)"
            )
        if self.left_out:
            out.append(
                f"{self.left_out} samples with a non-finite time or gyro value were left out"
            )
        if self.residual_pct > 0.3:
            out.append(
                f"the turns disagree by {self.residual_pct:.2f} % (put back off the edge?): "
                "repeat them, two turns each"
            )
        return out


def _still_runs(t: np.ndarray, gyr: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [a, b) of still stretches at least ``STILL_MIN_S`` long."""
    rate = (len(t) - 1) / max(float(t[-1] - t[0]), 1e-9)
    k = max(1, round(0.25 * rate))
    speed = np.convolve(np.linalg.norm(gyr, axis=1), np.full(k, 1.0 / k), mode="same")
    still = speed < np.radians(STILL_DPS)
    edges = np.flatnonzero(np.diff(np.r_[0, still.astype(np.int8), 0]))
    return [
        (int(a), int(b))
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if t[b - 1] - t[a] >= STILL_MIN_S
    ]


def find_turns(t: np.ndarray, gyr: np.ndarray) -> list[Turn]:
    """Whole turns between still stretches (``t``: (N,) s; ``gyr``: (N, 3) rad/s)."""
    t = np.asarray(t, np.float64)
    gyr = np.asarray(gyr, np.float64)
    if len(t) < 3:
        return []
    runs = _still_runs(t, gyr)
    found = []
    for (a0, a1), (b0, b1) in itertools.pairwise(runs):
        # bias: the halves of the still stretches on both sides nearest the turn
        before = gyr[max(a0, a1 - round((a1 - a0) / 2)) : a1]
        after = gyr[b0 : min(b1, b0 + round((b1 - b0) / 2))]
        bias = 0.5 * (before.mean(axis=0) + after.mean(axis=0))
        w = gyr[a1 - 1 : b0 + 1] - bias
        dt = np.diff(t[a1 - 1 : b0 + 1], prepend=t[a1 - 1])
        rot = w * dt[:, None]
        total = rot.sum(axis=0)
        if not np.linalg.norm(total) > 0:
            continue
        axis = total / np.linalg.norm(total)
        along = float(np.sum(rot @ axis))
        share = along / max(float(np.linalg.norm(rot, axis=1).sum()), 1e-12)
        turns = round(along / (2 * np.pi))
        if turns < 1 or share < MIN_AXIS_SHARE:
            continue
        if abs(along / (2 * np.pi * turns) - 1.0) > MAX_SCALE_ERROR:
            continue  # not whole turns (half a turn more or less is no gyro error)
        net = Q.from_rotvec(rot[:1])[0]
        steps = Q.from_rotvec(rot[1:])
        for s in steps:
            net = Q.multiply(net, s)
        rv = Q.to_rotvec(net)
        tilt_deg = float(np.degrees(np.linalg.norm(rv - (rv @ axis) * axis)))
        if tilt_deg > MAX_TILT_DEG:
            continue
        net_deg = float(np.degrees(np.linalg.norm(rv)))
        found.append(
            Turn(float(t[a1]), float(t[b0]), axis, turns, float(np.degrees(along)), net_deg)
        )
    return found


def estimate_gyro_scale(t: np.ndarray, gyr: np.ndarray) -> GyroScale:
    """Per-axis gyro scale from a recording of whole turns on a table (module docstring).

    Samples with a non-finite time or gyro value are left out (counted in ``left_out``); the
    turns' integrals bridge them.

    Raises:
        GyroScaleError: more than ``MAX_LEFT_OUT`` of the samples non-finite, no whole turns
            found, or a scale more than 10 % off.
    """
    t = np.asarray(t, np.float64)
    gyr = np.asarray(gyr, np.float64)
    ok = np.isfinite(t) & np.isfinite(gyr).all(axis=1)
    left_out = int(len(t) - ok.sum())
    if left_out > MAX_LEFT_OUT * len(t):
        raise GyroScaleError(
            f"{left_out} of {len(t)} samples have a non-finite time or gyro value: record "
            "the turns again"
        )
    if left_out:
        t, gyr = t[ok], gyr[ok]
    turns = find_turns(t, gyr)
    if not turns:
        raise GyroScaleError(
            "no whole turns found: keep the sensor still for 2 s, turn it by one or two whole "
            "turns flat on the table, put it back against the same edge and keep it still again"
        )
    rows = np.array([tr.axis**2 for tr in turns])
    along = np.array([tr.scale for tr in turns])
    weight = np.sqrt([tr.turns for tr in turns])  # more turns: a put-back error counts less
    turned = (rows * weight[:, None] ** 2).sum(axis=0) >= 0.5
    scale = np.ones(3)
    rhs = along - rows[:, ~turned].sum(axis=1)  # axes never turned about keep scale 1
    a = rows[:, turned] * weight[:, None]
    sol, *_ = np.linalg.lstsq(a, rhs * weight, rcond=None)
    scale[turned] = sol
    if np.any(np.abs(scale - 1.0) > MAX_SCALE_ERROR):
        raise GyroScaleError(
            f"the turns give gyro scales {np.round(scale, 3).tolist()}, more than "
            f"{100 * MAX_SCALE_ERROR:.0f} % off: were the turns whole, flat on the table?"
        )
    resid = along - rows @ scale
    rms = float(100 * np.sqrt(np.mean(resid**2)))
    return GyroScale(scale, turned, tuple(turns), rms, left_out)


def scale_from_config(config: Mapping[str, Any]) -> np.ndarray | None:
    """The per-axis scale in a sensor's header config, or None. Raises :class:`GyroScaleError`
    for a malformed entry (a file edited by hand: better an error than wrong angles)."""
    raw = config.get(CONFIG_KEY)
    if raw is None:
        return None
    try:
        scale = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        scale = np.empty(0)
    if scale.shape != (3,) or not np.all(np.abs(scale - 1.0) <= MAX_SCALE_ERROR):
        raise GyroScaleError(
            f"the sensor's {CONFIG_KEY!r} entry must be 3 numbers within "
            f"{100 * MAX_SCALE_ERROR:.0f} % of 1, got {raw!r}"
        )
    return scale


def correct_gyro(gyr: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """Rates (N, 3) rad/s with the per-axis ``scale`` (measured / true) taken out."""
    return gyr if scale is None else gyr / scale
