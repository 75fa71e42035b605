"""``imuhip info``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.pipeline.file_timing import file_timing
    from imuhip.sinks.file_warnings import note_read_report
    from imuhip.sinks.info import describe

    # the file streamed through the aligner: no per-sample array kept (flat memory)
    timing = file_timing(args.session, on_read=lambda s: note_read_report(args.session, s.report))
    print(describe(Path(args.session), timing))
    return 0


def add_parser(sub: options.Subcommands) -> None:
    info = sub.add_parser("info", help="sensors, duration, rates, gaps, drops and events")
    info.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    info.set_defaults(func=run)
