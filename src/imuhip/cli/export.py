"""``imuhip export``."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from imuhip.cli import options
from imuhip.errors import ImuhipError

if TYPE_CHECKING:
    from imuhip.pipeline import SessionAnalysis
    from imuhip.session import SessionHeader


def run(args: argparse.Namespace) -> int:
    from imuhip.pipeline import Keep
    from imuhip.pipeline.analyze import analyze_file
    from imuhip.sinks.file_warnings import note_read_report

    if not (args.samples or args.angles or args.mot or args.sto or args.dot):
        raise ImuhipError(
            "nothing to export: give --samples DIR, --angles CSV, --mot FILE, --sto FILE "
            "and/or --dot DIR"
        )
    # every export streams the file (the per-sensor ones, then the analysis for the angles'),
    # keeping only what it writes
    noted = False
    if args.samples or args.dot:
        _sensor_exports(args)
        noted = True
    if not (args.angles or args.mot or args.sto):
        return 0
    keep = Keep.ANGLES | (Keep.ORIENTATIONS if args.mot or args.sto else Keep.EVENTS)
    analysed = analyze_file(
        args.session,
        keep=keep,
        on_read=None if noted else (lambda s: note_read_report(args.session, s.report)),
    )
    _exports(args, analysed.summary.header, analysed.analysis, notes=not noted)
    return 0


def _sensor_exports(args: argparse.Namespace) -> None:
    """``--samples`` and ``--dot``: each sensor's samples as the analysis aligns them, written
    a piece at a time as the file is streamed through the aligner."""
    from imuhip.files.csv_samples import ImuCsvWriter
    from imuhip.files.session_file import stream_session
    from imuhip.pipeline.analyze import aligned_samples
    from imuhip.sinks import field_export
    from imuhip.sinks.file_warnings import note_read_report

    stream = stream_session(args.session)
    header = stream.header
    start = field_export.session_start_utc(header)
    kinds: list[dict[str, ImuCsvWriter | field_export.DotCsvWriter]] = []
    if args.samples:
        folder = Path(args.samples)
        folder.mkdir(parents=True, exist_ok=True)
        kinds.append({r: ImuCsvWriter(folder / f"{r}.csv") for r in header.roles})
    if args.dot:
        folder = Path(args.dot)
        folder.mkdir(parents=True, exist_ok=True)
        kinds.append(
            {
                r: field_export.DotCsvWriter(folder / f"{r}.csv", tag=r, start=start)
                for r in header.roles
            }
        )
    with contextlib.ExitStack() as stack:  # on an error every file is left as it was
        for writers in kinds:
            for w in writers.values():
                stack.enter_context(w)
        for block in aligned_samples(stream):
            for writers in kinds:
                writers[block.role].write(block.samples)
    note_read_report(args.session, stream.summary().report)
    _exports(args, header, None, notes=True)
    for writers in kinds:
        for w in writers.values():
            print(f"wrote {w.path}")
    for role in header.roles:
        if kinds and not kinds[0][role].rows:
            print(f"note: the {role} sensor has no samples in this session (its files: the header)")


def _exports(
    args: argparse.Namespace,
    header: SessionHeader,
    result: SessionAnalysis | None,
    *,
    notes: bool,
) -> None:
    """The vendor-orientation notes (``notes``), and the angle exports of ``result`` (where
    asked for)."""
    from imuhip.files.session_file import vendor_orientation_roles
    from imuhip.fusion.vendor import vendor_orientation_note
    from imuhip.sinks import field_export

    if notes:
        for role in vendor_orientation_roles(header):
            print(f"note: {vendor_orientation_note(role)}")
    if result is None:
        return
    from imuhip.sinks.angles_csv import legs_on_one_axis

    start = field_export.session_start_utc(header)
    if args.angles:
        from imuhip.sinks.angles_csv import write_angles_csv

        print(f"wrote {write_angles_csv(args.angles, result, start)}")
    if not (args.mot or args.sto):
        return
    t, angles, quats = legs_on_one_axis(result)
    if args.mot:
        print(f"wrote {field_export.write_mot(args.mot, t, angles, start=start)}")
    if args.sto:
        path = field_export.write_sto(
            args.sto, t, quats, side=header.side, rate_hz=result.grid.rate_hz, start=start
        )
        print(f"wrote {path}")


def add_parser(sub: options.Subcommands) -> None:
    exp = sub.add_parser(
        "export",
        help="write a session's data: CSV, OpenSim .mot/.sto, DOT-style CSV",
        description="Every export carries the session's start in UTC where known (imports of "
        "vendor files, live recordings), so session time can be lined up with a video.",
    )
    exp.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    exp.add_argument(
        "--samples", metavar="DIR", help="per-sensor CSVs in the import format (lossless)"
    )
    exp.add_argument(
        "--angles", metavar="CSV", help="time_s, hip_rotation_deg (and diagnostics) per sample"
    )
    exp.add_argument(
        "--mot", metavar="FILE", help="OpenSim motion file of the hip rotation (degrees)"
    )
    exp.add_argument(
        "--sto", metavar="FILE", help="OpenSense orientation file (quaternions per IMU)"
    )
    exp.add_argument(
        "--dot", metavar="DIR", help="per-sensor CSVs laid out like Movella DOT app exports"
    )
    exp.set_defaults(func=run)
