"""Accuracy of the whole pipeline against simulator ground truth (SIMULATED data only).

Every session goes through the real path: simulator -> session file -> read -> decode -> align
-> fuse -> calibrate -> hip rotation -> reps and holds. Prints one row per session and a summary
against the product's targets. Real-leg accuracy is NOT measured here.

    python bench/accuracy.py                 # 3 poses x 2 sides x 2 mountings x 2 seeds, 10 min
    python bench/accuracy.py --minutes 3 --seeds 1 --profile witmotion-ble5
    python bench/accuracy.py --table-calibration   # sensors' gyro scales calibrated first
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.pipeline import PipelineOptions, analyze_session
from imuhip.sim.scripts import ScriptOptions
from imuhip.sim.sensor_model import ImuErrorModel
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sim.transport import LinkModel


def match_times(found: list[float], true: list[float], tol: float) -> list[tuple[int, int]]:
    """(true index, found index) of each true time matched to the nearest unused found one
    within ``tol`` seconds (also used by ``detector_kinds.py``)."""
    pairs = []
    used: set[int] = set()
    for i, t in enumerate(true):
        d = [abs(f - t) if j not in used else np.inf for j, f in enumerate(found)]
        if d and min(d) <= tol:
            j = int(np.argmin(d))
            used.add(j)
            pairs.append((i, j))
    return pairs


def run_one(cfg: SimConfig, folder: Path, method: str | None, params: dict | None = None) -> dict:
    sim = simulate(cfg)
    path = folder / f"{cfg.exercise}-{cfg.side}-{cfg.seed}.imuhip"
    write_simulation(sim, path, overwrite=True)
    session = read_session(path)
    t0 = time.perf_counter()
    res = analyze_session(session, PipelineOptions(fusion_method=method, fusion_params=params))
    elapsed = time.perf_counter() - t0
    ev = sim.truth.events
    t = res.grid.t
    after = t > ev["calibration_end_s"]
    err = res.hip_rotation_deg[after] - sim.truth.hip_rotation_at(t[after])
    first = t[after] < t[after][0] + 60
    last = t[after] > t[after][-1] - 60
    # per-minute RMSE after the calibration and its linear trend (° per minute): drift shows as
    # a steady rise, noise as scatter around a flat line
    minute = ((t[after] - t[after][0]) // 60).astype(int)
    per_min = [np.sqrt(np.mean(err[minute == m] ** 2)) for m in range(int(minute.max()) + 1)]
    per_min = per_min[:-1] if len(per_min) > 2 else per_min  # the last is a part minute
    trend = float(np.polyfit(np.arange(len(per_min)), per_min, 1)[0]) if len(per_min) > 2 else 0.0
    reps, holds = res.exercise.reps, res.exercise.holds
    rp = match_times([r.peak_s for r in reps], [r["peak_s"] for r in ev["reps"]], 1.0)
    peak_err = [reps[j].peak_deg - ev["reps"][i]["peak_deg"] for i, j in rp]
    hp = match_times([h.start_s for h in holds], [h["start_s"] for h in ev["holds"]], 2.0)
    hold_err = [
        max(
            abs(holds[j].start_s - ev["holds"][i]["start_s"]),
            abs(holds[j].end_s - ev["holds"][i]["end_s"]),
        )
        for i, j in hp
    ]
    return {
        "name": f"{cfg.exercise:6} {cfg.side:5} {'any' if cfg.mount_cone_deg is None else 'cone'}"
        f" s{cfg.seed}",
        "rmse": float(np.sqrt(np.mean(err**2))),
        "rmse_first": float(np.sqrt(np.mean(err[first] ** 2))),
        "rmse_last": float(np.sqrt(np.mean(err[last] ** 2))),
        "trend": trend,
        "max_err": float(np.abs(err).max()),
        "reps": (len(reps), len(ev["reps"])),
        "holds": (len(holds), len(ev["holds"])),
        "peak_err": float(np.abs(peak_err).max()) if peak_err else 0.0,
        "hold_err": float(max(hold_err)) if hold_err else 0.0,
        "elapsed": elapsed,
        "duration": float(t[-1] - t[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--profile", default="samples")
    ap.add_argument("--fusion", default=None)
    ap.add_argument(
        "--fusion-params",
        type=json.loads,
        default=None,
        metavar="JSON",
        help="filter parameters, e.g. '{\"restBiasEstEnabled\": true}'",
    )
    ap.add_argument("--content", default="mixed")
    ap.add_argument("--knee-play", type=float, default=2.0, help="tibial rotation per rep, °")
    ap.add_argument("--ideal", action="store_true", help="perfect sensors")
    ap.add_argument(
        "--link-loss", type=float, default=0.0, help="vendor profiles: notification loss rate"
    )
    ap.add_argument(
        "--conn-interval", type=float, default=0.015, help="vendor profiles: BLE interval, s"
    )
    ap.add_argument(
        "--gyro-scale", type=float, default=None, help="gyro scale-factor error SD (0.01 = 1 %%)"
    )
    ap.add_argument(
        "--rest-drift", type=float, default=0.3, help="SD of the rest's change per settle, °"
    )
    ap.add_argument(
        "--rest-range", type=float, default=2.5, help="rest stays within ± this of --rest-start"
    )
    ap.add_argument(
        "--rest-start", type=float, default=0.0, help="rest after the calibration, ° from start"
    )
    ap.add_argument(
        "--table-calibration",
        action="store_true",
        help="gyro scales from a simulated table calibration of each sensor first",
    )
    args = ap.parse_args()
    errors = ImuErrorModel.ideal() if args.ideal else ImuErrorModel()
    if args.gyro_scale is not None:
        errors = replace(errors, gyro_scale=args.gyro_scale)
    rows = []
    print("SIMULATED data: accuracy against simulator ground truth, not real legs.")
    hdr = f"{'session':22} {'RMSE°':>6} {'1st min':>7} {'last':>6} {'max°':>6} {'reps':>7} "
    print(hdr + f"{'peak°':>6} {'holds':>6} {'hold s':>6} {'xRT':>6} {'trend':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        grid = itertools.product(
            ("prone", "seated", "supine"), ("left", "right"), (25.0, None), range(args.seeds)
        )
        for k, (ex, side, cone, _) in enumerate(grid):
            cfg = SimConfig(
                exercise=ex,
                side=side,
                content=args.content,
                duration_s=args.minutes * 60,
                seed=1000 + k,
                mount_cone_deg=cone,
                profile=args.profile,
                script=ScriptOptions(
                    knee_play_deg=args.knee_play,
                    rest_drift_deg=args.rest_drift,
                    rest_range_deg=args.rest_range,
                    rest_start_deg=args.rest_start,
                ),
                errors=errors,
                table_calibration=args.table_calibration,
                link=LinkModel(
                    connection_interval_s=args.conn_interval,
                    loss_prob=args.link_loss,
                    loss_burst=1.5,
                ),
            )
            r = run_one(cfg, Path(tmp), args.fusion, args.fusion_params)
            rows.append(r)
            print(
                f"{r['name']:22} {r['rmse']:6.2f} {r['rmse_first']:7.2f} {r['rmse_last']:6.2f}"
                f" {r['max_err']:6.2f} {r['reps'][0]:3d}/{r['reps'][1]:<3d} {r['peak_err']:6.2f}"
                f" {r['holds'][0]:2d}/{r['holds'][1]:<2d} {r['hold_err']:6.2f}"
                f" {r['duration'] / r['elapsed']:6.0f} {10 * r['trend']:+6.2f}",
                flush=True,
            )
    rmse = np.array([r["rmse"] for r in rows])
    exact = sum(r["reps"][0] == r["reps"][1] for r in rows)
    holds_ok = sum(r["holds"][0] == r["holds"][1] for r in rows)
    print()
    print(
        f"sessions: {len(rows)} ({args.minutes:g} min each, profile {args.profile}, "
        f"knee play ±{args.knee_play:g}°, rest {args.rest_start:+g}° ± {args.rest_range:g}° "
        f"drifting {args.rest_drift:g}° per settle{', ideal sensors' if args.ideal else ''}"
        f"{'' if args.gyro_scale is None else f', gyro scale error {args.gyro_scale:g}'}"
        f"{', gyro scales from a table calibration' if args.table_calibration else ''}"
        + (
            ""
            if args.profile == "samples"
            else f", BLE interval {1e3 * args.conn_interval:g} ms, {100 * args.link_loss:g} % "
            "of notifications lost"
        )
        + ")"
    )
    print(
        f"hip rotation RMSE: median {np.median(rmse):.2f}°, worst {rmse.max():.2f}° "
        "(target <= 1.0°)"
    )
    drift = np.array([r["rmse_last"] - r["rmse_first"] for r in rows])
    print(
        f"last minute minus first minute RMSE: mean {drift.mean():+.2f}°, worst "
        f"{drift.max():+.2f}°, {int((drift > 0).sum())}/{len(rows)} sessions worse at the end "
        "(target <= 0)"
    )
    trend = np.array([r["trend"] for r in rows]) * 10
    print(
        f"trend of the per-minute RMSE: mean {trend.mean():+.2f}° per 10 min (SD "
        f"{trend.std():.2f}°), largest rise {trend.max():+.2f}° per 10 min"
    )
    print(
        f"exact rep count: {exact}/{len(rows)} sessions; worst peak error "
        f"{max(r['peak_err'] for r in rows):.2f}° (target <= 1.5°)"
    )
    print(
        f"exact hold count: {holds_ok}/{len(rows)}; worst hold start/end error "
        f"{max(r['hold_err'] for r in rows):.2f} s (target <= 0.3 s)"
    )
    speed = sum(r["duration"] for r in rows) / sum(r["elapsed"] for r in rows)
    print(f"analysis speed: {speed:.0f}x real time (one hour in {3600 / speed:.2f} s)")


if __name__ == "__main__":
    main()
