"""CPU time of the live pipeline per notification: the one ``SessionPipeline`` with the causal
aligner, fed one input at a time and advanced after each (as ``replay`` and the live runner do).

Per layout, one simulated session of WitMotion sensors at 100 Hz (raw notifications, ``reps``
content) is written; then every input is fed in arrival order and the CPU time of ``feed`` +
``advance`` is taken per notification. Printed: p50 / p99 / p99.9 / max in milliseconds,
before and after the calibration was decided (the decision itself, which fuses the whole buffer
once, is the maximum), and the shares of the detector and of the pelvis/trunk stage. The budget
is 2 ms p99 per notification. The layouts: thigh and shin (supine, as before), and seated with
a pelvis sensor (a 10° pelvic lift at each rep), and with a pelvis and a trunk sensor.

    python bench/live_cost.py                       # 5 minutes, thigh and shin
    python bench/live_cost.py --minutes 20
    python bench/live_cost.py --layouts all         # and with a pelvis, and a trunk
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
from imuhip.pipeline.compensation import CompensationStage
from imuhip.session import Notification, NotificationBlock, session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

SEATED_LIFT = {"exercise": "seated", "pelvic_lift_deg": 10.0}
LAYOUTS = {
    "thigh + shin": {},
    "thigh + shin + pelvis": {**SEATED_LIFT, "pelvis": True},
    "thigh + shin + pelvis + trunk": {
        **SEATED_LIFT, "pelvis": True, "trunk": True, "trunk_lean_deg": 12.0,
    },
}  # fmt: skip
#: The stages whose share is printed: name -> (class, method)
SHARES = {"detector": (ExerciseDetector, "update"), "pelvis stage": (CompensationStage, "advance")}


class _Share:
    """Wraps ``cls.method`` to add its CPU time to :attr:`s` (reset by the caller)."""

    def __init__(self, cls: type, method: str) -> None:
        self.cls, self.method, self.s = cls, method, 0.0
        self.orig = getattr(cls, method)

    def __enter__(self) -> _Share:
        orig, share = self.orig, self

        def timed(obj, *a):
            t = time.process_time()
            try:
                return orig(obj, *a)
            finally:
                share.s += time.process_time() - t

        setattr(self.cls, self.method, timed)
        return self

    def __exit__(self, *exc) -> None:
        setattr(self.cls, self.method, self.orig)


def measure(minutes: float, extra: dict) -> dict[str, np.ndarray]:
    """CPU seconds per notification before and after the calibration, and each stage's share
    of those after it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.imuhip"
        cfg = SimConfig(
            content="reps", duration_s=minutes * 60, seed=7, profile="witmotion-ble5", **extra
        )
        write_simulation(simulate(cfg), path)
        session = read_session(path)
    out: dict[str, list[float]] = {"before": [], "after": [], **{k: [] for k in SHARES}}
    shares = {k: _Share(*v) for k, v in SHARES.items()}
    for s in shares.values():
        s.__enter__()
    try:
        pipe = make_pipeline(session.header, aligner="causal")
        for item in session_inputs(session, as_arrived=True):
            for s in shares.values():
                s.s = 0.0
            t = time.process_time()
            pipe.feed(item)
            pipe.advance()
            dt = time.process_time() - t
            if not isinstance(item, Notification | NotificationBlock):
                continue
            out["after" if pipe.calibration is not None else "before"].append(dt)
            if pipe.calibration is not None:
                for k, s in shares.items():
                    out[k].append(s.s)
        pipe.finish()
    finally:
        for s in shares.values():
            s.__exit__()
    return {k: np.asarray(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--layouts", choices=("legs", "all"), default="legs")
    args = ap.parse_args()
    names = list(LAYOUTS) if args.layouts == "all" else ["thigh + shin"]
    for name in names:
        got = measure(args.minutes, LAYOUTS[name])
        print(f"{name}:")
        for phase in ("before", "after"):
            ms = 1e3 * got[phase]
            if not len(ms):
                continue
            print(
                f"  {phase} calibration: {len(ms)} notifications, CPU per notification "
                f"p50 {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
                f"p99.9 {np.percentile(ms, 99.9):.3f} ms, max {ms.max():.1f} ms, "
                f"{ms.sum() / 1e3:.1f} s in all"
            )
        for k in SHARES:
            d = 1e3 * got[k]
            if len(d) and d.max() > 0:
                print(f"  of which the {k}: p50 {np.median(d):.3f} ms, "
                      f"p99 {np.percentile(d, 99):.3f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
