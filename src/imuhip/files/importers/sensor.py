"""The channel files of one sensor merged on that sensor's clock.

imuhip's samples need acceleration and angular rate at the same times (:class:`ImuSamples`):
the gyroscope's times are the sensor's times, and the accelerometer (and magnetometer) are
interpolated linearly onto them. Gyroscope samples outside the accelerometer's span, or inside
a gap of it, are left out and counted, so a gap stays a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import Channel, FileContents, Gap, Mark, TimeOrigin
from imuhip.files.importers.polar_logger import PHONE_OFFSET_KEY
from imuhip.samples import ImuSamples

#: A magnetometer covering less of the gyroscope's time than this is left out, not trimmed to.
MAG_MIN_COVER = 0.95
_WORD = {"acc": "accelerometer", "gyr": "gyroscope", "mag": "magnetometer"}


@dataclass(frozen=True)
class SensorData:
    """One sensor's samples from its files.

    Attributes:
        role: sensor role.
        samples: acc, gyr (and mag) on the gyroscope's times; seconds from ``origin``.
        origin: the clock of the gyroscope file.
        files: what each file held.
        rate_hz: median sample rate of the merged samples.
        gaps: the gyroscope file's gaps (samples missing in the file).
        notes: what was left out or noticed, in plain words.
        marks: marks from a marker file, on the same times as ``samples``.
    """

    role: str
    samples: ImuSamples
    origin: TimeOrigin
    files: tuple[FileContents, ...]
    rate_hz: float
    gaps: tuple[Gap, ...]
    notes: tuple[str, ...]
    marks: tuple[Mark, ...] = ()

    def shifted(self, dt: float) -> SensorData:
        """The same data with ``dt`` seconds added to every time."""
        s = self.samples
        moved = ImuSamples(s.t + dt, s.acc, s.gyr, s.mag, s.quat)
        gaps = tuple(
            Gap(g.line_before, g.line_after, g.t + dt, g.duration_s, g.lost) for g in self.gaps
        )
        return SensorData(self.role, moved, self.origin, self.files, self.rate_hz, gaps, self.notes)


def _onto(c: Channel, shift: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``c``'s values interpolated onto ``t`` and a mask of the times it covers (no gaps)."""
    ct = c.t + shift
    period = float(np.median(np.diff(ct)))
    inside = (t >= ct[0]) & (t <= ct[-1])
    i = np.clip(np.searchsorted(ct, t), 1, len(ct) - 1)
    inside &= (ct[i] - ct[i - 1]) <= 3.0 * period
    vals = np.column_stack([np.interp(t, ct, c.values[:, k]) for k in range(3)])
    return vals, inside


def merge_sensor(role: str, files: list[FileContents]) -> SensorData:
    """Merge the files given for ``role``; a missing or doubled channel is an error."""
    names = ", ".join(f.path.name for f in files)
    marker_files = [f for f in files if not f.channels and f.marks]
    files = [f for f in files if f not in marker_files]
    if not files:
        raise CsvImportError(
            f"{role} ({names}): {'; '.join(f.found for f in marker_files)} has no sensor data; "
            f"give the sensor's accelerometer and gyroscope files too (--{role} FILE)"
        )
    by_kind = _channels_by_kind(role, files)
    gfile, gyr = by_kind["gyr"]
    for f in files:
        if f is not gfile and not f.origin.shares_clock(gfile.origin):
            raise CsvImportError(
                f"{role}: {f.path.name} and {gfile.path.name} do not share a clock "
                f"({f.origin.domain.value} and {gfile.origin.domain.value}); the files of one "
                "sensor must come from one recording"
            )
    t = gyr.t
    keep, values, notes = _onto_gyro_times(role, by_kind, gfile, t)
    if not keep.any():
        raise CsvImportError(
            f"{role}: the accelerometer and gyroscope files do not overlap in time ({names})"
        )
    dropped = int((~keep).sum())
    if dropped:
        notes.append(
            f"{role}: {dropped} gyroscope sample(s) outside the accelerometer's time or in its "
            "gaps left out"
        )
    mag = values["mag"][keep] if "mag" in values else None
    samples = ImuSamples(t[keep].copy(), values["acc"][keep], gyr.values[keep], mag)
    if len(samples) < 2:
        raise CsvImportError(f"{role}: fewer than two samples with both acc and gyro ({names})")
    rate = 1.0 / float(np.median(np.diff(samples.t)))
    marks = tuple(m for f in marker_files for m in _marks_on(role, f, gfile))
    return SensorData(
        role, samples, gfile.origin, tuple(files), rate, gfile.gaps, tuple(notes), marks
    )


