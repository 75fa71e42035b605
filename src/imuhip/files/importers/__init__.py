"""Import readers, one module per file format, and the dispatcher that recognises them.

Each format module has ``sniff(raw: bytes) -> bool`` (recognition from the content) and
``read(path, raw, options) -> FileContents`` (channels in SI units with times, and what the
file holds). :func:`read_file` recognises the format (or takes the one forced), reads the file
and checks it (:mod:`imuhip.files.importers.sanity`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imuhip.errors import UnknownFormatError
from imuhip.files.import_formats import FORMAT_NAMES
from imuhip.files.importers import (
    column_map,
    imuhip_csv,
    metabase,
    movella_dot,
    polar_logger,
    witmotion_sd,
    witmotion_text,
)
from imuhip.files.importers.base import FileContents, ImportFormat, ImportOptions, read_bytes
from imuhip.files.importers.sanity import check_file


@dataclass(frozen=True)
class FormatReader:
    """One import format: its name, a line of description, recognition and reader."""

    format: ImportFormat
    description: str
    sniff: Callable[[bytes], bool]
    read: Callable[[Path, bytes, ImportOptions], FileContents]


READERS: tuple[FormatReader, ...] = (
    FormatReader(
        ImportFormat.MOVELLA_DOT,
        "Movella/Xsens DOT app CSV export",
        movella_dot.sniff,
        movella_dot.read,
    ),
    FormatReader(
        ImportFormat.POLAR_LOGGER,
        "Polar Sensor Logger text file (one per channel)",
        polar_logger.sniff,
        polar_logger.read,
    ),
    FormatReader(
        ImportFormat.METABASE,
        "MbientLab MetaBase CSV (one per channel)",
        metabase.sniff,
        metabase.read,
    ),
    FormatReader(
        ImportFormat.WITMOTION_SD,
        "WitMotion WT901SD SD-card log (binary; --rate)",
        witmotion_sd.sniff,
        witmotion_sd.read,
    ),
    FormatReader(
        ImportFormat.WITMOTION_TEXT,
        "WitMotion PC software text export",
        witmotion_text.sniff,
        witmotion_text.read,
    ),
    FormatReader(
        ImportFormat.IMUHIP_CSV,
        "imuhip CSV (time_s, acc_*, gyr_*[, mag_*])",
        imuhip_csv.sniff,
        imuhip_csv.read,
    ),
    FormatReader(
        ImportFormat.COLUMNS, "any text table through --columns", column_map.sniff, column_map.read
    ),
)


def reader_for(name: str) -> FormatReader:
    """The reader of format ``name`` (a value of :class:`ImportFormat`)."""
    for r in READERS:
        if r.format.value == name:
            return r
    raise UnknownFormatError(f"unknown format {name!r}; use one of {', '.join(FORMAT_NAMES)}")


def detect(path: Path, raw: bytes) -> FormatReader:
    """The reader whose ``sniff`` recognises ``raw``; a clear error when none does."""
    for r in READERS:
        if r.sniff(raw):
            return r
    first = raw[:80].decode("utf-8", errors="replace").split("\n", 1)[0].strip()
    shown = f"first line {first!r}" if first and raw[:1].isascii() else "binary content"
    raise UnknownFormatError(
        f"{path}: format not recognised ({shown}). imuhip reads: "
        + "; ".join(r.description for r in READERS[:-1])
        + ". For another table give its columns with --columns (see imuhip import --help)"
    )


def read_file(
    path: str | os.PathLike[str],
    options: ImportOptions | None = None,
    *,
    format: str | None = None,
) -> FileContents:
    """Read one import file: recognised from its content unless ``format`` is given.

    A column map in ``options`` implies the ``columns`` format. The file is checked
    (values in any sensor's range, a plausible rate, time increasing) before it is returned.
    """
    options = options or ImportOptions()
    path = Path(path)
    raw = read_bytes(path)
    if format:
        reader = reader_for(format)
    elif options.columns is not None:
        reader = reader_for(ImportFormat.COLUMNS.value)
    else:
        reader = detect(path, raw)
    contents = reader.read(path, raw, options)
    check_file(contents)
    return contents


__all__ = [
    "FORMAT_NAMES",
    "READERS",
    "FileContents",
    "FormatReader",
    "ImportOptions",
    "detect",
    "read_file",
    "reader_for",
]
