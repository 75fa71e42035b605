"""``imuhip export``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from imuhip.cli import options
from imuhip.errors import ImuhipError

if TYPE_CHECKING:
    from imuhip.pipeline import SessionAnalysis
    from imuhip.session import SessionHeader


def run(args: argparse.Namespace) -> int:
    from imuhip.align.streams import sensor_streams
    from imuhip.files.convert import export_samples
    from imuhip.sinks import field_export
    from imuhip.sinks.file_warnings import note_read_report
    from imuhip.sinks.file_warnings import read_session_noting as read_session

    if not (args.samples or args.angles or args.mot or args.sto or args.dot):
        raise ImuhipError(
            "nothing to export: give --samples DIR, --angles CSV, --mot FILE, --sto FILE "
            "and/or --dot DIR"
        )
    # the per-sensor exports need the whole session (its streams aligned at once); the angles'
    # alone come from the file streamed into the pipeline, keeping only what they write
    session = read_session(args.session) if (args.samples or args.dot) else None
    header, result = None if session is None else session.header, None
    if args.angles or args.mot or args.sto:
        from imuhip.pipeline import Keep
        from imuhip.pipeline.analyze import analyze_file, analyze_session

        keep = Keep.ANGLES | (Keep.ORIENTATIONS if args.mot or args.sto else Keep.EVENTS)
        if session is not None:  # read already: not read again
            result = analyze_session(session, keep=keep)
        else:
            analysed = analyze_file(
                args.session, keep=keep, on_read=lambda s: note_read_report(args.session, s.report)
            )
            header, result = analysed.summary.header, analysed.analysis
    if header is not None:
        _exports(args, header, result)
    if session is None:
        return 0
    start = field_export.session_start_utc(header)
    streams = sensor_streams(session)  # every stream on the session's (host) time base
    if args.samples:
        from imuhip.sinks.progress import track

        written = export_samples(
            args.samples, {r: s.samples for r, s in streams.items()}, progress=track
        )
        for p in written:
            print(f"wrote {p}")
    if args.dot:
        folder = Path(args.dot)
        folder.mkdir(parents=True, exist_ok=True)
        for role, st in streams.items():
            path = field_export.write_dot_csv(
                folder / f"{role}.csv", st.samples, tag=role, start=start
            )
            print(f"wrote {path}")
    return 0


def _exports(
    args: argparse.Namespace, header: SessionHeader, result: SessionAnalysis | None
) -> None:
    """The vendor-orientation notes, and the angle exports of ``result`` (where asked for)."""
    from imuhip.files.session_file import vendor_orientation_roles
    from imuhip.fusion.vendor import vendor_orientation_note
    from imuhip.sinks import field_export

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
