"""What a session is, independent of how it is stored: header, sensors, data and events.

A session is one person doing one exercise with one leg instrumented. It holds, per sensor role
("thigh", "shin", optionally "pelvis"), either raw BLE notifications (live recordings; replay
runs the real decoders on them) or already decoded samples (imported or simulated data), plus a
time-ordered list of events. All times are float64 seconds on the session's time base: the host's
monotonic clock for live recordings, the CSV's ``time_s`` for imports.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from itertools import pairwise
from typing import Any, Literal, overload

import numpy as np

from imuhip.errors import HeaderValueError
from imuhip.layout import BOTH, ROLES, SIDES, Layout, layout_of
from imuhip.samples import ImuSamples

Side = Literal["left", "right"]

#: Profile name of sensors whose data is stored as decoded samples (no vendor decoder needed).
SAMPLES_PROFILE = "samples"

#: Event kinds imuhip writes; other kinds are kept and shown as they are.
EVENT_KINDS: dict[str, str] = {
    "calibration_phase": "a calibration phase began (data: phase)",
    "mark": "a user mark (data: label)",
    "connection_lost": "a sensor disconnected (sensor)",
    "connection_restored": "a sensor reconnected (sensor)",
    "packets_dropped": "notifications rejected or lost (sensor; data: count, reason)",
    "config_applied": "a sensor's configuration read back as in effect (sensor; data: rate_hz, "
    "confirmed, detail, left_out)",
    "pause": "recording paused by the user",
    "resume": "recording resumed",
    "note": "free text (data: text)",
    "calibration": "the calibration the live analysis made (data: calibration record)",
    "link_parameters": "a connection's interval request and the interval in use (sensor; data: "
    "stack, requested, interval_ms, detail)",
    "program": "a training program started (data: program, sets)",
    "prompt": "a training cue said and shown (data: text, kind, priority)",
    "set_start": "a training set began (data: the set and its targets)",
    "set_end": "a training set ended (data: the set, its targets and results)",
    "rest_start": "a rest between training sets began (data: duration_s, after_set)",
}

#: Session event kind recording the connection-interval request and the interval in use, once
#: per connection (:mod:`imuhip.sources.ble.link_params`).
LINK_EVENT = "link_parameters"


#: Sample rates a header may give, Hz (0 means unknown).
MIN_RATE_HZ = 0.1
MAX_RATE_HZ = 2000.0
_MAX_TEXT = 1000  # characters in a header string
_MAX_JSON_DEPTH = 6  # nesting of config and extra
_MAX_JSON_ITEMS = 10_000  # list items or dict entries, in all, in one config or extra


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(where: str, name: str, value: Any, *, empty: bool = True) -> None:
    if not isinstance(value, str) or len(value) > _MAX_TEXT or (not empty and not value):
        need = "a non-empty string" if not empty else "a string"
        raise HeaderValueError(f"{where}{name} must be {need} (at most {_MAX_TEXT} characters), "
                               f"got {_show(value)}")  # fmt: skip


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def check_rate_hz(where: str, value: Any) -> None:
    """Raise :class:`HeaderValueError` unless ``value`` is a sample rate a header may give:
    a finite number of Hz in [MIN_RATE_HZ, MAX_RATE_HZ], or 0 (unknown)."""
    ok = _is_number(value) and math.isfinite(value)
    if not ok or not (value == 0 or MIN_RATE_HZ <= value <= MAX_RATE_HZ):
        raise HeaderValueError(
            f"{where}rate_hz must be a number of Hz from {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} "
            f"(or 0: unknown), got {_show(value)}"
        )


def _check_json(where: str, name: str, value: Any) -> None:
    """``value`` must be plain JSON data: finite numbers, bounded strings, nesting and size;
    a ``rate_hz`` entry at any depth must be a valid rate."""
    budget = [_MAX_JSON_ITEMS]

    def walk(v: Any, path: str, depth: int) -> None:
        if depth > _MAX_JSON_DEPTH:
            raise HeaderValueError(f"{where}{path} is nested too deeply")
        if isinstance(v, str) and len(v) > _MAX_TEXT:
            raise HeaderValueError(f"{where}{path} is longer than {_MAX_TEXT} characters")
        if v is None or isinstance(v, bool | str):
            return
        if _is_number(v):
            if not math.isfinite(v):
                raise HeaderValueError(f"{where}{path} must be a finite number, got {_show(v)}")
            return
        if isinstance(v, list | tuple):
            budget[0] -= len(v)
            if budget[0] < 0:
                raise HeaderValueError(f"{where}{name} holds too many entries")
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]", depth + 1)
            return
        if isinstance(v, dict):
            budget[0] -= len(v)
            if budget[0] < 0:
                raise HeaderValueError(f"{where}{name} holds too many entries")
            for k, x in v.items():
                if not isinstance(k, str):
                    raise HeaderValueError(f"{where}{path} has a key that is not a string: {k!r}")
                if k == "rate_hz":
                    check_rate_hz(f"{where}{path}.", x)
                walk(x, f"{path}.{k}", depth + 1)
            return
        raise HeaderValueError(f"{where}{path} must be JSON data, got {_show(v)}")

    if not isinstance(value, dict):
        raise HeaderValueError(f"{where}{name} must be an object (a dict), got {_show(value)}")
    walk(value, name, 0)


@dataclass(frozen=True)
class SensorInfo:
    """One sensor of a session.

    Attributes:
        role: one of :data:`imuhip.layout.ROLES` ("thigh", "shin", "left_thigh", "pelvis",
            ...); unique within a session.
        profile: vendor decoder profile (see :mod:`imuhip.decode`) or ``"samples"``.
        address: BLE address (or platform UUID on macOS); empty for imports.
        name: advertised name, if known.
        firmware: firmware version string, if known.
        rate_hz: configured (live) or estimated (import) sampling rate in Hz.
        config: decoder configuration (ranges, conversion factors, ...), JSON-serialisable.
    """

    role: str
    profile: str = SAMPLES_PROFILE
    address: str = ""
    name: str = ""
    firmware: str = ""
    rate_hz: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Type- and range-check every field (:class:`HeaderValueError` naming it)."""
        if not isinstance(self.role, str) or self.role not in ROLES:
            raise HeaderValueError(
                f"sensor role must be one of {', '.join(ROLES)}, got {_show(self.role)}"
            )
        where = f"sensor {self.role!r}: "
        _text(where, "profile", self.profile, empty=False)
        for name in ("address", "name", "firmware"):
            _text(where, name, getattr(self, name))
        check_rate_hz(where, self.rate_hz)
        _check_json(where, "config", self.config)


