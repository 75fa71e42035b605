"""Session files: the one on-disk format for live recordings, imports and simulations.

See ``docs/session-format.md`` for the byte-level description. In short: a magic string, then
checksummed records (:mod:`imuhip.files.records`) appended in time order: one header record
(JSON), then blocks of decoded samples, blocks of raw notifications and events (JSON).

The writer buffers data per sensor and writes a block at least every ``flush_interval_s``
(default 0.5 s) and on every event, flushing the OS buffers each time (and ``fsync``-ing when
``durable``), so a killed program loses at most the last flush interval. The reader accepts files
cut off at any byte and files with damaged records in the middle, and reports both.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import os
import struct
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, overload

import numpy as np

from imuhip import __version__
from imuhip.atomic import atomic_write
from imuhip.errors import HeaderValueError, SessionFileError, SessionFormatVersionError
from imuhip.files import records
from imuhip.files.records import Kind
from imuhip.fusion.vendor import orientation_of, usable_quaternions, vendor_samples
from imuhip.samples import ImuSamples, OrientationSamples
from imuhip.session import (
    ROLES,
    DamagedRegion,
    Event,
    Notification,
    NotificationBlock,
    Notifications,
    OrderIssue,
    OrderProblem,
    ReadReport,
    SampleBlock,
    SensorInfo,
    Session,
    SessionHeader,
    SessionInput,
    SessionSummary,
    sample_block_bounds,
)

FORMAT_NAME = "imuhip-session"
FORMAT_VERSION = 2
#: Files without vendor orientation records are written as version 1 (readable by every
#: imuhip); version 2 adds the orientation record (kind 5) for sensors whose config says
#: ``ORIENTATION_SOURCE_KEY: "vendor"``, so an older imuhip refuses such a file
#: ("newer than this imuhip supports") instead of skipping the records and losing the sensor.
VERSION_PLAIN = 1
#: Sensor config key marking a sensor stored as its vendor's orientation (value "vendor").
ORIENTATION_SOURCE_KEY = "orientation_source"
SUFFIX = ".imuhip"

_BLOCK = struct.Struct("<BBI")  # sensor index, flags / reserved, count
_HAS_MAG = 0x01
_HAS_FREE_ACC = 0x01  # orientation blocks

#: Longest stretch of one sensor's time (seconds) that one data record covers: a damaged record
#: costs at most about this much of one sensor.
MAX_RECORD_S = 1.0


def block_bounds(
    t: np.ndarray,
    max_n: int,
    max_s: float = MAX_RECORD_S,
    *,
    from_previous: bool = False,
    before: float | None = None,
) -> list[tuple[int, int]]:
    """Split one sensor's times into records: ``[(a, b), ...]`` index ranges of at most
    ``max_n`` items whose times (seconds, non-decreasing) span less than ``max_s``.

    ``from_previous``: the span starts at the item before the range (notifications: each one
    carries the samples measured since the one before); ``before`` is the time of the item
    before ``t[0]``, if any. Every range holds at least one item, so times that jump further
    than ``max_s`` still make progress.
    """
    t = np.asarray(t, np.float64)
    n = len(t)
    out: list[tuple[int, int]] = []
    a = 0
    while a < n:
        if not from_previous:
            start = t[a]
        elif a > 0:
            start = t[a - 1]
        else:
            start = t[0] if before is None else min(before, t[0])
        cut = int(np.searchsorted(t, start + max_s, side="left"))
        b = max(a + 1, min(a + max_n, n, cut))
        out.append((a, b))
        a = b
    return out


class SessionFileWarning(UserWarning):
    """A session file was read, but part of it was damaged or missing."""


# --------------------------------------------------------------------------- payload codecs


def vendor_orientation_roles(header: SessionHeader) -> tuple[str, ...]:
    """Roles stored as their vendor's orientation (orientation records, format version 2)."""
    return tuple(s.role for s in header.sensors if s.config.get(ORIENTATION_SOURCE_KEY) == "vendor")


def _header_payload(header: SessionHeader) -> bytes:
    version = FORMAT_VERSION if vendor_orientation_roles(header) else VERSION_PLAIN
    doc = {"format": FORMAT_NAME, "format_version": version, **asdict(header)}
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


_SENSOR_FIELDS = ("role", "profile", "address", "name", "firmware", "rate_hz", "config")


