"""Movella (Xsens) DOT app CSV exports.

Layout (read from real exports, see docs/import-formats.md): a ``sep=,`` line, ``Key:,value``
preamble lines (DeviceTag, FirmwareVersion, AppVersion, and in later versions SyncStatus,
OutputRate, FilterProfile, Measurement Mode; padded with commas in newer versions), StartTime,
a ``©`` line, a blank line, then the header ``PacketCounter,SampleTimeFine,<columns>``.
``SampleTimeFine`` is the sensor clock in µs (uint32, wraps every 2³² µs ≈ 71.6 min);
``PacketCounter`` jumps where samples were lost. ``Acc_*`` is m/s² with gravity, ``Gyr_*`` °/s.
The real-time "Extended" modes carry only ``Quat_*``/``Euler_*`` and ``FreeAcc_*``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from imuhip.errors import CsvImportError, OrientationOnlyError
from imuhip.files.importers.base import (
    DEG,
    Channel,
    ClockDomain,
    FileContents,
    Gap,
    ImportFormat,
    ImportOptions,
    Orientation,
    OrientationKind,
    TimeOrigin,
    decode_text,
    head_text,
    parse_numbers,
)

FORMAT = ImportFormat.MOVELLA_DOT
WRAP_US = 1 << 32
_AXES = ("X", "Y", "Z")


def sniff(raw: bytes) -> bool:
    """A DOT export: ``sep=`` first line or a ``PacketCounter,SampleTimeFine`` header."""
    head = head_text(raw)
    first = head.split("\n", 1)[0].strip()
    return first.startswith("sep=") or bool(
        re.search(r"^\s*\"?PacketCounter\"?\s*[,;]\s*\"?SampleTimeFine", head, re.MULTILINE)
    )


def _split(line: str, sep: str) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.split(sep)]


def _start_utc(value: str) -> str:
    """``2021-08-30_17:05:05_000 GMT+8`` as ISO UTC ("" when the form is not known)."""
    m = re.match(
        r"(\d{4})-(\d{2})-(\d{2})[_ T](\d{2}):(\d{2}):(\d{2})[_.:](\d{3})\s*(?:GMT|UTC)?"
        r"\s*([+-]\d{1,2})?(?::?(\d{2}))?",
        value.strip(),
    )
    if not m:
        return ""
    y, mo, d, h, mi, s, ms = (int(x) for x in m.groups()[:7])
    sign_h = int(m.group(8) or 0)
    minutes = int(m.group(9) or 0) * (1 if sign_h >= 0 else -1)
    tz = timezone(timedelta(hours=sign_h, minutes=minutes))
    local = datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=tz)
    return local.astimezone(UTC).isoformat(timespec="milliseconds")


def _mode(names: list[str]) -> str:
    has = {
        p
        for p in ("Quat", "Euler", "FreeAcc", "Acc", "Gyr", "Mag")
        if f"{p}_X" in names or f"{p}_W" in names
    }
    return "+".join(sorted(has)) if has else "no data columns"


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read a DOT export; raises :class:`OrientationOnlyError` for the orientation-only modes."""
    lines = decode_text(path, raw, encodings=("utf-8-sig", "cp1252")).splitlines()
    sep = ","
    meta: dict[str, str] = {}
    header_no = 0
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if no == 1 and s.startswith("sep="):
            sep = s[4:5] or ","
            continue
        fields = _split(s, sep)
        if fields and fields[0] == "PacketCounter":
            header_no = no
            break
        if fields and fields[0].endswith(":"):
            meta[fields[0][:-1].strip()] = next((f for f in fields[1:] if f), "")
    if not header_no:
        raise CsvImportError(
            f"{path}: a Movella DOT export without its header line "
            "'PacketCounter,SampleTimeFine,...'; is the file complete?"
        )
    names = _split(lines[header_no - 1], sep)
    while names and names[-1] == "":
        names.pop()
    if "SampleTimeFine" not in names:
        raise CsvImportError(f"{path}, line {header_no}: no SampleTimeFine column")
    mode = meta.get("Measurement Mode", "")
    found = f"Movella DOT export ({_mode(names)} columns" + (f", mode {mode!r})" if mode else ")")
    rows, numbers = [], []
    for no in range(header_no + 1, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s:
            continue
        f = _split(s, sep)
        while len(f) > len(names) and f[-1] == "":
            f.pop()
        rows.append(f)
        numbers.append(no)
    # Status and other text columns are not numbers: keep only the numeric columns we use.
    want = [
        n
        for n in names
        if re.fullmatch(
            r"(PacketCounter|SampleTimeFine|(Quat|Euler|"
            r"FreeAcc|Acc|Gyr|Mag)_[WXYZ])",
            n,
        )
    ]
    col = [names.index(n) for n in want]
    for r, no in zip(rows, numbers, strict=True):
        if len(r) != len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(r)}"
            )
    table = parse_numbers(path, [[r[i] for i in col] for r in rows], numbers, want)
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    lines_arr = np.asarray(numbers, dtype=np.int64)
    c = {n: table[:, i] for i, n in enumerate(want)}
    for group, axes in (
        ("Acc", _AXES),
        ("Gyr", _AXES),
        ("Quat", ("W", *_AXES)),
        ("Euler", _AXES),
        ("FreeAcc", _AXES),
    ):
        have = [a for a in axes if f"{group}_{a}" in c]
        if have and len(have) != len(axes):
            missing = ", ".join(f"{group}_{a}" for a in axes if a not in have)
            raise CsvImportError(
                f"{path}, line {header_no}: {group}_{have[0]} without {missing}; the header "
                "looks damaged"
            )
    ticks = c["SampleTimeFine"].astype(np.int64)
    steps = np.diff(ticks)
    steps[steps < 0] += WRAP_US  # the 32-bit µs counter wrapped
    ticks_unwrapped = np.concatenate([[ticks[0]], ticks[0] + np.cumsum(steps)])
    if (steps == 0).any():
        i = int(np.argmax(steps == 0))
        raise CsvImportError(
            f"{path}, line {numbers[i + 1]}: SampleTimeFine repeats ({int(ticks[i])} µs); "
            "the file looks damaged"
        )
    t = (ticks_unwrapped - ticks_unwrapped[0]).astype(np.float64) / 1e6
    notes: list[str] = []
    keep = np.ones(len(t), dtype=bool)
    if "Acc_X" in c and "Gyr_X" in c:
        acc = np.column_stack([c[f"Acc_{a}"] for a in _AXES])
        gyr = np.column_stack([c[f"Gyr_{a}"] for a in _AXES])
        zero = ~(acc.any(axis=1) | gyr.any(axis=1))
        if zero.any():
            keep &= ~zero
            where = ", ".join(str(numbers[i]) for i in np.flatnonzero(zero)[:5])
            notes.append(
                f"{path.name}: {int(zero.sum())} row(s) with accelerometer and gyroscope exactly "
                f"0 left out (line {where}; the DOT app writes such a first row)"
            )
    period = float(np.median(np.diff(t)))
    gaps = _gaps(c, t, lines_arr, period)
    orientation = None
    if "Quat_W" in c:
        q = np.column_stack([c[f"Quat_{a}"] for a in ("W", "X", "Y", "Z")])
        orientation = Orientation(OrientationKind.QUATERNION, t[keep], q[keep])
    elif "Euler_X" in c:
        e = np.column_stack([c[f"Euler_{a}"] for a in _AXES])
        orientation = Orientation(OrientationKind.EULER_DEG, t[keep], e[keep])
    if "Acc_X" not in c or "Gyr_X" not in c:
        missing = " and ".join(
            w
            for w, p in (("gyroscope (Gyr_*)", "Gyr_X"), ("accelerometer (Acc_*)", "Acc_X"))
            if p not in c
        )
        what = "orientation" if orientation is not None else "no inertial data"
        extra = " (FreeAcc_* is acceleration with gravity removed)" if "FreeAcc_X" in c else ""
        raise OrientationOnlyError(
            f"{path}: {found} has {what} but no {missing}{extra}. This is one of the DOT app's "
            "real-time 'Extended' modes, which imuhip cannot use yet: record with the app's "
            "offline recording and export it with Acc and Gyr selected (or stream in a "
            "'rate quantities' mode)"
        )
    channels = (
        Channel("acc", t[keep], acc[keep], lines_arr[keep]),
        Channel("gyr", t[keep], gyr[keep] * DEG, lines_arr[keep]),
    )
    if "Mag_X" in c:
        notes.append(f"{path.name}: magnetometer columns ignored (the DOT writes arbitrary units)")
    sync = meta.get("SyncStatus", "")
    start_utc = _start_utc(meta.get("StartTime", ""))
    if sync and not re.search(r"^\s*(synced|synchronized|success)", sync, re.IGNORECASE):
        # Not synchronised: each sensor's µs counter is its own; the app's start time is all.
        origin = _wall_origin(start_utc)
        notes.append(f"{path.name}: SyncStatus {sync!r}: the sensor clock is not shared")
    else:
        origin = TimeOrigin(
            ClockDomain.SENSOR_TICKS,
            int(ticks_unwrapped[0]) * 1000,
            group="movella-dot",
            wrap_ns=WRAP_US * 1000,
            start_utc=start_utc,
        )
    meta = {k: v for k, v in meta.items() if v}
    return FileContents(
        path, FORMAT, channels, origin, found, orientation, gaps, tuple(notes), meta
    )


