"""Any text table, through an explicit map of its columns and their units.

Given inline (``--columns "time=Timestamp:ms;acc=AccX,AccY,AccZ:g;gyr=GyrX,GyrY,GyrZ:deg/s"``;
optional ``mag=…:uT`` and ``sep=;``) or as a small TOML file::

    time = "Timestamp"
    time_unit = "ms"
    acc = ["AccX", "AccY", "AccZ"]
    acc_unit = "g"
    gyr = ["GyrX", "GyrY", "GyrZ"]
    gyr_unit = "deg/s"
    # mag = ["MagX", "MagY", "MagZ"]; mag_unit = "uT"; separator = ";"; decimal_comma = false

The header is the first line that names every mapped column.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import (
    ACC_UNITS,
    GYR_UNITS,
    MAG_UNITS,
    TIME_UNITS,
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

FORMAT = ImportFormat.COLUMNS
_SEPARATORS = (",", ";", "\t")


@dataclass(frozen=True)
class ColumnMap:
    """Which columns hold time, acceleration, angular rate (and magnetic field), in which units.

    Attributes:
        time: name of the time column; time_unit one of s, ms, us, ns.
        acc, gyr, mag: three column names each (x, y, z); mag may be empty.
        acc_unit: m/s2, g or mg; gyr_unit: rad/s, deg/s, dps or mdps; mag_unit: uT, T, G, mG, nT.
        separator: field separator, or "" to detect it from the header.
        decimal_comma: numbers are written with a decimal comma.
    """

    time: str
    acc: tuple[str, str, str]
    gyr: tuple[str, str, str]
    time_unit: str = "s"
    acc_unit: str = "m/s2"
    gyr_unit: str = "rad/s"
    mag: tuple[str, ...] = ()
    mag_unit: str = "uT"
    separator: str = ""
    decimal_comma: bool = False

    def __post_init__(self) -> None:
        for what, unit, table in (
            ("time", self.time_unit, TIME_UNITS),
            ("acc", self.acc_unit, ACC_UNITS),
            ("gyr", self.gyr_unit, GYR_UNITS),
            ("mag", self.mag_unit.lower(), MAG_UNITS),
        ):
            if unit not in table:
                raise CsvImportError(
                    f"column map: unknown {what} unit {unit!r}; use one of {', '.join(table)}"
                )
        for what, cols in (("acc", self.acc), ("gyr", self.gyr)):
            if len(cols) != 3:
                raise CsvImportError(f"column map: {what} needs three column names (x, y, z)")
        if self.mag and len(self.mag) != 3:
            raise CsvImportError("column map: mag needs three column names (x, y, z) or none")


def _names(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise CsvImportError(f"column map: {what} must be column names")
    return tuple(v.strip() for v in value)


def parse_column_map(spec: str) -> ColumnMap:
    """A map from a TOML file's path or an inline ``key=value;…`` spec."""
    p = Path(spec)
    if spec.endswith(".toml") or (p.is_file() and "=" not in spec):
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CsvImportError(f"column map {spec}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise CsvImportError(f"column map {spec}: not valid TOML ({exc})") from None
        data = data.get("columns", data)
    else:
        data = {}
        for part in spec.split(";"):
            if not part.strip():
                continue
            key, eq, value = part.partition("=")
            if not eq:
                raise CsvImportError(
                    f"column map: {part!r} is not key=value (e.g. acc=AccX,AccY,AccZ:g)"
                )
            key = key.strip()
            if key in ("time", "acc", "gyr", "mag") and ":" in value:
                value, _, unit = value.rpartition(":")
                data[f"{key}_unit"] = unit.strip()
            data[key] = value if key == "sep" else value.strip()
        if "sep" in data:
            data["separator"] = {"tab": "\t", "\\t": "\t"}.get(data["sep"], data["sep"])
            del data["sep"]
    missing = [k for k in ("time", "acc", "gyr") if k not in data]
    if missing:
        raise CsvImportError(
            f"column map: {', '.join(missing)} not given (needs time, acc and gyr, e.g. "
            "time=Timestamp:ms;acc=AccX,AccY,AccZ:g;gyr=GyrX,GyrY,GyrZ:deg/s)"
        )
    known = {
        "time",
        "time_unit",
        "acc",
        "acc_unit",
        "gyr",
        "gyr_unit",
        "mag",
        "mag_unit",
        "separator",
        "decimal_comma",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise CsvImportError(f"column map: unknown key(s) {', '.join(unknown)}")
    return ColumnMap(
        time=str(data["time"]).strip(),
        acc=_names(data["acc"], "acc"),  # type: ignore[arg-type]
        gyr=_names(data["gyr"], "gyr"),  # type: ignore[arg-type]
        time_unit=str(data.get("time_unit", "s")),
        acc_unit=str(data.get("acc_unit", "m/s2")),
        gyr_unit=str(data.get("gyr_unit", "rad/s")),
        mag=_names(data["mag"], "mag") if data.get("mag") else (),
        mag_unit=str(data.get("mag_unit", "uT")),
        separator=str(data.get("separator", "")),
        decimal_comma=bool(data.get("decimal_comma", False)),
    )


def sniff(raw: bytes) -> bool:
    """Never recognised from content: used when a column map is given."""
    return False


def read(path: Path, raw: bytes, options: ImportOptions) -> FileContents:
    """Read the mapped columns of a text table."""
    cmap = options.columns
    if not isinstance(cmap, ColumnMap):
        raise CsvImportError(f"{path}: --format columns needs a column map (--columns)")
    lines = decode_text(path, raw, encodings=("utf-8-sig", "gbk", "cp1252")).splitlines()
    wanted = [cmap.time, *cmap.acc, *cmap.gyr, *cmap.mag]
    header_no, sep, names = 0, "", []
    for no, line in enumerate(lines[:200], 1):
        for s in (cmap.separator,) if cmap.separator else _SEPARATORS:
            fields = [f.strip().strip('"') for f in line.split(s)]
            if all(w in fields for w in wanted):
                header_no, sep, names = no, s, fields
                break
        if header_no:
            break
    if not header_no:
        raise CsvImportError(
            f"{path}: no line among the first 200 names all the mapped columns "
            f"({', '.join(wanted)})"
        )
    cols = [names.index(w) for w in wanted]
    rows, numbers = [], []
    for no in range(header_no + 1, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s or s.startswith("#"):
            continue
        f = [x.strip().strip('"') for x in s.split(sep)]
        if len(f) < len(names):
            raise CsvImportError(
                f"{path}, line {no}: expected {len(names)} fields like the header, found {len(f)}"
            )
        r = [f[c] for c in cols]
        rows.append([x.replace(",", ".") for x in r] if cmap.decimal_comma else r)
        numbers.append(no)
    table = parse_numbers(path, rows, numbers, wanted)
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    t = (table[:, 0] - table[0, 0]) * TIME_UNITS[cmap.time_unit]
    line_arr = np.asarray(numbers, dtype=np.int64)
    channels = [
        Channel("acc", t, table[:, 1:4] * ACC_UNITS[cmap.acc_unit], line_arr),
        Channel("gyr", t, table[:, 4:7] * GYR_UNITS[cmap.gyr_unit], line_arr),
    ]
    if cmap.mag:
        channels.append(
            Channel("mag", t, table[:, 7:10] * MAG_UNITS[cmap.mag_unit.lower()], line_arr)
        )
    start_ns = int(np.rint(float(table[0, 0]) * TIME_UNITS[cmap.time_unit] * 1e9))
    dt = np.diff(t)
    period = float(np.median(dt)) if len(dt) else 0.0
    return FileContents(
        path,
        FORMAT,
        tuple(channels),
        TimeOrigin(ClockDomain.FILE, start_ns, group="column-map"),
        f"table read through the column map ({len(t)} samples)",
        gaps=gaps_from_times(t, line_arr, period) if period > 0 else (),
    )
