"""Conversions between session files and per-sensor CSV files (``imuhip import`` / ``export``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from imuhip.errors import CsvImportError
from imuhip.files.csv_samples import write_imu_csv
from imuhip.files.importers import read_file
from imuhip.files.importers.base import FileContents, ImportFormat, ImportOptions
from imuhip.files.importers.sanity import gap_notes
from imuhip.files.importers.sensor import merge_sensor
from imuhip.files.importers.timebase import align_sensors
from imuhip.files.importers.vendor_orientation import is_orientation_only, vendor_sensor
from imuhip.files.session_file import ORIENTATION_SOURCE_KEY, write_session
from imuhip.samples import ImuSamples
from imuhip.session import Event, SensorInfo, SessionHeader

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the session file, its header, samples per role, notes."""

    path: Path
    header: SessionHeader
    counts: dict[str, int]
    notes: tuple[str, ...]


def _refuse_same_file(files_by_role: dict[str, list[Path]]) -> None:
    seen: dict[str, tuple[str, Path]] = {}
    for role, paths in files_by_role.items():
        for p in paths:
            try:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError:
                continue  # the reader gives the message
            if digest in seen:
                other_role, other = seen[digest]
                what = "the same file" if p.resolve() == other.resolve() else "identical files"
                raise CsvImportError(
                    f"{other} ({other_role}) and {p} ({role}) are {what}: each sensor needs "
                    "its own recording"
                )
            seen[digest] = (role, p)


def quiet(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """No progress shown (the default ``progress`` of the converters; the CLI passes a bar)."""
    yield from items


#: How a converter reports progress: ``progress(items, description, total)`` yields the items.
Progress = Callable[[Iterable[T], str, int | None], Iterator[T]]


def import_files(
    files_by_role: Mapping[str, Sequence[str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    *,
    side: str,
    exercise: str = "unspecified",
    options: ImportOptions | None = None,
    format: str | None = None,
    overwrite: bool = False,
    force: bool = False,
    progress: Progress = quiet,
) -> ImportResult:
    """Build a session file from each sensor's files (any supported format, recognised).

    Each role may have several files (channel files of one sensor, merged on its clock). The
    sensors are put on one time base from their clocks and checked against the gyroscopes
    (:mod:`imuhip.files.importers.timebase`); ``force`` imports sensors whose offset cannot be
    resolved (with a warning). Every file is read and checked before anything is written.
    """
    if side not in ("left", "right"):
        raise CsvImportError(f"side must be 'left' or 'right', got {side!r}")
    options = options or ImportOptions()
    out = Path(out)
    if out.exists() and not overwrite:
        raise CsvImportError(f"{out} exists; choose another output name")
    paths = {role: [Path(p) for p in ps] for role, ps in files_by_role.items()}
    for role, ps in paths.items():
        if not ps:
            raise CsvImportError(f"no file given for the {role}")
    _refuse_same_file(paths)
    todo = [(role, p) for role, ps in paths.items() for p in ps]
    contents: dict[str, list[FileContents]] = {role: [] for role in paths}
    for role, p in progress(todo, "reading files", len(todo)):
        contents[role].append(read_file(p, options, format=format))
    notes: list[str] = []
    sensors = {}
    for role, fs in contents.items():
        for f in fs:
            notes.extend(f.notes)
            notes.extend(gap_notes(f))
        merge = vendor_sensor if is_orientation_only(fs) else merge_sensor
        sensors[role] = merge(role, fs)
        notes.extend(sensors[role].notes)
    sensors, alignment = align_sensors(sensors, force=force)
    notes.extend(alignment.notes)
    spans = {r: (float(s.samples.t[0]), float(s.samples.t[-1])) for r, s in sensors.items()}
    start = max(a for a, _ in spans.values())
    stop = min(b for _, b in spans.values())
    if start >= stop:
        listing = "; ".join(f"{r} {a:g}-{b:g} s" for r, (a, b) in spans.items())
        raise CsvImportError(
            f"the files' time ranges do not overlap ({listing}); the sensors must be recorded "
            "at the same time (for imuhip CSV files time_s must be one clock shared by all files)"
        )
    infos = []
    for r, s in sensors.items():
        meta = {k: v for f in s.files for k, v in f.metadata.items()}
        infos.append(
            SensorInfo(
                role=r,
                profile="samples",
                name=meta.get("DeviceTag", ""),
                firmware=meta.get("FirmwareVersion", ""),
                rate_hz=round(s.rate_hz, 3),
                config={} if s.samples.quat is None else {ORIENTATION_SOURCE_KEY: "vendor"},
            )
        )
    ref = sensors[alignment.reference]
    extra: dict = {
        "imported_from": {
            r: (s.files[0].path.name if len(s.files) == 1 else [f.path.name for f in s.files])
            for r, s in sensors.items()
        },
        "import_formats": {
            r: sorted({f.format.value for f in s.files}) for r, s in sensors.items()
        },
        "lost_samples": {r: sum(f.lost_samples for f in s.files) for r, s in sensors.items()},
        "time_alignment": {
            "reference": alignment.reference,
            "shared_clock": list(alignment.shared_clock),
            "shifts_s": {r: round(v, 9) for r, v in alignment.shifts_s.items()},
            "signal_offset_corrected_s": round(alignment.corrected_s, 6),
        },
    }
    if ref.origin.start_utc:
        extra["start_utc"] = ref.origin.start_utc
    if any(s.origin.domain.value in ("utc", "sensor-ticks") for s in sensors.values()):
        extra["clock_origin"] = {
            r: {"clock": s.origin.domain.value, "start_ns": s.origin.start_ns}
            for r, s in sensors.items()
        }
    formats = {f.format for s in sensors.values() for f in s.files}
    header = SessionHeader(
        side=side,
        exercise=exercise,
        sensors=tuple(infos),
        time_base="csv" if formats <= {ImportFormat.IMUHIP_CSV} else "import",
        extra=extra,
    )
    samples = {r: s.samples for r, s in sensors.items()}
    events = sorted(
        (
            Event(m.t, "mark", None, {"label": m.label, "source": f"{r}: marker file"})
            for r, s in sensors.items()
            for m in s.marks
        ),
        key=lambda e: e.t,
    )
    write_session(out, header, samples, events=events, overwrite=overwrite)
    return ImportResult(out, header, {r: len(s) for r, s in samples.items()}, tuple(notes))


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
    """Build a session file from one file per sensor role (see :func:`import_files`)."""
    return import_files(
        {r: [p] for r, p in csv_by_role.items()},
        out,
        side=side,
        exercise=exercise,
        options=ImportOptions(acc_unit=acc_unit, gyr_unit=gyr_unit),
        overwrite=overwrite,
    )


def export_samples(
    folder: str | os.PathLike[str], imu: dict[str, ImuSamples], progress: Progress = quiet
) -> list[Path]:
    """Write ``<folder>/<role>.csv`` for each role in ``imu`` (import format, SI units)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items = progress(imu.items(), "writing CSV files", len(imu))
    return [write_imu_csv(folder / f"{role}.csv", s) for role, s in items]