def _parse_header(payload: memoryview) -> SessionHeader:
    """The header record's JSON as a :class:`SessionHeader`, every field type- and
    range-checked (:class:`SessionFileError` naming the field and the value otherwise)."""
    try:
        doc = json.loads(bytes(payload))
    except (ValueError, RecursionError) as exc:
        raise SessionFileError(f"the session header is not readable JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise SessionFileError("the first record is not an imuhip session header")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SessionFileError(
            f"the session header is invalid: format_version must be a whole number from 1, "
            f"got {version!r}"[:200]
        )
    if version > FORMAT_VERSION:
        raise SessionFormatVersionError(
            f"session format version {version} is newer than this imuhip supports "
            f"({FORMAT_VERSION}); upgrade imuhip to read it"
        )
    try:
        for key in ("side", "exercise", "sensors", "created_utc", "imuhip_version"):
            if key not in doc:
                raise HeaderValueError(f"{key} is missing")
        raw = doc["sensors"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= len(ROLES):
            raise HeaderValueError(
                f"sensors must be a list of 1 to {len(ROLES)} sensors, got {str(raw)[:60]!r}"
            )
        sensors = []
        for i, s in enumerate(raw):
            if not isinstance(s, dict):
                raise HeaderValueError(f"sensors[{i}] must be an object, got {str(s)[:60]!r}")
            if "role" not in s:
                raise HeaderValueError(f"sensors[{i}]: role is missing")
            sensors.append(SensorInfo(**{k: s[k] for k in _SENSOR_FIELDS if k in s}))
        return SessionHeader(
            side=doc["side"],
            exercise=doc["exercise"],
            sensors=tuple(sensors),
            created_utc=doc["created_utc"],
            imuhip_version=doc["imuhip_version"],
            time_base=doc.get("time_base", ""),
            extra=doc.get("extra", {}),
        )
    except HeaderValueError as exc:
        raise SessionFileError(f"the session header is invalid: {exc}") from None


def _samples_payload(index: int, s: ImuSamples) -> bytes:
    flags = _HAS_MAG if s.mag is not None else 0
    parts = [_BLOCK.pack(index, flags, len(s)), s.t.astype("<f8").tobytes()]
    parts += [a.astype("<f8").tobytes() for a in (s.acc, s.gyr) + ((s.mag,) if flags else ())]
    return b"".join(parts)


def _parse_samples(p: memoryview) -> tuple[int, ImuSamples]:
    index, flags, n = _BLOCK.unpack_from(p)
    width = 1 + 3 + 3 + (3 if flags & _HAS_MAG else 0)
    if len(p) != _BLOCK.size + 8 * n * width:
        raise ValueError("samples block length does not match its count")
    a = np.frombuffer(p, "<f8", offset=_BLOCK.size)
    t = a[:n]
    acc = a[n : 4 * n].reshape(n, 3)
    gyr = a[4 * n : 7 * n].reshape(n, 3)
    mag = a[7 * n : 10 * n].reshape(n, 3) if flags & _HAS_MAG else None
    if n and not (math.isfinite(t[0]) and math.isfinite(t[-1]) and (t[1:] > t[:-1]).all()):
        raise ValueError("sample times are not finite and increasing")
    return index, ImuSamples(t, acc, gyr, mag)


def _orientation_payload(index: int, o: OrientationSamples) -> bytes:
    flags = _HAS_FREE_ACC if o.free_acc is not None else 0
    parts = [_BLOCK.pack(index, flags, len(o)), o.t.astype("<f8").tobytes()]
    parts.append(o.quat.astype("<f8").tobytes())
    if o.free_acc is not None:
        parts.append(o.free_acc.astype("<f8").tobytes())
    return b"".join(parts)


def _parse_orientation(p: memoryview) -> tuple[int, OrientationSamples]:
    index, flags, n = _BLOCK.unpack_from(p)
    width = 1 + 4 + (3 if flags & _HAS_FREE_ACC else 0)
    if len(p) != _BLOCK.size + 8 * n * width:
        raise ValueError("orientation block length does not match its count")
    a = np.frombuffer(p, "<f8", offset=_BLOCK.size)
    t = a[:n]
    quat = a[n : 5 * n].reshape(n, 4)
    fa = a[5 * n : 8 * n].reshape(n, 3) if flags & _HAS_FREE_ACC else None
    if n and not (math.isfinite(t[0]) and math.isfinite(t[-1]) and (t[1:] > t[:-1]).all()):
        raise ValueError("sample times are not finite and increasing")
    if not usable_quaternions(quat).all():
        raise ValueError("quaternions that are not finite or not of unit length")
    if fa is not None and not np.isfinite(fa).all():
        raise ValueError("free acceleration that is not finite")
    return index, OrientationSamples(t, quat, fa)


def _notifications_payload(index: int, t: Sequence[float], ch: bytes, data: Sequence[bytes]):
    n = len(t)
    lengths = np.fromiter((len(d) for d in data), np.uint16, n)
    return b"".join(
        (
            _BLOCK.pack(index, 0, n),
            np.asarray(t, "<f8").tobytes(),
            ch,
            lengths.astype("<u2").tobytes(),
            *data,
        )
    )


def _parse_notifications(p: memoryview) -> tuple[int, Notifications]:
    index, _, n = _BLOCK.unpack_from(p)
    o = _BLOCK.size
    # copies: the record's bytes are let go once parsed (the payloads are copied out too)
    t = np.frombuffer(p, "<f8", n, o).copy()
    ch = np.frombuffer(p, np.uint8, n, o + 8 * n).copy()
    start = o + 11 * n
    offsets = np.zeros(n + 1, np.int64)
    np.add.accumulate(np.frombuffer(p, "<u2", n, o + 9 * n), dtype=np.int64, out=offsets[1:])
    if start + int(offsets[-1]) != len(p):
        raise ValueError("notifications block length does not match its contents")
    return index, Notifications(t, ch, offsets, bytes(p[start:]))


def _event_payload(e: Event) -> bytes:
    return json.dumps(asdict(e), separators=(",", ":"), allow_nan=False).encode()


def _parse_event(p: memoryview) -> Event:
    doc = json.loads(bytes(p))
    t, kind, sensor, data = doc["t"], doc["kind"], doc.get("sensor"), doc.get("data", {})
    if not isinstance(t, int | float) or isinstance(t, bool) or not np.isfinite(t):
        raise ValueError(f"event time is not a finite number: {str(t)[:40]!r}")
    if not isinstance(kind, str) or not (sensor is None or isinstance(sensor, str)):
        raise ValueError("event kind and sensor must be strings")
    if not isinstance(data, dict):
        raise ValueError("event data must be an object")
    return Event(float(t), kind, sensor, data)


# --------------------------------------------------------------------------- writer


class SessionWriter:
    """Append a session to a new file, crash-safely.

    Args:
        path: file to create; refused if it exists unless ``overwrite``.
        header: the session header (``created_utc`` and ``imuhip_version`` filled in if empty).
        flush_interval_s: buffered data is written at least this often (seconds of ``clock``).
        durable: ``fsync`` after each flush (live recording); off for batch writers, which
            ``fsync`` once on close.
        max_block: samples or notifications per block at most.
        max_block_s: one block covers less than this many seconds of its sensor's time
            (sample or receive times), so a damaged block loses at most that much.
        clock: monotonic clock used for the flush interval.
        file: write into this open binary file instead of creating ``path`` (left open on
            :meth:`close`; batch writers pass a safely created temporary file).

    Use as a context manager; call :meth:`poll` periodically in live loops so a stalled stream
    still gets flushed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: SessionHeader,
        *,
        flush_interval_s: float = 0.5,
        durable: bool = True,
        overwrite: bool = False,
        max_block: int = 512,
        max_block_s: float = MAX_RECORD_S,
        clock: Callable[[], float] = time.monotonic,
        file: IO[bytes] | None = None,
    ) -> None:
        if not header.sensors:
            raise ValueError("a session needs at least one sensor")
        if not header.created_utc or not header.imuhip_version:
            from dataclasses import replace

            header = replace(
                header,
                created_utc=header.created_utc or datetime.now(UTC).isoformat(timespec="seconds"),
                imuhip_version=header.imuhip_version or __version__,
            )
        self.header = header
        self.path = Path(path)
        self._owns_file = file is None
        self._closed = False
        if file is None:
            file = open(self.path, "wb" if overwrite else "xb")  # noqa: SIM115
        self._f: IO[bytes] = file
        self._durable = durable
        self._interval = flush_interval_s
        self._max_block = max_block
        self._max_block_s = max_block_s
        self._clock = clock
        self._samples: dict[int, list[ImuSamples]] = {}
        self._notes: dict[int, tuple[list[float], bytearray, list[bytes]]] = {}
        self._pending = 0
        self._last_flush = clock()
        self._last_t: dict[int, float] = {}
        self._last_note_t: dict[int, float] = {}  # last notification time buffered, per sensor
        self._note_anchor: dict[int, float] = {}  # where the buffered block's coverage starts
        self._f.write(records.MAGIC + records.encode(Kind.HEADER, _header_payload(header)))
        self._sync()

    # -- data in
    def add_samples(self, role: str, samples: ImuSamples) -> None:
        """Append decoded samples of ``role`` (times strictly increasing, values finite)."""
        idx = self.header.index(role)
        if len(samples) == 0:
            return
        t = samples.t
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError(f"{role}: sample times must be finite and strictly increasing")
        for name, arr in (("acc", samples.acc), ("gyr", samples.gyr), ("mag", samples.mag)):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise ValueError(f"{role}: {name} values must be finite")
        if idx in self._last_t and t[0] <= self._last_t[idx]:
            raise ValueError(f"{role}: samples must come after the ones already written")
        self._last_t[idx] = float(t[-1])
        self._samples.setdefault(idx, []).append(samples)
        self._pending += len(samples)
        self._maybe_flush()

    def add_orientation(self, role: str, o: OrientationSamples) -> None:
        """Write a vendor orientation of ``role`` now, in bounded blocks (times strictly
        increasing; unit quaternions; the header marks the role: ``ORIENTATION_SOURCE_KEY``)."""
        idx = self.header.index(role)
        if role not in vendor_orientation_roles(self.header):
            raise ValueError(
                f"{role}: the header must mark the sensor's config with "
                f"{ORIENTATION_SOURCE_KEY!r}: 'vendor' to store its orientation"
            )
        if len(o) == 0:
            return
        t = o.t
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError(f"{role}: sample times must be finite and strictly increasing")
        if not usable_quaternions(o.quat).all():
            raise ValueError(f"{role}: quaternions must be finite and of unit length")
        if idx in self._last_t and t[0] <= self._last_t[idx]:
            raise ValueError(f"{role}: samples must come after the ones already written")
        self._last_t[idx] = float(t[-1])
        self._flush_buffers()
        for a, b in block_bounds(t, self._max_block, self._max_block_s):
            payload = _orientation_payload(idx, o.slice(a, b))
            self._f.write(records.encode(Kind.ORIENTATION, payload))
        self._maybe_flush()

    def add_notification(self, role: str, t_host: float, data: bytes, channel: int = 0) -> None:
        """Append one raw notification received at host time ``t_host`` (seconds)."""
        idx = self.header.index(role)
        if len(data) > 0xFFFF:
            raise ValueError("a BLE notification cannot be longer than 65535 bytes")
        t_host = float(t_host)
        buf = self._notes.get(idx)
        if buf and buf[0] and t_host - self._note_anchor[idx] >= self._max_block_s:
            self._write_notes(idx)  # this block holds its second; start the next one
            buf = None
        if not buf:
            buf = self._notes[idx] = ([], bytearray(), [])
            self._note_anchor[idx] = self._last_note_t.get(idx, t_host)
        self._last_note_t[idx] = t_host
        buf[0].append(t_host)
        buf[1].append(channel)
        buf[2].append(bytes(data))
        self._pending += 1
        if len(buf[0]) >= self._max_block:
            self._write_notes(idx)
        self._maybe_flush()

    def add_notifications(self, role: str, notes: Notifications) -> None:
        """Append many notifications of ``role`` at once (e.g. from a simulator)."""
        idx = self.header.index(role)
        self._write_notes(idx)
        if not len(notes):
            return
        before = self._last_note_t.get(idx)
        self._last_note_t[idx] = float(notes.t[-1])
        bounds = block_bounds(
            notes.t, self._max_block, self._max_block_s, from_previous=True, before=before
        )
        for a, b in bounds:
            part = _slice_notes(notes, a, b)
            self._notes[idx] = (part.t.tolist(), bytearray(part.channel.tobytes()), part.payloads())
            self._write_notes(idx)
        self._maybe_flush()

    def add_event(self, event: Event) -> None:
        """Write an event now (buffered data goes first, so the file stays in time order)."""
        self._flush_buffers()
        self._f.write(records.encode(Kind.EVENT, _event_payload(event)))
        self._sync()

    # -- flushing
    def poll(self) -> None:
        """Flush if the flush interval has passed; call this regularly from live loops."""
        self._maybe_flush()

    def flush(self) -> None:
        """Write all buffered data and push it to the OS (and disk when durable)."""
        self._flush_buffers()
        self._sync()

    def close(self) -> None:
        if self._closed or self._f.closed:
            return
        self._flush_buffers()
        self._f.flush()
        self._closed = True
        if self._owns_file:
            os.fsync(self._f.fileno())
            self._f.close()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed or self._f.closed

    # -- internals
    def _maybe_flush(self) -> None:
        if self._pending and self._clock() - self._last_flush >= self._interval:
            self.flush()

    def _flush_buffers(self) -> None:
        for idx in list(self._samples):
            parts = self._samples.pop(idx)
            group: list[ImuSamples] = []
            for p in parts:  # join consecutive parts that agree on having a magnetometer
                if group and (group[-1].mag is None) != (p.mag is None):
                    self._write_samples(idx, ImuSamples.concatenate(group))
                    group = []
                group.append(p)
            self._write_samples(idx, ImuSamples.concatenate(group))
        for idx in list(self._notes):
            self._write_notes(idx)
        self._pending = 0

    def _write_samples(self, idx: int, s: ImuSamples) -> None:
        for a, b in block_bounds(s.t, self._max_block, self._max_block_s):
            blk = s.slice(a, b)
            self._f.write(records.encode(Kind.SAMPLES, _samples_payload(idx, blk)))

    def _write_notes(self, idx: int) -> None:
        t, ch, data = self._notes.pop(idx, ((), b"", ()))
        if not t:
            return
        chb = bytes(ch)
        bounds = block_bounds(np.asarray(t), self._max_block, self._max_block_s, from_previous=True)
        for a, b in bounds:
            payload = _notifications_payload(idx, t[a:b], chb[a:b], data[a:b])
            self._f.write(records.encode(Kind.NOTIFICATIONS, payload))

    def _sync(self) -> None:
        self._f.flush()
        if self._durable:
            os.fsync(self._f.fileno())
        self._last_flush = self._clock()


def write_session(
    path: str | os.PathLike[str],
    header: SessionHeader,
    samples: dict[str, ImuSamples] | None = None,
    notifications: dict[str, Notifications] | None = None,
    events: Sequence[Event] = (),
    *,
    overwrite: bool = False,
    orientation: dict[str, OrientationSamples] | None = None,
) -> Path:
    """Write a whole session at once, atomically: the file appears complete or not at all.

    Data and events are interleaved in time order, in blocks of at most 256 samples or
    notifications that cover less than :data:`MAX_RECORD_S` of their sensor's time.
    ``orientation``: role -> vendor orientation, for roles the header marks so
    (:func:`vendor_orientation_roles`); samples of such a role that carry the vendor's
    quaternions (``quat``, as read from a file) are stored as that orientation.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another name or allow overwriting")
    chunks: list[tuple[float, int, Any]] = []
    vendor = vendor_orientation_roles(header)
    orientation = dict(orientation or {})
    for role, s in (samples or {}).items():
        if role in vendor and s.quat is not None:
            orientation[role] = orientation_of(s)
    samples = {r: s for r, s in (samples or {}).items() if r not in orientation}
    for role, s in samples.items():
        header.index(role)
        for a, b in block_bounds(s.t, 256):
            blk = s.slice(a, b)
            chunks.append((float(blk.t[0]), 0, (role, blk)))
    for role, n in (notifications or {}).items():
        header.index(role)
        for a, b in block_bounds(n.t, 256, from_previous=True):
            chunks.append((float(n.t[a]), 1, (role, n, a, b)))
    for role, o in orientation.items():
        header.index(role)
        for a, b in block_bounds(o.t, 256):
            chunks.append((float(o.t[a]), 0, (role, o.slice(a, b))))
    for e in events:
        chunks.append((e.t, 2, e))
    chunks.sort(key=lambda c: (c[0], c[1]))
    with (
        atomic_write(path, "wb", overwrite=overwrite) as f,
        SessionWriter(path, header, durable=False, max_block=256, file=f) as w,
    ):
        for _, what, item in chunks:
            if what == 0 and isinstance(item[1], OrientationSamples):
                w.add_orientation(*item)
            elif what == 0:
                w.add_samples(*item)
                w.flush()  # keep blocks of different sensors in time order
            elif what == 1:
                role, n, a, b = item
                w.add_notifications(role, _slice_notes(n, a, b))
            else:
                w.add_event(item)
    return path


def _slice_notes(n: Notifications, a: int, b: int) -> Notifications:
    o = n.offsets
    return Notifications(
        n.t[a:b], n.channel[a:b], o[a : b + 1] - o[a], n.payload[int(o[a]) : int(o[b])]
    )


# --------------------------------------------------------------------------- reader


class _TimeOrder:
    """Checks records against their sensor's time order as a file is read.

    Keeps, per sensor and record kind, the time spans of the records accepted so far (sorted,
    non-overlapping). A record after all of them is in order. One that covers times already
    read is a duplicate (byte-identical to the record with the same span) or an overlap; both
    are dropped, so the first copy is kept. One that falls in a hole between spans read is out
    of order and accepted (the reader puts it back in order). Samples are strictly increasing
    across records; notifications may share a receive time with the record before. Nothing of
    the data is held: a data record is compared byte for byte with the record of the same span
    read before, whose payload ``payload_at`` (file offset of that record -> its payload)
    reads again (only then); events by a 128-bit digest of their payload.
    """

    def __init__(self, payload_at: Callable[[int], bytes]) -> None:
        self._payload_at = payload_at
        # per (role, kind): [starts, ends, record offsets], parallel lists sorted by start
        self._spans: dict[tuple[str, int], tuple[list[float], list[float], list[int]]] = {}
        self._events: dict[float, list[bytes]] = {}

    def data(
        self, role: str, kind: int, a: float, b: float, offset: int, payload: memoryview
    ) -> OrderProblem | None:
        """Classify the data record at file offset ``offset`` spanning ``a``..``b`` seconds;
        ``None`` when in order."""
        key = (role, kind)
        spans = self._spans.get(key)
        if spans is None:
            spans = self._spans[key] = ([], [], [])
        starts, ends, offsets = spans
        if not starts or a > ends[-1]:
            starts.append(a), ends.append(b), offsets.append(offset)
            return None
        touching = kind == Kind.NOTIFICATIONS  # a shared receive time is no overlap
        j = bisect.bisect_left(starts, a)
        while j < len(starts) and starts[j] == a:
            if ends[j] == b and self._payload_at(offsets[j]) == payload:
                return OrderProblem.DUPLICATE
            j += 1
        if touching and a == ends[-1] and a >= starts[-1]:
            starts.append(a), ends.append(b), offsets.append(offset)
            return None
        # the span read with the latest start at or before b has the latest end of those
        i = (bisect.bisect_left if touching else bisect.bisect_right)(starts, b)
        if i > 0 and (ends[i - 1] > a or (not touching and ends[i - 1] == a)):
            return OrderProblem.OVERLAP
        starts.insert(i, a), ends.insert(i, b), offsets.insert(i, offset)
        return OrderProblem.OUT_OF_ORDER

    def event(self, t: float, payload: memoryview) -> OrderProblem | None:
        """``DUPLICATE`` for an event record byte-identical to one read before."""
        payload = _digest(payload)
        seen = self._events.setdefault(t, [])
        if payload in seen:
            return OrderProblem.DUPLICATE
        seen.append(payload)
        return None


def _digest(payload: memoryview) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


#: The reader reads a session file in pieces of this many bytes (it holds about one piece
#: and the record being read, not the file). Pieces below the C allocator's threshold for
#: mapping fresh memory (128 KiB) reuse freed memory and stay in the CPU's cache: larger
#: ones made reading slower (``bench/read_speed.py``).
READ_CHUNK = 1 << 16


def _open_checked(path: Path) -> IO[bytes]:
    """The session file opened for reading, after its marker (refused with
    :class:`SessionFileError` when it cannot be read or is not a session file)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the reader at its end)
        magic = f.read(len(records.MAGIC))
    except FileNotFoundError:
        raise SessionFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SessionFileError(f"{path} is a folder, not a session file") from None
    except OSError as exc:
        raise SessionFileError(f"{path}: cannot read ({exc.strerror})") from exc
    if magic != records.MAGIC:
        f.close()
        if not magic:
            raise SessionFileError(f"{path} is empty: not an imuhip session file")
        if records.MAGIC.startswith(magic):
            raise SessionFileError(f"{path} was cut off before its header: nothing to read")
        raise SessionFileError(
            f"{path} is not an imuhip session file (it does not start with the imuhip marker)"
        )
    return f


def _first_header(path: Path, first: records.Record | records.Gap | None) -> SessionHeader:
    """The session header from the file's first record (refused when it is not one)."""
    if not isinstance(first, records.Record) or first.offset != len(records.MAGIC):
        raise SessionFileError(
            f"{path}: the session header is damaged or missing; the file cannot be interpreted"
        )
    if first.kind != Kind.HEADER:
        raise SessionFileError(f"{path}: the first record is not a session header")
    return _parse_header(first.payload)


#: Data record kinds and their payload parsers.
_PARSERS: dict[int, Callable[[memoryview], tuple[int, Any]]] = {
    Kind.SAMPLES: _parse_samples,
    Kind.NOTIFICATIONS: _parse_notifications,
    Kind.ORIENTATION: _parse_orientation,
}
#: Data record kinds and the names :func:`scan_session` gives their items.
_ITEM_NAMES = {
    Kind.SAMPLES: "samples",
    Kind.NOTIFICATIONS: "notifications",
    Kind.ORIENTATION: "orientation",
}

#: One checked record as the readers of this module take it: (kind, role, data, first, last):
#: a data record's kind, sensor role, parsed data and first and last time (seconds; ``None``
#: for a record without items), or ``(Kind.EVENT, None, event, None, None)``.
_Item = tuple[int, str | None, Any, float | None, float | None]


def _read_items(
    path: Path, issues: list[OrderIssue]
) -> tuple[SessionHeader, Iterator[_Item], list[records.Gap]]:
    """:func:`scan_session`, its items as :data:`_Item` (each record's time span found once,
    for every reader of this module)."""
    f = _open_checked(path)
    try:
        it = records.scan_file(f, len(records.MAGIC), READ_CHUNK)
        header = _first_header(path, next(it, None))
    except BaseException:
        f.close()
        raise
    roles = header.roles
    gaps: list[records.Gap] = []
    order = _TimeOrder(lambda offset: records.payload_at(f, offset))

    def items() -> Iterator[_Item]:
        with f:
            for rec in it:
                if isinstance(rec, records.Gap):
                    gaps.append(rec)
                    continue
                kind = rec.kind
                try:
                    parse = _PARSERS.get(kind)
                    if parse is not None:
                        idx, x = parse(rec.payload)
                        role = roles[idx]
                        a = b = None
                        if len(x.t):
                            if kind == Kind.NOTIFICATIONS:  # receive times: checked here
                                a, b = float(x.t.min()), float(x.t.max())
                                if not (math.isfinite(a) and math.isfinite(b)):
                                    raise ValueError("notification times are not finite")
                            else:  # strictly increasing (checked when parsed)
                                a, b = float(x.t[0]), float(x.t[-1])
                            problem = order.data(role, kind, a, b, rec.offset, rec.payload)
                            if problem is not None:
                                issues.append(OrderIssue(rec.offset, role, a, b, problem))
                                if problem is not OrderProblem.OUT_OF_ORDER:
                                    continue
                        yield kind, role, x, a, b
                    elif kind == Kind.EVENT:
                        e = _parse_event(rec.payload)
                        if order.event(e.t, rec.payload) is not None:
                            dup = OrderIssue(rec.offset, None, e.t, e.t, OrderProblem.DUPLICATE)
                            issues.append(dup)
                            continue
                        yield kind, None, e, None, None
                    # other kinds: written by a newer imuhip; skipped on purpose
                except (ValueError, IndexError, KeyError, TypeError, struct.error) as exc:
                    size = records.HEAD_SIZE + len(rec.payload) + records.CRC_SIZE
                    reason = f"invalid record contents: {exc}"
                    gaps.append(records.Gap(rec.offset, size, reason, False))

    return header, items(), gaps


def scan_session(
    path: str | os.PathLike[str],
    order_issues: list[OrderIssue] | None = None,
) -> tuple[SessionHeader, Iterator[tuple[str, Any]], list[records.Gap]]:
    """Open a session file for streaming: it is read a piece at a time as ``items`` is
    iterated (the file is closed at its end).

    Returns ``(header, items, gaps)``: ``items`` yields ``("samples", (role, ImuSamples))``,
    ``("orientation", (role, OrientationSamples))`` (a vendor's orientation, format version
    2), ``("notifications", (role, Notifications))`` and ``("event", Event)`` in file order;
    ``gaps`` fills with the unreadable regions as iteration proceeds. Records that break their
    sensor's time order are appended to ``order_issues`` (when given) as iteration proceeds;
    duplicates and overlaps are not yielded, out-of-order records are (in file order: a
    consumer that needs time order sorts them in, as :func:`read_session` does).
    """
    issues = order_issues if order_issues is not None else []
    header, items, gaps = _read_items(Path(path), issues)

    def named() -> Iterator[tuple[str, Any]]:
        for kind, role, x, _, _ in items:
            yield ("event", x) if role is None else (_ITEM_NAMES[kind], (role, x))

    return header, named(), gaps


@dataclass(frozen=True)
class RecordEntry:
    """Where one valid record of a session file is and what it holds (:func:`record_index`).

    Attributes:
        offset: file offset of the record's sync bytes.
        size: bytes the record takes in the file, framing and checksum included.
        kind: the record's kind (a :class:`~imuhip.files.records.Kind` value; other numbers
            are kinds of a newer imuhip).
        sensor: the sensor index (position in the header's ``sensors``) a data record
            (samples, notifications, orientation) names; None for other records.
    """

    offset: int
    size: int
    kind: int
    sensor: int | None


def record_index(data: bytes | memoryview) -> list[RecordEntry]:
    """Every valid record of a session file's bytes ``data``, in file order (the header
    first): where to cut the file into records, e.g. to rearrange them. Damaged regions
    (checksum or structure wrong) are skipped, not listed; a record's contents are not
    checked. Raises :class:`SessionFileError` when ``data`` does not start with the session
    file marker."""
    if bytes(data[: len(records.MAGIC)]) != records.MAGIC:
        raise SessionFileError(
            "not an imuhip session file (it does not start with the imuhip marker)"
        )
    out = []
    for r in records.scan(data):
        if isinstance(r, records.Record):
            sensor = r.payload[0] if r.kind in _PARSERS and len(r.payload) else None
            size = records.HEAD_SIZE + len(r.payload) + records.CRC_SIZE
            out.append(RecordEntry(r.offset, size, r.kind, sensor))
    return out


#: The streaming reader holds up to this many records of each sensor and record kind to put
#: records that came early back into time order (a record displaced by more is yielded late,
#: still reported in the read report as out of order). A record covers at most
#: ``MAX_RECORD_S``: this is at most a few minutes of one sensor's data (about 1 MiB of
#: WitMotion notifications).
REORDER_RECORDS = 256


class SessionStream:
    """A session file read as a stream of pipeline inputs (:func:`stream_session`).

    Iterating yields, a record at a time, :class:`NotificationBlock` and :class:`SampleBlock`
    items, each sensor's in time order (records that came early are put back through a reorder
    buffer of ``REORDER_RECORDS`` records per sensor), then the vendor orientation of sensors
    that have only that (one :class:`SampleBlock` each: its rates are derived from the whole
    stream), then the events in time order: the same items, cut into more blocks, as
    :func:`imuhip.session.session_inputs` gives for the session :func:`read_session` reads.
    After iteration :meth:`summary` gives what reading found. Iterate once.

    Attributes:
        header: the session header (read when the stream was opened).
        path: the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._issues: list[OrderIssue] = []
        self.header, self._items, self._gaps = _read_items(path, self._issues)
        self._summary: SessionSummary | None = None
        self._started = False
        #: sensors given as their vendor's orientation only (known after iteration)
        self.vendor_roles: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[SessionInput]:
        if self._started:
            raise RuntimeError("a SessionStream is iterated once")
        self._started = True
        roles = self.header.roles
        pending: dict[tuple[int, str], list[tuple[float, int, Any]]] = {}
        orient: dict[str, list[OrientationSamples]] = {r: [] for r in roles}
        has_samples: set[str] = set()
        events: list[Event] = []
        first, last = np.inf, -np.inf
        n_records = 1
        seq = 0
        for kind, role, x, a, b in self._items:
            n_records += 1
            if role is None:
                events.append(x)
                continue
            if kind == Kind.ORIENTATION:
                orient[role].append(x)
                continue
            if a is not None:
                if kind == Kind.SAMPLES:
                    has_samples.add(role)
                first, last = min(first, a), max(last, b)
            heap = pending.setdefault((kind, role), [])
            heapq.heappush(heap, (a if a is not None else -np.inf, seq, x))  # a: the earliest
            seq += 1
            if len(heap) > REORDER_RECORDS:
                yield self._block(kind, role, heapq.heappop(heap)[2])
        for (kind, role), heap in pending.items():
            while heap:
                yield self._block(kind, role, heapq.heappop(heap)[2])
        for role, parts in orient.items():  # the vendor's orientation, rates derived from it
            if parts and role not in has_samples:
                self.vendor_roles += (role,)
                s = vendor_samples(OrientationSamples.concatenate(parts))
                if len(s):
                    first, last = min(first, float(s.t[0])), max(last, float(s.t[-1]))
                    yield SampleBlock(role, s)
        events.sort(key=lambda e: e.t)
        gaps = self._gaps
        damaged = tuple(DamagedRegion(g.offset, g.length, g.reason) for g in gaps if not g.at_end)
        tail = sum(g.length for g in gaps if g.at_end)
        report = ReadReport(self.path.stat().st_size, n_records, damaged, tail, tuple(self._issues))
        span = (float(first), float(last)) if first <= last else (0.0, 0.0)
        self._summary = SessionSummary(self.header, tuple(events), span, report)
        yield from events

    @staticmethod
    def _block(kind: int, role: str, x: Any) -> SessionInput:
        return SampleBlock(role, x) if kind == Kind.SAMPLES else NotificationBlock(role, x)

    def summary(self) -> SessionSummary:
        """What reading found (header, events, time range, read report); after iteration."""
        if self._summary is None:
            raise RuntimeError("the session stream has not been read to its end")
        return self._summary


def stream_session(path: str | os.PathLike[str]) -> SessionStream:
    """Open a session file to be read as a stream of pipeline inputs (:class:`SessionStream`):
    it holds a reorder buffer and the events, not the session's data. Raises
    :class:`SessionFileError` for files that are not session files or whose header is
    unreadable (damage further on is reported in :meth:`SessionStream.summary`)."""
    return SessionStream(Path(path))


def read_summary(path: str | os.PathLike[str]) -> SessionSummary:
    """What a session file holds besides its per-sample data (header, events, time range,
    read report), the file streamed through (:func:`stream_session`), not held: the time
    range ``imuhip analyze`` reports. Raises as :func:`stream_session`."""
    stream = stream_session(path)
    for _ in stream:
        pass
    return stream.summary()


class FileInputs(Sequence[SessionInput]):
    """A session file's inputs in arrival order: item for item what
    :func:`imuhip.session.session_inputs` gives for the session :func:`read_session` reads
    (one :class:`Notification` per notification, stored samples in blocks of
    ``SAMPLE_BLOCK_S``, the events), without the session in memory.

    The file is read twice: once when made, for :attr:`summary`, the first and last input and
    their count; again on each iteration, each sensor's notifications merged into time order
    through a buffer that holds only those newer than the other sensors' latest record. Stored
    samples (imports, simulations: not long sessions) and the events are held from the first
    read. Indexing gives the first (``[0]``) and last (``[-1]``) input only.

    Attributes:
        header: the session header.
        summary: what reading found (:class:`SessionSummary`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        stream = SessionStream(self.path)
        self.header = stream.header
        counts: dict[str, int] = {}
        ends: dict[str, list[tuple[float, int, Notification]]] = {}
        sample_parts: dict[str, list[ImuSamples]] = {}
        for item in stream:
            if isinstance(item, NotificationBlock) and len(item.notes):
                n, role = item.notes, item.role
                base = counts.get(role, 0)
                i = int(np.argmin(n.t))  # the first of the earliest
                j = len(n) - 1 - int(np.argmax(n.t[::-1]))  # the last of the latest
                first = (float(n.t[i]), base + i, self._note(role, n, i))
                last = (float(n.t[j]), base + j, self._note(role, n, j))
                if role not in ends:
                    ends[role] = [first, last]
                else:
                    if first[0] < ends[role][0][0]:
                        ends[role][0] = first
                    if last[0] >= ends[role][1][0]:
                        ends[role][1] = last
                counts[role] = base + len(n)
            elif isinstance(item, SampleBlock):
                sample_parts.setdefault(item.role, []).append(item.samples)
        self.summary = stream.summary()
        roles = self.header.roles
        self._note_roles = [r for r in roles if r in counts]
        vendor = stream.vendor_roles
        sample_roles = sorted(sample_parts, key=lambda r: (r in vendor, roles.index(r)))
        joined = {r: ImuSamples.concatenate(sample_parts[r]) for r in sample_roles}
        self._samples = {r: x for r, x in joined.items() if len(x)}
        self._bounds = {r: sample_block_bounds(s) for r, s in self._samples.items()}
        # a part's number orders inputs of one time as session_inputs does
        self._k = {r: k for k, r in enumerate([*self._note_roles, *sample_roles])}
        self._k_events = len(self._k)
        ends_all: list[tuple[float, int, int, SessionInput]] = []
        for r in self._note_roles:
            (t0, i0, n0), (t1, i1, n1) = ends[r]
            ends_all += [(t0, self._k[r], i0, n0), (t1, self._k[r], i1, n1)]
        for src in self._known():
            items = list(src)
            if items:
                ends_all += [items[0], items[-1]]
        self._len = sum(counts.values()) + sum(len(b) - 1 for b in self._bounds.values())
        self._len += len(self.summary.events)
        self._first = min(ends_all, key=lambda x: x[:3])[3] if ends_all else None
        self._last = max(ends_all, key=lambda x: x[:3])[3] if ends_all else None

    @staticmethod
    def _note(role: str, n: Notifications, i: int) -> Notification:
        return Notification(role, float(n.t[i]), n[i], int(n.channel[i]))

    def _known(self) -> list[Iterator[tuple[float, int, int, SessionInput]]]:
        """The inputs held from the first read, one iterator per part, each in time order."""

        def blocks(role: str) -> Iterator[tuple[float, int, int, SessionInput]]:
            s, b, k = self._samples[role], self._bounds[role], self._k[role]
            for i in range(len(b) - 1):
                yield float(s.t[b[i + 1] - 1]), k, i, SampleBlock(role, s.slice(b[i], b[i + 1]))

        def events() -> Iterator[tuple[float, int, int, SessionInput]]:
            for i, e in enumerate(self.summary.events):
                yield float(e.t), self._k_events, i, e

        return [*(blocks(r) for r in self._samples), events()]

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> SessionInput: ...
    @overload
    def __getitem__(self, i: slice) -> list[SessionInput]: ...
    def __getitem__(self, i: int | slice) -> SessionInput | list[SessionInput]:
        if isinstance(i, int) and self._len and i in (0, -1, self._len - 1):
            out = self._first if i == 0 else self._last
            assert out is not None
            return out
        raise IndexError("a file's inputs are read in order: only [0] and [-1] are indexed")

    def __iter__(self) -> Iterator[SessionInput]:
        heap: list[tuple[float, int, int, SessionInput]] = []
        known = {}
        for src in self._known():
            first = next(src, None)
            if first is not None:
                known[first[1]] = src
                heapq.heappush(heap, first)
        water = {r: -np.inf for r in self._note_roles}  # each sensor's latest record's start
        counts = dict.fromkeys(self._note_roles, 0)

        def drain(limit: float) -> Iterator[SessionInput]:
            while heap and heap[0][0] < limit:
                _, k, _, item = heapq.heappop(heap)
                yield item
                src = known.get(k)
                if src is not None:
                    nxt = next(src, None)
                    if nxt is not None:
                        heapq.heappush(heap, nxt)

        for item in SessionStream(self.path):
            if not (isinstance(item, NotificationBlock) and len(item.notes)):
                continue  # samples and events: held from the first read
            n, role = item.notes, item.role
            k, base = self._k[role], counts[role]
            ts, off, ch, p = n.t.tolist(), n.offsets.tolist(), n.channel.tolist(), n.payload
            for j, t in enumerate(ts):
                note = Notification(role, t, p[off[j] : off[j + 1]], ch[j])
                heapq.heappush(heap, (t, k, base + j, note))
            counts[role] = base + len(ts)
            water[role] = max(water[role], min(ts))
            yield from drain(min(water.values()))
        yield from drain(np.inf)


def read_session(path: str | os.PathLike[str], *, warn: bool = True) -> Session:
    """Read a whole session file into memory.

    A file cut off at any byte yields every complete record; damaged records in the middle are
    skipped. Both are described in ``session.report`` and, when ``warn``, raised as
    :class:`SessionFileWarning`. Raises :class:`SessionFileError` for files that are not session
    files or whose header is unreadable.
    """
    path = Path(path)
    issues: list[OrderIssue] = []
    header, items, gaps = _read_items(path, issues)
    sample_parts: dict[str, list[ImuSamples]] = {r: [] for r in header.roles}
    note_parts: dict[str, list[Notifications]] = {r: [] for r in header.roles}
    orient_parts: dict[str, list[OrientationSamples]] = {r: [] for r in header.roles}
    parts_of: dict[int, dict[str, list[Any]]] = {
        Kind.SAMPLES: sample_parts,
        Kind.NOTIFICATIONS: note_parts,
        Kind.ORIENTATION: orient_parts,
    }
    events: list[Event] = []
    n_records = 1
    for kind, role, x, _, _ in items:
        n_records += 1
        if role is None:
            events.append(x)
        else:
            parts_of[kind][role].append(x)
    for o in issues:  # records that came early go back into their place
        if o.problem is OrderProblem.OUT_OF_ORDER and o.role is not None:
            for parts in (sample_parts[o.role], note_parts[o.role], orient_parts[o.role]):
                parts.sort(key=lambda x: float(x.t.min()) if len(x.t) else -np.inf)
    samples = {r: ImuSamples.concatenate(p) for r, p in sample_parts.items() if p}
    for r, p in orient_parts.items():  # the vendor's orientation with the rates derived from it
        if p and r not in samples:
            samples[r] = vendor_samples(OrientationSamples.concatenate(p))
    notes = {r: Notifications.concatenate(p) for r, p in note_parts.items() if p}
    events.sort(key=lambda e: e.t)
    damaged = tuple(DamagedRegion(g.offset, g.length, g.reason) for g in gaps if not g.at_end)
    tail = sum(g.length for g in gaps if g.at_end)
    report = ReadReport(path.stat().st_size, n_records, damaged, tail, tuple(issues))
    if warn:
        for msg in report.messages():
            warnings.warn(f"{path.name}: {msg}", SessionFileWarning, stacklevel=2)
    return Session(header, samples, notes, tuple(events), report)
