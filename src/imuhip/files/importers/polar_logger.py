"""Polar Sensor Logger text files (one per channel: ``…_ACC.txt``, ``…_GYRO.txt``, ``…_MAGN.txt``).

``;``-separated, header ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]`` (``[dps]``
for the gyroscope, ``[G]`` for the magnetometer). The sensor timestamp is int64 nanoseconds since
2000-01-01T00:00:00 on the sensor's clock (set from the phone); it is parsed as an integer, since
float64 cannot hold it to the nanosecond. The app's ``MARKER.txt`` holds only start/stop marks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import (
    ACC_UNITS,
    GYR_UNITS,
    MAG_UNITS,
    UNIX_NS_AT_2000,
    Channel,
    ClockDomain,
    FileContents,
    ImportFormat,
    ImportOptions,
    Mark,
    TimeOrigin,
    decode_text,
    gaps_from_times,
    head_text,
    parse_numbers,
)

FORMAT = ImportFormat.POLAR_LOGGER
#: metadata key: median sensor time (Unix ns) minus phone time (ns, as written) of the rows
PHONE_OFFSET_KEY = "phone_to_sensor_ns"
_WORDS = {"acc": "accelerometer", "gyr": "gyroscope", "mag": "magnetometer"}
_UNIT = re.compile(r"^([XYZ])\s*\[([^\]]+)\]$", re.IGNORECASE)


def sniff(raw: bytes) -> bool:
    """A Sensor Logger file: the first line starts ``Phone timestamp;``."""
    return head_text(raw, 256).lower().startswith("phone timestamp;")


def _kind(path: Path, unit: str) -> tuple[str, float]:
    u = unit.strip().lower()
    if u in ("mg",) and "magn" not in path.name.lower():
        return "acc", ACC_UNITS["mg"]
    if u in ("dps", "deg/s", "°/s"):
        return "gyr", GYR_UNITS["dps"]
    if u in ("g", "gauss", "mg"):
        return "mag", MAG_UNITS[u]
    raise CsvImportError(
        f"{path}, line 1: unknown unit [{unit}] (Polar Sensor Logger writes [mg] for the "
        "accelerometer, [dps] for the gyroscope and [G] for the magnetometer)"
    )


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read one channel file; times are seconds from its first sample on the sensor clock."""
    lines = decode_text(path, raw).splitlines()
    names = [f.strip() for f in lines[0].split(";")]
    low = [n.lower() for n in names]
    if len(names) >= 2 and low[1].startswith("marker"):
        return _read_markers(path, lines)
    ts_col, axes, (kind, scale) = _columns(path, names, low)
    values, ticks, numbers = _rows(path, lines, names, ts_col, axes)
    ns = np.asarray(ticks, dtype=np.int64)
    t = (ns - ns[0]).astype(np.float64) / 1e9
    line_arr = np.asarray(numbers, dtype=np.int64)
    dt = np.diff(t)
    if (dt <= 0).any():
        i = int(np.argmax(dt <= 0))
        raise CsvImportError(
            f"{path}, line {numbers[i + 1]}: sensor timestamp "
            f"{'repeats' if dt[i] == 0 else 'goes backwards'} ({ticks[i + 1]} ns after "
            f"{ticks[i]} ns)"
        )
    start_unix_ns = int(ns[0]) + UNIX_NS_AT_2000
    start_utc = datetime.fromtimestamp(start_unix_ns // 1000 / 1e6, UTC).isoformat(
        timespec="microseconds"
    )
    origin = TimeOrigin(ClockDomain.UTC, start_unix_ns, group="", start_utc=start_utc)
    gaps = gaps_from_times(t, line_arr, float(np.median(dt)))
    found = f"Polar Sensor Logger {_WORDS[kind]} file ({len(t)} samples)"
    return FileContents(
        path,
        FORMAT,
        (Channel(kind, t, values * scale, line_arr),),  # type: ignore[arg-type]
        origin,
        found,
        gaps=gaps,
        metadata=_metadata(lines, numbers, ticks),
    )


