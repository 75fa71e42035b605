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
- ``--together R``: R recordings each of 1, 2 and 4 WitMotion sensors that vanish at once
  (3 s) and advertise again all at once, and R of 4 that come back one a second apart (the
  first back searched for while the others are still away), with the manager's default
  timing (``ManagerSettings()``, what ``record`` and ``live`` use, stall timeout 1 s): per
  count, how long after advertising again each was connected (median and worst);
- ``--soak-minutes M``: M sensor minutes at 20x with random disconnects (seeded, 3 s apart
  on average per sensor): notifications, disconnects, and this (recording) process's resident
  memory from 30 % of the soak to its end;
- ``--soak-others-minutes M``: the same for a Movesense, a MetaMotion (200 Hz, packed) and
  a Movella DOT, at 10x (their notifications come one or three samples at a time).

Usage::

    PYTHONPATH=src python bench/ble_faults.py --vanish 3 --soak-minutes 30 --soak-others-minutes 30
    PYTHONPATH=src python bench/ble_faults.py --vanish 0 --soak-minutes 0 --together 3

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
    TOGETHER_ROLES,
    Soak,
    World,
    soak,
    soak_others,
    vanish_both,
    vanish_others,
    vanish_together,
)

from imuhip.sources.ble.connection import ManagerSettings


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


def _together(tmp: Path, runs: int) -> None:
    """Print the reconnection times of sensors gone at once (see ``--together``)."""
    settings = ManagerSettings(stall_timeout_s=1.0)
    for n, apart in ((1, 0.0), (2, 0.0), (4, 0.0), (4, 1.0)):
        waits: list[float] = []
        for i in range(runs):
            (tmp / f"t{n}-{apart:g}-{i}").mkdir()
            world = World(tmp / f"t{n}-{apart:g}-{i}")
            try:
                v = vanish_together(world, n, apart_s=apart, settings=settings)
            finally:
                world.close()
            waits += [v.reconnected_s(r) for r in TOGETHER_ROLES[:n]]
        how = "all back at once" if apart == 0 else f"back {apart:g} s apart"
        print(
            f"{n} WitMotion gone together, {how}, {runs} runs: connected "
            f"{statistics.median(waits):.2f} s (max {max(waits):.2f} s) after advertising again"
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
    ap.add_argument(
        "--together", type=int, default=1, help="runs of 1, 2 and 4 sensors gone at once"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.together > 0:
            _together(Path(tmp), args.together)
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
