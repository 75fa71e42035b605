"""``imuhip live``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import live_command, output_path

    assignments, side = options.live_sensors(args)
    path = None if args.no_record else output_path(None, args.folder, side, args.exercise.pose)
    return live_command(
        assignments, side, exercise=args.exercise, spec=args.ble, path=path,
        duration_s=args.duration, hold_target_s=args.hold_target,
        plain=True if args.plain else None,
        lsl=args.lsl, lsl_wait_s=args.lsl_wait,
    )  # fmt: skip


def add_parser(sub: options.Subcommands) -> None:
    live = sub.add_parser("live", help="live view: hip angle, reps, hold timer (and record)")
    options.add_sensor_args(live)
    options.add_exercise(live, "unspecified", ("unspecified",))
    live.add_argument("--hold-target", type=float, metavar="S", help=options.HOLD_HELP)
    live.add_argument("--duration", type=float, metavar="S", help="seconds (default: until q)")
    live.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=options.RATE_HELP)
    live.add_argument("--no-record", action="store_true", help="do not write a session file")
    live.add_argument("--folder", metavar="DIR", help="where the session file goes (default .)")
    live.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    options.add_lsl(live)
    live.set_defaults(func=run)
