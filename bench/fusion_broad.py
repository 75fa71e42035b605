"""Orientation accuracy and speed of every fusion method on real BROAD trials (optical reference).

Runs each method of ``imuhip.fusion.orientation`` (6D, and 9D with the magnetometer) on the BROAD
trials in ``/work/shared/data/broad`` (or ``--data DIR``) and prints a markdown table per mode:
RMS total / heading / inclination error in degrees per trial (the BROAD metric of
``imuhip.fusion.metrics``: constant heading offset removed, movement samples with a finite
reference), the mean total error, throughput in × real time and the speed ratio against ahrs
Madgwick measured in the same run. These are sensor-orientation errors, not hip-angle errors.

``--candidates`` runs VQF with each of ``VQF_CANDIDATES`` (the settings compared on simulated
slow movement by ``bench/slow_motion.py``) and prints the mean total error per mode;
``--seed-bias`` with it starts VQF from the mean rate over each trial's still start, as the hip
pipeline does with the calibration's still start.

``--tune`` instead runs a small parameter grid per method (one parameter set for all trials, the
mean total RMSE over the trials decides) to document how ``PARAMS`` were chosen.

Run: ``PYTHONPATH=src python bench/fusion_broad.py [--data DIR] [--methods vqf,madgwick]
[--tune] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np

from imuhip.fusion.metrics import orientation_errors
from imuhip.fusion.orientation import METHODS, estimate_orientation

DATA = Path("/work/shared/data/broad")

# Parameters used for the table: one set per method and mode for all trials (see --tune); vqf's
# {} means imuhip's VQF_DEFAULTS.
PARAMS: dict[tuple[str, str], dict] = {
    ("vqf", "6D"): {},
    ("vqf", "9D"): {},
    ("madgwick", "6D"): {"gain": 0.033},
    ("madgwick", "9D"): {"gain": 0.041},
    ("mahony", "6D"): {"k_P": 1.0, "k_I": 0.0},
    ("mahony", "9D"): {"k_P": 1.0, "k_I": 0.0},
    ("ekf", "6D"): {},
    ("ekf", "9D"): {},
}

GRID: dict[str, dict[str, list]] = {
    "vqf": {"tauAcc": [1.0, 2.0, 3.0, 5.0], "restMinT": [1.5, 3.0]},
    "madgwick": {"gain": [0.01, 0.033, 0.1, 0.3]},
    "mahony": {"k_P": [0.3, 1.0, 3.0], "k_I": [0.0, 0.3]},
    "ekf": {"var_acc": [0.1, 0.5**2, 1.0]},
}
#: VQF settings compared by ``--candidates`` (over imuhip's VQF_DEFAULTS, each naming its rest
#: bias estimation explicitly so the labels hold whatever the defaults)
_ON = {"restBiasEstEnabled": True}
VQF_CANDIDATES: dict[str, dict] = {
    "rest estimation on (before)": {**_ON},
    "rest estimation off (now)": {"restBiasEstEnabled": False},
    "on, restThGyr=0.5": {**_ON, "restThGyr": 0.5},
    "on, restThGyr=1": {**_ON, "restThGyr": 1.0},
    "on, restThAcc=0.2": {**_ON, "restThAcc": 0.2},
    "on, restThAcc=0.1": {**_ON, "restThAcc": 0.1},
    "on, tauAcc=1": {**_ON, "tauAcc": 1.0},
    "off, tauAcc=1": {"restBiasEstEnabled": False, "tauAcc": 1.0},
    "on, restMinT=1.5 (package defaults)": {**_ON, "restMinT": 1.5},
}

# grid points to skip (to keep the pure-Python ahrs runs affordable)
SKIP: dict[str, list[dict]] = {
    "mahony": [{"k_P": 0.3, "k_I": 0.0}, {"k_P": 3.0, "k_I": 0.0}],
}


def load_trials(data: Path) -> dict[str, dict[str, np.ndarray]]:
    trials = {}
    for f in sorted(data.glob("*.npz")):
        with np.load(f) as d:
            trials[f.stem[:2]] = {k: d[k] for k in d.files}
    if not trials:
        raise SystemExit(f"no BROAD .npz trials in {data}")
    return trials


def run_one(args) -> dict:
    method, mode, params, name, trial, *seed = args
    mag = trial["mag"] if mode == "9D" else None
    rate = float(trial["rate_hz"])
    bias = None
    if seed and seed[0]:  # the mean rate over the still start (up to 5 s), as the pipeline does
        n0 = int(min(np.argmax(trial["movement"]), 5 * rate))
        bias = trial["gyr"][:n0].mean(axis=0)
    t0 = time.perf_counter()
    q = estimate_orientation(
        trial["gyr"], trial["acc"], mag, rate_hz=rate, method=method, params=params,
        initial_bias=bias,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    err = orientation_errors(q, trial["opt_quat"], trial["movement"])
    return {
        "method": method,
        "mode": mode,
        "params": params,
        "trial": name,
        "err": err,
        "elapsed": elapsed,
        "duration": len(q) / rate,
        "samples": len(q),
    }


def _map(jobs: int, tasks: list) -> list:
    if jobs <= 1:
        return [run_one(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(run_one, tasks))


def _fmt(r: float) -> str:
    return f"{r:,.2f}" if r < 10 else f"{r:,.0f}"


def table(results: list[dict], mode: str, names: list[str]) -> str:
    rows = [r for r in results if r["mode"] == mode]
    head = (
        "| method | "
        + " | ".join(f"{n} total / head / incl °" for n in names)
        + " | mean total ° | µs/sample | \u00d7 real time | speed vs ahrs Madgwick |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    mad = [r for r in rows if r["method"] == "madgwick"]
    mad_us = sum(r["elapsed"] for r in mad) / sum(r["samples"] for r in mad) * 1e6 if mad else None
    for method in dict.fromkeys(r["method"] for r in rows):
        mr = {r["trial"]: r for r in rows if r["method"] == method}
        cells = []
        for n in names:
            e = mr[n]["err"]
            cells.append(
                f"{e.total_rmse_deg:.2f} / {e.heading_rmse_deg:.2f} / {e.inclination_rmse_deg:.2f}"
            )
        mean_total = np.mean([mr[n]["err"].total_rmse_deg for n in names])
        el = sum(r["elapsed"] for r in mr.values())
        us = el / sum(r["samples"] for r in mr.values()) * 1e6
        xrt = sum(r["duration"] for r in mr.values()) / el
        ratio = f"{_fmt(mad_us / us)}\u00d7" if mad_us else "n/a"
        lines.append(
            f"| {method} | " + " | ".join(cells)
            + f" | {mean_total:.2f} | {us:.2f} | {xrt:,.0f}\u00d7 | {ratio} |"
        )  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--modes", default="6D,9D")
    ap.add_argument("--tune", action="store_true", help="run the parameter grid instead")
    ap.add_argument(
        "--candidates", action="store_true", help="run VQF_CANDIDATES instead (VQF only)"
    )
    ap.add_argument(
        "--seed-bias",
        action="store_true",
        help="--candidates: start VQF from the mean rate of each trial's still start",
    )
    ap.add_argument("--jobs", type=int, default=1, help="processes (timings: use 1)")
    args = ap.parse_args()
    trials = load_trials(args.data)
    names = list(trials)
    methods = [m for m in args.methods.split(",") if m]
    modes = [m for m in args.modes.split(",") if m]

    print(f"# BROAD fusion benchmark, {date.today()}, {platform.processor() or platform.machine()}"
          f", {os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    print(f"trials: {', '.join(f.stem for f in sorted(args.data.glob('*.npz')))}\n")

    if args.candidates:
        tasks = [
            ("vqf", mode, params, n, trials[n], args.seed_bias)
            for mode in modes
            for params in VQF_CANDIDATES.values()
            for n in names
        ]
        results = _map(args.jobs, tasks)
        print("| VQF setting | mode | " + " | ".join(names) + " | mean total ° |")
        print("|---|---|" + "---|" * len(names) + "---|")
        for mode in modes:
            for label, params in VQF_CANDIDATES.items():
                by = {
                    r["trial"]: r["err"].total_rmse_deg
                    for r in results
                    if r["mode"] == mode and r["params"] == params
                }
                print(f"| {label} | {mode} | "
                      + " | ".join(f"{by[n]:.2f}" for n in names)
                      + f" | {np.mean(list(by.values())):.3f} |")  # fmt: skip
        return

    if args.tune:
        tasks = []
        for method, mode in itertools.product(methods, modes):
            grid = GRID[method]
            for values in itertools.product(*grid.values()):
                params = dict(zip(grid, values, strict=True))
                if params in SKIP.get(method, []):
                    continue
                tasks += [(method, mode, params, n, trials[n]) for n in names]
        results = _map(args.jobs, tasks)
        print("| method | mode | params | " + " | ".join(names) + " | mean total ° |")
        print("|---|---|---|" + "---|" * len(names) + "---|")
        key = lambda r: (r["method"], r["mode"], tuple(sorted(r["params"].items())))  # noqa: E731
        for k, group in itertools.groupby(sorted(results, key=key), key=key):
            by = {r["trial"]: r["err"].total_rmse_deg for r in group}
            print(f"| {k[0]} | {k[1]} | {dict(k[2])} | "
                  + " | ".join(f"{by[n]:.2f}" for n in names)
                  + f" | {np.mean(list(by.values())):.2f} |")  # fmt: skip
        return

    tasks = [
        (method, mode, PARAMS[(method, mode)], n, trials[n])
        for mode in modes
        for method in methods
        for n in names
    ]
    results = _map(args.jobs, tasks)
    for mode in modes:
        print(f"## {mode} ({'gyr+acc+mag' if mode == '9D' else 'gyr+acc'})\n")
        print(table(results, mode, names))
        params = {m: PARAMS[(m, mode)] for m in methods}
        print(f"\nparameters: {params}\n")


if __name__ == "__main__":
    main()
