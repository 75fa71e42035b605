"""CSV export of the computed angles on the session's time base."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imuhip.pipeline import SessionAnalysis


def write_angles_csv(path: str | os.PathLike[str], result: SessionAnalysis) -> Path:
    """Write ``time_s,hip_rotation_deg,heading_offset_deg,valid`` per grid sample.

    Angles are empty before the calibration's final still phase (not yet defined) and ``valid``
    is 0 where a sensor had no data (a gap).
    """
    path = Path(path)
    g = result.grid
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("time_s,hip_rotation_deg,heading_offset_deg,valid\n")
            for t, a, h, v in zip(
                g.t.tolist(),
                result.hip_rotation_deg.tolist(),
                result.heading_offset_deg.tolist(),
                g.valid.tolist(),
                strict=True,
            ):
                a_s = "" if np.isnan(a) else f"{a:.4f}"
                h_s = "" if np.isnan(h) else f"{h:.4f}"
                f.write(f"{t!r},{a_s},{h_s},{int(v)}\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
