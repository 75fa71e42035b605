"""The pelvis correction and the compensations, per pose (SIMULATED data only).

Simulates knee-to-floor style rep sessions in each pose (seated, supine, prone), both sides,
with a pelvic lift (obliquity) at each rep's peak, a pelvic turn and a trunk lean, with sensors
on the thigh, shin, sacrum and sternum (the protocol's pelvis and trunk steps done after the
leg calibration), writes each to a session file and runs it through the real pipeline. The
same session without the sacrum and sternum sensors gives the angle without the correction.
Prints per pose: the hip-angle RMSE against the true (pelvis-relative) angle after the
calibration with and without the pelvis sensor, the worst rep-peak error, and the worst
per-rep error of the obliquity, the pelvic rotation and the trunk lateral flexion.

    PYTHONPATH=src python bench/compensation.py              # ~1 min
    PYTHONPATH=src python bench/compensation.py --lift 6 --turn 0 --seeds 3
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

POSES = ("seated", "supine", "prone")


def run(cfg: SimConfig, tmp: Path) -> tuple[object, object]:
    """The simulation and the pipeline's analysis of it."""
    sim = simulate(cfg)
    path = tmp / f"{cfg.exercise}-{cfg.side}-{cfg.seed}-{cfg.pelvis}.imuhip"
    write_simulation(sim, path, overwrite=True)
    return sim, analyze_session(read_session(path))


def rmse(res, sim, side: str) -> float:
    k = np.isfinite(res.hip_rotation_deg)
    true = np.interp(res.grid.t[k], sim.truth.t, sim.truth.leg(side).hip_rotation_deg)
    return float(np.sqrt(np.mean((res.hip_rotation_deg[k] - true) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lift", type=float, default=10.0, help="pelvic lift at the peak, degrees")
    ap.add_argument("--turn", type=float, default=4.0, help="pelvic rotation at the peak, deg")
    ap.add_argument("--lean", type=float, default=6.0, help="trunk lean at the peak, degrees")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()
    print(
        f"SIMULATED: reps with a pelvic lift of {args.lift:g}°, a pelvic turn of {args.turn:g}° "
        f"and a trunk lean of {args.lean:g}° at each peak; {args.seeds} seed(s) x left/right"
    )
    print(
        f"{'pose':8} {'RMSE with':>10} {'without':>8} {'peak err':>9} {'obliq err':>10} "
        f"{'rot err':>8} {'lean err':>9}   (degrees; worst over sessions and reps)"
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for pose in POSES:
            w, wo, peak, obl, rot, lean = [], [], [], [], [], []
            for seed in range(1, args.seeds + 1):
                for side in ("left", "right"):
                    base = dict(
                        duration_s=70.0, seed=seed, exercise=pose, side=side, content="reps",
                        pelvic_lift_deg=args.lift, pelvic_rotation_deg=args.turn,
                        trunk_lean_deg=args.lean,
                    )  # fmt: skip
                    sim, res = run(SimConfig(**base, pelvis=True, trunk=True), tmp)
                    sim0, res0 = run(SimConfig(**base), tmp)
                    w.append(rmse(res, sim, side))
                    wo.append(rmse(res0, sim0, side))
                    truth = sim.truth.leg(side).events["reps"]
                    for r in res.exercise.reps:
                        q = min(truth, key=lambda x: abs(x["peak_s"] - r.peak_s))
                        c = r.compensation
                        peak.append(abs(r.peak_deg - q["peak_deg"]))
                        obl.append(abs(c.pelvis_obliquity_deg - q["pelvis_obliquity_max_deg"]))
                        rot.append(abs(c.pelvis_rotation_deg - q["pelvis_rotation_max_deg"]))
                        lean.append(abs(c.trunk_lateral_flexion_deg - q["trunk_lean_max_deg"]))
            print(
                f"{pose:8} {max(w):10.2f} {max(wo):8.2f} {max(peak):9.2f} {max(obl):10.2f} "
                f"{max(rot):8.2f} {max(lean):9.2f}"
            )


if __name__ == "__main__":
    main()
