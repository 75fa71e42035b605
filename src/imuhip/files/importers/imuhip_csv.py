"""imuhip's own CSV layout (``time_s,acc_x … gyr_z[,mag_x,mag_y,mag_z]``, SI units by default)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imuhip.files.csv_samples import read_imu_csv
from imuhip.files.importers.base import (
    Channel,
    ClockDomain,
    FileContents,
    ImportFormat,
    ImportOptions,
    TimeOrigin,
    gaps_from_times,
    head_text,
)

FORMAT = ImportFormat.IMUHIP_CSV


def sniff(raw: bytes) -> bool:
    """The first non-comment line names ``time_s`` among comma-separated columns."""
    for line in head_text(raw).splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return bool(re.search(r"(^|,)\s*time_s\s*(,|$)", s.lower()))
    return False


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read with :func:`imuhip.files.csv_samples.read_imu_csv` (its checks and messages)."""
    got = read_imu_csv(path, acc_unit=options.acc_unit, gyr_unit=options.gyr_unit)
    s = got.samples
    lines = got.lines if got.lines is not None else np.arange(len(s), dtype=np.int64) + 2
    channels = [Channel("acc", s.t, s.acc, lines), Channel("gyr", s.t, s.gyr, lines)]
    if s.mag is not None:
        channels.append(Channel("mag", s.t, s.mag, lines))
    notes = (
        (f"{path.name}: ignored columns {', '.join(got.ignored_columns)}",)
        if got.ignored_columns
        else ()
    )
    return FileContents(
        path,
        FORMAT,
        tuple(channels),
        TimeOrigin(ClockDomain.FILE, group="time_s"),
        f"imuhip CSV ({len(s)} samples)",
        gaps=gaps_from_times(s.t, lines, 1.0 / got.rate_hz),
        notes=notes,
    )
