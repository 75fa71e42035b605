"""CPU time of the live pipeline per notification with a pelvis (and trunk) sensor, against the
same session without them: the one ``SessionPipeline`` with the causal aligner, fed one input
at a time and advanced after each (as ``replay`` and the live runner do).

One simulated seated session of WitMotion sensors at 100 Hz (raw notifications, ``reps``
content, a 10° pelvic lift at each rep, the protocol's pelvis and trunk steps after the leg
calibration) is written per layout; every input is fed in arrival order and the CPU time of
``feed`` + ``advance`` is taken per notification. Printed per layout: p50 / p99 / p99.9 / max
in milliseconds after the leg calibration was decided, and the pelvis stage's share. (The
layouts' sibling of ``bench/live_cost.py``; the budget is 2 ms p99 per notification.)

    python bench/live_cost_pelvis.py                 # 5 minutes per layout
    python bench/live_cost_pelvis.py --minutes 10
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.pipeline import make_pipeline
from imuhip.pipeline.compensation import CompensationStage
from imuhip.session import Notification, NotificationBlock, session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

LAYOUTS = {
    "thigh + shin": {},
    "thigh + shin + pelvis": {"pelvis": True},
    "thigh + shin + pelvis + trunk": {"pelvis": True, "trunk": True, "trunk_lean_deg": 12.0},
}


def measure(minutes: float, extra: dict) -> tuple[np.ndarray, np.ndarray]:
    """CPU seconds per notification after the calibration, and the pelvis stage's share."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.imuhip"
        cfg = SimConfig(
            content="reps", duration_s=minutes * 60, seed=7, profile="witmotion-ble5",
            exercise="seated", pelvic_lift_deg=10.0 if extra else 0.0, **extra,
        )  # fmt: skip
        write_simulation(simulate(cfg), path)
        session = read_session(path)
    stage_s = [0.0]
    advance = CompensationStage.advance

    def timed_advance(self, *a):  # the pelvis stage's share of each step
        t = time.process_time()
        try:
            return advance(self, *a)
        finally:
            stage_s[0] += time.process_time() - t

    CompensationStage.advance = timed_advance  # type: ignore[method-assign]
    try:
        pipe = make_pipeline(session.header, aligner="causal")
        after, stage = [], []
        for item in session_inputs(session, as_arrived=True):
            stage_s[0] = 0.0
            t = time.process_time()
            pipe.feed(item)
            pipe.advance()
            dt = time.process_time() - t
            if isinstance(item, Notification | NotificationBlock) and pipe.calibration is not None:
                after.append(dt)
                stage.append(stage_s[0])
        pipe.finish()
    finally:
        CompensationStage.advance = advance  # type: ignore[method-assign]
    return np.asarray(after), np.asarray(stage)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    for name, extra in LAYOUTS.items():
        xs, stage = measure(args.minutes, extra)
        ms, st = 1e3 * xs, 1e3 * stage
        line = (
            f"{name}: {len(ms)} notifications after the calibration, CPU per notification "
            f"p50 {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
            f"p99.9 {np.percentile(ms, 99.9):.3f} ms, max {ms.max():.1f} ms; "
            f"{ms.sum() / 1e3:.1f} s in all"
        )
        if extra:
            line += f"; pelvis stage p50 {np.median(st):.3f} ms, p99 {np.percentile(st, 99):.3f} ms"
        print(line, flush=True)


if __name__ == "__main__":
    main()
