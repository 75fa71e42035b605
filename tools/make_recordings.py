"""Regenerate the SIMULATED example sessions shipped in ``recordings/`` (deterministic).

    python tools/make_recordings.py            # writes recordings/*.imuhip and *.truth.npz
    python tools/make_recordings.py recordings seated-right-stretch-simulated   # only that one

Each session is written by the simulator through the same session writer as a live recording,
as raw vendor notifications (so replay runs the real decoders and time alignment), with its
ground truth beside it. Names say "simulated": none of these come from a real leg.
"""

from __future__ import annotations

import sys
from pathlib import Path

from imuhip.sim.simulate import SimConfig, simulate, write_simulation

sys.path.insert(0, str(Path(__file__).parent))
from store_calibration import store

RECORDINGS: dict[str, SimConfig] = {
    "prone-left-mixed-simulated": SimConfig(
        exercise="prone", side="left", content="mixed", duration_s=150, seed=101,
        profile="witmotion-ble5", marks=True,
    ),
    "prone-right-reps-simulated": SimConfig(
        exercise="prone", side="right", content="reps", duration_s=90, seed=102,
        profile="witmotion-ble5", marks=True,
    ),
    "seated-left-reps-simulated": SimConfig(
        exercise="seated", side="left", content="reps", duration_s=90, seed=103,
        profile="witmotion-ble5", mount_cone_deg=None,
    ),
    "supine-right-reps-simulated": SimConfig(
        exercise="supine", side="right", content="reps", duration_s=90, seed=104,
        profile="witmotion-ble5",
    ),
    "prone-left-holds-polar-simulated": SimConfig(
        exercise="prone", side="left", content="holds", duration_s=110, seed=105,
        profile="polar-pmd", marks=True,
    ),
    "seated-right-stretch-simulated": SimConfig(
        exercise="seated", side="right", content="stretch", duration_s=115, seed=106,
        profile="witmotion-ble5", marks=True,
    ),
    "prone-left-isometric-simulated": SimConfig(
        exercise="prone", side="left", content="isometric", duration_s=100, seed=107,
        profile="witmotion-ble5", marks=True,
    ),
    "prone-both-reps-simulated": SimConfig(
        exercise="prone", side="left", content="reps", duration_s=90, seed=108,
        profile="witmotion-ble5", marks=True, layout="both-legs", asymmetry_deg=-5.0,
    ),
    "seated-left-pelvis-reps-simulated": SimConfig(
        exercise="seated", side="left", content="reps", duration_s=90, seed=109,
        profile="witmotion-ble5", marks=True, pelvis=True, pelvic_lift_deg=8.0,
    ),
}  # fmt: skip


def main(folder: str = "recordings", *names: str) -> None:
    out = Path(folder)
    out.mkdir(exist_ok=True)
    for name, cfg in RECORDINGS.items():
        if names and name not in names:
            continue
        sim = simulate(cfg)
        path = out / f"{name}.imuhip"
        write_simulation(sim, path, overwrite=True)
        store(str(path))  # the calibration event a live session stores
        ev = sim.truth.events
        print(
            f"{path}: {len(ev['reps'])} reps, {len(ev['holds'])} holds, "
            f"{len(ev['stretches'])} stretches, "
            f"{path.stat().st_size / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
