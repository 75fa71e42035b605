"""Names of the file formats ``imuhip import`` reads (kept free of heavy imports for the CLI)."""

from __future__ import annotations

from enum import Enum


class ImportFormat(Enum):
    """The file formats ``imuhip import`` reads (value: the name ``--format`` takes)."""

    MOVELLA_DOT = "movella-dot"
    POLAR_LOGGER = "polar-logger"
    METABASE = "metabase"
    WITMOTION_SD = "witmotion-sd"
    WITMOTION_TEXT = "witmotion-text"
    IMUHIP_CSV = "imuhip-csv"
    COLUMNS = "columns"


FORMAT_NAMES: tuple[str, ...] = tuple(f.value for f in ImportFormat)
