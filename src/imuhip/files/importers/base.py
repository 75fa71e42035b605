"""What an import reader returns: channels in SI units with times, and what the file holds.

Times of a file's channels are float64 seconds from the file's :class:`TimeOrigin`; the origin
says which clock they count (so files of two sensors can be put on one time base) and where
that clock stood at ``t = 0`` as an integer number of nanoseconds (no precision lost on large
epoch values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.import_formats import ImportFormat
from imuhip.samples import ChannelKind

if TYPE_CHECKING:
    from imuhip.files.importers.column_map import ColumnMap

STANDARD_GRAVITY = 9.80665  # m/s² per g
DEG = math.pi / 180.0
#: Seconds from 1970-01-01 to 2000-01-01 (Polar's epoch), in nanoseconds.
UNIX_NS_AT_2000 = 946_684_800 * 1_000_000_000

ACC_UNITS: dict[str, float] = {
    "m/s2": 1.0,
    "m/s^2": 1.0,
    "g": STANDARD_GRAVITY,
    "mg": STANDARD_GRAVITY / 1000.0,
}
GYR_UNITS: dict[str, float] = {
    "rad/s": 1.0,
    "deg/s": DEG,
    "dps": DEG,
    "°/s": DEG,
    "mdps": DEG / 1000.0,
}
MAG_UNITS: dict[str, float] = {
    "ut": 1.0,
    "µt": 1.0,
    "t": 1e6,
    "mt": 1e3,
    "nt": 1e-3,
    "g": 100.0,
    "gauss": 100.0,
    "mg": 0.1,
}
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


class ClockDomain(Enum):
    """What a file's times count, deciding whether two files' times can be compared."""

    UTC = "utc"  # absolute time (epoch); start_ns is Unix nanoseconds
    LOCAL_WALL = "local-wall-clock"  # wall-clock time without a zone (a sensor's RTC)
    SENSOR_TICKS = "sensor-ticks"  # a sensor counter shared by synchronised sensors of a vendor
    FILE = "file"  # the file's own time column, shared by files given together (imuhip CSV)
    NONE = "none"  # no time in the file: sample index over the given rate


@dataclass(frozen=True)
class TimeOrigin:
    """Where a file's ``t = 0`` lies on its clock.

    Attributes:
        domain: which clock the times count.
        start_ns: that clock's reading at ``t = 0``, integer nanoseconds (Unix time for UTC).
        group: files of the same domain and group share the clock (e.g. "movella-dot").
        wrap_ns: the clock's period when it wraps (DOT's 32-bit µs counter), else 0.
        start_utc: ISO-8601 UTC time of ``t = 0`` when known, else "".
    """

    domain: ClockDomain
    start_ns: int = 0
    group: str = ""
    wrap_ns: int = 0
    start_utc: str = ""

    def shares_clock(self, other: TimeOrigin) -> bool:
        """Whether times of both origins count the same clock."""
        return (
            self.domain == other.domain
            and self.group == other.group
            and self.domain not in (ClockDomain.NONE,)
        )

    def offset_s(self, other: TimeOrigin) -> float:
        """Seconds from ``other``'s origin to this one (same clock; wraps taken modulo)."""
        d = self.start_ns - other.start_ns
        if self.wrap_ns:
            d = (d + self.wrap_ns // 2) % self.wrap_ns - self.wrap_ns // 2
        return d / 1e9


@dataclass(frozen=True)
class Channel:
    """One channel of a file.

    Attributes:
        kind: "acc" (m/s², gravity included), "gyr" (rad/s) or "mag" (µT); sensor frame.
        t: (n,) float64 seconds from the file's origin, strictly increasing.
        values: (n, 3) float64 in SI units.
        lines: (n,) int64 line number (text) or frame number (binary) of each sample.
    """

    kind: ChannelKind
    t: np.ndarray
    values: np.ndarray
    lines: np.ndarray


class OrientationKind(Enum):
    """How a file gives the vendor's orientation."""

    QUATERNION = "quaternion"  # [w, x, y, z]
    EULER_DEG = "euler-deg"  # vendor Euler angles in degrees


@dataclass(frozen=True)
class Orientation:
    """A vendor orientation track (an orientation-only file imports it as the sensor's data).

    Attributes:
        kind: quaternion [w, x, y, z] or Euler angles in degrees (vendor convention).
        t: (n,) float64 seconds from the file's origin.
        values: (n, 4) or (n, 3).
        free_acc: (n, 3) acceleration with gravity removed, m/s², earth frame, or None.
    """

    kind: OrientationKind
    t: np.ndarray
    values: np.ndarray
    free_acc: np.ndarray | None = None


@dataclass(frozen=True)
class Gap:
    """Samples missing in a file: between ``line_before`` and ``line_after``.

    Attributes:
        t: seconds (file origin) of the last sample before the gap.
        duration_s: time from the sample before to the sample after.
        lost: samples missing (from a counter, or duration over the sample period).
    """

    line_before: int
    line_after: int
    t: float
    duration_s: float
    lost: int


@dataclass(frozen=True)
class Mark:
    """A mark the app wrote (e.g. Polar Sensor Logger's start/stop), at ``t`` seconds from the
    file's origin, from line ``line``."""

    t: float
    label: str
    line: int


@dataclass(frozen=True)
class FileContents:
    """What one import file holds, in SI units.

    Attributes:
        path: the file.
        format: its format.
        channels: the inertial channels found (at most one per kind).
        origin: the clock the channels' times count.
        found: plain words on what the file holds (mode, columns), for messages.
        orientation: the vendor's orientation, when the file has one.
        gaps: samples missing in the file (counter jumps, time jumps), in file order.
        notes: things the user should know (dropped rows, ignored columns).
        metadata: device facts from the file (device tag, firmware, app version, ...).
        location: what ``lines`` count: "line" for text files, "frame" for binary ones.
        marks: marks the file holds (a marker file has marks and no channels).
    """

    path: Path
    format: ImportFormat
    channels: tuple[Channel, ...]
    origin: TimeOrigin
    found: str
    orientation: Orientation | None = None
    gaps: tuple[Gap, ...] = ()
    notes: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    location: str = "line"
    marks: tuple[Mark, ...] = ()

    def channel(self, kind: str) -> Channel | None:
        """The channel of ``kind``, or None."""
        for c in self.channels:
            if c.kind == kind:
                return c
        return None

    @property
    def lost_samples(self) -> int:
        return sum(g.lost for g in self.gaps)


@dataclass(frozen=True)
class ImportOptions:
    """Settings the user gives for files that do not carry them.

    Attributes:
        rate_hz: sample rate for files without time (WitMotion SD logs), Hz.
        acc_unit, gyr_unit: units of imuhip-layout CSV files.
        columns: an explicit column map (any text table).
    """

    rate_hz: float | None = None
    acc_unit: str = "m/s2"
    gyr_unit: str = "rad/s"
    columns: ColumnMap | None = None


# --------------------------------------------------------------------------- text helpers


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing or unreadable file is a :class:`CsvImportError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CsvImportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CsvImportError(f"{path} is a folder, not a data file") from None
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot read ({exc.strerror})") from exc


def decode_text(path: Path, raw: bytes, *, encodings: tuple[str, ...] = ("utf-8-sig",)) -> str:
    """Text of a file, trying ``encodings`` in order; binary or undecodable data is an error."""
    if b"\x00" in raw[:4096]:
        raise CsvImportError(f"{path} is a binary file, not a text file")
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CsvImportError(
        f"{path} is not text in {' or '.join(encodings)}; is it a data file of a supported app?"
    )


def head_text(raw: bytes, n: int = 4096) -> str:
    """The first ``n`` bytes as text for sniffing (undecodable bytes replaced)."""
    return raw[:n].decode("utf-8", errors="replace").lstrip("\ufeff")


def parse_numbers(
    path: Path, rows: list[list[str]], lines: list[int], names: list[str]
) -> np.ndarray:
    """``rows`` of decimal strings as a float64 table; the first bad field is named in the error.

    Non-finite values are refused too (a sensor never writes them).
    """
    width = len(names)
    for fields, no in zip(rows, lines, strict=True):
        if len(fields) != width:
            raise CsvImportError(
                f"{path}, line {no}: expected {width} fields like the header, found {len(fields)}"
            )
    if not rows:
        return np.empty((0, width))
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        for fields, no in zip(rows, lines, strict=True):
            for col, f in enumerate(fields):
                try:
                    float(f)
                except ValueError:
                    raise CsvImportError(
                        f"{path}, line {no}: {names[col]} is {f.strip()!r}, not a number"
                    ) from None
        raise CsvImportError(f"{path}: some values are not plain decimal numbers") from None
    bad = ~np.isfinite(table)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise CsvImportError(
            f"{path}, line {lines[r]}: {names[c]} is {float(table[r, c])}, not a finite number"
        )
    return table


def gaps_from_indices(idx: np.ndarray, lines: np.ndarray, t: np.ndarray) -> tuple[Gap, ...]:
    """Gaps where consecutive sample indices ``idx`` (from a counter or a rate) skip samples;
    ``lines`` are the samples' line (or frame) numbers, ``t`` their times (s)."""
    return tuple(
        Gap(
            int(lines[i]),
            int(lines[i + 1]),
            float(t[i]),
            float(t[i + 1] - t[i]),
            int(idx[i + 1] - idx[i] - 1),
        )
        for i in np.flatnonzero(np.diff(idx) > 1)
    )


def gaps_from_times(t: np.ndarray, lines: np.ndarray, period_s: float) -> tuple[Gap, ...]:
    """Gaps where consecutive times are more than 1.5 sample periods apart."""
    dt = np.diff(t)
    idx = np.flatnonzero(dt > 1.5 * period_s)
    return tuple(
        Gap(
            int(lines[i]),
            int(lines[i + 1]),
            float(t[i]),
            float(dt[i]),
            max(int(np.rint(dt[i] / period_s)) - 1, 1),
        )
        for i in idx
    )
