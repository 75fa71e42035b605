"""``imuhip import``."""

from __future__ import annotations

import argparse

from imuhip.cli import options
from imuhip.layout import SIDES


def run(args: argparse.Namespace) -> int:
    from imuhip.files.convert import import_files
    from imuhip.files.importers.base import ImportOptions
    from imuhip.files.importers.column_map import parse_column_map
    from imuhip.sinks.progress import track

    files, side = import_roles(args)
    options = ImportOptions(
        rate_hz=args.rate,
        acc_unit=args.acc_unit,
        gyr_unit=args.gyr_unit,
        columns=parse_column_map(args.columns) if args.columns else None,
    )
    res = import_files(
        files,
        args.output,
        side=side,
        exercise=args.exercise.pose,
        options=options,
        format=args.format,
        overwrite=args.force,
        force=args.force,
        progress=track,
    )
    for note in res.notes:
        print(note if note.startswith("warning: ") else f"note: {note}")
    counts = ", ".join(f"{r} {n} samples" for r, n in res.counts.items())
    print(f"wrote {res.path} ({counts})")
    return 0


def import_roles(args: argparse.Namespace) -> tuple[dict[str, list[str]], str]:
    """The files by role and the side from the flags, checked as a layout before anything is
    read (:class:`~imuhip.errors.LayoutError` naming the flags)."""
    files = options.given_roles(args)
    return files, options.flags_layout(list(files), args.side).side


def add_parser(sub: options.Subcommands) -> None:
    from imuhip.files.import_formats import FORMAT_NAMES

    imp = sub.add_parser(
        "import",
        help="build a session file from sensor files (DOT, Polar, MetaBase, WitMotion, CSV)",
        description="Build a session from the files of the vendors' apps or any table. The "
        "format is recognised from each file's content. A role flag may be repeated to give one "
        "sensor several channel files (--thigh acc.txt --thigh gyro.txt). One leg: --thigh and "
        "--shin with --side; both legs: --left-thigh, --left-shin, --right-thigh, --right-shin "
        "(shin-only: the shin flags alone; the angle then holds only prone).",
    )
    options.add_role_args(
        imp, "FILE", "sensor file (repeat for its channel files)", action="append"
    )
    imp.add_argument(
        "--side",
        choices=SIDES,
        help="instrumented leg, with --thigh/--shin (the sided flags name their legs)",
    )
    options.add_exercise(imp, "unspecified", ("unspecified",))
    imp.add_argument(
        "--format",
        choices=FORMAT_NAMES,
        help="force the format (default: recognised from the content)",
    )
    imp.add_argument(
        "--columns",
        metavar="MAP",
        help="column map for any table: a TOML file or "
        "'time=T:ms;acc=AX,AY,AZ:g;gyr=GX,GY,GZ:deg/s[;mag=MX,MY,MZ:uT][;sep=;]'",
    )
    imp.add_argument(
        "--rate", type=float, metavar="HZ", help="sample rate of files without time (WitMotion SD)"
    )
    imp.add_argument(
        "--acc-unit",
        default="m/s2",
        choices=["m/s2", "g"],
        help="accelerometer unit in imuhip CSVs: m/s2 or g (default: %(default)s)",
    )
    imp.add_argument(
        "--gyr-unit",
        default="rad/s",
        choices=["rad/s", "deg/s"],
        help="gyroscope unit in imuhip CSVs: rad/s or deg/s (default: %(default)s)",
    )
    imp.add_argument("-o", "--output", required=True, metavar="SESSION", help="file to create")
    imp.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite SESSION; import sensors whose time offset cannot be resolved (warning)",
    )
    imp.set_defaults(func=run)
