"""Checks on imported data: every problem names the file and the lines.

Limits: no wearable IMU measures beyond ±50 g or ±5000 °/s, so larger values are a wrong unit
or a damaged file; sample rates outside 1-2000 Hz are a wrong time unit; time must increase.
"""

from __future__ import annotations

import math

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import STANDARD_GRAVITY, Channel, FileContents

MAX_ACC = 50.0 * STANDARD_GRAVITY  # m/s²
MAX_GYR = math.radians(5000.0)  # rad/s
MIN_RATE_HZ = 1.0
MAX_RATE_HZ = 2000.0
#: Gaps longer than this are reported as long.
LONG_GAP_S = 1.0


def _where(c: Channel, mask: np.ndarray, unit: str) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(c.lines[i])) for i in idx[:5])
    more = f" and {len(idx) - 5} more" if len(idx) > 5 else ""
    return f"{unit} {shown}{more}"


def check_file(f: FileContents) -> None:
    """Raise :class:`CsvImportError` on values out of any sensor's range, a rate that makes no
    sense or time that does not increase."""
    for c in f.channels:
        dt = np.diff(c.t)
        if (dt <= 0).any():
            i = int(np.argmax(dt <= 0))
            what = "repeats" if dt[i] == 0 else "goes backwards"
            raise CsvImportError(
                f"{f.path}, {f.location} {int(c.lines[i + 1])}: time {what} "
                f"({float(c.t[i + 1]):.6g} s after {float(c.t[i]):.6g} s from the start)"
            )
        if len(dt):
            rate = 1.0 / float(np.median(dt))
            if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
                hint = ""
                for factor, unit in (
                    (1e3, "milliseconds"),
                    (1e6, "microseconds"),
                    (1e9, "nanoseconds"),
                ):
                    if MIN_RATE_HZ <= rate * factor <= MAX_RATE_HZ:
                        hint = f"; is time in {unit}?"
                        break
                    if MIN_RATE_HZ <= rate / factor <= MAX_RATE_HZ:
                        hint = f"; is time in seconds, not {unit}?"
                        break
                raise CsvImportError(
                    f"{f.path}: the times give a sample rate of {rate:.4g} Hz (median step "
                    f"{float(np.median(dt)):.6g} s), outside the {MIN_RATE_HZ:g}-"
                    f"{MAX_RATE_HZ:g} Hz of body-worn sensors{hint}"
                )
        norm = np.linalg.norm(c.values, axis=1)
        if c.kind == "acc" and (norm > MAX_ACC).any():
            raise CsvImportError(
                f"{f.path}: acceleration of {float(norm.max()) / STANDARD_GRAVITY:.4g} g at "
                f"{_where(c, norm > MAX_ACC, f.location)}, beyond any wearable sensor's "
                "±50 g range; check the accelerometer unit (a file in m/s² read as g?)"
            )
        if c.kind == "gyr" and (norm > MAX_GYR).any():
            raise CsvImportError(
                f"{f.path}: angular rate of {math.degrees(float(norm.max())):.5g} °/s at "
                f"{_where(c, norm > MAX_GYR, f.location)}, beyond any wearable sensor's "
                "±5000 °/s range; check the gyroscope unit (°/s read as rad/s?)"
            )


def gap_notes(f: FileContents) -> list[str]:
    """Plain-words lines on the file's gaps: lost samples in all, and every long gap."""
    if not f.gaps:
        return []
    out = [
        f"{f.path.name}: {f.lost_samples} sample(s) missing in {len(f.gaps)} gap(s), kept as "
        "gaps (not interpolated)"
    ]
    for g in f.gaps:
        if g.duration_s >= LONG_GAP_S:
            out.append(
                f"{f.path.name}: long gap of {g.duration_s:.3f} s between {f.location}s "
                f"{g.line_before} and {g.line_after}"
            )
    return out
