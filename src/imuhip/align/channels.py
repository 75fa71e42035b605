"""Merge decoded channel blocks of one sensor into one :class:`ImuSamples` stream.

The gyroscope's sample times are the stream's time base; accelerometer and magnetometer samples
taken at other instants (Polar sends each channel in its own frames with its own timestamps) are
linearly interpolated onto them. Nothing is extrapolated: gyro samples outside the time span
covered by the accelerometer are dropped, and the count is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.samples import ChannelBlock, ImuSamples


@dataclass(frozen=True)
class MergeResult:
    samples: ImuSamples
    sensor_clock: bool
    duplicates_dropped: int
    outside_dropped: int


def _stack(blocks: list[ChannelBlock], kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    sel = [b for b in blocks if b.kind == kind and len(b.t)]
    if not sel:
        return None
    if len(sel) == 1:
        t, v = sel[0].t, sel[0].values
    else:
        t = np.concatenate([b.t for b in sel])
        v = np.concatenate([b.values for b in sel])
    if np.all(t[1:] >= t[:-1]):  # already in order (the usual case): no sort, no copy
        return t, v
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _unique(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    keep = np.ones(len(t), bool)
    keep[1:] = t[1:] > t[:-1]
    if keep.all():
        return t, v, 0
    return t[keep], v[keep], int((~keep).sum())


def merge_channels(blocks: list[ChannelBlock]) -> MergeResult:
    """One stream from the blocks of one sensor (any order; sorted by time here)."""
    empty = ImuSamples(np.empty(0), np.empty((0, 3)), np.empty((0, 3)))
    gyr = _stack(blocks, "gyr")
    acc = _stack(blocks, "acc")
    if gyr is None or acc is None:
        return MergeResult(empty, False, 0, 0)
    sensor_clock = all(b.sensor_clock for b in blocks if b.kind in ("acc", "gyr"))
    tg, vg, dup = _unique(*gyr)
    ta, va, dup_a = _unique(*acc)
    mag = _stack(blocks, "mag")
    inside = (tg >= ta[0]) & (tg <= ta[-1])
    if mag is not None:
        tm, vm, _ = _unique(*mag)
        inside &= (tg >= tm[0]) & (tg <= tm[-1])
    outside = int((~inside).sum())
    if outside:
        tg, vg = tg[inside], vg[inside]
    acc_on_g = _resample(ta, va, tg)
    mag_on_g = None if mag is None else _resample(tm, vm, tg)
    samples = ImuSamples(tg, acc_on_g, vg, mag_on_g)
    return MergeResult(samples, sensor_clock, dup + dup_a, outside)


def _resample(t: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
    if len(t) == len(at) and np.array_equal(t, at):
        return v
    return np.stack([np.interp(at, t, v[:, k]) for k in range(3)], axis=1)
