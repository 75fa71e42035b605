"""Single-bit flips of the shipped recordings: what each costs.

    python bench/file_damage.py                       # 100 flips of the Polar recording
    python bench/file_damage.py --flips 100 --all     # every recording in recordings/
    python bench/file_damage.py --no-analysis         # reading only (fast)
    python bench/file_damage.py --order 100           # and 100 duplicated or swapped records

Each copy has one random bit flipped (seeded). It is read and, unless ``--no-analysis``,
analysed as ``imuhip analyze`` would. Printed per recording: copies refused because the header
was hit, copies whose analysis succeeded, the most seconds of one sensor lost (each lost sample
or notification counts the time since the one before it), and copies that lost data from more
than one sensor. Then copies with one data record duplicated or two records of one sensor
swapped: how many were reported, and how many analysed exactly like the intact file.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np

from imuhip.errors import ImuhipError, SessionFileError
from imuhip.files import records
from imuhip.files.session_file import read_session, record_index
from imuhip.pipeline import analyze_session
from imuhip.session import Session

ROOT = Path(__file__).resolve().parent.parent


def seconds_lost(intact: Session, damaged: Session) -> dict[str, float]:
    """Per sensor, seconds of data missing from ``damaged`` (see the module docstring)."""
    out = {}
    for role in intact.header.roles:
        t = (intact.notifications.get(role) or intact.samples[role]).t
        got = damaged.notifications.get(role) or damaged.samples.get(role)
        kept = np.isin(t, got.t) if got is not None else np.zeros(len(t), bool)
        dt = np.diff(t, prepend=t[0] - np.median(np.diff(t)))
        out[role] = float(dt[~kept].sum())
    return out


def run(path: Path, flips: int, seed: int, analyse: bool, tmp: Path) -> None:
    data = path.read_bytes()
    intact = read_session(path)
    rng = np.random.default_rng(seed)
    refused = succeeded = two_sensors = reported = 0
    worst = 0.0
    failures: dict[str, int] = {}
    for _ in range(flips):
        damaged = bytearray(data)
        damaged[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        p = tmp / "flip.imuhip"
        p.write_bytes(bytes(damaged))
        try:
            s = read_session(p, warn=False)
        except SessionFileError:
            refused += 1
            continue
        lost = seconds_lost(intact, s)
        worst = max(worst, *lost.values())
        two_sensors += sum(v > 0 for v in lost.values()) > 1
        reported += not s.report.ok
        if analyse:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    analyze_session(s)
                succeeded += 1
            except ImuhipError as exc:
                key = str(exc).split(" (")[0][:80]
                failures[key] = failures.get(key, 0) + 1
    opened = flips - refused
    line = (
        f"{path.name}: {flips} flips, {refused} refused (header hit), {reported}/{opened} "
        f"reported damaged, max {worst:.2f} s of one sensor lost, {two_sensors} lost two sensors"
    )
    if analyse:
        line += f", analyses succeeded {succeeded}/{opened}"
    print(line)
    for why, n in failures.items():
        print(f"    {n} refused: {why}")


def _summary(session: Session) -> dict | str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ex = analyze_session(session).exercise
        return {"summary": ex.summary(), "reps": [r.as_dict() for r in ex.reps]}
    except ImuhipError as exc:
        return f"refused: {exc}"


def run_order(path: Path, n: int, seed: int, tmp: Path) -> None:
    """``n`` copies with one data record duplicated (somewhere later) or two records of one
    sensor swapped: each must be reported and analyse like the intact file."""
    data = path.read_bytes()
    recs = record_index(data)
    want = _summary(read_session(path))
    rng = np.random.default_rng(seed)
    reported = same = 0
    for k in range(n):
        order = list(range(len(recs)))
        data_recs = [i for i, r in enumerate(recs) if r.sensor is not None]
        i = int(rng.choice(data_recs))
        if k % 2 == 0:  # duplicate record i somewhere after it
            order.insert(int(rng.integers(i + 1, len(order) + 1)), i)
        else:  # swap record i with a later record of the same sensor
            later = [j for j in data_recs if j > i and recs[j].sensor == recs[i].sensor]
            if not later:
                continue
            j = int(rng.choice(later))
            order[i], order[j] = order[j], order[i]
        p = tmp / "order.imuhip"
        body = b"".join(data[recs[m].offset : recs[m].offset + recs[m].size] for m in order)
        p.write_bytes(records.MAGIC + body)
        s = read_session(p, warn=False)
        reported += bool(s.report.order)
        same += _summary(s) == want
    print(
        f"{path.name}: {n} duplicated or swapped records, {reported} reported, "
        f"{same} analysed exactly like the intact file"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flips", type=int, default=100)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--all", action="store_true", help="every recording, not just the Polar one")
    ap.add_argument("--no-analysis", action="store_true", help="read only")
    ap.add_argument("--order", type=int, default=100, metavar="N",
                    help="also N copies with a duplicated or swapped record (0: none)")  # fmt: skip
    args = ap.parse_args()
    paths = sorted((ROOT / "recordings").glob("*.imuhip"))
    if not args.all:
        paths = [p for p in paths if "polar" in p.stem]
    with tempfile.TemporaryDirectory() as d:
        for p in paths:
            run(p, args.flips, args.seed, not args.no_analysis, Path(d))
            if args.order:
                run_order(p, args.order, args.seed, Path(d))


if __name__ == "__main__":
    main()
