"""MbientLab MetaBase CSV exports (one file per channel).

Named ``<label>_MetaWear_<time>_<MAC>_<Channel>_<rate>Hz_<fw>.csv``; header
``epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)`` (``x-axis (deg/s)`` for
the gyroscope); other app versions write ``epoc (ms),timestamp (-0800),…``. In packed streaming
several rows share one epoch: the sample times are rebuilt from the rate.
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
    Channel,
    ClockDomain,
    FileContents,
    Gap,
    ImportFormat,
    ImportOptions,
    TimeOrigin,
    decode_text,
    gaps_from_indices,
    gaps_from_times,
    head_text,
    parse_numbers,
)

FORMAT = ImportFormat.METABASE
_EPOCH = re.compile(r"^epoch?\s*\(ms\)$", re.IGNORECASE)
_AXIS = re.compile(r"^([xyz])-axis\s*\(([^)]+)\)$", re.IGNORECASE)
_NAME = re.compile(r"_MetaWear_.*?_([A-Za-z]+)_([0-9.]+)Hz_", re.IGNORECASE)


def sniff(raw: bytes) -> bool:
    """A MetaBase file: the first column is ``epoch (ms)`` (or ``epoc (ms)``)."""
    first = head_text(raw, 256).split("\n", 1)[0]
    return bool(_EPOCH.match(first.split(",")[0].strip().strip('"')))


def _kind(path: Path, unit: str) -> tuple[str, float]:
    u = unit.strip().lower()
    if u in ("g", "m/s2", "m/s^2") and not re.search(r"magnet", path.name, re.IGNORECASE):
        return "acc", ACC_UNITS[u]
    if u in ("deg/s", "°/s", "dps", "rad/s"):
        return "gyr", GYR_UNITS[u]
    if u in MAG_UNITS:
        return "mag", MAG_UNITS[u]
    raise CsvImportError(f"{path}, line 1: unknown unit ({unit}) of the axis columns")


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read one MetaBase channel file; times are seconds from its first sample (epoch based)."""
    lines = decode_text(path, raw).splitlines()
    names = [n.strip().strip('"') for n in lines[0].split(",")]
    axes = _axis_columns(path, names)
    kind, scale = _kind(path, axes["x"][1])
    want = [0, axes["x"][0], axes["y"][0], axes["z"][0]]
    table, numbers = _table(path, lines, names, want)
    epoch_ms = np.round(table[:, 0]).astype(np.int64)
    line_arr = np.asarray(numbers, dtype=np.int64)
    m = _NAME.search(path.name)
    nominal = float(m.group(2)) if m else None
    t, gaps, notes = _sample_times(path, epoch_ms, line_arr, numbers, nominal)
    start_utc = datetime.fromtimestamp(int(epoch_ms[0]) / 1000.0, UTC).isoformat(
        timespec="milliseconds"
    )
    origin = TimeOrigin(ClockDomain.UTC, int(epoch_ms[0]) * 1_000_000, start_utc=start_utc)
    meta = {"channel": m.group(1), "nominal_rate_hz": m.group(2)} if m else {}
    word = {"acc": "accelerometer", "gyr": "gyroscope", "mag": "magnetometer"}[kind]
    return FileContents(
        path,
        FORMAT,
        (Channel(kind, t, table[:, 1:4] * scale, line_arr),),  # type: ignore[arg-type]
        origin,
        f"MetaBase {word} file ({len(t)} samples)",
        gaps=gaps,
        notes=tuple(notes),
        metadata=meta,
    )


def _axis_columns(path: Path, names: list[str]) -> dict[str, tuple[int, str]]:
    """axis ("x", "y", "z") -> (column index, unit).

    Raises:
        CsvImportError: the header lacks an axis column with its unit.
    """
    axes: dict[str, tuple[int, str]] = {}
    for i, n in enumerate(names):
        m = _AXIS.match(n)
        if m:
            axes[m.group(1).lower()] = (i, m.group(2))
    if set(axes) != {"x", "y", "z"}:
        raise CsvImportError(
            f"{path}, line 1: a MetaBase file needs x-axis, y-axis and z-axis columns with "
            f"units (found {', '.join(names)})"
        )
    return axes


def _table(
    path: Path, lines: list[str], names: list[str], want: list[int]
) -> tuple[np.ndarray, list[int]]:
    """The ``want`` columns of the data rows as numbers, and each row's line number.

    Raises:
        CsvImportError: a row with another field count, a value that is not a number, or
            fewer than two samples.
    """
    rows, numbers = [], []
    for no in range(2, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s:
            continue
        f = [x.strip().strip('"') for x in s.split(",")]
        if len(f) != len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(f)}"
            )
        rows.append([f[i] for i in want])
        numbers.append(no)
    table = parse_numbers(path, rows, numbers, [names[i] for i in want])
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    return table, numbers


def _sample_times(
    path: Path,
    epoch_ms: np.ndarray,
    line_arr: np.ndarray,
    numbers: list[int],
    nominal: float | None,
) -> tuple[np.ndarray, tuple[Gap, ...], list[str]]:
    """Sample times (s from the first), the gaps and notes: the epochs as they are, or, when
    rows share epochs (packed streaming), rebuilt at the measured (or nominal) rate.

    Raises:
        CsvImportError: the epoch goes backwards, or every row has the same epoch.
    """
    d = np.diff(epoch_ms)
    if (d < 0).any():
        i = int(np.argmax(d < 0))
        raise CsvImportError(
            f"{path}, line {numbers[i + 1]}: epoch goes backwards ({int(epoch_ms[i + 1])} ms "
            f"after {int(epoch_ms[i])} ms)"
        )
    if not float(np.mean(d == 0)) > 0.05:
        t = (epoch_ms - epoch_ms[0]) / 1000.0
        return t, gaps_from_times(t, line_arr, float(np.median(np.diff(t)))), []
    span_s = (epoch_ms[-1] - epoch_ms[0]) / 1000.0
    if not span_s > 0:
        raise CsvImportError(f"{path}: every row has the same epoch; cannot rebuild times")
    # rows since the first over the time since the first, at the last packet's first row
    last = int(np.flatnonzero(np.r_[True, d != 0])[-1])
    measured = last / ((epoch_ms[last] - epoch_ms[0]) / 1000.0)
    rate = nominal if nominal and abs(measured / nominal - 1) > 0.05 else measured
    rel = (epoch_ms - epoch_ms[0]) / 1000.0
    idx = np.round(rel * rate).astype(np.int64)
    for i in range(1, len(idx)):  # rows of one packet are consecutive samples
        if idx[i] <= idx[i - 1]:
            idx[i] = idx[i - 1] + 1
    t = idx / rate
    note = (
        f"{path.name}: rows share epochs (packed streaming): sample times rebuilt at {rate:.4g} Hz"
    )
    return t, gaps_from_indices(idx, line_arr, t), [note]
