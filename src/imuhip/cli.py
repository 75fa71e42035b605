"""The ``imuhip`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from imuhip import __version__
from imuhip.errors import ImuhipError


def _cmd_import(args: argparse.Namespace) -> int:
    from imuhip.files.convert import import_files
    from imuhip.files.importers.base import ImportOptions
    from imuhip.files.importers.column_map import parse_column_map

    files = {"thigh": args.thigh, "shin": args.shin}
    if args.pelvis:
        files["pelvis"] = args.pelvis
    options = ImportOptions(
        rate_hz=args.rate,
        acc_unit=args.acc_unit,
        gyr_unit=args.gyr_unit,
        columns=parse_column_map(args.columns) if args.columns else None,
    )
    res = import_files(
        files,
        args.output,
        side=args.side,
        exercise=args.exercise.pose,
        options=options,
        format=args.format,
        overwrite=args.force,
        force=args.force,
    )
    for note in res.notes:
        print(f"note: {note}")
    counts = ", ".join(f"{r} {n} samples" for r, n in res.counts.items())
    print(f"wrote {res.path} ({counts})")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from imuhip.align.streams import sensor_streams
    from imuhip.sinks.file_warnings import read_session_noting as read_session
    from imuhip.sinks.info import describe

    session = read_session(args.session)
    print(describe(Path(args.session), session, sensor_streams(session)))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from imuhip.align.streams import sensor_streams
    from imuhip.files import field_export
    from imuhip.files.convert import export_samples
    from imuhip.sinks.file_warnings import read_session_noting as read_session

    if not (args.samples or args.angles or args.mot or args.sto or args.dot):
        raise ImuhipError(
            "nothing to export: give --samples DIR, --angles CSV, --mot FILE, --sto FILE "
            "and/or --dot DIR"
        )
    session = read_session(args.session)
    start = field_export.session_start_utc(session.header)
    if args.angles or args.mot or args.sto:
        from imuhip.pipeline import analyze_session

        result = analyze_session(session)
        if args.angles:
            from imuhip.files.angles_csv import write_angles_csv

            print(f"wrote {write_angles_csv(args.angles, result, start)}")
        if args.mot:
            path = field_export.write_mot(
                args.mot,
                result.grid.t,
                result.hip_rotation_deg,
                side=session.header.side,
                start=start,
            )
            print(f"wrote {path}")
        if args.sto:
            path = field_export.write_sto(
                args.sto,
                result.grid.t,
                field_export.grid_orientations(result.grid),
                side=session.header.side,
                rate_hz=result.grid.rate_hz,
                start=start,
            )
            print(f"wrote {path}")
    if not (args.samples or args.dot):
        return 0
    streams = sensor_streams(session)  # every stream on the session's (host) time base
    if args.samples:
        written = export_samples(args.samples, {r: s.samples for r, s in streams.items()})
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


def _cmd_analyze(args: argparse.Namespace) -> int:
    import json

    from imuhip.pipeline import PipelineOptions, analyze_session
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from imuhip.sinks.file_warnings import read_session_noting as read_session

    session = read_session(args.session)
    result = analyze_session(session, PipelineOptions(fusion_method=args.fusion))
    doc = analysis_document(session, result)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(analysis_text(Path(args.session), doc))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from imuhip.pipeline import PipelineOptions, analyze_session
    from imuhip.sinks.analysis_text import analysis_document
    from imuhip.sinks.file_warnings import read_session_noting as read_session
    from imuhip.sinks.report import render_report, write_report

    session = read_session(args.session)
    result = analyze_session(session, PipelineOptions(fusion_method=args.fusion))
    doc = analysis_document(session, result)
    rows = None
    if args.history:
        from imuhip.sinks import history

        if not Path(args.history).is_dir():
            raise ImuhipError(f"--history {args.history}: not a folder")
        rows = history.scan(args.history, cache=history.default_cache_path()).rows
    out = args.output or str(Path(args.session).with_suffix(".html"))
    html = render_report(Path(args.session), session, result, doc, rows)
    print(f"wrote {write_report(out, html)}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    import time

    from imuhip.sinks import history

    root = Path(args.dir)
    if not root.is_dir():
        raise ImuhipError(f"{root} is not a folder; give the folder that holds the sessions")
    cache = None if args.no_cache else history.default_cache_path()
    t0 = time.perf_counter()
    res = history.scan(root, jobs=args.jobs, cache=cache, progress=history.tty_progress)
    print(history.history_text(root, res, time.perf_counter() - t0))
    if args.csv:
        print(f"wrote {history.write_csv(args.csv, res.rows)}")
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from imuhip.sim.sensor_model import ImuErrorModel
    from imuhip.sim.simulate import SimConfig, simulate, write_simulation

    cfg = SimConfig(
        exercise=args.exercise.pose,
        side=args.side,
        content=args.content,
        duration_s=args.duration,
        rate_hz=args.rate,
        seed=args.seed,
        mount_cone_deg=None if args.any_way_up else args.mount_cone,
        errors=ImuErrorModel.ideal() if args.ideal else ImuErrorModel(),
        with_mag=args.mag,
        marks=args.marks,
        pelvis=args.pelvis,
        profile=args.profile,
    )
    if Path(args.output).exists() and not args.force:
        raise ImuhipError(f"{args.output} exists; use -f to overwrite it")
    sim = simulate(cfg)
    truth = write_simulation(sim, args.output, overwrite=args.force)
    ev = sim.truth.events
    print(
        f"wrote {args.output} (simulated {cfg.exercise}, {cfg.side} leg,"
        f" {sim.script.duration_s:.0f} s,"
        f" {len(ev['reps'])} reps, {len(ev['holds'])} holds) and its truth {truth}"
    )
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from imuhip.live.commands import scan_command

    return scan_command(args.timeout, args.ble)


def _cmd_pair(args: argparse.Namespace) -> int:
    from imuhip.live.commands import pair_command

    return pair_command(
        args.thigh, args.shin, args.pelvis, args.side, args.profile,
        spec=args.ble, timeout=args.timeout,
    )  # fmt: skip


def _live_sensors(args: argparse.Namespace):
    from imuhip.live.commands import assignments_for

    return assignments_for(
        thigh=args.thigh, shin=args.shin, pelvis=args.pelvis, side=args.side,
        profiles=args.profile, spec=args.ble, rate_hz=args.rate,
    )  # fmt: skip


def _cmd_record(args: argparse.Namespace) -> int:
    from imuhip.live.commands import SENSOR_CAL_EXERCISE, live_command, output_path

    assignments, side = _live_sensors(args)
    path = output_path(args.output, args.folder, side, args.exercise.pose)
    return live_command(
        assignments, side, exercise=args.exercise, spec=args.ble, path=path,
        duration_s=args.duration, plain=True, angles=False,
        guidance=args.exercise.pose != SENSOR_CAL_EXERCISE, overwrite=args.force,
    )  # fmt: skip


def _cmd_sensor_cal(args: argparse.Namespace) -> int:
    from imuhip.align.streams import sensor_streams
    from imuhip.config import save_gyro_scale
    from imuhip.fusion.gyro_scale import GyroScaleError, estimate_gyro_scale
    from imuhip.sinks.file_warnings import read_session_noting as read_session

    session = read_session(args.session)
    streams = sensor_streams(session)
    roles = [args.role] if args.role else [s.role for s in session.header.sensors]
    done = 0
    for role in roles:
        if role not in streams:
            raise ImuhipError(f"the session has no {role} sensor")
        info = session.header.sensor(role)
        s = streams[role].samples
        label = f"{role} ({info.address or 'no address'})"
        try:
            cal = estimate_gyro_scale(s.t, s.gyr)
        except GyroScaleError as exc:
            print(f"{label}: {exc}")
            continue
        pct = "  ".join(
            f"{ax} {100 * (v - 1):+.2f} %" if ok else f"{ax} -"
            for ax, v, ok in zip("xyz", cal.scale, cal.axes_turned, strict=True)
        )
        print(f"{label}: {len(cal.turns)} turn(s); gyro reads {pct}")
        for w in cal.warnings():
            print(f"  warning: {w}")
        if not args.no_save:
            print(f"  saved to {save_gyro_scale(info.address, cal.as_config())}")
        done += 1
    return 0 if done else 1


def _cmd_live(args: argparse.Namespace) -> int:
    from imuhip.live.commands import live_command, output_path

    assignments, side = _live_sensors(args)
    path = None if args.no_record else output_path(None, args.folder, side, args.exercise.pose)
    return live_command(
        assignments, side, exercise=args.exercise, spec=args.ble, path=path,
        duration_s=args.duration, hold_target_s=args.hold_target,
        plain=True if args.plain else None,
    )  # fmt: skip


def _cmd_demo(args: argparse.Namespace) -> int:
    from imuhip.live.commands import demo_command, output_path

    path = output_path(args.output, args.folder, args.side, f"demo-{args.exercise.pose}")
    return demo_command(
        exercise=args.exercise, side=args.side, content=args.content, speed=args.speed,
        duration_s=args.duration, seed=args.seed, path=path, hold_target_s=args.hold_target,
        plain=True if args.plain else None, overwrite=args.force,
    )  # fmt: skip


def _cmd_replay(args: argparse.Namespace) -> int:
    from imuhip.live.commands import replay_command

    return replay_command(
        args.session, speed=args.speed, hold_target_s=args.hold_target,
        plain=True if args.plain else None, as_json=args.json, aligner=args.aligner,
    )  # fmt: skip


def _add_sensor_args(p: argparse.ArgumentParser, side_required: bool = False) -> None:
    p.add_argument(
        "--thigh", metavar="ADDR", help="thigh sensor address (default: the saved pairing)"
    )
    p.add_argument(
        "--shin", metavar="ADDR", help="shin sensor address (default: the saved pairing)"
    )
    p.add_argument("--pelvis", metavar="ADDR", help="optional pelvis sensor address")
    p.add_argument(
        "--side",
        required=side_required,
        choices=["left", "right"],
        help="instrumented leg (default: the saved pairing's)",
    )
    p.add_argument(
        "--profile",
        action="append",
        metavar="P",
        help="sensor profile for every sensor, or ROLE=P for one (repeatable); "
        "default: recognised by a scan",
    )
    p.add_argument("--ble", metavar="SPEC", help=_BLE_HELP)


_BLE_HELP = "Bluetooth backend: os, bumble:virtual, bumble:<transport> (default: $IMUHIP_BLE, os)"
_SESSION_HELP = "session file (.imuhip)"
_SIDE_HELP = "instrumented leg (default: %(default)s)"
_RATE_HELP = "sensor rate, Hz (default: %(default)g)"
_SEED_HELP = "random seed, the same seed gives the same session (default: %(default)s)"
_HOLD_HELP = "hold timer target, seconds (default: no target)"
_SCAN_HELP = "scan seconds (default: %(default)g)"


def _add_exercise(
    p: argparse.ArgumentParser, default: str, extra: tuple[str, ...] = (), note: str = ""
) -> None:
    """``--exercise``, the same in every command: a pose or a technique (an alias of its pose),
    parsed by :func:`imuhip.exercises.parse_exercise` into an ``ExerciseName``."""
    from imuhip.errors import UnknownExerciseError
    from imuhip.exercises import choices_text, parse_exercise

    def exercise(text: str):
        try:
            return parse_exercise(text, extra)
        except UnknownExerciseError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    p.add_argument(
        "--exercise",
        type=exercise,
        default=default,
        metavar="NAME",
        help=f"{choices_text(extra)}{note} (default: {default})",
    )


def _add_fusion(p: argparse.ArgumentParser) -> None:
    from imuhip.fusion.orientation import DEFAULT_METHOD, METHODS

    p.add_argument(
        "--fusion",
        choices=METHODS,
        metavar="METHOD",
        help=f"orientation filter: {', '.join(METHODS)} (default: {DEFAULT_METHOD}, the most "
        "accurate in the benchmarks)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imuhip",
        description="Hip rotation from two BLE IMUs on thigh and shin: record, replay, analyse.",
    )
    p.add_argument("--version", action="version", version=f"imuhip {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from imuhip.files.import_formats import FORMAT_NAMES

    imp = sub.add_parser(
        "import",
        help="build a session file from sensor files (DOT, Polar, MetaBase, WitMotion, CSV)",
        description="Build a session from the files of the vendors' apps or any table. The "
        "format is recognised from each file's content. A role flag may be repeated to give one "
        "sensor several channel files (--thigh acc.txt --thigh gyro.txt).",
    )
    for role, need in (("thigh", True), ("shin", True), ("pelvis", False)):
        imp.add_argument(
            f"--{role}",
            required=need,
            action="append",
            metavar="FILE",
            help=f"{role} sensor file (repeat for its channel files)",
        )
    imp.add_argument("--side", required=True, choices=["left", "right"], help="instrumented leg")
    _add_exercise(imp, "unspecified", ("unspecified",))
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
    imp.set_defaults(func=_cmd_import)

    info = sub.add_parser("info", help="sensors, duration, rates, gaps, drops and events")
    info.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
    info.set_defaults(func=_cmd_info)

    ana = sub.add_parser("analyze", help="calibrate, compute the hip angle, count reps, time holds")
    ana.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
    ana.add_argument(
        "--json", action="store_true", help="print one JSON object (imuhip.analysis/1)"
    )
    _add_fusion(ana)
    ana.set_defaults(func=_cmd_analyze)

    exp = sub.add_parser(
        "export",
        help="write a session's data: CSV, OpenSim .mot/.sto, DOT-style CSV",
        description="Every export carries the session's start in UTC where known (imports of "
        "vendor files, live recordings), so session time can be lined up with a video.",
    )
    exp.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
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
    exp.set_defaults(func=_cmd_export)

    rep = sub.add_parser("report", help="one self-contained HTML page: trace, reps, holds, health")
    rep.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
    rep.add_argument("-o", "--output", metavar="HTML", help="default: SESSION with .html")
    _add_fusion(rep)
    rep.add_argument(
        "--history", metavar="DIR", help="add progress over time from the sessions in DIR"
    )
    rep.set_defaults(func=_cmd_report)

    his = sub.add_parser("history", help="every session in a folder, and left/right asymmetry")
    his.add_argument("dir", metavar="DIR", help="folder searched for *.imuhip files (recursively)")
    his.add_argument("--csv", metavar="OUT", help="also write the rows to this CSV file")
    his.add_argument("--jobs", type=int, metavar="N", help="processes (default: one per CPU)")
    his.add_argument("--no-cache", action="store_true", help="analyse every file again")
    his.set_defaults(func=_cmd_history)

    sim = sub.add_parser("simulate", help="write a simulated session and its ground truth")
    sim.add_argument("-o", "--output", required=True, metavar="SESSION", help="file to create")
    _add_exercise(sim, "prone")
    sim.add_argument("--side", default="left", choices=["left", "right"], help=_SIDE_HELP)
    sim.add_argument(
        "--content",
        default="mixed",
        choices=["reps", "holds", "mixed", "rest"],
        help="what the leg does after the calibration (default: %(default)s)",
    )
    sim.add_argument(
        "--duration", type=float, default=120.0, metavar="S", help="seconds (default: %(default)g)"
    )
    sim.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=_RATE_HELP)
    sim.add_argument("--seed", type=int, default=0, help=_SEED_HELP)
    sim.add_argument(
        "--mount-cone",
        type=float,
        default=25.0,
        metavar="DEG",
        help="sensors strapped within this angle of a neat placement (default: %(default)g)",
    )
    sim.add_argument("--any-way-up", action="store_true", help="random sensor orientations")
    sim.add_argument("--ideal", action="store_true", help="perfect sensors (no noise or bias)")
    sim.add_argument("--mag", action="store_true", help="simulate magnetometers")
    sim.add_argument("--pelvis", action="store_true", help="add a third sensor on the pelvis")
    sim.add_argument(
        "--marks", action="store_true", help="write the calibration marks live guidance would write"
    )
    sim.add_argument(
        "--profile",
        default="samples",
        choices=["samples", "witmotion-ble5", "polar-pmd"],
        help="store decoded samples or the vendor's BLE notifications (default: %(default)s)",
    )
    sim.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    sim.set_defaults(func=_cmd_simulate)

    scan = sub.add_parser("scan", help="list Bluetooth LE devices; recognised sensors first")
    scan.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="scan seconds (default: %(default)g)",
    )
    scan.add_argument("--ble", metavar="SPEC", help=_BLE_HELP)
    scan.set_defaults(func=_cmd_scan)

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
    pair.add_argument("--ble", metavar="SPEC", help=_BLE_HELP)
    pair.set_defaults(func=_cmd_pair)

    rec = sub.add_parser("record", help="record a session (guided calibration, plain text)")
    _add_sensor_args(rec)
    rec.add_argument("--duration", type=float, metavar="S", help="seconds (default: until Ctrl-C)")
    _add_exercise(
        rec,
        "unspecified",
        ("unspecified", "sensor-cal"),
        "; sensor-cal: turns on a table, no prompts",
    )
    rec.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=_RATE_HELP)
    out = rec.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="SESSION", help="file to create")
    out.add_argument(
        "--folder", metavar="DIR", help="file named by date, side and exercise (default: .)"
    )
    rec.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    rec.set_defaults(func=_cmd_record)

    cal = sub.add_parser(
        "sensor-cal",
        help="gyro scales from whole turns on a table (recorded with --exercise sensor-cal)",
    )
    cal.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
    cal.add_argument(
        "--role", choices=["thigh", "shin", "pelvis"], help="one sensor only (default: all)"
    )
    cal.add_argument("--no-save", action="store_true", help="only print the result")
    cal.set_defaults(func=_cmd_sensor_cal)

    live = sub.add_parser("live", help="live view: hip angle, reps, hold timer (and record)")
    _add_sensor_args(live)
    _add_exercise(live, "unspecified", ("unspecified",))
    live.add_argument("--hold-target", type=float, metavar="S", help=_HOLD_HELP)
    live.add_argument("--duration", type=float, metavar="S", help="seconds (default: until q)")
    live.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=_RATE_HELP)
    live.add_argument("--no-record", action="store_true", help="do not write a session file")
    live.add_argument("--folder", metavar="DIR", help="where the session file goes (default .)")
    live.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    live.set_defaults(func=_cmd_live)

    demo = sub.add_parser("demo", help="the live path with virtual sensors and a simulated leg")
    _add_exercise(demo, "prone")
    demo.add_argument("--side", default="left", choices=["left", "right"], help=_SIDE_HELP)
    demo.add_argument(
        "--content",
        default="mixed",
        choices=["reps", "holds", "mixed"],
        help="what the leg does after the calibration (default: %(default)s)",
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="time acceleration, e.g. 10 (default: %(default)g, real time)",
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=90.0,
        metavar="S",
        help="session seconds (default: %(default)g)",
    )
    demo.add_argument("--seed", type=int, default=0, help=_SEED_HELP)
    demo.add_argument("--hold-target", type=float, metavar="S", help=_HOLD_HELP)
    demo.add_argument("-o", "--output", metavar="SESSION", help="file to create")
    demo.add_argument(
        "--folder", metavar="DIR", help="file named by date, side and exercise (default: .)"
    )
    demo.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    demo.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    demo.set_defaults(func=_cmd_demo)

    rpl = sub.add_parser("replay", help="show a session file through the live view")
    rpl.add_argument("session", metavar="SESSION", help=_SESSION_HELP)
    rpl.add_argument(
        "--speed",
        default="1",
        metavar="X|max",
        help="pace: a positive number (1 real time, 10 ten times faster, 0.5 half speed) or "
        "max, as fast as possible (default: %(default)s)",
    )
    rpl.add_argument("--hold-target", type=float, metavar="S", help=_HOLD_HELP)
    rpl.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    rpl.add_argument(
        "--json",
        action="store_true",
        help="print only the analysis document of 'imuhip analyze --json' (the view goes to "
        "standard error)",
    )
    rpl.add_argument(
        "--aligner",
        choices=("causal", "offline"),
        default="causal",
        help="how sample times are found: 'causal' as live did, from what had arrived "
        "(default), or 'offline' as 'analyze' does, with the whole file in view (the result "
        "then equals analyze's; the view fills at the end)",
    )
    rpl.set_defaults(func=_cmd_replay)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 2 error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ImuhipError as exc:
        print(f"imuhip: error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"imuhip: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imuhip: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
