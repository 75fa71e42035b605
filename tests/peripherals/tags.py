"""The test-data trick of the float-valued peripherals (Movesense, Movella DOT): the sample
counter and the process number ride in the low 12 mantissa bits of the three accelerometer
float32 values (x: k & 0xFFF, y: (k >> 12) & 0xFFF, z: run & 0xFFF), so the values stay
within about 2^-11 of the smooth test signal and the test can tell exactly which samples
arrived (k below 2^24)."""

from __future__ import annotations

import struct

MASK = 0xFFF


def tagged_f32(values: tuple[float, float, float], k: int, run: int) -> bytes:
    """Three little-endian float32 of ``values`` with ``(k, run)`` in their low mantissa bits."""
    fields = (k & MASK, (k >> 12) & MASK, run & MASK)
    out = b""
    for v, f in zip(values, fields, strict=True):
        (u,) = struct.unpack("<I", struct.pack("<f", v))
        out += struct.pack("<I", (u & ~MASK) | f)
    return out


def read_tag(raw12: bytes) -> tuple[int, int]:
    """(run, k) of 12 bytes made by :func:`tagged_f32`."""
    x, y, z = struct.unpack("<III", raw12[:12])
    return z & MASK, (x & MASK) | ((y & MASK) << 12)
