"""Stress benchmark of the live BLE path: N virtual sensors streaming into session files.

Everything runs in one process on bumble's virtual radio: the sensors, both BLE stacks, the
connection manager and the session writer threads (a session holds at most three roles, so
sensors are recorded three to a file, one writer thread per file, as several recordings would).
Reports, per run:

- CPU time per notification for the whole process (both stacks and the sensors included);
- per-notification processing inside imuhip: from the receive time stamp (first thing in the
  manager's callback) to the hand-off to the writer thread, p50 / p99 / p99.9 / max;
- latency from the moment a virtual sensor took a sample to its receive time stamp (event-loop
  congestion shows here), p50 / p99;
- lost samples inside imuhip: notifications the callback received that are missing from the
  file (must be 0), and samples sent by the sensors but missing after decoding the file (the
  last ones in flight when streaming stops are counted there).

Usage::

    PYTHONPATH=src python bench/ble_stress.py --sensors 4 --rate 100 --minutes 10
    PYTHONPATH=src python bench/ble_stress.py --profile polar --sensors 2 --seconds 30

``--profile`` is ``witmotion`` (100 Hz: one sample per notification), ``polar`` (Verity
Sense PMD at 104 Hz in SDK mode: ACC and GYRO delta frames) or ``mixed`` (alternating).

Measured (2-core VM, Python 3.11, bumble 0.0.236):

- 4 WitMotion at 100 Hz for 10 min: 240 000 notifications, 41 % of one core for everything
  (~1 ms per notification, nearly all in the two bumble stacks and the virtual sensors);
  imuhip processing p50 4.6 µs, p99 8.9 µs, p99.9 31 µs, max 4.1 ms; lost inside imuhip 0;
  sent but not in the file: 2-3 samples per sensor, all in flight at the final stop;
  sample-to-callback latency p50 2.0 ms, p99 4.0 ms. Peak RSS 322 MB, mostly this bench's
  own bookkeeping (every sent sample is kept to compare).
- mixed (2 WitMotion + 2 Polar) for 1 min: imuhip processing p99 9.0 µs; lost 0; Polar
  decoder lost 0; sample-to-callback latency p99 4.6 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from imuhip.decode import get_decoder
from imuhip.decode import polar_pmd as pmd
from imuhip.decode import witmotion as wit
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import ROLES, Event, Notification, SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend, close_radios
from imuhip.sources.ble.connection import Assignment, ConnectionManager, WriterThread
from imuhip.sources.ble.emulations import PolarPmdEmulation, WitMotionEmulation
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion


def _profile_of(kind: str, i: int) -> str:
    if kind == "mixed":
        kind = "witmotion" if i % 2 == 0 else "polar"
    return {"witmotion": wit.PROFILE, "polar": pmd.PROFILE}[kind]


def _sensor(profile: str, i: int) -> VirtualSensor:
    motion = synthetic_motion(0.3 + 0.1 * i, 30, i % 3)
    if profile == pmd.PROFILE:
        emu = PolarPmdEmulation(f"{0xB0000000 + i:08X}")
        return VirtualSensor(emu, motion, clock_drift_ppm=(-1) ** i * 40.0 * (i + 1))
    return VirtualSensor(WitMotionEmulation(), motion)


async def run(
    kind: str, n_sensors: int, rate: float, seconds: float, folder: Path, report_every: float
) -> dict:
    be = ble_backend("bumble:virtual")
    profiles = [_profile_of(kind, i) for i in range(n_sensors)]
    sensors = [_sensor(p, i) for i, p in enumerate(profiles)]
    for s in sensors:
        await s.start()
    names = [f"s{i}" for i in range(n_sensors)]
    assignments = [
        Assignment(n, s.address, p, rate) for n, s, p in zip(names, sensors, profiles, strict=True)
    ]
    # three roles per session file
    files, route = [], {}
    for g in range(0, n_sensors, len(ROLES)):
        group = assignments[g : g + len(ROLES)]
        infos = []
        for role, a in zip(ROLES, group, strict=False):
            infos.append(Assignment(role, a.address, a.profile, rate).sensor_info())
        path = folder / f"stress{g // len(ROLES)}.imuhip"
        writer = SessionWriter(path, SessionHeader("left", "bench", tuple(infos)), overwrite=True)
        sink = WriterThread(writer)
        files.append((path, writer, sink))
        for role, a in zip(ROLES, group, strict=False):
            route[a.role] = (sink, role)
    cb_ns: list[int] = []
    counts = dict.fromkeys(names, 0)
    stamp = [0]

    def clock() -> float:  # the manager stamps each notification with this, first thing
        stamp[0] = time.perf_counter_ns()
        return time.monotonic()

    def on_note(n: Notification) -> None:
        counts[n.role] += 1
        sink, file_role = route[n.role]
        sink.notification(replace(n, role=file_role))
        cb_ns.append(time.perf_counter_ns() - stamp[0])

    def on_event(event: Event) -> None:
        sink, file_role = route[event.sensor]
        sink.event(replace(event, sensor=file_role))

    m = ConnectionManager(assignments, on_note, on_event, be, clock=clock)
    async with m:
        missing = await m.wait_streaming(60)
        if missing:
            raise SystemExit(f"not streaming: {missing}")
        await asyncio.sleep(1.5)  # past the configuration
        sent0 = [s.stats.samples_sent for s in sensors]
        got0 = dict(counts)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        cb_ns.clear()
        next_report = wall0 + report_every
        while (now := time.perf_counter()) < wall0 + seconds:
            await asyncio.sleep(min(1.0, wall0 + seconds - now))
            if report_every > 0 and time.perf_counter() >= next_report:
                next_report += report_every
                cb = np.array(cb_ns[-200_000:]) / 1000
                el = time.perf_counter() - wall0
                print(
                    f"  {el:6.0f} s: {sum(counts.values()) - sum(got0.values())} notifications, "
                    f"CPU {100 * (time.process_time() - cpu0) / el:.0f} %, "
                    f"callback p99 {np.percentile(cb, 99):.1f} µs (recent)",
                    flush=True,
                )
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        got = {r: counts[r] - got0[r] for r in names}
        sent = [s.stats.samples_sent - a for s, a in zip(sensors, sent0, strict=True)]
    received_total = dict(counts)  # after the stop: everything handed to the writers
    for _, writer, sink in files:
        sink.close()
        writer.close()
    for s in sensors:
        await s.stop()
    await close_radios()
    return {
        "cpu": cpu,
        "wall": wall,
        "cb_ns": np.array(cb_ns),
        "got": got,
        "sent": sent,
        "received_total": received_total,
        "names": names,
        "sensors": sensors,
        "profiles": profiles,
        "files": [f[0] for f in files],
    }


def _latency(
    profile: str, sensor: VirtualSensor, t_host: np.ndarray, payloads, channel, skip: int = 0
) -> list:
    """Receive time minus the loop time at which the sensor took the notification's last
    sample, per data notification (seconds). ``skip``: the sensor's first notifications left
    out of the file (sent before its configuration took effect: ``config_applied``)."""
    if profile == pmd.PROFILE:
        origin = sensor.emulation.clock_origin_s
        out = []
        for t, p, c in zip(t_host.tolist(), payloads, channel.tolist(), strict=True):
            if c == 0 and len(p) >= pmd.HEADER_LEN:
                ts = int.from_bytes(p[1:9], "little") * 1e-9 - origin
                out.append(t - float(sensor.loop_time(ts)))
        return out
    t_sent = sensor.sent_samples()[0][skip:]
    data = np.array([len(p) == 20 and p[:2] == b"\x55\x61" for p in payloads], bool)
    t_host = t_host[data]  # the configuration's answer is recorded too: not a sample
    n = min(len(t_sent), len(t_host))
    return list(t_host[:n] - sensor.loop_time(t_sent[:n]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("witmotion", "polar", "mixed"), default="witmotion")
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--minutes", type=float, default=None, help="overrides --seconds")
    ap.add_argument("--report-every", type=float, default=60.0, help="progress lines, s")
    args = ap.parse_args()
    # notifications still in flight when streaming stops arrive unsubscribed: bumble warns
    logging.getLogger("bumble").setLevel(logging.ERROR)
    seconds = args.minutes * 60 if args.minutes is not None else args.seconds
    with tempfile.TemporaryDirectory() as d:
        r = asyncio.run(
            run(args.profile, args.sensors, args.rate, seconds, Path(d), args.report_every)
        )
        sessions = [read_session(p) for p in r["files"]]
        n_total = sum(r["got"].values())
        print(
            f"{args.sensors} virtual sensors ({args.profile}) at {args.rate:g} Hz requested, "
            f"{r['wall']:.1f} s measured, {n_total} notifications"
        )
        print(
            f"process CPU: {100 * r['cpu'] / r['wall']:.1f} % of one core, "
            f"{1e6 * r['cpu'] / max(1, n_total):.0f} µs per notification (everything); "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        cb = r["cb_ns"] / 1000
        print(
            f"imuhip per-notification processing: p50 {np.percentile(cb, 50):.1f} µs, "
            f"p99 {np.percentile(cb, 99):.1f} µs, p99.9 {np.percentile(cb, 99.9):.1f} µs, "
            f"max {cb.max():.0f} µs"
        )
        lat_all: list[float] = []
        lost_inside = 0
        for i, name in enumerate(r["names"]):
            session = sessions[i // len(ROLES)]
            role = ROLES[i % len(ROLES)]
            n = session.notifications[role]
            info = session.header.sensor(role)
            dec = get_decoder(info.profile, info.config)
            blocks = dec.decode_many(n.t, n.payloads(), n.channel)
            sensor = r["sensors"][i]
            decoded = sum(len(b.t) for b in blocks if b.kind == "gyr")
            all_sent = sensor.stats.samples_sent
            missing_in_file = r["received_total"][name] - len(n)
            lost_inside += missing_in_file
            left_out = sum(
                int(e.data.get("left_out", 0))
                for e in session.events
                if e.kind == "config_applied" and e.sensor == role
            )
            lat = np.array(_latency(info.profile, sensor, n.t, n.payloads(), n.channel, left_out))
            lat_all += lat.tolist()
            print(
                f"  {name} {info.profile:15s} {info.rate_hz:g} Hz: notifications received "
                f"{r['got'][name]} in the window, {r['received_total'][name]} in all, in file "
                f"{len(n)} (lost inside imuhip {missing_in_file}); samples sent {all_sent}, "
                f"decoded {decoded}, left out before the configuration took {left_out}, missing "
                f"{all_sent - decoded - left_out} (in flight at stop), decoder "
                f"lost {dec.stats.lost_samples}, dropped {dec.stats.dropped}; latency p50 "
                f"{1e3 * np.percentile(lat, 50):.2f} ms, p99 {1e3 * np.percentile(lat, 99):.2f} ms"
            )
        lat = np.array(lat_all)
        print(
            f"lost inside imuhip: {lost_inside} notifications; sample-to-callback latency p50 "
            f"{1e3 * np.percentile(lat, 50):.2f} ms, p99 {1e3 * np.percentile(lat, 99):.2f} ms, "
            f"max {1e3 * lat.max():.1f} ms"
        )


if __name__ == "__main__":
    main()
