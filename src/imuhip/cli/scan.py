"""``imuhip scan``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import scan_command

    return scan_command(args.timeout, args.ble)


def add_parser(sub: options.Subcommands) -> None:
    scan = sub.add_parser("scan", help="list Bluetooth LE devices; recognised sensors first")
    scan.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="scan seconds (default: %(default)g)",
    )
    scan.add_argument("--ble", metavar="SPEC", help=options.BLE_HELP)
    scan.set_defaults(func=run)
