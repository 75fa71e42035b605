"""WitMotion PC-software text exports (tab-separated, UTF-8 or GBK, sometimes decimal commas).

Header like ``Time<TAB>ChipTime<TAB>ax(g)<TAB>ay(g)<TAB>az(g)<TAB>wx(deg/s)…<TAB>AngleX(deg)…``
(Chinese versions: ``片上时间``, ``加速度X(g)``, ``角速度X(°/s)``, ``角度X(°)``).
``ChipTime`` is the sensor's real-time clock (wall-clock time without a zone, milliseconds);
acceleration in g, angular rate in °/s, angles in degrees.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import (
    ACC_UNITS,
    GYR_UNITS,
    Channel,
    ClockDomain,
    FileContents,
    ImportFormat,
    ImportOptions,
    TimeOrigin,
    decode_text,
    gaps_from_times,
    parse_numbers,
)

FORMAT = ImportFormat.WITMOTION_TEXT
ENCODINGS = ("utf-8-sig", "gbk")
_ACC = re.compile(r"^(?:a|acc|加速度)\s*([xyz])\s*\((g|m/s2|m/s\^2)\)$", re.IGNORECASE)
_GYR = re.compile(
    r"^(?:w|as|gyr|gyro|角速度)\s*([xyz])\s*\((deg/s|°/s|dps|rad/s)\)$", re.IGNORECASE
)
_CHIPTIME = ("chiptime", "片上时间")
_TIME = re.compile(
    r"^(?:(\d{4})-(\d{1,2})-(\d{1,2})[ T]+)?(\d{1,2}):(\d{2}):(\d{2})(?:[.:](\d{1,3}))?$"
)


def _first_line(raw: bytes) -> str:
    head = raw[:1024]
    for enc in ENCODINGS:
        try:
            return head.decode(enc).split("\n", 1)[0]
        except UnicodeDecodeError:
            continue
    return head.decode("gbk", errors="replace").split("\n", 1)[0]


def sniff(raw: bytes) -> bool:
    """Tab-separated with a ChipTime (片上时间) column or WitMotion's ``ax(g)`` names."""
    first = _first_line(raw)
    if "\t" not in first:
        return False
    names = [n.strip().lower() for n in first.split("\t")]
    return any(n in _CHIPTIME for n in names) or any(_ACC.match(n) for n in names)


def _parse_time(s: str) -> datetime | None:
    m = _TIME.match(s.strip())
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(x) if x else 0 for x in m.groups()[:6])
    ms = m.group(7) or "0"
    base = datetime(y, mo, d) if m.group(1) else datetime(1970, 1, 1)
    return base + timedelta(hours=h, minutes=mi, seconds=sec, milliseconds=int(ms.ljust(3, "0")))


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read an export; times are seconds from the first row's ChipTime."""
    text = decode_text(path, raw, encodings=ENCODINGS)
    lines = text.splitlines()
    names = [n.strip() for n in lines[0].split("\t")]
    while names and not names[-1]:
        names.pop()
    acc, gyr, tcol = _columns(path, names)
    cols = [acc[a][0] for a in "xyz"] + [gyr[a][0] for a in "xyz"]
    table, times, numbers = _rows(path, lines, names, cols, tcol)
    t = _seconds(times)
    line_arr = np.asarray(numbers, dtype=np.int64)
    dt = np.diff(t)
    if (dt <= 0).any():
        i = int(np.argmax(dt <= 0))
        raise CsvImportError(
            f"{path}, line {numbers[i + 1]}: {names[tcol]} "
            f"{'repeats' if dt[i] == 0 else 'goes backwards'} ({times[i + 1]} after {times[i]})"
        )
    acc_scale = ACC_UNITS[acc["x"][1].replace("^", "")]
    gyr_scale = GYR_UNITS[gyr["x"][1]]
    start_ns = int((times[0] - datetime(1970, 1, 1)) // timedelta(microseconds=1)) * 1000
    origin = TimeOrigin(ClockDomain.LOCAL_WALL, start_ns, group="wall-clock")
    return FileContents(
        path,
        FORMAT,
        (
            Channel("acc", t, table[:, :3] * acc_scale, line_arr),
            Channel("gyr", t, table[:, 3:] * gyr_scale, line_arr),
        ),
        origin,
        f"WitMotion text export ({len(t)} samples)",
        gaps=gaps_from_times(t, line_arr, float(np.median(dt))),
        metadata={"chip_time_first_sample": times[0].isoformat(timespec="milliseconds")},
    )


_Axes = dict[str, tuple[int, str]]


def _columns(path: Path, names: list[str]) -> tuple[_Axes, _Axes, int]:
    """Accelerometer and gyroscope axis -> (column, unit), and the time column.

    Raises:
        CsvImportError: an axis group is incomplete or there is no (Chip)Time column.
    """
    low = [n.lower() for n in names]
    acc, gyr = {}, {}
    for i, n in enumerate(names):
        if m := _ACC.match(n):
            acc[m.group(1).lower()] = (i, m.group(2).lower())
        elif m := _GYR.match(n):
            gyr[m.group(1).lower()] = (i, m.group(2).lower())
    tcol = next((i for i, n in enumerate(low) if n in _CHIPTIME), None)
    if tcol is None:
        tcol = next((i for i, n in enumerate(low) if n in ("time", "时间")), None)
    missing = [
        w
        for w, d in (("acceleration ax(g)..az(g)", acc), ("angular rate wx(deg/s)..", gyr))
        if set(d) != set("xyz")
    ]
    if tcol is None:
        missing.append("a ChipTime column")
    if missing or tcol is None:
        raise CsvImportError(
            f"{path}, line 1: a WitMotion text export without {', '.join(missing)} (found "
            f"{', '.join(names)}); export the data with acceleration, angular velocity and "
            "chip time"
        )
    return acc, gyr, tcol


def _rows(
    path: Path, lines: list[str], names: list[str], cols: list[int], tcol: int
) -> tuple[np.ndarray, list[datetime], list[int]]:
    """The ``cols`` values (file units, decimal commas read), each row's time and line number.

    Raises:
        CsvImportError: a short row, a time that does not parse, a value that is not a
            number, or fewer than two samples.
    """
    rows, numbers, times = [], [], []
    for no in range(2, len(lines) + 1):
        s = lines[no - 1]
        if not s.strip():
            continue
        f = [x.strip() for x in s.split("\t")]
        if len(f) < len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(f)}"
            )
        when = _parse_time(f[tcol].replace(",", "."))
        if when is None:
            raise CsvImportError(
                f"{path}, line {no}: {names[tcol]} {f[tcol]!r} is not a time like "
                "2024-05-01 10:20:30.125"
            )
        times.append(when)
        rows.append([f[c].replace(",", ".") for c in cols])  # decimal commas
        numbers.append(no)
    table = parse_numbers(path, rows, numbers, [names[c] for c in cols])
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    return table, times, numbers


def _seconds(times: list[datetime]) -> np.ndarray:
    """Seconds from the first time; a time without a date that passes midnight goes on."""
    us = np.array([(w - times[0]) // timedelta(microseconds=1) for w in times], dtype=np.int64)
    day = 86_400 * 1_000_000
    back = np.diff(us) < -day // 2  # a time without a date passed midnight
    if back.any():
        us = us + np.concatenate([[0], np.cumsum(back)]) * day
    return us / 1e6
