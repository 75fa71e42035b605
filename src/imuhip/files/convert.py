"""Conversions between session files and per-sensor CSV files (``imuhip import`` / ``export``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from imuhip.errors import CsvImportError
from imuhip.files.csv_samples import read_imu_csv, write_imu_csv
from imuhip.files.session_file import write_session
from imuhip.samples import ImuSamples
from imuhip.session import MAX_RATE_HZ, MIN_RATE_HZ, SensorInfo, SessionHeader
from imuhip.sinks.progress import track


@dataclass(frozen=True)
class ImportResult:
    path: Path
    header: SessionHeader
    counts: dict[str, int]
    notes: tuple[str, ...]


def import_csv(
    csv_by_role: dict[str, str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    side: str,
    exercise: str = "unspecified",
    acc_unit: str = "m/s2",
    gyr_unit: str = "rad/s",
    overwrite: bool = False,
) -> ImportResult:
    """Build a session file from one CSV per sensor role (all on one shared clock).

    Every file is read and checked before anything is written; the session file appears
    complete or not at all. Times in the session are the CSVs' ``time_s``.
    """
    if side not in ("left", "right"):
        raise CsvImportError(f"side must be 'left' or 'right', got {side!r}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise CsvImportError(f"{out} exists; choose another output name")
    loaded = {
        role: read_imu_csv(p, acc_unit=acc_unit, gyr_unit=gyr_unit)
        for role, p in track(csv_by_role.items(), "reading CSV files", len(csv_by_role))
    }
    notes = []
    for role, got in loaded.items():
        if got.ignored_columns:
            notes.append(f"{role}: ignored columns {', '.join(got.ignored_columns)}")
    spans = {r: (float(c.samples.t[0]), float(c.samples.t[-1])) for r, c in loaded.items()}
    start = max(a for a, _ in spans.values())
    stop = min(b for _, b in spans.values())
    if start >= stop:
        listing = "; ".join(f"{r} {a:g}-{b:g} s" for r, (a, b) in spans.items())
        raise CsvImportError(
            f"the files' time ranges do not overlap ({listing}); time_s must be one clock "
            "shared by all files"
        )
    for role, c in loaded.items():
        if not MIN_RATE_HZ <= c.rate_hz <= MAX_RATE_HZ:
            raise CsvImportError(
                f"{csv_by_role[role]}: time_s steps by {1 / c.rate_hz:.3g} s (median), "
                f"{c.rate_hz:.3g} samples per second; imuhip takes {MIN_RATE_HZ:g} to "
                f"{MAX_RATE_HZ:g} Hz: is time_s in seconds?"
            )
    sensors = tuple(
        SensorInfo(role=r, profile="samples", rate_hz=round(c.rate_hz, 3))
        for r, c in loaded.items()
    )
    header = SessionHeader(
        side=side,
        exercise=exercise,
        sensors=sensors,
        time_base="csv",
        extra={"imported_from": {r: Path(p).name for r, p in csv_by_role.items()}},
    )
    samples = {r: c.samples for r, c in loaded.items()}
    write_session(out, header, samples, overwrite=overwrite)
    return ImportResult(out, header, {r: len(s) for r, s in samples.items()}, tuple(notes))


def export_samples(folder: str | os.PathLike[str], imu: dict[str, ImuSamples]) -> list[Path]:
    """Write ``<folder>/<role>.csv`` for each role in ``imu`` (import format, SI units)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items = track(imu.items(), "writing CSV files", len(imu))
    return [write_imu_csv(folder / f"{role}.csv", s) for role, s in items]
