"""Conversions between session files and per-sensor CSV files (``imuhip import`` / ``export``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from imuhip.errors import CsvImportError, LayoutError
from imuhip.files.importers import read_file
from imuhip.files.importers.base import FileContents, ImportFormat, ImportOptions
from imuhip.files.importers.sanity import gap_notes
from imuhip.files.importers.sensor import SensorData, merge_sensor
from imuhip.files.importers.timebase import Alignment, align_sensors
from imuhip.files.importers.vendor_orientation import is_orientation_only, vendor_sensor
from imuhip.files.session_file import ORIENTATION_SOURCE_KEY, write_session
from imuhip.layout import BOTH, PLAIN_LEG_ROLES, SIDES, Layout, layout_of
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


#: The warning of a shin-only import (no thigh sensor on any leg).
SHIN_ONLY_WARNING = (
    "warning: no thigh sensor: the hip angle comes from the shin alone, which holds only "
    "prone (the thigh lying on the floor); seated and supine sessions need a thigh sensor"
)


def import_files(
    files_by_role: Mapping[str, Sequence[str | os.PathLike[str]]],
    out: str | os.PathLike[str],
    *,
    side: str | None = None,
    exercise: str = "unspecified",
    options: ImportOptions | None = None,
    format: str | None = None,
    overwrite: bool = False,
    force: bool = False,
    progress: Progress = quiet,
) -> ImportResult:
    """Build a session file from each sensor's files (any supported format, recognised).

    ``files_by_role`` maps roles (:mod:`imuhip.layout`: plain ``thigh``/``shin`` with
    ``side`` "left" or "right", or sided ``left_thigh``... for which ``side`` may be omitted;
    ``pelvis``, ``trunk``) to files; the roles must form a valid layout (:class:`LayoutError`
    otherwise, before anything is read). Each role may have several files (channel files of
    one sensor, merged on its clock). The sensors are put on one time base from their clocks
    and each leg's shin is checked against its thigh from the gyroscopes
    (:mod:`imuhip.files.importers.timebase`); ``force`` imports sensors whose offset cannot be
    resolved (with a warning). Every file is read and checked before anything is written.
    """
    options = options or ImportOptions()
    out = Path(out)
    layout = _import_layout(list(files_by_role), side)
    if out.exists() and not overwrite:
        raise CsvImportError(f"{out} exists; choose another output name")
    paths = {role: [Path(p) for p in ps] for role, ps in files_by_role.items()}
    for role, ps in paths.items():
        if not ps:
            raise CsvImportError(f"no file given for the {role}")
    _refuse_same_file(paths)
    notes: list[str] = [SHIN_ONLY_WARNING] if layout.shin_only else []
    sensors = _read_sensors(paths, options, format, progress, notes)
    sensors, alignment = align_sensors(sensors, layout, force=force)
    notes.extend(alignment.notes)
    _check_overlap(sensors)
    header = SessionHeader(
        side=layout.side,
        exercise=exercise,
        sensors=tuple(_sensor_info(r, s) for r, s in sensors.items()),
        time_base=_time_base(sensors),
        extra=_import_extra(sensors, alignment),
    )
    samples = {r: s.samples for r, s in sensors.items()}
    write_session(out, header, samples, events=_marker_events(sensors), overwrite=overwrite)
    return ImportResult(out, header, {r: len(s) for r, s in samples.items()}, tuple(notes))


def _import_layout(roles: list[str], side: str | None) -> Layout:
    """The layout of the roles given: plain roles need ``side`` left or right; sided roles
    give their own (a ``side`` given must agree)."""
    if side is not None and side not in (*SIDES, BOTH):
        raise CsvImportError(f"side must be 'left', 'right' or 'both', got {side!r}")
    if side is None:
        if any(r in PLAIN_LEG_ROLES for r in roles):
            raise LayoutError("plain thigh/shin roles need the side: give side 'left' or 'right'")
        sided = {r.split("_", 1)[0] for r in roles if "_" in r}
        side = BOTH if len(sided) == 2 else next(iter(sided), "left")
    return layout_of(roles, side)


def _read_sensors(
    paths: dict[str, list[Path]],
    options: ImportOptions,
    format: str | None,
    progress: Progress,
    notes: list[str],
) -> dict[str, SensorData]:
    """Read every file and merge each role's files into one sensor (notes appended)."""
    todo = [(role, p) for role, ps in paths.items() for p in ps]
    contents: dict[str, list[FileContents]] = {role: [] for role in paths}
    for role, p in progress(todo, "reading files", len(todo)):
        contents[role].append(read_file(p, options, format=format))
    sensors = {}
    for role, fs in contents.items():
        for f in fs:
            notes.extend(f.notes)
            notes.extend(gap_notes(f))
        merge = vendor_sensor if is_orientation_only(fs) else merge_sensor
        sensors[role] = merge(role, fs)
        notes.extend(sensors[role].notes)
    return sensors


def _check_overlap(sensors: dict[str, SensorData]) -> None:
    spans = {r: (float(s.samples.t[0]), float(s.samples.t[-1])) for r, s in sensors.items()}
    start = max(a for a, _ in spans.values())
    stop = min(b for _, b in spans.values())
    if start >= stop:
        listing = "; ".join(f"{r} {a:g}-{b:g} s" for r, (a, b) in spans.items())
        raise CsvImportError(
            f"the files' time ranges do not overlap ({listing}); the sensors must be recorded "
            "at the same time (for imuhip CSV files time_s must be one clock shared by all files)"
        )


def _sensor_info(role: str, s: SensorData) -> SensorInfo:
    meta = {k: v for f in s.files for k, v in f.metadata.items()}
    return SensorInfo(
        role=role,
        profile="samples",
        name=meta.get("DeviceTag", ""),
        firmware=meta.get("FirmwareVersion", ""),
        rate_hz=round(s.rate_hz, 3),
        config={} if s.samples.quat is None else {ORIENTATION_SOURCE_KEY: "vendor"},
    )


def _time_base(sensors: dict[str, SensorData]) -> str:
    formats = {f.format for s in sensors.values() for f in s.files}
    return "csv" if formats <= {ImportFormat.IMUHIP_CSV} else "import"


def _import_extra(sensors: dict[str, SensorData], alignment: Alignment) -> dict:
    """The header's ``extra`` of an import: source files, formats, losses, time alignment."""
    corrected: float | dict[str, float] = {r: round(v, 6) for r, v in alignment.corrected_s.items()}
    if len(alignment.corrected_s) <= 1:  # one leg: a number, as every earlier file has it
        corrected = round(next(iter(alignment.corrected_s.values()), 0.0), 6)
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
            "signal_offset_corrected_s": corrected,
        },
    }
    ref = sensors[alignment.reference]
    if ref.origin.start_utc:
        extra["start_utc"] = ref.origin.start_utc
    if any(s.origin.domain.value in ("utc", "sensor-ticks") for s in sensors.values()):
        extra["clock_origin"] = {
            r: {"clock": s.origin.domain.value, "start_ns": s.origin.start_ns}
            for r, s in sensors.items()
        }
    return extra


def _marker_events(sensors: dict[str, SensorData]) -> list[Event]:
    """The marks of the sensors' marker files, in time order."""
    return sorted(
        (
            Event(m.t, "mark", None, {"label": m.label, "source": f"{r}: marker file"})
            for r, s in sensors.items()
            for m in s.marks
        ),
        key=lambda e: e.t,
    )


def import_csv(
    csv_by_role: dict[str, str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    side: str | None = None,
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
