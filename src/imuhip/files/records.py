"""Record framing of imuhip session files: append-only, checksummed, resynchronisable.

File layout::

    MAGIC (8 bytes)  record  record  record ...

    record := SYNC (2)  kind (u8)  length (u32 LE)  payload (length bytes)  crc32 (u32 LE)

The CRC-32 covers kind, length and payload. A reader that meets a bad record (wrong sync, absurd
length, checksum mismatch) searches forward for the next offset where a complete record with a
valid checksum starts, reports the skipped bytes as damaged and goes on. Bytes at the end that do
not form a complete record are reported as a truncated tail. Nothing in a file is ever executed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"\x89IMUHIP\n"
SYNC = b"\xe7\x5c"
_HEAD = struct.Struct("<2sBI")
_CRC = struct.Struct("<I")
HEAD_SIZE = _HEAD.size
CRC_SIZE = _CRC.size
#: Largest payload a reader accepts; anything larger is treated as damage.
MAX_PAYLOAD = 64 * 1024 * 1024


class Kind(IntEnum):
    """Record kinds. Unknown kinds with a valid checksum are skipped by readers (forward use)."""

    HEADER = 1
    SAMPLES = 2
    NOTIFICATIONS = 3
    EVENT = 4
    ORIENTATION = 5  # a sensor's vendor orientation (format version 2)


def encode(kind: int, payload: bytes) -> bytes:
    """One framed record."""
    head = _HEAD.pack(SYNC, kind, len(payload))
    crc = zlib.crc32(payload, zlib.crc32(head[2:]))
    return b"".join((head, payload, _CRC.pack(crc)))


@dataclass(frozen=True)
class Record:
    """A valid record found at ``offset`` (of its sync bytes)."""

    offset: int
    kind: int
    payload: memoryview


@dataclass(frozen=True)
class Gap:
    """Bytes that are not a valid record. ``at_end`` marks a truncated tail."""

    offset: int
    length: int
    reason: str
    at_end: bool


def _check(buf: memoryview, pos: int) -> tuple[int, int] | str:
    """(kind, length) of a valid record at ``pos``, or the reason it is not one."""
    end = len(buf)
    if end - pos < HEAD_SIZE + CRC_SIZE:
        return "incomplete record"
    sync, kind, length = _HEAD.unpack_from(buf, pos)
    if sync != SYNC:
        return "no record marker"
    if length > MAX_PAYLOAD:
        return "impossible record length"
    stop = pos + HEAD_SIZE + length
    if stop + CRC_SIZE > end:
        return "incomplete record"
    (crc,) = _CRC.unpack_from(buf, stop)
    if zlib.crc32(buf[pos + HEAD_SIZE : stop], zlib.crc32(buf[pos + 2 : pos + HEAD_SIZE])) != crc:
        return "checksum mismatch"
    return kind, length


def scan(data: bytes | memoryview, start: int = len(MAGIC)) -> Iterator[Record | Gap]:
    """Yield every valid record and every unreadable gap, in file order, from ``start``."""
    buf = memoryview(data)
    raw = bytes(buf) if not isinstance(data, bytes) else data
    end = len(buf)
    pos = start
    while pos < end:
        got = _check(buf, pos)
        if not isinstance(got, str):
            kind, length = got
            yield Record(pos, kind, buf[pos + HEAD_SIZE : pos + HEAD_SIZE + length])
            pos += HEAD_SIZE + length + CRC_SIZE
            continue
        reason = got
        nxt = raw.find(SYNC, pos + 1)
        while nxt != -1 and isinstance(_check(buf, nxt), str):
            nxt = raw.find(SYNC, nxt + 1)
        if nxt == -1:
            yield Gap(pos, end - pos, reason, at_end=True)
            return
        yield Gap(pos, nxt - pos, reason, at_end=False)
        pos = nxt
