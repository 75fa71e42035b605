"""``imuhip info``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.align.streams import sensor_streams
    from imuhip.sinks.file_warnings import read_session_noting as read_session
    from imuhip.sinks.info import describe

    session = read_session(args.session)
    print(describe(Path(args.session), session, sensor_streams(session)))
    return 0


def add_parser(sub: options.Subcommands) -> None:
    info = sub.add_parser("info", help="sensors, duration, rates, gaps, drops and events")
    info.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    info.set_defaults(func=run)
