"""Accuracy per sensor layout against simulator ground truth (SIMULATED data only).

One leg with thigh + shin, the shin alone (prone), both legs with four sensors and both shins
(prone): every session goes through the session file, decoding, alignment, fusion, each leg's
calibration, angle and detector. Prints per layout the worst hip-rotation RMSE after the
calibration, the worst rep peak error, whether every leg's rep count was exact, and for two legs
the error of the in-session asymmetry (mean left-minus-right range difference against truth).

    python bench/layouts.py                  # 2 sides x 2 mountings x 3 seeds, 3-minute sessions
    python bench/layouts.py --minutes 2 --seeds 1 --profile witmotion-ble5
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np

from imuhip.analysis.asymmetry import asymmetry
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

#: layout name -> (simulator layout, exercises it holds in)
LAYOUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "one leg, thigh + shin": ("one-leg", ("prone", "seated", "supine")),
    "one leg, shin only": ("shin-only", ("prone",)),
    "both legs, four sensors": ("both-legs", ("prone", "seated", "supine")),
    "both shins": ("both-shins", ("prone",)),
}


def run_one(cfg: SimConfig, folder: Path) -> dict:
    """Analyse one simulated session; its figures per leg and its asymmetry error."""
    sim = simulate(cfg)
    path = folder / f"{cfg.layout}-{cfg.exercise}-{cfg.side}-{cfg.seed}.imuhip"
    write_simulation(sim, path, overwrite=True)
    res = analyze_session(read_session(path))
    end = sim.truth.events["calibration_end_s"]
    rmse, peak, exact = [], [], True
    for leg in res.legs or (res,):
        truth = sim.truth.leg(leg.side)
        t = leg.grid.t
        ok = (t > end) & np.isfinite(leg.hip_rotation_deg)
        err = leg.hip_rotation_deg[ok] - np.interp(t[ok], sim.truth.t, truth.hip_rotation_deg)
        rmse.append(float(np.sqrt(np.mean(err**2))))
        want = truth.events["reps"]
        exact &= len(leg.exercise.reps) == len(want)
        if len(leg.exercise.reps) == len(want):
            pairs = zip(leg.exercise.reps, want, strict=True)
            peak += [abs(r.peak_deg - w["peak_deg"]) for r, w in pairs]
    asym_err = None
    if len(res.legs) == 2:
        left, right = res.legs[0].exercise, res.legs[1].exercise
        a = asymmetry(left.reps, right.reps)
        if a.mean_range_diff_deg is not None:
            asym_err = abs(a.mean_range_diff_deg - (-cfg.asymmetry_deg))
    return {
        "rmse": max(rmse),
        "peak": max(peak) if peak else float("nan"),
        "exact": exact,
        "asym": asym_err,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--profile", default="samples", help="vendor profile (samples: no BLE)")
    args = ap.parse_args()
    print("SIMULATED data only: no real leg, no real sensor.")
    print(f"{'layout':26} {'pose':7} {'sessions':>8} {'RMSE max':>9} {'peak err max':>13} "
          f"{'reps':>6} {'asym err max':>13}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, (layout, poses) in LAYOUTS.items():
            for pose in poses:
                rows = []
                for side, cone, seed in itertools.product(
                    ("left", "right"), (25.0, None), range(args.seeds)
                ):
                    two = layout in ("both-legs", "both-shins")
                    cfg = SimConfig(
                        exercise=pose, side=side, content="reps", seed=seed,
                        duration_s=60.0 * args.minutes, mount_cone_deg=cone, layout=layout,
                        asymmetry_deg=(-6.0 if side == "left" else 4.0) if two else 0.0,
                        profile=args.profile,
                    )  # fmt: skip
                    rows.append(run_one(cfg, Path(tmp)))
                asym = [r["asym"] for r in rows if r["asym"] is not None]
                print(
                    f"{name:26} {pose:7} {len(rows):8d} {max(r['rmse'] for r in rows):8.2f}° "
                    f"{np.nanmax([r['peak'] for r in rows]):12.2f}° "
                    f"{'exact' if all(r['exact'] for r in rows) else 'WRONG':>6} "
                    f"{(f'{max(asym):.2f}°' if asym else '-'):>13}"
                )


if __name__ == "__main__":
    main()