@dataclass(frozen=True)
class SessionHeader:
    """Metadata written once at the start of a session file.

    Attributes:
        side: instrumented leg, "left" or "right"; "both" for a session instrumenting both
            legs (sided roles on both sides).
        exercise: exercise name, e.g. "prone", "seated", "supine" (free text allowed).
        sensors: the sensors, in the order their index is stored in the file.
        created_utc: ISO-8601 creation time in UTC.
        imuhip_version: version of imuhip that wrote the file.
        time_base: "host-monotonic", "csv" or "simulated": what the session's seconds count.
        extra: further JSON-serialisable facts (source files, simulator seed, ...).
    """

    side: str
    exercise: str
    sensors: tuple[SensorInfo, ...]
    created_utc: str = ""
    imuhip_version: str = ""
    time_base: str = "host-monotonic"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Type- and range-check every field (:class:`HeaderValueError` naming it)."""
        if not isinstance(self.side, str) or self.side not in (*SIDES, BOTH):
            raise HeaderValueError(
                f"side must be 'left', 'right' or 'both', got {_show(self.side)}"
            )
        _text("", "exercise", self.exercise)
        if not isinstance(self.sensors, tuple | list) or not all(
            isinstance(s, SensorInfo) for s in self.sensors
        ):
            raise HeaderValueError(f"sensors must be a list of sensors, got {_show(self.sensors)}")
        roles = [s.role for s in self.sensors]
        if len(set(roles)) != len(roles):
            raise HeaderValueError(f"each sensor role may appear once, got {roles}")
        _text("", "created_utc", self.created_utc)
        if self.created_utc:
            try:
                datetime.fromisoformat(self.created_utc)
            except ValueError:
                raise HeaderValueError(
                    f"created_utc must be an ISO-8601 time, got {_show(self.created_utc)}"
                ) from None
        _text("", "imuhip_version", self.imuhip_version)
        _text("", "time_base", self.time_base)
        _check_json("", "extra", self.extra)
        origin = self.extra.get("time_origin_monotonic_s")
        if origin is not None and not _is_number(origin):
            raise HeaderValueError(
                f"extra.time_origin_monotonic_s must be a number, got {_show(origin)}"
            )

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(s.role for s in self.sensors)

    @property
    def layout(self) -> Layout:
        """The legs (and pelvis, trunk) these sensors instrument (:class:`LayoutError` when
        they form no valid layout, e.g. a thigh without a shin)."""
        return layout_of(self.roles, self.side)

    def sensor(self, role: str) -> SensorInfo:
        """The sensor in ``role`` (KeyError naming the roles present otherwise)."""
        for s in self.sensors:
            if s.role == role:
                return s
        raise KeyError(f"no {role} sensor in this session (sensors: {', '.join(self.roles)})")

    def index(self, role: str) -> int:
        """Position of ``role`` in :attr:`sensors` (the index stored in data records)."""
        return self.roles.index(self.sensor(role).role)


@dataclass(frozen=True)
class Event:
    """Something that happened at time ``t`` (seconds, session time base)."""

    t: float
    kind: str
    sensor: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notifications:
    """Raw BLE notifications of one sensor, stored compactly.

    Attributes:
        t: (N,) float64 host receive times, seconds.
        channel: (N,) uint8 index into the profile's notify characteristics.
        offsets: (N + 1,) int64; payload ``i`` is ``payload[offsets[i]:offsets[i + 1]]``.
        payload: all payload bytes concatenated.
    """

    t: np.ndarray
    channel: np.ndarray
    offsets: np.ndarray
    payload: bytes

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def __getitem__(self, i: int) -> bytes:
        return self.payload[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def payloads(self) -> list[bytes]:
        """Every payload as its own ``bytes`` object, in order."""
        off = self.offsets.tolist()
        p = self.payload
        return [p[a:b] for a, b in pairwise(off)]

    @staticmethod
    def empty() -> Notifications:
        return Notifications(np.empty(0), np.empty(0, np.uint8), np.zeros(1, np.int64), b"")

    @staticmethod
    def from_list(t: np.ndarray, payloads: list[bytes], channel: np.ndarray | None = None):
        """Build from a list of payloads (host times ``t`` in seconds)."""
        lengths = np.fromiter((len(p) for p in payloads), np.int64, len(payloads))
        offsets = np.zeros(len(payloads) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ch = np.zeros(len(payloads), np.uint8) if channel is None else np.asarray(channel, np.uint8)
        return Notifications(np.asarray(t, np.float64), ch, offsets, b"".join(payloads))

    @staticmethod
    def concatenate(parts: list[Notifications]) -> Notifications:
        if not parts:
            return Notifications.empty()
        # each part's offsets moved on by the payload bytes of the parts before it
        sizes = np.array([p.t.shape[0] for p in parts], np.int64)
        starts = np.cumsum([0] + [len(p.payload) for p in parts[:-1]], dtype=np.int64)
        offsets = np.empty(int(sizes.sum()) + 1, np.int64)
        offsets[0] = 0
        np.concatenate([p.offsets[1:] for p in parts], out=offsets[1:])
        offsets[1:] += np.repeat(starts, sizes)
        return Notifications(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.channel for p in parts]),
            offsets,
            b"".join(p.payload for p in parts),
        )


@dataclass(frozen=True)
class DamagedRegion:
    """Bytes of a file that could not be read as records."""

    offset: int
    length: int
    reason: str


class OrderProblem(Enum):
    """How a record broke its sensor's time order (the format promises per-sensor order)."""

    #: byte-identical to a record already read: dropped, the first one kept
    DUPLICATE = "duplicate"
    #: covers times of its sensor already read from another record: dropped, the first kept
    OVERLAP = "overlap"
    #: earlier than records before it but overlapping none: put back in time order
    OUT_OF_ORDER = "out_of_order"


