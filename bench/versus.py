"""CPU of ``imuhip analyze`` against another revision's, on the same simulated session.

One simulated hour of two WitMotion sensors at 100 Hz (raw notifications, ``reps`` content,
seed 7: the session of ``bench/analyze_speed.py``) is written once with this tree's simulator.
The other revision's ``src/`` is exported with ``git archive`` into a temporary directory.
Then, in pairs that alternate (the other revision first), a fresh child process of each tree
runs the whole analysis ``--runs`` times and reports its best CPU time: the analysis as that
revision's ``analyze`` runs it (the file streamed into the pipeline where the revision has
``analyze_file``, else ``analyze_session`` of ``read_session``: before issue #15). Printed: each
pair, the ratio of the medians, best against best, and the share of pairs this tree was faster.

    python bench/versus.py                    # against 9165f6f (when issue #19 was filed)
    python bench/versus.py --rev HEAD~3 --pairs 8
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from imuhip.sim.simulate import SimConfig, simulate, write_simulation

HERE = Path(__file__).resolve().parent.parent

#: What a child process runs: ``python -c CHILD SRC FILE RUNS`` prints the best CPU seconds.
CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
path, runs = Path(sys.argv[2]), int(sys.argv[3])
try:
    from imuhip.pipeline import Keep
    from imuhip.pipeline.analyze import analyze_file
    def run():
        return analyze_file(path, keep=Keep.EVENTS).analysis
except ImportError:
    from imuhip.files.session_file import read_session
    from imuhip.pipeline import analyze_session
    def run():
        return analyze_session(read_session(path))
best = float("inf")
for _ in range(runs):
    c = time.process_time()
    res = run()
    best = min(best, time.process_time() - c)
assert len(res.exercise.reps) > 0
import imuhip
print(imuhip.__file__)
print(best)
"""


def _export(rev: str, into: Path) -> Path:
    """The revision's ``src/`` unpacked under ``into`` (``git archive``); returns its path."""
    tar = into / "src.tar"
    subprocess.run(
        ["git", "-C", str(HERE), "archive", "-o", str(tar), rev, "src"], check=True
    )  # fmt: skip
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    return into / "src"


def _best_cpu(src: Path, session: Path, runs: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(session), str(runs)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    where, best = out.stdout.strip().splitlines()[-2:]
    if not Path(where).resolve().is_relative_to(src.resolve()):  # (an installed copy won)
        raise RuntimeError(f"the child imported {where}, not the tree under {src}")
    return float(best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="9165f6f", help="the revision to compare with")
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5, help="analyses per process (best taken)")
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "session.imuhip"
        cfg = SimConfig(
            content="reps", duration_s=args.minutes * 60, seed=7, profile="witmotion-ble5"
        )
        write_simulation(simulate(cfg), session)
        other = _export(args.rev, Path(tmp))
        mine = HERE / "src"
        theirs, ours = [], []
        print(f"SIMULATED {args.minutes:g} min; best CPU of {args.runs} analyses per process")
        for k in range(args.pairs):
            theirs.append(_best_cpu(other, session, args.runs))
            ours.append(_best_cpu(mine, session, args.runs))
            print(f"  pair {k + 1}: {args.rev} {theirs[-1]:.3f} s, this tree {ours[-1]:.3f} s "
                  f"({100 * (ours[-1] / theirs[-1] - 1):+.1f} %)")  # fmt: skip
    med = statistics.median(ours) / statistics.median(theirs)
    best = min(ours) / min(theirs)
    faster = sum(o < t for o, t in zip(ours, theirs, strict=True))
    print(f"this tree against {args.rev}: medians {100 * (med - 1):+.1f} %, "
          f"best against best {100 * (best - 1):+.1f} %, "
          f"faster in {faster} of {args.pairs} pairs")  # fmt: skip


if __name__ == "__main__":
    main()
