"""Orientation fusion throughput: one hour of synthetic two-sensor 100 Hz data.

For each method (6D, and 9D with magnetometer) prints the seconds to fuse one hour of two sensors,
the throughput in × real time (session duration / time) and the speed ratio against ahrs Madgwick
measured in the same run. The ahrs filters are per-sample Python, so they run on a shorter slice
(``--ahrs-seconds`` per sensor) and are scaled to the hour. The vqf rows use the C++ batch update;
"vqf, live chunks" feeds the same data to the streaming filter in 0.1 s chunks as the live path
does. The product target is alignment + fusion + angle ≥ 2000× real time (one hour in < 1.8 s).

Run: ``PYTHONPATH=src python bench/fusion_speed.py [--hours H] [--ahrs-seconds S] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import date
from functools import partial

import numpy as np

from _timing import best_of
from imuhip import quaternion as Q
from imuhip.fusion.orientation import METHODS, OrientationFilter, estimate_orientation

RATE = 100.0
X = "\u00d7"


def synthetic_sensor(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gyr/acc/mag of a sensor turning smoothly (leg-exercise-like rates), with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    gyr = np.stack(
        [1.5 * np.sin(2 * np.pi * 0.4 * t), 0.7 * np.sin(2 * np.pi * 0.23 * t + 1.0),
         0.4 * np.cos(2 * np.pi * 0.11 * t)],
        axis=1,
    )  # fmt: skip
    # a cumulative rotation vector is not the exact integral of gyr, but is enough for timing
    # (the data only need to look like motion: changing tilt, rest detection not triggered)
    q = Q.from_rotvec(np.cumsum(gyr / RATE, axis=0))
    conj = Q.conjugate(q)
    acc = Q.rotate(conj, np.array([0.0, 0.0, 9.81])) + rng.normal(0, 0.05, (n, 3))
    mag = Q.rotate(conj, np.array([0.0, 20.0, -40.0])) + rng.normal(0, 0.3, (n, 3))
    gyr = gyr + rng.normal(0, 0.005, (n, 3)) + [0.01, -0.005, 0.002]
    return gyr, acc, mag


def _fmt(r: float) -> str:
    return f"{r:,.2f}" if r < 10 else f"{r:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--ahrs-seconds", type=float, default=30.0, help="slice per sensor for ahrs")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (vqf rows)")
    args = ap.parse_args()

    n = int(args.hours * 3600 * RATE)
    session_s = n / RATE
    sensors = [synthetic_sensor(n, seed) for seed in (1, 2)]
    n_ahrs = min(n, int(args.ahrs_seconds * RATE))

    def fuse_all(method: str, use_mag: bool, count: int):
        for gyr, acc, mag in sensors:
            estimate_orientation(
                gyr[:count], acc[:count], mag[:count] if use_mag else None,
                rate_hz=RATE, method=method,
            )  # fmt: skip

    def fuse_live(use_mag: bool, chunk: int = 10):
        for gyr, acc, mag in sensors:
            f = OrientationFilter("vqf", RATE)
            for s in range(0, n, chunk):
                f.update(gyr[s : s + chunk], acc[s : s + chunk],
                         mag[s : s + chunk] if use_mag else None)  # fmt: skip

    print(f"# Fusion speed, {date.today()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    print(f"{args.hours:g} h of two sensors at {RATE:g} Hz ({2 * n:,} samples); "
          f"ahrs filters timed on {n_ahrs / RATE:g} s per sensor and scaled\n")  # fmt: skip
    for use_mag in (False, True):
        mode = "9D" if use_mag else "6D"
        rows = []
        for method in METHODS:
            if method == "vqf":
                sec = best_of(partial(fuse_all, method, use_mag, n), args.repeat)
            else:
                sec = best_of(partial(fuse_all, method, use_mag, n_ahrs), 1) * n / n_ahrs
            rows.append((method, sec))
        live = best_of(partial(fuse_live, use_mag), 1)
        rows.insert(1, ("vqf, live chunks of 0.1 s", live))
        mad = dict(rows)["madgwick"]
        print(f"## {mode}\n")
        print(f"| method | seconds per {args.hours:g} h, two sensors | {X} real time | "
              f"speed vs ahrs Madgwick |")  # fmt: skip
        print("|---|---|---|---|")
        for method, sec in rows:
            print(f"| {method} | {sec:.3f} | {session_s / sec:,.0f}{X} | {_fmt(mad / sec)}{X} |")
        print()


if __name__ == "__main__":
    main()
