"""Stress benchmark of the live BLE path: N virtual WitMotion sensors streaming into a session file.

Everything runs in one process on bumble's virtual radio: the sensors, both BLE stacks, the
connection manager and the session writer thread. Reports, per run:

- CPU time per notification for the whole process (both stacks included);
- time spent in imuhip's notification callback (receive time stamp + hand-off to the writer),
  p50 / p99 / max;
- host inter-arrival jitter per sensor (p99 of |Δt − 1/rate|), showing event-loop congestion;
- lost samples: sent by the sensors but missing from the file after decoding.

Usage: ``PYTHONPATH=src python bench/ble_stress.py [--sensors 4] [--rate 100] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from imuhip.decode import get_decoder
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend, close_radios
from imuhip.sources.ble.connection import Assignment, ConnectionManager, WriterThread
from imuhip.sources.ble.emulations import WitMotionEmulation
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion

ROLES = ("thigh", "shin", "pelvis")


async def run(n_sensors: int, rate: float, seconds: float, path: Path) -> dict:
    be = ble_backend("bumble:virtual")
    sensors = [
        VirtualSensor(WitMotionEmulation(), synthetic_motion(0.3 + 0.1 * i, 30, i % 3))
        for i in range(n_sensors)
    ]
    for s in sensors:
        await s.start()
    roles = [ROLES[i] if i < len(ROLES) else f"extra{i}" for i in range(n_sensors)]
    assignments = [
        Assignment(r, s.address, "witmotion-ble5", rate)
        for r, s in zip(roles, sensors, strict=True)
    ]
    # the session header only allows the standard roles: record the first three
    recorded = [a for a in assignments if a.role in ROLES]
    header = SessionHeader("left", "bench", tuple(a.sensor_info() for a in recorded))
    cb_ns: list[int] = []
    counts = dict.fromkeys(roles, 0)
    with SessionWriter(path, header, overwrite=True) as writer:
        sink = WriterThread(writer)

        def on_note(role: str, ch: int, t: float, data: bytes) -> None:
            t0 = time.perf_counter_ns()
            counts[role] += 1
            if role in ROLES:
                sink.notification(role, ch, t, data)
            cb_ns.append(time.perf_counter_ns() - t0)

        m = ConnectionManager(assignments, on_note, sink.event, be)
        async with m:
            missing = await m.wait_streaming(20)
            if missing:
                raise SystemExit(f"not streaming: {missing}")
            await asyncio.sleep(1.0)  # past the rate change
            sent0 = [s.stats.samples_sent for s in sensors]
            got0 = dict(counts)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            cb_ns.clear()
            await asyncio.sleep(seconds)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            got = {r: counts[r] - got0[r] for r in roles}
            sent = [s.stats.samples_sent - a for s, a in zip(sensors, sent0, strict=True)]
        sink.close()
    for s in sensors:
        await s.stop()
    await close_radios()
    return {
        "cpu": cpu,
        "wall": wall,
        "cb_ns": np.array(cb_ns),
        "got": got,
        "sent": sent,
        "roles": roles,
        "sensors": sensors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "stress.imuhip"
        r = asyncio.run(run(args.sensors, args.rate, args.seconds, path))
        session = read_session(path)
        n_total = sum(r["got"].values())
        print(
            f"{args.sensors} virtual WitMotion sensors at {args.rate:g} Hz, "
            f"{r['wall']:.1f} s measured, {n_total} notifications"
        )
        print(
            f"process CPU: {100 * r['cpu'] / r['wall']:.1f} % of one core, "
            f"{1e6 * r['cpu'] / max(1, n_total):.0f} µs per notification (both stacks)"
        )
        cb = r["cb_ns"] / 1000
        print(
            f"imuhip callback: p50 {np.percentile(cb, 50):.1f} µs, "
            f"p99 {np.percentile(cb, 99):.1f} µs, max {cb.max():.1f} µs"
        )
        for i, role in enumerate(r["roles"]):
            line = f"  {role:8s} received {r['got'][role]:6d} / sent {r['sent'][i]:6d}"
            if role in session.notifications:
                n = session.notifications[role]
                info = session.header.sensor(role)
                dec = get_decoder(info.profile, info.config)
                dec.decode_many(n.t, n.payloads(), n.channel)
                all_sent = r["sensors"][i].stats.samples_sent
                lost = all_sent - dec.stats.samples // 2
                dt = np.diff(n.t[len(n.t) // 10 :])
                jit = np.percentile(np.abs(dt - 1 / args.rate), 99) * 1000
                line += (
                    f"; in file {len(n)} notifications, decoded {dec.stats.samples // 2}, "
                    f"lost {lost} (of which in flight at stop ≤ 2), "
                    f"arrival jitter p99 {jit:.2f} ms"
                )
            print(line)


if __name__ == "__main__":
    main()
