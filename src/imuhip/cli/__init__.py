"""The ``imuhip`` command line: one module per command, each with ``add_parser`` and ``run``.

The commands only parse arguments and call the library (``live.commands`` for the live ones,
the pipeline and the sinks for the rest); errors the user can act on (:class:`ImuhipError`)
become one line on standard error and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from imuhip import __version__
from imuhip.cli import (
    analyze,
    demo,
    export,
    history,
    import_files,
    info,
    live,
    pair,
    record,
    replay,
    report,
    scan,
    sensor_cal,
    simulate,
    train,
)
from imuhip.errors import ImuhipError

#: The commands, in the order ``imuhip --help`` lists them.
COMMANDS = (
    import_files, info, analyze, export, report, history, simulate, scan, pair, record,
    sensor_cal, live, demo, replay, train,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    p = argparse.ArgumentParser(
        prog="imuhip",
        description="Hip rotation from two BLE IMUs on thigh and shin: record, replay, analyse.",
    )
    p.add_argument("--version", action="version", version=f"imuhip {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 2 error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ImuhipError as exc:
        print(f"imuhip: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imuhip: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file or folder that cannot be read or written
        print(f"imuhip: error: {_os_error_text(exc)}", file=sys.stderr)
        return 2


def _os_error_text(exc: OSError) -> str:
    """What the operating system refused, on which file: ``PATH: reason``."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    return f"{exc.filename}: {reason}"
