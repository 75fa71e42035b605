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
    return "" if np.isnan(x) else f"{x:.4f}"


def write_angles_csv(
    path: str | os.PathLike[str], result: SessionAnalysis, start: datetime | None = None
) -> Path:
    """Write ``time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,valid``
    per grid sample (knee and hip flexion relative to the start pose; heading offset is a
    diagnostic), and ``utc`` (ISO-8601 wall-clock time, ms) when the session's start in UTC is
    given.

    Angles are empty before the calibration's final still phase (not yet defined); ``valid`` is
    1 only where the hip rotation is defined and both sensors had data (0 in gaps and before the
    calibration is ready). The file's folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g = result.grid
    valid = g.valid & np.isfinite(result.hip_rotation_deg)
    with atomic_write(path, "w", newline="\n") as f:
        f.write(
            "time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,"
            "valid" + (",utc\n" if start is not None else "\n")
        )
        utc = utc_strings(g.t, start)
        none = np.full(len(g.t), np.nan)
        knee = none if result.knee_flexion_deg is None else result.knee_flexion_deg
        flex = none if result.hip_flexion_deg is None else result.hip_flexion_deg
        for t, a, k, fl, h, v, u in zip(
            g.t.tolist(),
            result.hip_rotation_deg.tolist(),
            knee.tolist(),
            flex.tolist(),
            result.heading_offset_deg.tolist(),
            valid.tolist(),
            utc,
            strict=True,
        ):
            tail = f",{u}\n" if start is not None else "\n"
            f.write(f"{t!r},{_num(a)},{_num(k)},{_num(fl)},{_num(h)},{int(v)}{tail}")
    return path
