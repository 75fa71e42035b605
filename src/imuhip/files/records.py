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
from typing import BinaryIO

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


class _Window:
    """A sliding window over a binary file: the bytes from ``base`` on, read in chunks."""

    def __init__(self, f: BinaryIO, base: int, chunk: int) -> None:
        self.f = f
        self.base = base
        self.buf = b""
        #: file offset just after the last byte read so far
        self.stop = base
        self.eof = False
        self.chunk = chunk

    def fill(self, upto: int, keep_from: int) -> bool:
        """Read until the window holds the bytes before ``upto`` (dropping those before
        ``keep_from``); False when the file ends first."""
        if self.stop >= upto:
            return True
        if keep_from > self.base:  # only when reading on: one copy of the tail per chunk
            self.buf = self.buf[keep_from - self.base :]
            self.base = keep_from
        while self.stop < upto and not self.eof:
            more = self.f.read(max(self.chunk, upto - self.stop))
            if not more:
                self.eof = True
                break
            self.buf += more
            self.stop = self.base + len(self.buf)
        return self.stop >= upto

    def take(self, a: int, b: int) -> bytes:
        """A copy of the file's bytes ``a:b`` (inside the window)."""
        return self.buf[a - self.base : b - self.base]

    def find(self, sub: bytes, start: int) -> int:
        """File offset of the next ``sub`` at or after ``start``, or -1 at the end of file."""
        while True:
            self.fill(start + len(sub), start)
            i = self.buf.find(sub, start - self.base)
            if i != -1:
                return self.base + i
            if self.eof:
                return -1
            start = max(start, self.stop - len(sub) + 1)
            self.fill(self.stop + self.chunk, start)


def _check_at(w: _Window, pos: int) -> tuple[int, int] | str:
    """(kind, length) of a valid record at file offset ``pos``, or the reason it is not one.

    Unpacks straight from the window's bytes (no copies of the head or the checksum); reads
    on only when the window does not hold the whole record yet."""
    if pos + HEAD_SIZE + CRC_SIZE > w.stop and not w.fill(pos + HEAD_SIZE + CRC_SIZE, pos):
        return "incomplete record"
    sync, kind, length = _HEAD.unpack_from(w.buf, pos - w.base)
    if sync != SYNC:
        return "no record marker"
    if length > MAX_PAYLOAD:
        return "impossible record length"
    after = pos + HEAD_SIZE + length + CRC_SIZE
    if after > w.stop and not w.fill(after, pos):
        return "incomplete record"
    buf = w.buf
    i = pos - w.base
    end = i + HEAD_SIZE + length
    # the checksum covers kind, length and payload: the bytes after the sync, in one piece
    if zlib.crc32(memoryview(buf)[i + len(SYNC) : end]) != _CRC.unpack_from(buf, end)[0]:
        return "checksum mismatch"
    return kind, length


def scan_file(f: BinaryIO, start: int = len(MAGIC), chunk: int = 1 << 16) -> Iterator[Record | Gap]:
    """:func:`scan` of an open binary file positioned at offset ``start``, reading it in
    pieces of about ``chunk`` bytes: what it holds is a window of the file around the current
    record (a record is at most ``MAX_PAYLOAD``), not the file. Yields the same records and
    gaps as :func:`scan` of the file's bytes; each record's payload is its own copy."""
    w = _Window(f, start, chunk)
    pos = start
    while True:
        if pos >= w.stop and not w.fill(pos + 1, pos):
            return
        got = _check_at(w, pos)
        if not isinstance(got, str):
            kind, length = got
            body = w.take(pos + HEAD_SIZE, pos + HEAD_SIZE + length)
            yield Record(pos, kind, memoryview(body))
            pos += HEAD_SIZE + length + CRC_SIZE
            continue
        reason = got
        nxt = w.find(SYNC, pos + 1)
        while nxt != -1 and isinstance(_check_at(w, nxt), str):
            nxt = w.find(SYNC, nxt + 1)
        if nxt == -1:
            w.fill(w.stop + 1, w.stop)  # to the end of the file
            yield Gap(pos, w.stop - pos, reason, at_end=True)
            return
        yield Gap(pos, nxt - pos, reason, at_end=False)
        pos = nxt


def payload_at(f: BinaryIO, offset: int) -> bytes:
    """The payload of the record whose sync bytes are at file offset ``offset`` (one found
    valid before: it is not checked again), read again from the open binary file ``f``;
    ``f``'s position is kept, so a :func:`scan_file` of it reads on undisturbed."""
    here = f.tell()
    try:
        f.seek(offset)
        _, _, length = _HEAD.unpack(f.read(HEAD_SIZE))
        return f.read(length)
    finally:
        f.seek(here)
