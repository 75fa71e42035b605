"""CSV export of the computed angles on the session's time base."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imuhip.pipeline import SessionAnalysis


def _num(x: float) -> str:
    return "" if np.isnan(x) else f"{x:.4f}"


def write_angles_csv(path: str | os.PathLike[str], result: SessionAnalysis) -> Path:
    """Write ``time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,valid``
    per grid sample (knee and hip flexion relative to the start pose; heading offset is a
    diagnostic).

    Angles are empty before the calibration's final still phase (not yet defined); ``valid`` is
    1 only where the hip rotation is defined and both sensors had data (0 in gaps and before the
    calibration is ready). The file's folder is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g = result.grid
    valid = g.valid & np.isfinite(result.hip_rotation_deg)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(
                "time_s,hip_rotation_deg,knee_flexion_deg,hip_flexion_deg,heading_offset_deg,"
                "valid\n"
            )
            none = np.full(len(g.t), np.nan)
            knee = none if result.knee_flexion_deg is None else result.knee_flexion_deg
            flex = none if result.hip_flexion_deg is None else result.hip_flexion_deg
            for t, a, k, fl, h, v in zip(
                g.t.tolist(),
                result.hip_rotation_deg.tolist(),
                knee.tolist(),
                flex.tolist(),
                result.heading_offset_deg.tolist(),
                valid.tolist(),
                strict=True,
            ):
                f.write(f"{t!r},{_num(a)},{_num(k)},{_num(fl)},{_num(h)},{int(v)}\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