def _channels_by_kind(
    role: str, files: list[FileContents]
) -> dict[str, tuple[FileContents, Channel]]:
    """kind -> (its file, the channel), each kind once, gyroscope and accelerometer there.

    Raises:
        CsvImportError: a channel given twice, or no gyroscope or no accelerometer.
    """
    by_kind: dict[str, tuple[FileContents, Channel]] = {}
    for f in files:
        for c in f.channels:
            if c.kind in by_kind:
                raise CsvImportError(
                    f"{role}: two {_WORD[c.kind]} channels, in {by_kind[c.kind][0].path} and "
                    f"{f.path}; give each channel once"
                )
            by_kind[c.kind] = (f, c)
    if "gyr" not in by_kind or "acc" not in by_kind:
        has = " and ".join(_WORD[k] for k in by_kind) or "no inertial data"
        need = "gyroscope" if "gyr" not in by_kind else "accelerometer"
        found = "; ".join(f"{f.path.name}: {f.found}" for f in files)
        raise CsvImportError(
            f"{role} ({found}): {'an ' if has[0] in 'ao' else ''}{has} but no {need}; imuhip "
            f"needs both: give the {need} file too (--{role} FILE --{role} FILE)"
        )
    return by_kind


def _onto_gyro_times(
    role: str,
    by_kind: dict[str, tuple[FileContents, Channel]],
    gfile: FileContents,
    t: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """The accelerometer (and magnetometer) on the gyroscope's times ``t`` (s): a mask of the
    times kept (covered by the accelerometer, and by the magnetometer when it covers enough),
    kind -> values, and notes of what was left out."""
    keep = np.ones(len(t), dtype=bool)
    values: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for kind in ("acc", "mag"):
        if kind not in by_kind:
            continue
        f, c = by_kind[kind]
        shift = f.origin.offset_s(gfile.origin) if f is not gfile else 0.0
        if f is gfile and np.array_equal(c.t, t):
            values[kind] = c.values
            continue
        vals, inside = _onto(c, shift, t)
        if kind == "acc":
            keep &= inside
        elif inside.mean() >= MAG_MIN_COVER:
            keep &= inside
            if not inside.all():
                notes.append(
                    f"{role}: {int((~inside).sum())} sample(s) outside the magnetometer's time "
                    "left out"
                )
        else:
            notes.append(
                f"{role}: the magnetometer covers only {100 * inside.mean():.0f} % of the "
                "gyroscope's time; magnetometer left out"
            )
            continue
        values[kind] = vals
    return keep, values, notes


def _marks_on(role: str, marker: FileContents, gfile: FileContents) -> list[Mark]:
    """A marker file's marks on the gyroscope file's times (phone clock → sensor clock)."""
    offset = gfile.metadata.get(PHONE_OFFSET_KEY)
    if offset is None or marker.format is not gfile.format:
        raise CsvImportError(
            f"{role}: {marker.path.name} holds marks on the phone's clock; give it with the "
            "sensor files of the same recording (which relate phone and sensor time)"
        )
    base = marker.origin.start_ns + int(offset) - gfile.origin.start_ns
    return [Mark(base / 1e9 + m.t, m.label, m.line) for m in marker.marks]
