"""The angle after a sensor gap against the uninterrupted recording (SIMULATED).

Simulated sessions (three poses, reps), each analysed whole and with 1, 5 and 30 s cut out of
one sensor in the middle of the reps; prints, per case, when the angle is defined again after
the gap and its largest difference from the uninterrupted analysis from then on, and the
largest rep-peak difference of the reps after it.

    python bench/gap_recovery.py [--seed N] [--at S]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def _cut(s, role: str, a: float, gap_s: float):
    smp = s.samples[role]
    keep = (smp.t < a) | (smp.t > a + gap_s)
    cut = dataclasses.replace(smp, t=smp.t[keep], acc=smp.acc[keep], gyr=smp.gyr[keep])
    return dataclasses.replace(s, samples={**s.samples, role: cut})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--at", type=float, default=60.0, help="gap start, s")
    args = ap.parse_args()
    print("SIMULATED: pose, sensor, gap s -> defined again after s, max |angle diff| deg, "
          "max rep peak diff deg")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for pose in ("prone", "seated", "supine"):
            cfg = SimConfig(duration_s=150.0, content="reps", marks=True, seed=args.seed,
                            exercise=pose)  # fmt: skip
            path = Path(tmp) / f"{pose}.imuhip"
            write_simulation(simulate(cfg), path)
            s = read_session(path)
            full = analyze_session(s)
            for role in ("thigh", "shin"):
                for gap in (1.0, 5.0, 30.0):
                    r = analyze_session(_cut(s, role, args.at, gap))
                    t = r.grid.t
                    ok = (t > args.at + gap) & np.isfinite(r.hip_rotation_deg)
                    ref = np.interp(t[ok], full.grid.t, full.hip_rotation_deg)
                    diff = float(np.max(np.abs(r.hip_rotation_deg[ok] - ref)))
                    end = args.at + gap + 3.0
                    a = [x.peak_deg for x in r.exercise.reps if x.start_s > end]
                    b = [x.peak_deg for x in full.exercise.reps if x.start_s > end]
                    peaks = (
                        f"{max(abs(x - y) for x, y in zip(a, b, strict=True)):.2f}"
                        if len(a) == len(b) and a
                        else f"count {len(a)} vs {len(b)}"
                    )
                    back = t[ok][0] - args.at - gap
                    print(f"{pose:6s} {role:5s} {gap:4.0f}  defined after {back:.1f} s  "
                          f"max diff {diff:.2f}  peaks {peaks}")  # fmt: skip


if __name__ == "__main__":
    main()
