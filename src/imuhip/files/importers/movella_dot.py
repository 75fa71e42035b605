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

from imuhip.errors import CsvImportError
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
from imuhip.fusion.vendor import euler_zyx_deg_to_quat, usable_quaternions

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
    """Read a DOT export: acc and gyr channels, or (the orientation-only "Extended" modes) no
    channels and the orientation with its free acceleration."""
    lines = decode_text(path, raw, encodings=("utf-8-sig", "cp1252")).splitlines()
    sep, meta, header_no = _preamble(path, lines)
    names = _split(lines[header_no - 1], sep)
    while names and names[-1] == "":
        names.pop()
    if "SampleTimeFine" not in names:
        raise CsvImportError(f"{path}, line {header_no}: no SampleTimeFine column")
    mode = meta.get("Measurement Mode", "")
    found = f"Movella DOT export ({_mode(names)} columns" + (f", mode {mode!r})" if mode else ")")
    c, numbers = _columns(path, lines, header_no, sep, names)
    lines_arr = np.asarray(numbers, dtype=np.int64)
    ticks_unwrapped = _unwrapped_ticks(path, c, numbers)
    t = (ticks_unwrapped - ticks_unwrapped[0]).astype(np.float64) / 1e6
    keep, notes = _nonzero_rows(path, c, numbers)
    period = float(np.median(np.diff(t)))
    gaps = _gaps(c, t, lines_arr, period)
    orientation = _orientation(c, t, keep)
    channels: tuple[Channel, ...] = ()
    if "Acc_X" not in c or "Gyr_X" not in c:
        if orientation is None:
            raise CsvImportError(
                f"{path}: {found} has no inertial data: neither Acc_* and Gyr_* nor an "
                "orientation (Quat_* or Euler_*); export it again with those columns selected"
            )
        orientation = _orientation_only(path, c, t, numbers, orientation, notes)
    else:
        acc = np.column_stack([c[f"Acc_{a}"] for a in _AXES])
        gyr = np.column_stack([c[f"Gyr_{a}"] for a in _AXES])
        channels = (
            Channel("acc", t[keep], acc[keep], lines_arr[keep]),
            Channel("gyr", t[keep], gyr[keep] * DEG, lines_arr[keep]),
        )
    if "Mag_X" in c:
        notes.append(f"{path.name}: magnetometer columns ignored (the DOT writes arbitrary units)")
    origin = _origin(path, meta, ticks_unwrapped, notes)
    meta = {k: v for k, v in meta.items() if v}
    return FileContents(
        path, FORMAT, channels, origin, found, orientation, gaps, tuple(notes), meta
    )


def _preamble(path: Path, lines: list[str]) -> tuple[str, dict[str, str], int]:
    """The field separator, the ``Key:,value`` lines and the header's line number (1-based)."""
    sep = ","
    meta: dict[str, str] = {}
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if no == 1 and s.startswith("sep="):
            sep = s[4:5] or ","
            continue
        fields = _split(s, sep)
        if fields and fields[0] == "PacketCounter":
            return sep, meta, no
        if fields and fields[0].endswith(":"):
            meta[fields[0][:-1].strip()] = next((f for f in fields[1:] if f), "")
    raise CsvImportError(
        f"{path}: a Movella DOT export without its header line "
        "'PacketCounter,SampleTimeFine,...'; is the file complete?"
    )


#: The numeric columns read (Status and other text columns are not numbers).
_WANTED = re.compile(r"(PacketCounter|SampleTimeFine|(Quat|Euler|FreeAcc|Acc|Gyr|Mag)_[WXYZ])")


def _columns(
    path: Path, lines: list[str], header_no: int, sep: str, names: list[str]
) -> tuple[dict[str, np.ndarray], list[int]]:
    """The numeric columns by name, and each row's line number; every axis group complete.

    Raises:
        CsvImportError: a row with another field count than the header, a value that is not a
            number, fewer than two samples, or an axis group missing an axis.
    """
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
    want = [n for n in names if _WANTED.fullmatch(n)]
    for r, no in zip(rows, numbers, strict=True):
        if len(r) != len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(r)}"
            )
    # orientation columns may hold unusable values (NaN): those rows are dropped and counted
    soft = [n for n in want if n.split("_")[0] in ("Quat", "Euler", "FreeAcc")]
    hard = [n for n in want if n not in soft]
    table = parse_numbers(path, [[r[names.index(n)] for n in hard] for r in rows], numbers, hard)
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    c = {n: table[:, i] for i, n in enumerate(hard)}
    soft_rows = [[r[names.index(n)] for n in soft] for r in rows]
    c.update(_numbers_or_nan(path, soft_rows, numbers, soft))
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
    return c, numbers


