"""Session-file read speed: one hour of two-sensor 100 Hz data.

Prints, for a file of decoded samples and for a file of raw 20-byte notifications (the live
format), the write time, the file size and the best-of-N read time, plus the ratio against
``numpy.load`` of the same arrays from an ``.npz`` in the same run (a floor no format beats by
much). Then, on the raw-notification file, the best-of-N CPU time (``time.process_time``) per
hour of data of: the streamed read ``imuhip analyze`` does (``stream_session`` iterated),
``read_session`` and ``scan_session`` alone (items iterated, nothing kept), each against the
same run's framing floor (``records.scan_file``: the file read and every record's checksum
checked, nothing parsed); and of the WitMotion vectorised ``decode_joined`` of one sensor's
notifications, with the peak of the decoder's temporaries (``tracemalloc``). ``--profile``
prints the top of a cProfile of the streamed read and of the decoder.
Run: ``PYTHONPATH=src python bench/read_speed.py [--hours H] [--repeat N] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from _timing import best_of
from imuhip.decode.witmotion import WitMotionDecoder
from imuhip.files import records
from imuhip.files.session_file import (
    READ_CHUNK,
    read_session,
    scan_session,
    stream_session,
    write_session,
)
from imuhip.samples import ImuSamples
from imuhip.session import Notifications, SensorInfo, SessionHeader


def _samples(n: int, seed: int) -> ImuSamples:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    return ImuSamples(t, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)), rng.normal(size=(n, 3)))


def _scan_only(path: Path) -> None:
    _, items, _ = scan_session(path)
    for _ in items:
        pass


def _stream(path: Path) -> None:
    for _ in stream_session(path):
        pass


def _framing(path: Path) -> None:
    with open(path, "rb") as f:
        f.seek(len(records.MAGIC))
        for _ in records.scan_file(f, len(records.MAGIC), READ_CHUNK):
            pass


def _decode(n: Notifications) -> None:
    WitMotionDecoder({"rate_hz": 100}).decode_joined(n.t, n.payload, n.offsets, n.channel)


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _profile(fn, top: int = 12) -> None:
    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="print cProfile tops")
    args = ap.parse_args()
    n = int(args.hours * 3600 * 100)
    roles = ("thigh", "shin")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # decoded samples (imports, simulations)
        hdr = SessionHeader("left", "prone", tuple(SensorInfo(r, rate_hz=100) for r in roles))
        data = {r: _samples(n, i) for i, r in enumerate(roles)}
        t0 = time.perf_counter()
        p1 = write_session(tmp / "samples.imuhip", hdr, data)
        w1 = time.perf_counter() - t0
        npz = tmp / "same.npz"
        np.savez(
            npz,
            **{
                f"{r}_{k}": getattr(s, k)
                for r, s in data.items()
                for k in ("t", "acc", "gyr", "mag")
            },
        )
        r1 = best_of(lambda: read_session(p1), args.repeat)
        base = best_of(lambda: {k: v for k, v in np.load(npz).items()}, args.repeat)

        # raw notifications (live recordings): one 20-byte frame per sample
        hdr2 = SessionHeader(
            "left", "prone", tuple(SensorInfo(r, "witmotion-ble5", rate_hz=100) for r in roles)
        )
        rng = np.random.default_rng(7)
        notes = {}
        for r in roles:
            raw = rng.integers(0, 256, size=(n, 20), dtype=np.uint8)
            raw[:, 0], raw[:, 1] = 0x55, 0x61
            payload = raw.tobytes()
            offsets = np.arange(n + 1, dtype=np.int64) * 20
            notes[r] = Notifications(np.arange(n) / 100.0, np.zeros(n, np.uint8), offsets, payload)
        t0 = time.perf_counter()
        p2 = write_session(tmp / "notes.imuhip", hdr2, notifications=notes)
        w2 = time.perf_counter() - t0
        r2 = best_of(lambda: read_session(p2), args.repeat)

        cpu = time.process_time
        floor_s = best_of(lambda: _framing(p2), args.repeat, cpu)
        stream_s = best_of(lambda: _stream(p2), args.repeat, cpu)
        whole_s = best_of(lambda: read_session(p2), args.repeat, cpu)
        scan_s = best_of(lambda: _scan_only(p2), args.repeat, cpu)
        one = notes[roles[0]]
        dec_s = best_of(lambda: _decode(one), args.repeat, cpu)
        dec_mib = _peak_mib(lambda: _decode(one))
        if args.profile:
            _profile(lambda: _stream(p2))
            _profile(lambda: _decode(one))

        hours = args.hours
        print(f"session file read speed, {hours:g} h of two sensors at 100 Hz ({2 * n} samples)")
        print(f"  npz baseline (numpy.load)        read {base:6.3f} s")
        for name, path, w, r in (
            ("decoded samples", p1, w1, r1),
            ("raw notifications", p2, w2, r2),
        ):
            size = path.stat().st_size / 1e6
            print(
                f"  {name:<18} {size:7.1f} MB  write {w:6.3f} s  read {r:6.3f} s  "
                f"({hours * 3600 / r:,.0f}x real time, {r / base:4.1f}x npz)"
            )
        print(f"  raw-notification file, CPU per hour (framing floor {floor_s / hours:6.3f} s):")
        for name, sec in (
            ("streamed read (stream_session)", stream_s),
            ("read_session", whole_s),
            ("scan_session", scan_s),
        ):
            print(f"    {name:<31} {sec / hours:6.3f} s  ({sec / floor_s:4.1f}x the floor)")
        print(
            f"  WitMotion decode_joined, one sensor: {dec_s / hours:6.3f} s CPU per hour, "
            f"peak temporaries {dec_mib / hours:6.1f} MiB per hour"
        )


if __name__ == "__main__":
    main()
