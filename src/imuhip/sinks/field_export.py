"""Exports for the tools of the field: OpenSim motion (``.mot``) and OpenSense orientation
(``.sto``) files, and a Movella-DOT-style CSV of the samples.

Layouts (OpenSim Storage files): header lines ``key=value`` up to ``endheader``, then one
tab-separated line of column labels starting with ``time``, then one tab-separated row per
time. ``.mot`` (version 1) starts with a name line and carries ``nRows``, ``nColumns`` (time
included) and ``inDegrees``; the OpenSense orientation ``.sto`` (version 3) carries ``DataRate``
and ``DataType=Quaternion`` and writes each IMU's quaternion as one ``w,x,y,z`` cell. Every file
carries the session's start in UTC (``start_utc``, where known), so session time plus that
start is wall-clock time (for lining up a video).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import numpy as np

from imuhip.atomic import atomic_write
from imuhip.samples import ImuSamples
from imuhip.session import SessionHeader

#: OpenSense IMU names per role (the side's letter appended for thigh and shin).
OPENSENSE_NAMES = {"pelvis": "pelvis_imu", "thigh": "femur_{s}_imu", "shin": "tibia_{s}_imu"}


def session_start_utc(header: SessionHeader) -> datetime | None:
    """UTC time of the session's ``t = 0``, where the file says it.

    Imports of vendor files: ``extra.start_utc`` (from the file's epoch or start time). Live
    recordings (host-monotonic time base): ``created_utc``, written when the session clock
    started (to the second). Otherwise (simulations, imuhip CSV imports) None.
    """
    text = header.extra.get("start_utc") or (
        header.created_utc if header.time_base == "host-monotonic" else ""
    )
    if not text:
        return None
    try:
        d = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def utc_strings(t: np.ndarray, start: datetime | None) -> list[str]:
    """ISO-8601 UTC time (ms) of each session time ``t``, or "" each when the start is unknown."""
    if start is None:
        return [""] * len(t)
    return [
        (start + timedelta(seconds=float(x))).astimezone(UTC).isoformat(timespec="milliseconds")
        for x in t
    ]


def _write(path: Path, lines: Iterable[str]) -> Path:
    """``lines`` as the text file ``path``, complete or not at all (:mod:`imuhip.atomic`)."""
    with atomic_write(path, "w", newline="\n") as f:
        f.writelines(f"{ln}\n" for ln in lines)
    return path


def write_mot(
    path: str | os.PathLike[str],
    t: np.ndarray,
    angles: dict[str, np.ndarray],
    *,
    start: datetime | None,
) -> Path:
    """OpenSim motion file of the hip rotation (degrees): ``angles`` side -> (N,) on ``t``,
    one column each (``hip_rotation_l``, ``hip_rotation_r``).

    Only times where every angle is defined are written (OpenSim reads no empty cells).
    """
    sides = [s for s in ("left", "right") if s in angles]
    ok = np.all([np.isfinite(angles[s]) for s in sides], axis=0)
    cols = [f"hip_rotation_{s[0]}" for s in sides]
    header = [
        "Coordinates", "version=1", f"nRows={int(ok.sum())}", f"nColumns={1 + len(sides)}",
        "inDegrees=yes",
    ]  # fmt: skip
    if start is not None:
        header.append(f"start_utc={start.isoformat(timespec='milliseconds')}")
    rows = (
        "\t".join([repr(float(t[i])), *(f"{angles[s][i]:.6f}" for s in sides)])
        for i in np.flatnonzero(ok)
    )
    return _write(Path(path), [*header, "endheader", "\t".join(["time", *cols]), *rows])


def opensense_name(role: str, side: str) -> str:
    """The OpenSense IMU name of a sensor role (``left_thigh`` or ``thigh`` of a left leg:
    ``femur_l_imu``; ``pelvis``: ``pelvis_imu``)."""
    seg = role.split("_", 1)[1] if "_" in role else role
    if "_" in role:
        side = role.split("_", 1)[0]
    return OPENSENSE_NAMES[seg].format(s=side[0])


def write_sto(
    path: str | os.PathLike[str],
    t: np.ndarray,
    quats: dict[str, np.ndarray],
    *,
    side: str,
    rate_hz: float,
    start: datetime | None,
) -> Path:
    """OpenSense orientation file: one ``w,x,y,z`` column per IMU (sensor-to-world, ENU z up).

    OpenSense's world has y up: in its IMU placer, ``sensor_to_opensim_rotations`` -90° about x
    turns ENU into it. Rows where any orientation is undefined are left out.
    """
    order = ("pelvis", "thigh", "shin", "left_thigh", "left_shin", "right_thigh", "right_shin")
    roles = [r for r in order if r in quats]
    names = [opensense_name(r, side) for r in roles]
    ok = np.all([np.isfinite(quats[r]).all(axis=1) for r in roles], axis=0)
    header = [
        f"DataRate={rate_hz:.6f}",
        "DataType=Quaternion",
        "version=3",
        "OpenSimVersion=4.1",
        "world_frame=ENU_z_up",
    ]
    if start is not None:
        header.append(f"start_utc={start.isoformat(timespec='milliseconds')}")
    rows = []
    for i in np.flatnonzero(ok):
        cells = [",".join(f"{v:.9f}" for v in quats[r][i]) for r in roles]
        rows.append("\t".join([repr(float(t[i])), *cells]))
    return _write(Path(path), [*header, "endheader", "\t".join(["time", *names]), *rows])


def write_dot_csv(
    path: str | os.PathLike[str], samples: ImuSamples, *, tag: str, start: datetime | None
) -> Path:
    """Samples as a Movella DOT app export (``sep=,``, preamble, ``PacketCounter``,
    ``SampleTimeFine`` = session time in µs, ``Acc_*`` m/s², ``Gyr_*`` °/s).

    ``imuhip import`` reads it back (times to the µs). ``StartTime`` is the first sample's time in
    UTC where known (to the ms); a ``UTC`` column gives each sample's time.
    """
    with DotCsvWriter(path, tag=tag, start=start) as w:
        w.write(samples)
    return w.path


class DotCsvWriter:
    """:func:`write_dot_csv` a block of samples at a time (the same file as of the blocks
    joined), holding one block at a time. Use as a context manager: the file is written under
    a temporary name and becomes ``path`` when the block ends without an error."""

    def __init__(self, path: str | os.PathLike[str], *, tag: str, start: datetime | None):
        self.path = Path(path)
        self._tag, self._start = tag, start
        self._stack = contextlib.ExitStack()
        self._f: IO[str] | None = None
        #: samples written so far (the next row's PacketCounter)
        self.rows = 0

    def __enter__(self) -> DotCsvWriter:
        return self

    def write(self, samples: ImuSamples) -> None:
        """Append the rows of ``samples`` (after those written before)."""
        if not len(samples):
            return
        if self._f is None:
            self._begin(float(samples.t[0]))
        assert self._f is not None
        # SampleTimeFine counts session time, so files of several sensors keep their offsets
        ticks = (np.rint(samples.t * 1e6).astype(np.int64) % (1 << 32)).tolist()
        gyr = np.degrees(samples.gyr).tolist()
        utc = utc_strings(samples.t, self._start)
        i0 = self.rows
        self._f.writelines(
            f"{i0 + i},{k},{a[0]!r},{a[1]!r},{a[2]!r},{g[0]!r},{g[1]!r},{g[2]!r},{u}\n"
            for i, (k, a, g, u) in enumerate(
                zip(ticks, samples.acc.tolist(), gyr, utc, strict=True)
            )
        )
        self.rows += len(samples)

    def _begin(self, t0: float | None) -> None:
        """Open the file and write its preamble (``t0``: the first sample's session time)."""
        first = None if self._start is None or t0 is None else self._start + timedelta(seconds=t0)
        when = (
            first.astimezone(UTC).strftime("%Y-%m-%d_%H:%M:%S_")
            + f"{first.microsecond // 1000:03d} GMT+0"
            if first is not None
            else ""
        )
        self._f = self._stack.enter_context(atomic_write(self.path, "w", newline="\n"))
        self._f.writelines(
            f"{ln}\n"
            for ln in (
                "sep=,",
                f"DeviceTag:,{self._tag}",
                "FirmwareVersion:,",
                "AppVersion:,imuhip",
                f"StartTime: ,{when}",
                "© written by imuhip export --dot",
                "",
                "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z,UTC",
            )
        )

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None and self._f is None:  # no samples: the preamble alone
            self._begin(None)
        self._stack.__exit__(kind, exc, tb)