def _columns(
    path: Path, names: list[str], low: list[str]
) -> tuple[int, dict[str, tuple[int, str]], tuple[str, float]]:
    """The sensor timestamp's column, axis -> (column, unit), and the channel kind with its
    scale to SI.

    Raises:
        CsvImportError: no timestamp column, not X, Y and Z with units, or mixed units.
    """
    try:
        ts_col = next(i for i, n in enumerate(low) if n.startswith("sensor timestamp"))
    except StopIteration:
        raise CsvImportError(
            f"{path}, line 1: a Polar Sensor Logger file without its 'sensor timestamp [ns]' "
            f"column (found {', '.join(names)})"
        ) from None
    axes = {}
    for i, n in enumerate(names):
        m = _UNIT.match(n)
        if m:
            axes[m.group(1).upper()] = (i, m.group(2))
    if set(axes) != {"X", "Y", "Z"}:
        raise CsvImportError(
            f"{path}, line 1: expected columns X, Y, Z with units, found {', '.join(names)}"
        )
    units = {u for _, u in axes.values()}
    if len(units) != 1:
        raise CsvImportError(f"{path}, line 1: the axes have different units ({units})")
    return ts_col, axes, _kind(path, units.pop())


def _rows(
    path: Path,
    lines: list[str],
    names: list[str],
    ts_col: int,
    axes: dict[str, tuple[int, str]],
) -> tuple[np.ndarray, list[int], list[int]]:
    """The X, Y, Z values (file units), the sensor timestamps (ns) and the line numbers.

    Raises:
        CsvImportError: a row with another field count, a timestamp that is not a whole
            number of nanoseconds, a value that is not a number, or fewer than two samples.
    """
    rows, numbers, ticks = [], [], []
    for no in range(2, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s:
            continue
        f = s.split(";")
        if len(f) != len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(f)}"
            )
        try:
            tick = int(f[ts_col])
            if not -(2**63) <= tick < 2**63:  # not an int64 of nanoseconds
                raise ValueError(tick)
            ticks.append(tick)
        except ValueError:
            raise CsvImportError(
                f"{path}, line {no}: sensor timestamp {f[ts_col].strip()!r} is not a whole "
                "number of nanoseconds"
            ) from None
        rows.append([f[axes[a][0]] for a in "XYZ"])
        numbers.append(no)
    values = parse_numbers(path, rows, numbers, [names[axes[a][0]] for a in "XYZ"])
    if len(ticks) < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {len(ticks)}")
    return values, ticks, numbers


def _metadata(lines: list[str], numbers: list[int], ticks: list[int]) -> dict[str, str]:
    """The phone's time of the first sample, and the phone clock's offset from the sensor's
    (ns, the median) when every row has a phone time."""
    meta = {"phone_time_first_sample": lines[1].split(";")[0].strip()}
    phone = [_phone_ns(lines[no - 1].split(";")[0]) for no in numbers]
    if all(x is not None for x in phone):
        # the phone's clock against the sensor's (the app stamps rows when they arrive)
        diff = np.asarray(ticks, dtype=np.int64) + UNIX_NS_AT_2000 - np.asarray(phone, np.int64)
        meta[PHONE_OFFSET_KEY] = str(int(np.median(diff)))
    return meta


def _phone_ns(text: str) -> int | None:
    """A phone timestamp (``2022-04-25T11:39:36.978``, no zone) as ns on a naive UTC scale."""
    try:
        d = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    d = d.replace(tzinfo=UTC) if d.tzinfo is None else d
    return int(d.timestamp() * 1_000_000) * 1000


def _read_markers(path: Path, lines: list[str]) -> FileContents:
    """The app's MARKER.txt: phone time and label per line (repeated lines kept once)."""
    found: list[tuple[int, str, int]] = []
    for no in range(2, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s:
            continue
        f = s.split(";")
        when = _phone_ns(f[0])
        if when is None or len(f) < 2:
            raise CsvImportError(
                f"{path}, line {no}: expected 'phone time;marker', found {s[:60]!r}"
            )
        if all((when, f[1].strip()) != (w, lab) for w, lab, _ in found):
            found.append((when, f[1].strip(), no))
    if not found:
        raise CsvImportError(f"{path}: a Polar Sensor Logger marker file without marks")
    t0 = found[0][0]
    marks = tuple(Mark((w - t0) / 1e9, lab, no) for w, lab, no in found)
    return FileContents(
        path,
        FORMAT,
        (),
        TimeOrigin(ClockDomain.LOCAL_WALL, t0, group="polar-phone"),
        f"Polar Sensor Logger marker file ({len(marks)} marks, phone time)",
        marks=marks,
    )
