"""CSV export of the computed angles on the session's time base."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np

from imuhip.atomic import atomic_write
from imuhip.pipeline import SessionAnalysis
from imuhip.sinks.field_export import utc_strings


def _num(x: float) -> str:
    """A value to 4 decimals, or an empty cell for NaN (``x != x``: NaN, without a ufunc call
    per cell)."""
    return "" if x != x else f"{x:.4f}"


def write_angles_csv(
    path: str | os.PathLike[str], result: SessionAnalysis, start: datetime | None = None
) -> Path:
    """Write ``time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,valid``
    per grid sample (knee and hip flexion relative to the start pose; heading offset is a
    diagnostic), and ``utc`` (ISO-8601 wall-clock time, ms) when the session's start in UTC is
    given.

    A session of both legs has ``hip_rotation_left_deg``, ``hip_rotation_right_deg`` (and
    knee flexion and ``valid`` per leg) on one time axis instead (only the analysed legs'
    columns when one could not be analysed).

    Angles are empty before the calibration's final still phase (not yet defined); ``valid`` is
    1 only where the hip rotation is defined and both sensors had data (0 in gaps and before the
    calibration is ready). The file's folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if len(result.legs) + len(result.failed_legs) > 1:  # both legs, one maybe not analysed
        return _write_legs(path, result, start)
    g = result.grid
    valid = g.valid & np.isfinite(result.hip_rotation_deg)
    with atomic_write(path, "w", newline="\n") as f:
        f.write(
            "time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,"
            "valid" + (",utc\n" if start is not None else "\n")
        )
        none = np.full(len(g.t), np.nan)
        knee = none if result.knee_flexion_deg is None else result.knee_flexion_deg
        flex = none if result.hip_flexion_deg is None else result.hip_flexion_deg
        for sl in _chunks(len(g.t)):  # a piece at a time: no Python floats of the whole session
            for t, a, k, fl, h, v, u in zip(
                g.t[sl].tolist(),
                result.hip_rotation_deg[sl].tolist(),
                knee[sl].tolist(),
                flex[sl].tolist(),
                result.heading_offset_deg[sl].tolist(),
                valid[sl].tolist(),
                utc_strings(g.t[sl], start),
                strict=True,
            ):
                tail = f",{u}\n" if start is not None else "\n"
                f.write(f"{t!r},{_num(a)},{_num(k)},{_num(fl)},{_num(h)},{int(v)}{tail}")
    return path


#: Rows the writers turn into text at a time.
ROWS_AT_ONCE = 1 << 15


def _chunks(n: int) -> list[slice]:
    return [slice(a, min(a + ROWS_AT_ONCE, n)) for a in range(0, n, ROWS_AT_ONCE)]


def _on_one_axis(legs: tuple[SessionAnalysis, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The legs' grids (points of one lattice, ``k / rate``) on one time axis: the times, and
    per leg the index on it of each of its grid points."""
    rate = legs[0].grid.rate_hz
    ks = [np.rint(leg.grid.t * rate).astype(np.int64) for leg in legs]
    k0 = min(int(k[0]) for k in ks if len(k))
    k1 = max(int(k[-1]) for k in ks if len(k))
    return np.arange(k0, k1 + 1) / rate, [k - k0 for k in ks]


def _write_legs(path: Path, result: SessionAnalysis, start: datetime | None) -> Path:
    """Both legs: ``time_s`` and per leg ``hip_rotation_<side>_deg``, ``knee_flexion_<side>_deg``
    and ``valid_<side>`` (empty / 0 where that leg has no grid point), then ``utc``."""
    t, where = _on_one_axis(result.legs)
    columns, heads = [], ["time_s"]
    for leg, idx in zip(result.legs, where, strict=True):
        rot = np.full(len(t), np.nan)
        knee = np.full(len(t), np.nan)
        valid = np.zeros(len(t), bool)
        rot[idx] = leg.hip_rotation_deg
        if leg.knee_flexion_deg is not None:
            knee[idx] = leg.knee_flexion_deg
        valid[idx] = leg.grid.valid & np.isfinite(leg.hip_rotation_deg)
        columns += [rot, knee, valid]
        side = leg.side
        heads += [f"hip_rotation_{side}_deg", f"knee_flexion_{side}_deg", f"valid_{side}"]
    with atomic_write(path, "w", newline="\n") as f:
        f.write(",".join(heads) + (",utc\n" if start is not None else "\n"))
        for sl in _chunks(len(t)):  # a piece at a time, as Python floats
            utc = utc_strings(t[sl], start)
            piece = [c[sl].tolist() for c in columns]
            for i, ti in enumerate(t[sl].tolist()):
                cells = [repr(ti)]
                for c in range(0, len(piece), 3):
                    cells += [_num(piece[c][i]), _num(piece[c + 1][i]), str(int(piece[c + 2][i]))]
                tail = f",{utc[i]}\n" if start is not None else "\n"
                f.write(",".join(cells) + tail)
    return path


def legs_on_one_axis(
    result: SessionAnalysis,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every leg's hip rotation (side -> (N,) degrees) and every sensor's orientation (role ->
    (N, 4)) on one time axis (N,) s, NaN where a leg has no grid point."""
    legs = result.legs or (result,)
    if len(legs) == 1:  # its own grid (on no lattice)
        t, where = legs[0].grid.t, [np.arange(len(legs[0].grid.t))]
    else:
        t, where = _on_one_axis(legs)
    angles: dict[str, np.ndarray] = {}
    quats: dict[str, np.ndarray] = {}
    for leg, idx in zip(legs, where, strict=True):
        a = np.full(len(t), np.nan)
        a[idx] = leg.hip_rotation_deg
        angles[leg.side or "left"] = a
        for role, q in (leg.orientations or {}).items():
            quats[role] = np.full((len(t), 4), np.nan)
            quats[role][idx] = q
    return t, angles, quats