def _wall_origin(start_utc: str) -> TimeOrigin:
    if not start_utc:
        return TimeOrigin(ClockDomain.NONE)
    ns = int(datetime.fromisoformat(start_utc).timestamp() * 1000) * 1_000_000
    return TimeOrigin(ClockDomain.UTC, ns, start_utc=start_utc)


def _gaps(c: dict[str, np.ndarray], t: np.ndarray, lines: np.ndarray, period: float):
    """Gaps from PacketCounter jumps (counted) and SampleTimeFine jumps (timed)."""
    gaps: list[Gap] = []
    dt = np.diff(t)
    if "PacketCounter" in c:
        pc = c["PacketCounter"].astype(np.int64)
        d = np.diff(pc)
        d[d < -(1 << 15)] += 1 << 16  # a 16-bit counter wrapped
        for i in np.flatnonzero(d != 1):
            lost = int(d[i]) - 1 if d[i] > 1 else max(int(np.rint(dt[i] / period)) - 1, 0)
            if lost > 0:
                gaps.append(Gap(int(lines[i]), int(lines[i + 1]), float(t[i]), float(dt[i]), lost))
        return tuple(gaps)
    for i in np.flatnonzero(dt > 1.5 * period):
        gaps.append(
            Gap(
                int(lines[i]),
                int(lines[i + 1]),
                float(t[i]),
                float(dt[i]),
                int(np.rint(dt[i] / period)) - 1,
            )
        )
    return tuple(gaps)
