"""``imuhip sensor-cal``."""

from __future__ import annotations

import argparse

from imuhip.cli import options
from imuhip.errors import ImuhipError
from imuhip.layout import ROLES


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from imuhip.config import save_gyro_scale
    from imuhip.files.session_file import stream_session
    from imuhip.fusion.gyro_scale import GyroScaleError, estimate_gyro_scale
    from imuhip.pipeline.analyze import aligned_samples
    from imuhip.sinks.file_warnings import note_read_report

    stream = stream_session(args.session)
    header = stream.header
    roles = [args.role] if args.role else list(header.roles)
    for role in roles:
        if role not in header.roles:
            raise ImuhipError(f"the session has no {role} sensor")
    # each sensor's sample times and gyroscope as the analysis aligns them
    times: dict[str, list[np.ndarray]] = {r: [] for r in roles}
    gyros: dict[str, list[np.ndarray]] = {r: [] for r in roles}
    for block in aligned_samples(stream):
        if block.role in times:
            times[block.role].append(block.samples.t)
            gyros[block.role].append(block.samples.gyr)
    note_read_report(args.session, stream.summary().report)
    done = 0
    for role in roles:
        info = header.sensor(role)
        t = np.concatenate([np.empty(0), *times.pop(role)])
        gyr = np.concatenate([np.empty((0, 3)), *gyros.pop(role)])
        label = f"{role} ({info.address or 'no address'})"
        if not len(t):
            print(f"{label}: no data in this session")
            continue
        try:
            cal = estimate_gyro_scale(t, gyr)
        except GyroScaleError as exc:
            print(f"{label}: {exc}")
            continue
        pct = "  ".join(
            f"{ax} {100 * (v - 1):+.2f} %" if ok else f"{ax} -"
            for ax, v, ok in zip("xyz", cal.scale, cal.axes_turned, strict=True)
        )
        print(f"{label}: {len(cal.turns)} turn(s); gyro reads {pct}")
        for w in cal.warnings():
            print(f"  warning: {w}")
        if not args.no_save:
            print(f"  saved to {save_gyro_scale(info.address, cal.as_config())}")
        done += 1
    return 0 if done else 1


def add_parser(sub: options.Subcommands) -> None:
    cal = sub.add_parser(
        "sensor-cal",
        help="gyro scales from whole turns on a table (recorded with --exercise sensor-cal)",
    )
    cal.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    cal.add_argument("--role", choices=ROLES, help="one sensor only (default: all)")
    cal.add_argument("--no-save", action="store_true", help="only print the result")
    cal.set_defaults(func=run)
