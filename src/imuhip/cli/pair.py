"""``imuhip pair``."""

from __future__ import annotations

import argparse

from imuhip.cli import options
from imuhip.layout import SIDES


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import pair_command

    addresses = options.given_roles(args)
    side = options.flags_layout(list(addresses), args.side).side
    return pair_command(addresses, side, args.profile, spec=args.ble, timeout=args.timeout)


def add_parser(sub: options.Subcommands) -> None:
    pair = sub.add_parser(
        "pair",
        help="save which sensor is on which segment (thigh, shin, of one or both legs)",
        description="One leg: --thigh and --shin with --side. Both legs: --left-thigh, "
        "--left-shin, --right-thigh, --right-shin (shin-only: the shin flags alone). Optionally "
        "--pelvis and --trunk. Up to six sensors.",
    )
    options.add_role_args(pair, "ADDR", "sensor address")
    pair.add_argument("--side", choices=SIDES, help="instrumented leg, with --thigh/--shin")
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
