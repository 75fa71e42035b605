"""Hip-angle accuracy of fusion settings on every simulated way of moving (SIMULATED data only).

Simulates sessions of every content kind (the classic ones and the everyday ones of
``docs/simulator.md``: isometric holds, end-range pauses, slow and crawling reps, small and
external reps, 40–60 s passive stretches, all mixed) at 3 poses × 2 mountings (careful: within
25° of a neat placement; any way up), writes each to a session file and runs it through the
real pipeline (``analyze_session``) once per fusion setting. Prints, per setting and kind, the
worst hip-angle RMSE against truth after the calibration and the worst per-event peak error:
for each true rep the extreme of the measured angle inside the rep against the true peak, for
each stretch the measured maximum of its held part against the true one (detector-free, so the
figures measure the angle, not the rep detection).

    PYTHONPATH=src python bench/slow_motion.py                    # all settings, ~10 min
    PYTHONPATH=src python bench/slow_motion.py --settings "vqf-norest (now)" --kinds stretch
    PYTHONPATH=src python bench/slow_motion.py --seeds 2 --jobs 2 --json out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.fusion.orientation import VQF_DEFAULTS
from imuhip.pipeline import PipelineOptions, analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

#: setting name -> (fusion method, parameters over imuhip's VQF_DEFAULTS); every VQF setting
#: names its rest bias estimation explicitly, so the table means the same whatever the defaults
ON = {"restBiasEstEnabled": True}
OFF = {"restBiasEstEnabled": False}
SETTINGS: dict[str, tuple[str, dict]] = {
    "vqf-rest (before)": ("vqf", {**ON}),
    "vqf-norest (now)": ("vqf", {**OFF}),
    "vqf-rest-th0.5": ("vqf", {**ON, "restThGyr": 0.5}),
    "vqf-rest-th1": ("vqf", {**ON, "restThGyr": 1.0}),
    "vqf-rest-acc0.2": ("vqf", {**ON, "restThAcc": 0.2}),
    "vqf-rest-acc0.1": ("vqf", {**ON, "restThAcc": 0.1}),
    "vqf-rest-tau1": ("vqf", {**ON, "tauAcc": 1.0}),
    "vqf-norest-tau1": ("vqf", {**OFF, "tauAcc": 1.0}),
    "madgwick": ("madgwick", {}),
    "mahony": ("mahony", {}),
}

#: kind -> session length, seconds (long enough for each kind's blocks to repeat)
KINDS: dict[str, float] = {
    "reps": 120.0,
    "holds": 120.0,
    "mixed": 150.0,
    "rest": 90.0,
    "isometric": 120.0,
    "dwell-reps": 100.0,
    "slow-reps": 150.0,
    "small-reps": 100.0,
    "external-reps": 100.0,
    "stretch": 220.0,
    "everyday": 420.0,
}
POSES = ("prone", "seated", "supine")
MOUNTS = {"careful": 25.0, "any": None}


def _errors(sim, res) -> dict:
    ev = sim.truth.events
    t = res.grid.t
    est = res.hip_rotation_deg
    after = (t > ev["calibration_end_s"]) & np.isfinite(est)
    err = est[after] - sim.truth.hip_rotation_at(t[after])
    peaks = []
    for r in ev["reps"]:
        inside = (t >= r["start_s"]) & (t <= r["end_s"]) & np.isfinite(est)
        if not inside.any():
            continue
        got = est[inside].min() if r["direction"] == "external" else est[inside].max()
        peaks.append(got - r["peak_deg"])
    for x in ev["stretches"]:
        inside = (t >= x["end_range_s"]) & (t <= x["end_s"]) & np.isfinite(est)
        if inside.any():
            peaks.append(est[inside].max() - x["max_deg"])
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "max_err": float(np.abs(err).max()),
        "peak_err": float(np.max(np.abs(peaks))) if peaks else 0.0,
        "n_peaks": len(peaks),
    }


def run_session(job: tuple[str, str, str, int, list[str], str, float]) -> list[dict]:
    kind, exercise, mount, seed, settings, folder, min_s = job
    cfg = SimConfig(
        exercise=exercise,
        side="left" if seed % 2 else "right",
        content=kind,
        duration_s=max(KINDS[kind], min_s),
        seed=1000 + seed,
        mount_cone_deg=MOUNTS[mount],
    )
    sim = simulate(cfg)
    path = Path(folder) / f"{kind}-{exercise}-{mount}-{seed}.imuhip"
    write_simulation(sim, path, overwrite=True)
    session = read_session(path)
    rows = []
    for name in settings:
        method, params = SETTINGS[name]
        t0 = time.perf_counter()
        try:
            res = analyze_session(
                session, PipelineOptions(fusion_method=method, fusion_params=params or None)
            )
            row = _errors(sim, res)
        except Exception as e:  # a refused calibration is a result too
            row = {"rmse": np.inf, "max_err": np.inf, "peak_err": np.inf, "error": str(e)}
        row.update(
            setting=name, kind=kind, exercise=exercise, mount=mount, seed=seed,
            elapsed=time.perf_counter() - t0,
        )  # fmt: skip
        rows.append(row)
    return rows


def table(rows: list[dict], settings: list[str], kinds: list[str], key: str) -> str:
    head = "| setting | " + " | ".join(kinds) + " | all |"
    lines = [head, "| --- " * (len(kinds) + 2) + "|"]
    for s in settings:
        cells = []
        for k in [*kinds, None]:
            v = [r[key] for r in rows if r["setting"] == s and (k is None or r["kind"] == k)]
            cells.append(f"{max(v):.2f}" if v else "")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--poses", default=",".join(POSES))
    ap.add_argument("--mounts", default=",".join(MOUNTS))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--min-duration", type=float, default=0.0, metavar="S", help="sessions at least this long"
    )
    ap.add_argument("--json", metavar="OUT", help="also write every row to this JSON file")
    args = ap.parse_args()
    settings = args.settings.split(",")
    kinds = args.kinds.split(",")
    unknown = sorted(set(settings) - set(SETTINGS)) + sorted(set(kinds) - set(KINDS))
    if unknown:
        raise SystemExit(f"unknown setting or kind: {', '.join(unknown)}")
    print(f"VQF_DEFAULTS now: {VQF_DEFAULTS}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        jobs = [
            (k, e, m, s, settings, folder, args.min_duration)
            for k, e, m, s in itertools.product(
                kinds, args.poses.split(","), args.mounts.split(","), range(args.seeds)
            )
        ]
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                rows = [r for part in pool.map(run_session, jobs) for r in part]
        else:
            rows = [r for job in jobs for r in run_session(job)]
    n = len(jobs)
    print(f"\n{n} sessions per setting, {time.perf_counter() - t0:.0f} s. SIMULATED.\n")
    print("Worst hip-angle RMSE after the calibration, degrees:\n")
    print(table(rows, settings, kinds, "rmse"))
    print("\nWorst per-rep / per-stretch peak error, degrees:\n")
    print(table(rows, settings, kinds, "peak_err"))
    for r in rows:
        if "error" in r:
            print(f"refused: {r['setting']} {r['kind']} {r['exercise']} {r['mount']}: {r['error']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