def _unwrapped_ticks(path: Path, c: dict[str, np.ndarray], numbers: list[int]) -> np.ndarray:
    """SampleTimeFine (µs) with the 32-bit wraps undone.

    Raises:
        CsvImportError: a time stamp repeats.
    """
    ticks = c["SampleTimeFine"].astype(np.int64)
    steps = np.diff(ticks)
    steps[steps < 0] += WRAP_US  # the 32-bit µs counter wrapped
    unwrapped = np.concatenate([[ticks[0]], ticks[0] + np.cumsum(steps)])
    if (steps == 0).any():
        i = int(np.argmax(steps == 0))
        raise CsvImportError(
            f"{path}, line {numbers[i + 1]}: SampleTimeFine repeats ({int(ticks[i])} µs); "
            "the file looks damaged"
        )
    return unwrapped


def _nonzero_rows(
    path: Path, c: dict[str, np.ndarray], numbers: list[int]
) -> tuple[np.ndarray, list[str]]:
    """The rows to keep (not accelerometer and gyroscope all exactly 0), and a note of those
    left out."""
    keep = np.ones(len(numbers), dtype=bool)
    notes: list[str] = []
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
    return keep, notes


def _orientation(c: dict[str, np.ndarray], t: np.ndarray, keep: np.ndarray) -> Orientation | None:
    """The vendor's orientation (quaternion, else Euler angles), None when there is none."""
    if "Quat_W" in c:
        q = np.column_stack([c[f"Quat_{a}"] for a in ("W", "X", "Y", "Z")])
        return Orientation(OrientationKind.QUATERNION, t[keep], q[keep])
    if "Euler_X" in c:
        e = np.column_stack([c[f"Euler_{a}"] for a in _AXES])
        return Orientation(OrientationKind.EULER_DEG, t[keep], e[keep])
    return None


def _origin(
    path: Path, meta: dict[str, str], ticks_unwrapped: np.ndarray, notes: list[str]
) -> TimeOrigin:
    """The sensor clock shared by synced DOTs, else the app's start time (noted in ``notes``)."""
    sync = meta.get("SyncStatus", "")
    start_utc = _start_utc(meta.get("StartTime", ""))
    if sync and not re.search(r"^\s*(synced|synchronized|success)", sync, re.IGNORECASE):
        # Not synchronised: each sensor's µs counter is its own; the app's start time is all.
        notes.append(f"{path.name}: SyncStatus {sync!r}: the sensor clock is not shared")
        return _wall_origin(start_utc)
    return TimeOrigin(
        ClockDomain.SENSOR_TICKS,
        int(ticks_unwrapped[0]) * 1000,
        group="movella-dot",
        wrap_ns=WRAP_US * 1000,
        start_utc=start_utc,
    )


def _numbers_or_nan(
    path: Path, rows: list[list[str]], lines: list[int], names: list[str]
) -> dict[str, np.ndarray]:
    """Columns ``names`` of ``rows`` as float64, non-finite values kept (text that is no
    number at all is still an error naming the line)."""
    if not names:
        return {}
    try:
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    except ValueError:
        parse_numbers(path, rows, lines, names)  # raises, naming the first bad field
        raise
    return {n: table[:, i] for i, n in enumerate(names)}


def _orientation_only(
    path: Path,
    c: dict[str, np.ndarray],
    t: np.ndarray,
    numbers: list[int],
    orientation: Orientation,
    notes: list[str],
) -> Orientation:
    """The orientation of an "Extended"-mode file as quaternions, with its free acceleration;
    rows with an unusable quaternion or free acceleration (not a number, zero length) are left
    out and counted in ``notes``."""
    if orientation.kind is OrientationKind.EULER_DEG:
        with np.errstate(invalid="ignore"):
            q = euler_zyx_deg_to_quat(orientation.values)
    else:
        q = orientation.values
    fa = np.column_stack([c[f"FreeAcc_{a}"] for a in _AXES]) if "FreeAcc_X" in c else None
    ok = usable_quaternions(q)
    if fa is not None:
        ok &= np.isfinite(fa).all(axis=1)
    if not ok.all():
        where = ", ".join(str(numbers[i]) for i in np.flatnonzero(~ok)[:5])
        notes.append(
            f"{path.name}: {int((~ok).sum())} row(s) with an unusable orientation (not a number "
            f"or a quaternion of zero length) left out (line {where})"
        )
    if ok.sum() < 2:
        raise CsvImportError(
            f"{path}: fewer than two rows with a usable orientation; the file looks damaged"
        )
    q = q[ok] / np.linalg.norm(q[ok], axis=1, keepdims=True)
    notes.append(
        f"{path.name}: orientation only (the DOT's 'Extended' mode, no gyroscope or raw "
        "accelerometer): the vendor's orientation is used, its angular rate derived from it"
    )
    return Orientation(
        OrientationKind.QUATERNION, orientation.t[ok], q, None if fa is None else fa[ok]
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
