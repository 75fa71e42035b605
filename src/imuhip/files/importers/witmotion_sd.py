"""WitMotion WT901SD SD-card logs: binary 11-byte frames, no time.

Each frame is ``55 TT d0..d7 SUM`` with ``SUM`` the low byte of the sum of the first ten bytes;
``TT`` 0x51 acceleration (int16 LE x, y, z ÷ 32768 × 16 g, then temperature), 0x52 angular rate
(÷ 32768 × 2000 °/s), 0x53 angle (÷ 32768 × 180°), 0x54 magnetic field (unit not documented:
not imported). One output cycle starts with its 0x51 frame. The log carries no time: sample
``k`` is at ``k / rate`` with the rate the user gives (``--rate``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import (
    DEG,
    STANDARD_GRAVITY,
    Channel,
    ClockDomain,
    FileContents,
    ImportFormat,
    ImportOptions,
    TimeOrigin,
    gaps_from_indices,
)

FORMAT = ImportFormat.WITMOTION_SD
FRAME = 11
ACC, GYR, ANGLE, MAG = 0x51, 0x52, 0x53, 0x54


def _valid(buf: bytes, i: int) -> bool:
    return (
        i + FRAME <= len(buf)
        and buf[i] == 0x55
        and 0x50 <= buf[i + 1] <= 0x5F
        and (sum(buf[i : i + 10]) & 0xFF) == buf[i + 10]
    )


def sniff(raw: bytes) -> bool:
    """Three checksummed frames in a row within the first 256 bytes."""
    head = raw[: 256 + 3 * FRAME]
    for i in range(min(256, len(head))):
        if all(_valid(head, i + k * FRAME) for k in range(3)):
            return True
    return False


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Decode the frames; frames with a bad checksum are skipped and counted."""
    if not options.rate_hz:
        raise CsvImportError(
            f"{path}: a WitMotion SD-card log has no time stamps; give the rate it was recorded "
            "at with --rate HZ (the sensor's output rate setting, e.g. --rate 100)"
        )
    if not 1.0 <= options.rate_hz <= 1000.0:
        raise CsvImportError(f"--rate {options.rate_hz:g} Hz is outside 1-1000 Hz")
    buf = bytes(raw)
    n = len(buf)
    i = 0
    bad = 0
    cycles: list[dict[int, bytes]] = []
    frame_no: list[int] = []
    cur: dict[int, bytes] | None = None
    count = 0
    while i + FRAME <= n:
        if not _valid(buf, i):
            if buf[i] == 0x55:
                bad += 1
            i += 1
            continue
        kind = buf[i + 1]
        count += 1
        if kind == ACC or cur is None or kind in cur:
            cur = {}
            cycles.append(cur)
            frame_no.append(count)
        cur[kind] = buf[i + 2 : i + 8]
        i += FRAME
    if not cycles:
        raise CsvImportError(f"{path}: no WitMotion frames (55 51 ...) found")
    have = np.array([ACC in c and GYR in c for c in cycles])
    if not have.any():
        kinds = sorted({k for c in cycles for k in c})
        raise CsvImportError(
            f"{path}: the log has no cycle with both acceleration (0x51) and angular rate "
            f"(0x52) frames (found frame types {', '.join(f'0x{k:02X}' for k in kinds)}); set "
            "the sensor's SD output content to include acceleration and angular velocity"
        )
    k = np.flatnonzero(have)
    a = np.frombuffer(b"".join(cycles[j][ACC] for j in k), dtype="<i2").reshape(-1, 3)
    g = np.frombuffer(b"".join(cycles[j][GYR] for j in k), dtype="<i2").reshape(-1, 3)
    t = k / float(options.rate_hz)
    frames = np.asarray(frame_no, dtype=np.int64)[k]
    gaps = gaps_from_indices(k, frames, t)
    notes = []
    if bad:
        notes.append(f"{path.name}: {bad} frame(s) with a bad checksum skipped")
    if any(MAG in c for c in cycles):
        notes.append(f"{path.name}: magnetometer frames (0x54) not imported (unit undocumented)")
    found = (
        f"WitMotion SD-card log ({len(cycles)} output cycles, "
        f"{int(have.sum())} with acceleration and angular rate)"
    )
    return FileContents(
        path,
        FORMAT,
        (
            Channel("acc", t, a / 32768.0 * 16.0 * STANDARD_GRAVITY, frames),
            Channel("gyr", t, g / 32768.0 * 2000.0 * DEG, frames),
        ),
        TimeOrigin(ClockDomain.NONE),
        found,
        gaps=gaps,
        notes=tuple(notes),
        location="frame",
    )


def encode_frames(acc_g: np.ndarray, gyr_dps: np.ndarray) -> bytes:
    """SD-log bytes for the given samples (acc in g, gyro in °/s): 0x51, 0x52 per cycle.

    For tests and examples; the inverse of :func:`read` up to int16 quantisation.
    """
    out = bytearray()
    a = np.clip(np.round(np.asarray(acc_g) / 16.0 * 32768), -32768, 32767).astype("<i2")
    g = np.clip(np.round(np.asarray(gyr_dps) / 2000.0 * 32768), -32768, 32767).astype("<i2")
    for ra, rg in zip(a, g, strict=True):
        for kind, r in ((ACC, ra), (GYR, rg)):
            body = bytes([0x55, kind]) + r.tobytes() + b"\x00\x00"
            out += body + bytes([sum(body) & 0xFF])
    return bytes(out)
