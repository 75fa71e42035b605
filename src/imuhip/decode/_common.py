"""Small helpers shared by the vendor decoder modules (no protocol knowledge here)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from imuhip.errors import DecoderConfigError
from imuhip.samples import ChannelBlock, ChannelKind

#: Standard gravity, m/s² per g.
G = 9.80665
#: Radians per degree.
DEG = np.pi / 180.0


#: Sample rates a decoder accepts in its config, Hz (anything outside is a damaged setting).
RATE_LIMITS_HZ = (0.01, 100_000.0)


def _as_number(value: Any) -> float:
    """``value`` as a float when it is a real number (not a bool); NaN otherwise, infinity for
    an int too large for a float."""
    if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
        value, bool | np.bool_
    ):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf


def config_rate(
    config: Mapping[str, Any],
    default: float,
    profile: str,
    key: str = "rate_hz",
    label: str | None = None,
) -> float:
    """The sample rate ``config[key]`` in Hz, validated.

    Missing, ``None`` or ``0`` (the session header's "not known") give ``default``. A real
    number within :data:`RATE_LIMITS_HZ` is returned as a float. Anything else (a string, a
    bool, NaN, ±inf, a negative number, 1e9, 1e-9, an int too large for a float) raises
    :class:`~imuhip.errors.DecoderConfigError` naming the profile, the field (``label``,
    default ``key``) and the value.
    """
    value = config.get(key)
    if value is None:
        return float(default)
    rate = _as_number(value)
    if rate == 0.0:
        return float(default)
    lo, hi = RATE_LIMITS_HZ
    if not lo <= rate <= hi:  # also catches NaN
        raise DecoderConfigError(
            f"{profile} decoder: setting {label or key}={_shown(value)} is not a usable "
            f"sample rate (a number of Hz from {lo:g} to {hi:g}); correct the sensor's rate in the "
            "session header or pair the sensor again"
        )
    return rate


def config_number(
    config: Mapping[str, Any],
    key: str,
    default: float,
    profile: str,
    limits: tuple[float, float],
    label: str | None = None,
) -> float:
    """A numeric decoder setting ``config[key]`` (a range, a scale factor, a bit count).

    Missing or ``None`` gives ``default``; a real number within ``limits`` (inclusive) is
    returned as a float; anything else raises :class:`~imuhip.errors.DecoderConfigError`
    naming the profile, the field (``label``, default ``key``) and the value.
    """
    value = config.get(key)
    if value is None:
        return float(default)
    number = _as_number(value)
    lo, hi = limits
    if not lo <= number <= hi:  # also catches NaN
        raise DecoderConfigError(
            f"{profile} decoder: setting {label or key}={_shown(value)} is not usable "
            f"(a number from {lo:g} to {hi:g})"
        )
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


class EncodedNotification(NamedTuple):
    """One notification produced by an encoder: send time (s), channel index, payload."""

    t: float
    channel: int
    data: bytes
