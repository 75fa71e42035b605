"""``imuhip record``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import SENSOR_CAL_EXERCISE, live_command, output_path

    assignments, side = options.live_sensors(args)
    path = output_path(args.output, args.folder, side, args.exercise.pose)
    return live_command(
        assignments, side, exercise=args.exercise, spec=args.ble, path=path,
        duration_s=args.duration, plain=True, angles=False,
        guidance=args.exercise.pose != SENSOR_CAL_EXERCISE, overwrite=args.force,
    )  # fmt: skip


def add_parser(sub: options.Subcommands) -> None:
    rec = sub.add_parser("record", help="record a session (guided calibration, plain text)")
    options.add_sensor_args(rec)
    rec.add_argument("--duration", type=float, metavar="S", help="seconds (default: until Ctrl-C)")
    options.add_exercise(
        rec,
        "unspecified",
        ("unspecified", "sensor-cal"),
        "; sensor-cal: turns on a table, no prompts",
    )
    rec.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=options.RATE_HELP)
    out = rec.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="SESSION", help="file to create")
    out.add_argument(
        "--folder", metavar="DIR", help="file named by date, side and exercise (default: .)"
    )
    rec.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    rec.set_defaults(func=run)
