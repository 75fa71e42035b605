"""Speed and peak memory of ``imuhip analyze`` as a whole: read + the one session pipeline.

One simulated session of two WitMotion sensors at 100 Hz (raw notifications, the replay path)
is written once; then, in this process, the whole analysis as ``imuhip analyze`` runs it (read
the file, align, grid, fuse, calibrate, angle, detect; no per-sample result kept) is timed (wall
and CPU), with the rep/hold detector's share, and plain ``ahrs`` Madgwick fusion of the same two
sensors' samples is timed as the baseline (on a 2-minute slice, scaled: it is pure Python).
Peak memory of the analysis is measured in a fresh child process (its maximum resident set).

    python bench/analyze_speed.py                 # one hour
    python bench/analyze_speed.py --minutes 480   # eight hours
    python bench/analyze_speed.py --profile       # and where the time goes (cProfile, top 25)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from imuhip.align.streams import sensor_streams
from imuhip.analysis.detector import ExerciseDetector
from imuhip.files.session_file import read_session
from imuhip.pipeline import Keep
from imuhip.pipeline.analyze import analyze_file
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def _analyze(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole analysis of ``path``, as ``imuhip analyze`` runs it
    (the file streamed into the pipeline, no per-sample result kept)."""
    t, c = time.perf_counter(), time.process_time()
    res = analyze_file(path, keep=Keep.EVENTS).analysis
    dt, dc = time.perf_counter() - t, time.process_time() - c
    assert len(res.exercise.reps) > 0
    return dt, dc


def _detector_s(path: Path) -> float:
    """CPU seconds spent in the rep/hold detector's ``update`` in one analysis."""
    spent = [0.0]
    plain = ExerciseDetector.update

    def timed(self, *a, **kw):
        c = time.process_time()
        try:
            return plain(self, *a, **kw)
        finally:
            spent[0] += time.process_time() - c

    ExerciseDetector.update = timed  # type: ignore[method-assign]
    try:
        _analyze(path)
    finally:
        ExerciseDetector.update = plain  # type: ignore[method-assign]
    return spent[0]


def _madgwick_s(path: Path, n: int = 12000) -> float:
    from ahrs.filters import Madgwick

    streams = sensor_streams(read_session(path))
    total = 0.0
    for role in ("thigh", "shin"):
        s = streams[role].samples
        k = min(n, len(s))
        t = time.perf_counter()
        Madgwick(gyr=s.gyr[:k], acc=s.acc[:k], frequency=100.0)
        total += (time.perf_counter() - t) * len(s) / k
    return total


def _peak_rss_mib() -> float:
    """This process's peak resident set, MiB: ``VmHWM`` where Linux gives it (``ru_maxrss``
    can carry a larger forking parent's), else ``ru_maxrss``."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # peak memory of one analysis in a fresh process
        _analyze(Path(args.child))
        print(_peak_rss_mib())
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.imuhip"
        t0 = time.perf_counter()
        sim = simulate(
            SimConfig(
                content="reps", duration_s=args.minutes * 60, seed=7, profile="witmotion-ble5"
            )
        )
        write_simulation(sim, path)
        del sim
        mib = path.stat().st_size / 2**20
        print(f"simulated {args.minutes:g} min of two WitMotion sensors in "
              f"{time.perf_counter() - t0:.1f} s ({mib:.0f} MiB)")  # fmt: skip
        runs = [_analyze(path) for _ in range(3)]
        best = min(w for w, _ in runs)
        cpu = min(c for _, c in runs)
        det = _detector_s(path)
        hours = args.minutes / 60.0
        mad = _madgwick_s(path)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peak = float(out.stdout.strip().splitlines()[-1])
        median = np.median([w for w, _ in runs])
        print(f"whole analysis (read + pipeline): {best:.2f} s best of 3 "
              f"({median:.2f} s median) = {best / hours:.2f} s per hour, "
              f"{args.minutes * 60 / best:,.0f}x real time; "
              f"CPU {cpu / hours:.2f} s per hour")  # fmt: skip
        print(f"of which the rep/hold detector: {det / hours:.2f} s CPU per hour "
              f"({100 * det / cpu:.0f} %)")  # fmt: skip
        print(f"ahrs Madgwick fusion alone, both sensors: {mad:.1f} s; "
              f"whole analysis is {mad / best:.1f}x faster")  # fmt: skip
        print(f"peak memory of the analysis (VmHWM of a fresh process): {peak:.0f} MiB")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            _analyze(path)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
