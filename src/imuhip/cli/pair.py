"""``imuhip pair``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import pair_command

    return pair_command(
        args.thigh, args.shin, args.pelvis, args.side, args.profile,
        spec=args.ble, timeout=args.timeout,
    )  # fmt: skip


def add_parser(sub: options.Subcommands) -> None:
    pair = sub.add_parser("pair", help="save which sensor is on the thigh and the shin")
    pair.add_argument("--thigh", required=True, metavar="ADDR", help="thigh sensor address")
    pair.add_argument("--shin", required=True, metavar="ADDR", help="shin sensor address")
    pair.add_argument("--pelvis", metavar="ADDR", help="optional pelvis sensor address")
    pair.add_argument("--side", required=True, choices=["left", "right"], help="instrumented leg")
    pair.add_argument(
        "--profile",
        action="append",
        metavar="P",
        help="profile for every sensor, or ROLE=P (default: recognised by a scan)",
    )
    pair.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="scan seconds (default: %(default)g)",
    )
    pair.add_argument("--ble", metavar="SPEC", help=options.BLE_HELP)
    pair.set_defaults(func=run)