@dataclass(frozen=True)
class OrderIssue:
    """A record found out of its sensor's time order.

    Attributes:
        offset: byte offset of the record in the file.
        role: its sensor's role; ``None`` for an event record.
        t_first_s: time of its first item, seconds (session time base).
        t_last_s: time of its last item, seconds.
        problem: what was wrong, and so what the reader did with it.
    """

    offset: int
    role: str | None
    t_first_s: float
    t_last_s: float
    problem: OrderProblem

    @property
    def dropped(self) -> bool:
        return self.problem is not OrderProblem.OUT_OF_ORDER

    def message(self) -> str:
        what = "an event record" if self.role is None else f"a {self.role} record"
        span = f"{self.t_first_s:.3f}-{self.t_last_s:.3f} s"
        if self.problem is OrderProblem.DUPLICATE:
            return f"dropped {what} at offset {self.offset} ({span}): a duplicate of one before it"
        if self.problem is OrderProblem.OVERLAP:
            return (
                f"dropped {what} at offset {self.offset} ({span}): it overlaps data of that "
                "sensor already read (the first was kept)"
            )
        return f"{what} at offset {self.offset} ({span}) was out of time order; put back in order"


@dataclass(frozen=True)
class ReadReport:
    """What reading a session file found besides the data.

    Attributes:
        file_size: bytes in the file.
        records: complete, valid records read.
        damaged: regions in the middle skipped because a checksum or structure check failed.
        truncated_bytes: bytes at the end that do not form a complete record (the writer was
            stopped mid-write); everything before them was read.
        order: records out of their sensor's time order: duplicates and overlaps (dropped)
            and records put back in order.
    """

    file_size: int
    records: int
    damaged: tuple[DamagedRegion, ...] = ()
    truncated_bytes: int = 0
    order: tuple[OrderIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.damaged and self.truncated_bytes == 0 and not self.order

    def count(self, problem: OrderProblem) -> int:
        """Records found with ``problem``."""
        return sum(o.problem is problem for o in self.order)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data (the ``file`` object of ``imuhip analyze --json``): byte
        counts and offsets, times in seconds."""
        return {
            "bytes": self.file_size,
            "records": self.records,
            "intact": self.ok,
            "damaged": [
                {"offset": d.offset, "length": d.length, "reason": d.reason} for d in self.damaged
            ],
            "tail_bytes_lost": self.truncated_bytes,
            "duplicates": self.count(OrderProblem.DUPLICATE),
            "overlaps": self.count(OrderProblem.OVERLAP),
            "out_of_order": self.count(OrderProblem.OUT_OF_ORDER),
            "order_issues": [
                {
                    "offset": o.offset,
                    "sensor": o.role,
                    "t_first_s": o.t_first_s,
                    "t_last_s": o.t_last_s,
                    "problem": o.problem.value,
                    "dropped": o.dropped,
                }
                for o in self.order
            ],
        }

    def messages(self) -> list[str]:
        """Human-readable warnings, empty for an intact file."""
        out = []
        for d in self.damaged:
            out.append(
                f"skipped {d.length} damaged bytes at offset {d.offset} ({d.reason}); "
                "reading continued after them"
            )
        if self.truncated_bytes:
            out.append(
                f"file ends in an incomplete record: the last {self.truncated_bytes} bytes "
                "were lost (recording was cut off); everything before them was read"
            )
        out += [o.message() for o in self.order]
        return out


@dataclass(frozen=True)
class SessionSummary:
    """What reading a session found besides its per-sample data: what an analysis document,
    a history row and a report need of the file (a :class:`Session` gives it with
    :meth:`Session.summary`; a streaming read with
    :meth:`imuhip.files.session_file.SessionStream.summary`).

    Attributes:
        header: the session header.
        events: events in time order.
        time_range: (first, last) time over all sensor data, seconds; (0, 0) when there is none.
        report: what reading found (damage, truncation, order).
    """

    header: SessionHeader
    events: tuple[Event, ...]
    time_range: tuple[float, float]
    report: ReadReport

    @property
    def duration_s(self) -> float:
        a, b = self.time_range
        return b - a


def summary_of(session: Session | SessionSummary) -> SessionSummary:
    """The :class:`SessionSummary` of ``session`` (itself when it is one)."""
    return session if isinstance(session, SessionSummary) else session.summary()


@dataclass(frozen=True)
class Session:
    """A session read into memory (see :func:`imuhip.files.session_file.read_session`).

    Attributes:
        header: the session header.
        samples: role -> decoded samples stored in the file (imported or simulated data).
        notifications: role -> raw notifications stored in the file (live recordings).
        events: events in time order.
        report: what reading found (damage, truncation).
    """

    header: SessionHeader
    samples: dict[str, ImuSamples]
    notifications: dict[str, Notifications]
    events: tuple[Event, ...]
    report: ReadReport

    def with_header(self, **changes: Any) -> Session:
        return replace(self, header=replace(self.header, **changes))

    def time_range(self) -> tuple[float, float]:
        """(first, last) time over all sensor data, seconds; (0, 0) when there is none."""
        firsts, lasts = [], []
        for s in self.samples.values():
            if len(s):
                firsts.append(s.t[0])
                lasts.append(s.t[-1])
        for n in self.notifications.values():
            if len(n):
                firsts.append(n.t.min())
                lasts.append(n.t.max())
        if not firsts:
            return (0.0, 0.0)
        return (float(min(firsts)), float(max(lasts)))

    @property
    def duration_s(self) -> float:
        a, b = self.time_range()
        return b - a

    def summary(self) -> SessionSummary:
        """What the session is besides its per-sample data (:class:`SessionSummary`)."""
        return SessionSummary(self.header, self.events, self.time_range(), self.report)


# --------------------------------------------------------------------------- pipeline inputs


@dataclass(frozen=True)
class Notification:
    """One raw BLE notification of the sensor in ``role``, received at host time ``t`` (s),
    on notify characteristic ``channel`` (index into the profile's list)."""

    role: str
    t: float
    data: bytes
    channel: int = 0


@dataclass(frozen=True)
class NotificationBlock:
    """Many raw notifications of one sensor at once, in receive order (a file's records)."""

    role: str
    notes: Notifications


@dataclass(frozen=True)
class SampleBlock:
    """Decoded samples of the sensor in ``role`` (imports, simulations), in time order."""

    role: str
    samples: ImuSamples


#: What a session pipeline is fed: data of one sensor, or a session event.
SessionInput = Notification | NotificationBlock | SampleBlock | Event

#: Stored samples are fed in blocks of this many seconds when a session is replayed as it came.
SAMPLE_BLOCK_S = 0.05


def input_time(item: SessionInput) -> float:
    """When ``item`` became available, s: a notification's receive time, a sample block's last
    sample, a notification block's last receive time, an event's time."""
    if isinstance(item, Notification | Event):
        return item.t
    if isinstance(item, SampleBlock):
        return float(item.samples.t[-1]) if len(item.samples) else -np.inf
    return float(item.notes.t[-1]) if len(item.notes) else -np.inf


def session_inputs(session: Session, *, as_arrived: bool = True) -> Sequence[SessionInput]:
    """Everything a session fed (or would have fed) the pipeline.

    ``as_arrived``: one :class:`Notification` per notification at its receive time and stored
    samples in blocks of ``SAMPLE_BLOCK_S``, all in arrival order (replay, and what live
    saw): a :class:`SessionInputs`, which makes each item when it is read. Otherwise one block
    per sensor and the events, for a pipeline that reads the whole session at once (its
    results do not depend on how the input is cut).
    """
    if not as_arrived:
        items: list[SessionInput] = [
            NotificationBlock(r, n) for r, n in session.notifications.items() if len(n)
        ]
        items += [SampleBlock(r, s) for r, s in session.samples.items() if len(s)]
        return [*items, *session.events]
    return SessionInputs(session)


def sample_block_bounds(s: ImuSamples) -> list[int]:
    """Where a sensor's whole stream of stored samples (not empty) is cut into the blocks of
    ``SAMPLE_BLOCK_S`` seconds it is replayed in: ``[0, ..., len(s)]``, block ``i`` being
    ``bounds[i]:bounds[i + 1]``."""
    edges = np.searchsorted(s.t, np.arange(s.t[0], s.t[-1], SAMPLE_BLOCK_S)[1:], "right")
    return [0, *sorted(set(edges.tolist()) - {0, len(s)}), len(s)]


class SessionInputs(Sequence[SessionInput]):
    """A session's inputs as they arrived (see :func:`session_inputs`), in arrival order,
    made one at a time when read: a long session's notifications as one object each would
    not fit in memory. Holds the arrival order (4 bytes per input) and the session."""

    def __init__(self, session: Session) -> None:
        self._parts: list[tuple[str, Any, list[int] | None]] = []  # role, data, block bounds
        times = []
        for role, notes in session.notifications.items():
            self._parts.append((role, notes, None))
            times.append(np.asarray(notes.t, np.float64))
        for role, s in session.samples.items():
            if len(s) == 0:
                continue
            bounds = sample_block_bounds(s)
            self._parts.append((role, s, bounds))
            times.append(s.t[np.asarray(bounds[1:]) - 1])
        self._events = session.events
        times.append(np.array([e.t for e in session.events], np.float64))
        sizes = [len(x) for x in times]
        self._starts = [0, *np.cumsum(sizes).tolist()]
        t = np.concatenate(times) if times else np.empty(0)
        order = np.argsort(t, kind="stable")
        self._order = order.astype(np.int32) if len(order) < 2**31 else order

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> SessionInput: ...
    @overload
    def __getitem__(self, i: slice) -> list[SessionInput]: ...
    def __getitem__(self, i: int | slice) -> SessionInput | list[SessionInput]:
        if isinstance(i, slice):
            return [self._item(int(j)) for j in self._order[i]]
        return self._item(int(self._order[i]))

    def __iter__(self) -> Iterator[SessionInput]:
        for j in self._order.tolist():
            yield self._item(j)

    def _item(self, j: int) -> SessionInput:
        k = bisect_right(self._starts, j) - 1
        i = j - self._starts[k]
        if k == len(self._parts):
            return self._events[i]
        role, data, bounds = self._parts[k]
        if bounds is None:
            return Notification(role, float(data.t[i]), data[i], int(data.channel[i]))
        return SampleBlock(role, data.slice(bounds[i], bounds[i + 1]))
