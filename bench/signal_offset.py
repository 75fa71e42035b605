"""Thigh/shin offset from the gyroscopes (imuhip.align.signal_offset) on SIMULATED sessions.

For each exercise x content x seed, simulates a session (default 90 s, 100 Hz), shifts the
shin's times by each test offset and prints the estimate's error (ms), the peak correlation
and runner-up, and whether it was resolved; then the worst error over resolved cases and the
number of cases refused. All figures are SIMULATED.
Run: ``python bench/signal_offset.py [--duration S] [--seeds S ...]``.
"""

from __future__ import annotations

import argparse
import time

from imuhip.align.signal_offset import estimate_offset
from imuhip.sim.simulate import SimConfig, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=90.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--offsets", type=float, nargs="+", default=[0.0, 0.05, 10.0, -7.3])
    args = ap.parse_args()
    worst, refused, cases, spent = 0.0, 0, 0, 0.0
    print("exercise content seed offset_s  error_ms  corr  runner_up resolved")
    for ex in ("prone", "seated", "supine"):
        for content in ("reps", "mixed", "holds"):
            for seed in args.seeds:
                s = simulate(
                    SimConfig(exercise=ex, content=content, duration_s=args.duration, seed=seed)
                ).samples
                th, sh = s["thigh"], s["shin"]
                for off in args.offsets:
                    t0 = time.perf_counter()
                    r = estimate_offset(th.t, th.gyr, sh.t + off, sh.gyr)
                    spent += time.perf_counter() - t0
                    cases += 1
                    err = (r.offset_s - off) * 1000
                    if r.resolved:
                        worst = max(worst, abs(err))
                    else:
                        refused += 1
                    print(
                        f"{ex:8} {content:7} {seed:4} {off:8.2f} {err:9.1f} {r.correlation:5.2f} "
                        f"{r.runner_up:9.2f} {r.resolved!s:8} {r.reason}"
                    )
    print(
        f"SIMULATED: worst error over resolved cases {worst:.1f} ms; {refused} of {cases} "
        f"cases not resolved; {1000 * spent / cases:.1f} ms per estimate"
    )


if __name__ == "__main__":
    main()
