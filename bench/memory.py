"""Peak memory of the commands on a file (``analyze``, ``report``, ``export`` …) on long sessions.

A long session of two WitMotion sensors at 100 Hz (raw notifications, the live format) is made
quickly: one simulated block of ``--block-min`` minutes (reps; calibration at its start) is
written again and again with its receive times shifted, so generating 8 hours takes seconds
and holds one block in memory. Each command then runs in a fresh process (``imuhip.cli.main``,
its output thrown away) and prints its peak resident set (``VmHWM``, MiB); ``import`` is a
process that only imports what the commands import (the fixed cost in every figure).

    python bench/memory.py                                   # 1, 4 and 8 hours
    python bench/memory.py --hours 1 2 --commands analyze history
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COMMANDS = (
    "import", "analyze", "report", "replay", "history", "info", "export", "export-samples"
)  # fmt: skip


def write_long_session(path: Path, hours: float, block_min: float = 10.0, seed: int = 7) -> Path:
    """Write ``hours`` of two simulated WitMotion sensors to ``path`` by repeating one
    simulated block with shifted receive times (the first block's events only)."""
    from imuhip.files.session_file import SessionWriter
    from imuhip.session import Notifications
    from imuhip.sim.simulate import SimConfig, simulate

    sim = simulate(
        SimConfig(content="reps", duration_s=block_min * 60, seed=seed, profile="witmotion-ble5")
    )
    notes = sim.notifications
    t0 = min(float(n.t[0]) for n in notes.values())
    t1 = max(float(n.t[-1]) for n in notes.values())
    step = float(np.median(np.diff(notes["thigh"].t)))
    period = t1 - t0 + step  # one block's span, so the next one continues the stream
    blocks = max(1, round(hours * 3600 / period))
    with SessionWriter(path, sim.header, durable=False, overwrite=True) as w:
        for e in sim.events:
            w.add_event(e)
        for k in range(blocks):
            for role, n in notes.items():
                w.add_notifications(
                    role, Notifications(n.t + k * period, n.channel, n.offsets, n.payload)
                )
            w.flush()
    return path


def _child(command: str, path: str) -> None:
    """Run one command on ``path`` in this process; print the peak RSS (MiB) last."""
    from imuhip.cli import main

    tmp = tempfile.mkdtemp()
    args = {
        "import": None,
        "analyze": ["analyze", "--json", path],
        "report": ["report", path, "-o", os.path.join(tmp, "r.html")],
        "replay": ["replay", "--speed", "max", "--plain", "--json", path],
        "history": ["history", str(Path(path).parent), "--jobs", "1", "--no-cache"],
        "info": ["info", path],
        "export": ["export", path, "--angles", os.path.join(tmp, "angles.csv")],
        "export-samples": ["export", path, "--samples", os.path.join(tmp, "csv")],
    }[command]
    code = 0
    if args is not None:
        with (
            open(os.devnull, "w") as null,
            contextlib.redirect_stdout(null),
            contextlib.redirect_stderr(null),
        ):
            code = main(args)
    else:
        import imuhip.pipeline  # what every command imports
        import imuhip.sinks.report  # noqa: F401
    if code:
        raise SystemExit(f"{command} failed with exit code {code}")
    print(_peak_rss_mib())


def _peak_rss_mib() -> float:
    """This process's peak resident set, MiB: ``VmHWM`` where Linux gives it (the process
    image's own; ``ru_maxrss`` can carry a larger forking parent's), else ``ru_maxrss``."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_mib(command: str, path: Path) -> tuple[float, float]:
    """(peak RSS in MiB, CPU seconds) of ``command`` on ``path`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, __file__, "--child", command, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(out.stdout.strip().splitlines()[-1]), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    ap.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    ap.add_argument("--block-min", type=float, default=10.0)
    ap.add_argument("--child", nargs=2, metavar=("COMMAND", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    print("peak memory (max RSS of a fresh process, MiB; CPU s), two WitMotion sensors at 100 Hz")
    for hours in args.hours:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "long.imuhip"
            t = time.perf_counter()
            write_long_session(path, hours, args.block_min)
            mib = path.stat().st_size / 2**20
            made = time.perf_counter() - t
            print(f"{hours:g} h: file {mib:.0f} MiB, written in {made:.1f} s", flush=True)
            for cmd in args.commands:
                peak, cpu = peak_mib(cmd, path)
                print(f"  {cmd:<14} {peak:7.0f} MiB  {cpu:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
