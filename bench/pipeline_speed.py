"""Speed of the whole pipeline on one simulated hour of two-sensor 100 Hz data, per stage.

Stages: read the file -> decode + time alignment -> common grid -> fusion (finding the
calibration phases, then both sensors seeded with the still start's gyro bias) ->
calibration + hip angle -> rep/hold analysis. Prints seconds per stage, × real time, and the
ratio of "alignment + fusion + angle" against plain ``ahrs`` Madgwick fusion of the same two
sensors measured in the same run (Madgwick on a 2-minute slice, scaled: it is pure Python).

    python bench/pipeline_speed.py                      # WitMotion notifications (replay path)
    python bench/pipeline_speed.py --profile samples    # decoded samples (imports)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from imuhip.align.streams import sensor_streams
from imuhip.analysis.exercise import analyze_exercise
from imuhip.files.session_file import read_session
from imuhip.fusion.orientation import estimate_orientation
from imuhip.joint.calibration import calibrate
from imuhip.joint.hip_rotation import hip_rotation
from imuhip.joint.phases import find_phases
from imuhip.pipeline import common_grid, still_start_bias
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--profile", default="witmotion-ble5")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.imuhip"
        t0 = time.perf_counter()
        sim = simulate(
            SimConfig(content="reps", duration_s=args.minutes * 60, seed=7, profile=args.profile)
        )
        write_simulation(sim, path)
        print(
            f"simulated {args.minutes:g} min ({args.profile}) in {time.perf_counter() - t0:.1f} s"
        )
        stages: dict[str, float] = {}

        def timed(name, fn, *a, **kw):
            t = time.perf_counter()
            out = fn(*a, **kw)
            stages[name] = time.perf_counter() - t
            return out

        session = timed("read file", read_session, path)
        streams = timed("decode + align", sensor_streams, session)
        grid = timed(
            "common grid", common_grid, streams["thigh"].samples, streams["shin"].samples, 100.0
        )

        lost = np.zeros(len(grid.t), bool)

        def fuse():
            # as the pipeline does: the phases first, each filter seeded with the still start's
            # gyro bias
            ph = find_phases(grid.t, grid.thigh.gyr, grid.shin.gyr, 100.0)
            return ph, [
                estimate_orientation(
                    s.gyr, s.acc, rate_hz=100.0, initial_bias=still_start_bias(s.gyr, ph, lost)
                )
                for s in (grid.thigh, grid.shin)
            ]

        phases, (q_t, q_s) = timed("fusion (vqf)", fuse)

        def angle():
            cal = calibrate(
                grid.t, grid.thigh.gyr, grid.shin.gyr, q_t, q_s,
                side="left", rate_hz=100, shank_tilt_deg=0.0, phases=phases,
            )  # fmt: skip
            k0 = cal.phases.still_end[0]
            return cal, hip_rotation(q_t[k0:], q_s[k0:], cal, 100.0)

        cal, ang = timed("calibration + angle", angle)
        k1 = cal.phases.still_end[1]
        k0 = cal.phases.still_end[0]
        timed(
            "reps and holds",
            analyze_exercise,
            grid.t[k1:],
            ang.hip_rotation_deg[k1 - k0 :],
            grid.shin.gyr[k1:],
            100.0,
            rest_deg=0.0,
        )

        # baseline: plain ahrs Madgwick on a slice of the same data, scaled to the whole
        n = min(len(grid.t), 12000)
        t = time.perf_counter()
        for s in (grid.thigh, grid.shin):
            estimate_orientation(s.gyr[:n], s.acc[:n], rate_hz=100.0, method="madgwick")
        madgwick = (time.perf_counter() - t) * len(grid.t) / n

    duration = float(grid.t[-1] - grid.t[0])
    print(f"\n{'stage':22} {'seconds':>8} {'x real time':>12}")
    for name, sec in stages.items():
        print(f"{name:22} {sec:8.3f} {duration / sec:12.0f}")
    core = stages["decode + align"] + stages["common grid"] + stages["fusion (vqf)"]
    core += stages["calibration + angle"]
    total = sum(stages.values())
    print(f"{'all':22} {total:8.3f} {duration / total:12.0f}")
    print(
        f"\nalignment + fusion + angle: {core:.2f} s for {duration / 60:.0f} min "
        f"= {duration / core:.0f}x real time (target >= 2000x)"
    )
    print(
        f"plain ahrs Madgwick fusion alone (same data, scaled from {n / 100:.0f} s): "
        f"{madgwick:.1f} s = {duration / madgwick:.0f}x real time"
    )
    print(
        f"ratio: imuhip alignment + fusion + angle is {madgwick / core:.1f}x faster than "
        "Madgwick fusion alone (target >= 10x)"
    )
    print(f"whole analysis: {total:.2f} s per {duration / 3600:.2f} h (target < 4 s per hour)")


if __name__ == "__main__":
    main()
