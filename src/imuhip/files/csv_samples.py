"""CSV import and export of one sensor's samples.

Format (one file per sensor)::

    time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z[,mag_x,mag_y,mag_z]

``time_s`` is seconds on a clock shared by every file of a session; acceleration in m/s² (or g
with ``acc_unit="g"``), angular rate in rad/s (or °/s with ``gyr_unit="deg/s"``), magnetic field in
µT. Extra columns are ignored. Lines starting with ``#`` are comments. Exported files use this
format with the shortest exact decimal form of every value, so export → import is lossless.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from imuhip.atomic import atomic_write
from imuhip.errors import CsvImportError
from imuhip.samples import ImuSamples

STANDARD_GRAVITY = 9.80665  # m/s² per g
TIME_COLUMN = "time_s"
ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
GYR_COLUMNS = ("gyr_x", "gyr_y", "gyr_z")
MAG_COLUMNS = ("mag_x", "mag_y", "mag_z")
REQUIRED = (TIME_COLUMN, *ACC_COLUMNS, *GYR_COLUMNS)

ACC_UNITS = {"m/s2": 1.0, "g": STANDARD_GRAVITY}
GYR_UNITS = {"rad/s": 1.0, "deg/s": math.pi / 180.0}


@dataclass(frozen=True)
class CsvSamples:
    """Samples read from a CSV file, with what was noticed on the way."""

    samples: ImuSamples
    ignored_columns: tuple[str, ...]
    rate_hz: float
    lines: np.ndarray | None = None  # (N,) int64 line number of each sample


def read_imu_csv(
    path: str | os.PathLike[str], *, acc_unit: str = "m/s2", gyr_unit: str = "rad/s"
) -> CsvSamples:
    """Read and check one sensor's CSV file; every problem raises :class:`CsvImportError`.

    Checks: a header with the required columns; the same number of fields on every line;
    numbers everywhere (finite); time strictly increasing; at least two samples; magnitudes that
    fit the stated units (gravity near 9.8 m/s² on average, leg rotation rates below 1000 °/s,
    Earth-like magnetic field strength).
    """
    path = Path(path)
    if acc_unit not in ACC_UNITS:
        raise CsvImportError(
            f"unknown accelerometer unit {acc_unit!r}; use one of {list(ACC_UNITS)}"
        )
    if gyr_unit not in GYR_UNITS:
        raise CsvImportError(f"unknown gyroscope unit {gyr_unit!r}; use one of {list(GYR_UNITS)}")
    lines = _read_lines(path)
    header_no, names = _header(path, lines)
    idx = {name: names.index(name) for name in names}
    missing = [c for c in REQUIRED if c not in idx]
    if missing:
        raise CsvImportError(
            f"{path}, line {header_no}: missing column(s) {', '.join(missing)}; "
            f"expected {','.join(REQUIRED)}[,{','.join(MAG_COLUMNS)}]"
        )
    mag_present = [c for c in MAG_COLUMNS if c in idx]
    if mag_present and len(mag_present) != 3:
        raise CsvImportError(
            f"{path}, line {header_no}: magnetometer columns must be all of "
            f"{', '.join(MAG_COLUMNS)} or none (found {', '.join(mag_present)})"
        )
    wanted = list(REQUIRED) + (list(MAG_COLUMNS) if mag_present else [])
    ignored = tuple(n for n in names if n not in wanted)
    table, line_numbers = _parse_rows(path, lines, header_no, len(names))
    table = table[:, [idx[c] for c in wanted]]
    if table.shape[0] < 2:
        raise CsvImportError(f"{path}: needs at least two samples, found {table.shape[0]}")
    _check_finite(path, table, line_numbers, wanted)
    t = table[:, 0].copy()
    _check_time(path, t, line_numbers)
    acc = table[:, 1:4] * ACC_UNITS[acc_unit]
    gyr = table[:, 4:7] * GYR_UNITS[gyr_unit]
    mag = table[:, 7:10].copy() if mag_present else None
    _check_magnitudes(path, acc, gyr, mag, acc_unit, gyr_unit)
    rate = 1.0 / float(np.median(np.diff(t)))
    return CsvSamples(ImuSamples(t, acc, gyr, mag), ignored, rate, line_numbers)


def write_imu_csv(path: str | os.PathLike[str], samples: ImuSamples) -> Path:
    """Write samples in the import format (SI units), exactly (shortest round-trip decimals).

    The file is written under a temporary name and renamed, so it is never left half-written.
    """
    with ImuCsvWriter(path) as w:
        w.write(samples)
    return w.path


class ImuCsvWriter:
    """One sensor's samples written in the import format a block at a time, exactly as
    :func:`write_imu_csv` writes the blocks joined (:meth:`ImuSamples.concatenate`: the
    magnetometer's columns only when every block has it), holding one block at a time.

    Use as a context manager: the file is written under a temporary name and becomes ``path``
    when the block ends without an error (nothing is left on an error). When a block without
    magnetometer data follows blocks with it, the rows so far are rewritten without it at the
    end (one more pass over the file).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        self._f: IO[str] | None = None
        self._mag: bool | None = None  # the columns carry the magnetometer (None: no rows yet)
        self._drop_mag = False  # a block without it came: left out at the end
        #: samples written so far
        self.rows = 0

    def __enter__(self) -> ImuCsvWriter:
        return self

    def write(self, samples: ImuSamples) -> None:
        """Append the rows of ``samples`` (after those written before)."""
        if not len(samples):
            return
        if self._mag is None:
            self._mag = samples.mag is not None
            # with a magnetometer a later block may lack: a file that can be read back
            mode = "w+" if self._mag else "w"
            self._f = self._stack.enter_context(atomic_write(self.path, mode, newline="\n"))
            self._f.write(",".join(_columns(self._mag)) + "\n")
        assert self._f is not None
        mag = self._mag and samples.mag is not None
        self._drop_mag |= self._mag and not mag
        arrays = [samples.t[:, None], samples.acc, samples.gyr]
        if mag:
            arrays.append(samples.mag)  # type: ignore[arg-type]
        elif self._mag:  # cells for the columns, dropped again at the end
            arrays.append(np.zeros((len(samples), 3)))
        self._f.writelines(",".join(map(repr, row)) + "\n" for row in np.hstack(arrays).tolist())
        self.rows += len(samples)

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self._stack.__exit__(kind, exc, tb)  # the temporary file removed
            return
        if self._f is None:  # no samples: the header alone
            with atomic_write(self.path, "w", newline="\n") as f:
                f.write(",".join(_columns(False)) + "\n")
            return
        if not self._drop_mag:
            self._stack.close()
            return
        f = self._f
        f.seek(0)
        try:
            with atomic_write(self.path, "w", newline="\n") as out:
                out.writelines(line.rsplit(",", 3)[0] + "\n" for line in f)
        finally:  # the first file, with the magnetometer, is let go (not renamed)
            self._stack.__exit__(_SupersededError, _SupersededError(), None)


class _SupersededError(Exception):
    """The temporary file of an :class:`ImuCsvWriter` was rewritten into its target."""


def _columns(mag: bool) -> list[str]:
    return [TIME_COLUMN, *ACC_COLUMNS, *GYR_COLUMNS, *(MAG_COLUMNS if mag else ())]


# --------------------------------------------------------------------------- checks


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CsvImportError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CsvImportError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise CsvImportError(f"{path}: cannot read ({exc.strerror})") from exc
    if b"\x00" in raw[:4096]:
        raise CsvImportError(f"{path} is a binary file, not a CSV text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            f"{path} is not UTF-8 text (byte {exc.start}); is it a CSV file?"
        ) from None
    return text.splitlines()


def _header(path: Path, lines: list[str]) -> tuple[int, list[str]]:
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if s and not s.startswith("#"):
            names = [c.strip().lower() for c in s.split(",")]
            if TIME_COLUMN not in names and _looks_numeric(names):
                raise CsvImportError(
                    f"{path}, line {no}: no header line; the first line must name the columns "
                    f"{','.join(REQUIRED)}"
                )
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise CsvImportError(f"{path}, line {no}: duplicate column(s) {', '.join(dup)}")
            return no, names
    raise CsvImportError(f"{path} is empty: no header line and no samples")


def _looks_numeric(fields: list[str]) -> bool:
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return True


def _parse_rows(path: Path, lines: list[str], header_no: int, width: int):
    rows: list[list[str]] = []
    numbers: list[int] = []
    for no in range(header_no + 1, len(lines) + 1):
        s = lines[no - 1].strip()
        if not s or s.startswith("#"):
            continue
        fields = s.split(",")
        if len(fields) != width:
            raise CsvImportError(
                f"{path}, line {no}: expected {width} fields like the header, found {len(fields)}"
            )
        rows.append(fields)
        numbers.append(no)
    line_numbers = np.asarray(numbers, dtype=np.int64)
    if not rows:
        return np.empty((0, width)), line_numbers
    try:
        return np.array(rows, dtype=np.float64), line_numbers
    except ValueError:
        pass
    for fields, no in zip(rows, numbers, strict=True):  # find the culprit for the message
        for col, f in enumerate(fields):
            try:
                float(f)
            except ValueError:
                raise CsvImportError(
                    f"{path}, line {no}, field {col + 1}: {f.strip()!r} is not a number"
                ) from None
    raise CsvImportError(f"{path}: some values are not plain decimal numbers")


def _check_finite(path: Path, table: np.ndarray, line_numbers: np.ndarray, names: list[str]):
    bad = ~np.isfinite(table)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        value = float(table[r, c])
        raise CsvImportError(
            f"{path}, line {line_numbers[r]}: {names[c]} is {value!r}, not a finite number"
        )


def _check_time(path: Path, t: np.ndarray, line_numbers: np.ndarray) -> None:
    dt = np.diff(t)
    if (dt <= 0).any():
        i = int(np.argmax(dt <= 0))
        what = "repeats" if dt[i] == 0 else "goes backwards"
        raise CsvImportError(
            f"{path}, line {line_numbers[i + 1]}: time {what} "
            f"({float(t[i + 1])} s after {float(t[i])} s); "
            "time_s must increase strictly"
        )


def _check_magnitudes(path, acc, gyr, mag, acc_unit: str, gyr_unit: str) -> None:
    g = float(np.median(np.linalg.norm(acc, axis=1)))
    if not 4.0 <= g <= 20.0:
        if acc_unit == "m/s2" and 0.4 <= g <= 2.0:
            hint = "the values look like g: add --acc-unit g"
        elif acc_unit == "g" and 4.0 * STANDARD_GRAVITY <= g <= 20.0 * STANDARD_GRAVITY:
            hint = "the values look like m/s² already: drop --acc-unit g"
        else:
            hint = "check the accelerometer columns and unit"
        raise CsvImportError(
            f"{path}: median acceleration magnitude is {g:.3g} m/s² after unit conversion, "
            f"but a body-worn sensor reads about 9.8 m/s² on average; {hint}"
        )
    w = float(np.percentile(np.linalg.norm(gyr, axis=1), 99))
    if w > math.radians(1000):
        hint = (
            "the values look like °/s: add --gyr-unit deg/s"
            if gyr_unit == "rad/s"
            else "check the gyroscope columns and unit"
        )
        raise CsvImportError(
            f"{path}: angular rate reaches {math.degrees(w):.0f} °/s after unit conversion, far "
            f"above any leg movement; {hint}"
        )
    if mag is not None:
        b = float(np.median(np.linalg.norm(mag, axis=1)))
        if not 5.0 <= b <= 500.0:
            hint = (
                "values near 0.5 suggest gauss (multiply by 100)"
                if b < 5.0
                else "values in the hundreds or thousands suggest mG (divide by 10) or nT "
                "(divide by 1000)"
            )
            raise CsvImportError(
                f"{path}: median magnetic field is {b:.3g} µT, but the Earth's field is "
                f"25-65 µT; mag columns must be in µT: {hint}"
            )
