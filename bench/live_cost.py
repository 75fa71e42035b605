"""CPU time of the live pipeline per notification: the one ``SessionPipeline`` with the causal
aligner, fed one input at a time and advanced after each (as ``replay`` and the live runner do).

One simulated session of two WitMotion sensors at 100 Hz (raw notifications, ``reps`` content)
is written; then every input is fed in arrival order and the CPU time of ``feed`` + ``advance``
is taken per notification. Printed: p50 / p99 / p99.9 / max in milliseconds, before and after
the calibration was decided (the decision itself, which fuses the whole buffer once, is the
maximum), and the detector's share.

    python bench/live_cost.py                 # 5 minutes
    python bench/live_cost.py --minutes 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from imuhip.analysis.detector import ExerciseDetector
from imuhip.files.session_file import read_session
from imuhip.pipeline import make_pipeline
from imuhip.session import Notification, NotificationBlock, session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.imuhip"
        sim = simulate(
            SimConfig(
                content="reps", duration_s=args.minutes * 60, seed=7, profile="witmotion-ble5"
            )
        )
        write_simulation(sim, path)
        session = read_session(path)
    detector_s = [0.0]
    update = ExerciseDetector.update

    def timed_update(self, *a):  # the detector's share of each step
        t = time.process_time()
        try:
            return update(self, *a)
        finally:
            detector_s[0] += time.process_time() - t

    ExerciseDetector.update = timed_update  # type: ignore[method-assign]
    pipe = make_pipeline(session.header, aligner="causal")
    before, after, det = [], [], []
    for item in session_inputs(session, as_arrived=True):
        detector_s[0] = 0.0
        t = time.process_time()
        pipe.feed(item)
        pipe.advance()
        dt = time.process_time() - t
        if isinstance(item, Notification | NotificationBlock):
            (after if pipe.calibration is not None else before).append(dt)
            if pipe.calibration is not None:
                det.append(detector_s[0])
    pipe.finish()
    ExerciseDetector.update = update  # type: ignore[method-assign]
    for name, xs in (("before calibration", before), ("after calibration", after)):
        ms = 1e3 * np.asarray(xs)
        if not len(ms):
            continue
        print(
            f"{name}: {len(ms)} notifications, CPU per notification p50 {np.median(ms):.3f} ms, "
            f"p99 {np.percentile(ms, 99):.3f} ms, p99.9 {np.percentile(ms, 99.9):.3f} ms, "
            f"max {ms.max():.1f} ms"
        )
    d = 1e3 * np.asarray(det)
    if len(d):
        print(
            f"  of which the detector: p50 {np.median(d):.3f} ms, p99 {np.percentile(d, 99):.3f} ms"
        )


if __name__ == "__main__":
    main()
