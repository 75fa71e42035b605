"""Small helpers shared by the vendor decoder modules (no protocol knowledge here)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from imuhip.samples import ChannelBlock, ChannelKind

#: Standard gravity, m/s² per g.
G = 9.80665
#: Radians per degree.
DEG = np.pi / 180.0


def block(kind: ChannelKind, t: np.ndarray, values: np.ndarray, sensor_clock: bool) -> ChannelBlock:
    """A :class:`ChannelBlock` with float64 ``(n,)`` times and ``(n, 3)`` values."""
    return ChannelBlock(
        kind,
        np.ascontiguousarray(t, dtype=np.float64).reshape(-1),
        np.ascontiguousarray(values, dtype=np.float64).reshape(-1, 3),
        sensor_clock,
    )


def merge_blocks(blocks: Iterable[ChannelBlock]) -> list[ChannelBlock]:
    """Concatenate blocks per (kind, sensor_clock), keeping the order of first appearance.

    Vectorised ``decode_many`` paths return one block per channel kind; this turns the output of
    sequential ``feed`` calls into the same shape, so both can be compared or mixed.
    """
    groups: dict[tuple[str, bool], list[ChannelBlock]] = {}
    for b in blocks:
        if len(b.t):
            groups.setdefault((b.kind, b.sensor_clock), []).append(b)
    out = []
    for (_kind, clock), parts in groups.items():
        if len(parts) == 1:
            out.append(parts[0])
        else:
            out.append(
                ChannelBlock(
                    parts[0].kind,
                    np.concatenate([p.t for p in parts]),
                    np.concatenate([p.values for p in parts]),
                    clock,
                )
            )
    return out


def norm_uuid(u: str) -> str:
    """Lower-case 128-bit UUID string (16-bit forms expanded with the Bluetooth base UUID)."""
    u = u.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4}", u):
        return f"0000{u}-0000-1000-8000-00805f9a34fb"
    return u


def quantise(values: np.ndarray, scale: float, bits: int = 16) -> np.ndarray:
    """``round(values * scale)`` clipped to the signed ``bits`` range, as int64."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = np.rint(np.asarray(values, dtype=np.float64) * scale)
    v = np.nan_to_num(v, nan=0.0, posinf=hi, neginf=lo)
    return np.clip(v, lo, hi).astype(np.int64)


class Notification(NamedTuple):
    """One notification produced by an encoder: send time (s), channel index, payload."""

    t: float
    channel: int
    data: bytes
