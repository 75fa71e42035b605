"""An orientation filter run over a stretch of a sensor's samples that has lost samples in it.

Inside a lost stretch the filter gets no input: its orientation is held (no motion is invented
and no false gyro bias learnt, as feeding zeros would teach VQF). At the first sample after
each lost stretch it is levelled from the accelerometer: the turn it missed shows in its tilt,
which the accelerometer correction alone would take tens of seconds to remove.
"""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np


class HoldingFilter(Protocol):
    """What :func:`update_through_losses` needs of a filter (``OrientationFilter``,
    ``VendorOrientation``)."""

    def update(self, gyr: np.ndarray, acc: np.ndarray) -> np.ndarray: ...

    def hold(self, n: int) -> np.ndarray: ...

    def level(self, acc: np.ndarray) -> None: ...


def update_through_losses(
    f: HoldingFilter, gyr: np.ndarray, acc: np.ndarray, lost: np.ndarray, was_lost: bool
) -> np.ndarray:
    """Orientations (n, 4), sensor to ENU, of ``f`` over rates ``gyr`` (n, 3) rad/s and
    specific forces ``acc`` (n, 3) m/s², sensor frame, where ``lost`` (n,) marks the samples
    the sensor lost; ``was_lost``: whether the sample before this stretch was lost (then the
    first sample is levelled). The caller keeps ``bool(lost[-1])`` for the next stretch."""
    lost = np.asarray(lost, dtype=bool)
    if not len(lost):
        return np.empty((0, 4))
    if not was_lost and not lost.any():
        return f.update(gyr, acc)
    edges = np.flatnonzero(np.diff(np.r_[was_lost, lost].astype(np.int8)))
    parts = []
    for a, b in itertools.pairwise([0, *edges.tolist(), len(lost)]):
        if b <= a:
            continue
        if lost[a]:
            parts.append(f.hold(b - a))
            continue
        if a > 0 or was_lost:
            f.level(acc[a])
        parts.append(f.update(gyr[a:b], acc[a:b]))
    return np.concatenate(parts)
