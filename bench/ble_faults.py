"""Sensor faults against independent peripherals: reconnect time, loss outside gaps, memory.

Runs imuhip's recorder (bleak over bumble, the connection manager, the session writer)
against the minimal WitMotion, Polar PMD, Movesense, MetaMotion and Movella DOT GATT servers
of ``tests/peripherals`` (written from the vendor protocol notes, not from imuhip's virtual
sensors), each in its own process on a radio hub process reached over TCP on 127.0.0.1
(``tests/peripherals/world.py``):

- ``--vanish N``: N recordings in which a WitMotion and a Polar vanish for ``--away`` seconds
  (the process ends, no LL terminate; the hub reports the loss after a 0.5 s supervision
  timeout) and come back as new processes, and N in which a Movesense, a MetaMotion and a
  Movella DOT do (0.4 s apart, all three away at once). Per sensor: when the loss was
  noticed, how long after it advertised again it was connected (``connection_restored``) and
  its first data were recorded (after the start sequence), and the samples it sent outside
  the gap that are not in the file (WitMotion: less the ones counted as left out before the
  rate read-back);
- ``--soak-minutes M``: M sensor minutes at 20x with random disconnects (seeded, 3 s apart
  on average per sensor): notifications, disconnects, and this (recording) process's resident
  memory from 30 % of the soak to its end;
- ``--soak-others-minutes M``: the same for a Movesense, a MetaMotion (200 Hz, packed) and
  a Movella DOT, at 10x (their notifications come one or three samples at a time).

Usage::

    PYTHONPATH=src python bench/ble_faults.py --vanish 3 --soak-minutes 30 --soak-others-minutes 30

Measured (2-core shared VM, Python 3.11, bumble 0.0.236), 3 vanish runs and a 30-minute soak:
see the README ("BLE, independent peripherals").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.peripherals

from tests.peripherals.world import (
    OTHERS,
    Soak,
    World,
    soak,
    soak_others,
    vanish_both,
    vanish_others,
)


def _print_soak(label: str, minutes: float, speed: float, r: Soak) -> None:
    start, end = r.growth_mib()
    n = sum(st.notifications for st in r.status.values())
    drops = sum(rep["drops"] for rep in r.reports.values())
    peak = max(m for _, m in r.rss)
    print(
        f"{label}soak {minutes:g} sensor minutes ({r.real_s:.0f} s at {speed:g}x): {n} "
        f"notifications, {drops} random disconnects; resident memory {start:.1f} -> "
        f"{end:.1f} MiB from 30 % to the end (peak {peak:.1f} MiB); Python objects "
        f"{r.objects[0]} -> {r.objects[-1]}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vanish", type=int, default=3, help="vanish runs")
    ap.add_argument("--away", type=float, default=5.0, help="seconds each sensor is away")
    ap.add_argument("--soak-minutes", type=float, default=30.0, help="sensor minutes (0: none)")
    ap.add_argument(
        "--soak-others-minutes",
        type=float,
        default=0.0,
        help="sensor minutes of Movesense, MetaMotion and DOT at 10x (0: none)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows: dict[str, list[tuple[float, float, float, int]]] = {"shin": [], "thigh": []}
        for i in range(args.vanish):
            (Path(tmp) / f"v{i}").mkdir()
            world = World(Path(tmp) / f"v{i}")
            try:
                v = vanish_both(world, away_s=args.away)
            finally:
                world.close()
            for role in rows:
                rows[role].append(
                    (
                        v.noticed_s(role),
                        v.reconnected_s(role),
                        v.first_data_s(role),
                        v.lost_outside_gap(role),
                    )
                )
        others: dict[str, list[tuple[float, float, float, int]]] = {r: [] for r in OTHERS}
        for i in range(args.vanish):
            (Path(tmp) / f"o{i}").mkdir()
            world = World(Path(tmp) / f"o{i}")
            try:
                o = vanish_others(world, away_s=args.away)
            finally:
                world.close()
            for role in others:
                others[role].append(
                    (
                        o.noticed_s(role),
                        o.reconnected_s(role),
                        o.first_data_s(role),
                        o.lost_outside_gap(role),
                    )
                )
        table = [("WitMotion", rows["shin"]), ("Polar PMD", rows["thigh"])]
        table += [(OTHERS[r].label, others[r]) for r in OTHERS]
        for name, runs in table:
            if not runs:
                continue
            noticed, back, data, lost = (list(col) for col in zip(*runs, strict=True))
            print(
                f"{name} away {args.away:g} s, {len(back)} runs: loss noticed after "
                f"{statistics.median(noticed):.2f} s; after it advertised again: connected "
                f"{statistics.median(back):.2f} s (max {max(back):.2f}), first data "
                f"{statistics.median(data):.2f} s (max {max(data):.2f}) (medians); samples "
                f"lost outside the gap: {sum(lost)}"
            )
        if args.soak_minutes > 0:
            (Path(tmp) / "soak").mkdir()
            world = World(Path(tmp) / "soak")
            try:
                r = soak(world, args.soak_minutes)
            finally:
                world.close()
            _print_soak("WitMotion + Polar ", args.soak_minutes, 20.0, r)
        if args.soak_others_minutes > 0:
            (Path(tmp) / "soak-others").mkdir()
            world = World(Path(tmp) / "soak-others")
            try:
                r = soak_others(world, args.soak_others_minutes, speed=10.0)
            finally:
                world.close()
            _print_soak("Movesense + MetaMotion + DOT ", args.soak_others_minutes, 10.0, r)


if __name__ == "__main__":
    main()
