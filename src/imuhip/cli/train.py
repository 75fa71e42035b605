"""``imuhip train``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from imuhip.errors import ImuhipError
    from imuhip.live.train import program_for, train_replay_command, train_session_command
    from imuhip.training.program import DEFAULT_PROGRAM_TOML

    if args.show_default:
        print(DEFAULT_PROGRAM_TOML, end="")
        return 0
    program = program_for(args.program)
    plain = True if args.plain else None
    if args.replay:
        if args.exercise or args.side or args.layout or args.duration is not None:
            raise ImuhipError("--replay takes the side and exercise from the recording; "
                              "drop --side, --layout, --exercise and --duration")  # fmt: skip
        return train_replay_command(
            args.replay, program, sound=args.sound, speed=speed_of(args.speed),
            output=Path(args.output) if args.output else None, overwrite=args.force,
            history=args.history, plain=plain,
        )  # fmt: skip
    poses = program.poses()
    pose = args.exercise.pose if args.exercise else ("prone" if "prone" in poses else poses[0])
    assignments: list = []
    side = session_side(args)
    if not args.demo:
        if args.layout:
            raise ImuhipError("--layout is for --demo: live, the sensors given (or the saved "
                              "pairing) are the layout; --side both takes both legs")  # fmt: skip
        both = side == "both"
        if both and not options.given_roles(args):
            args.side = None  # the saved pairing as it is: it must be of both legs
        assignments, side = options.live_sensors(args)
        if both and side != "both":
            raise ImuhipError(f"--side both needs the sensors of both legs; the saved pairing is "
                              f"of the {side} leg: pair both legs ('imuhip pair --left-thigh … "
                              "--right-shin …') or give them with --left-thigh, --left-shin, "
                              "--right-thigh, --right-shin")  # fmt: skip
    elif options.given_roles(args):
        raise ImuhipError("--demo makes its own virtual sensors: drop the sensor addresses")
    if side != "both" and (args.asymmetry_deg or args.effort_ratio != 1.0):
        raise ImuhipError("--asymmetry-deg and --effort-ratio need both legs (--side both)")
    side = side or "left"
    from imuhip.live.commands import output_path

    path = output_path(args.output, args.folder, side, f"train-{pose}")
    speed = speed_of(args.speed)
    return train_session_command(
        program, side=side, pose=pose, path=path, demo=args.demo, sound=args.sound,
        speed=1.0 if speed is None else speed, duration_s=args.duration, seed=args.seed,
        history=args.history, plain=plain, overwrite=args.force, spec=args.ble,
        assignments=assignments, asymmetry_deg=args.asymmetry_deg, effort_ratio=args.effort_ratio,
    )  # fmt: skip


def session_side(args: argparse.Namespace) -> str | None:
    """``--side`` with ``--layout`` (both-legs is ``--side both``); a clear error when they
    disagree."""
    from imuhip.errors import ImuhipError

    if args.layout == "both-legs":
        if args.side not in (None, "both"):
            raise ImuhipError(f"--layout both-legs trains both legs: drop --side {args.side} "
                              "(or give --layout one-leg)")  # fmt: skip
        return "both"
    if args.layout == "one-leg" and args.side == "both":
        raise ImuhipError("--layout one-leg trains one leg: give --side left|right")
    return args.side


def _exercise(text: str):
    from imuhip.errors import UnknownExerciseError
    from imuhip.exercises import parse_exercise

    try:
        return parse_exercise(text)
    except UnknownExerciseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def speed_of(text: str) -> float | None:
    """``--speed``: a positive number, or ``max`` (None: as fast as possible; replay only)."""
    from imuhip.errors import ImuhipError

    if text in ("max", "inf"):
        return None
    try:
        v = float(text)
    except ValueError:
        raise ImuhipError(f"--speed must be a number or 'max', got {text!r}") from None
    if not v > 0:
        raise ImuhipError("--speed must be positive")
    return v


def add_parser(sub: options.Subcommands) -> None:
    p = sub.add_parser(
        "train",
        help="guided training: a program of sets, holds and rests, with spoken or tone cues",
        description="Run a training program (TOML; default: the shipped program, see "
        "--show-default) live on the paired sensors, on virtual sensors (--demo) or over a "
        "recording (--replay). One session is one start pose on one leg, or on both legs at "
        "once (--side both / --layout both-legs: four sensors; the program's exercises with "
        'legs = "together" are done by both legs in each set): the program\'s exercises for '
        "that side and pose are run.",
    )
    p.add_argument("program", nargs="?", metavar="PROGRAM", help="program file (.toml)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true",
                     help="virtual sensors on a simulated person who follows the cues")  # fmt: skip
    src.add_argument("--replay", metavar="SESSION", help="run the coach over a recording")
    p.add_argument(
        "--sound",
        choices=("speech", "tones", "none"),
        default="speech",
        help="how cues are heard: speech (falls back to tones), tones, none (default: "
        "%(default)s; needs the optional extra imuhip[sound])",
    )
    p.add_argument(
        "--exercise",
        type=_exercise,
        metavar="NAME",
        help="a start pose (prone, seated, supine) or a technique: the program's exercises in "
        "that pose are run (default: prone if the program has it, else its first pose)",
    )
    p.add_argument("--side", choices=["left", "right", "both"],
                   help="leg, or both legs at once (four sensors: --left-thigh ... "
                   "--right-shin or a pairing of both legs; with --demo as --layout "
                   "both-legs) (default: the pairing's; left for --demo)")  # fmt: skip
    p.add_argument(
        "--layout",
        choices=["one-leg", "both-legs"],
        help="--demo's virtual sensors: one leg (thigh + shin on --side) or both legs (four), as "
        "in 'imuhip demo' (default: one-leg, or both-legs with --side both)",
    )
    options.add_role_args(p, "ADDR", "sensor address (default: the saved pairing)")
    p.add_argument("--profile", action="append", metavar="P", help="sensor profile (or ROLE=P)")
    p.add_argument("--ble", metavar="SPEC", help=options.BLE_HELP)
    p.add_argument("--speed", default="1", metavar="X|max",
                   help="time acceleration of --demo, pace of --replay (max: as fast as "
                   "possible, --replay only) (default: %(default)s)")  # fmt: skip
    p.add_argument("--duration", type=float, metavar="S",
                   help="session seconds (default: the program's length estimate)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help=options.SEED_HELP)
    p.add_argument("--asymmetry-deg", type=float, default=0.0, metavar="DEG",
                   help="--demo with both legs: the right hip's range minus the left's, degrees "
                   "(default: %(default)g)")  # fmt: skip
    p.add_argument("--effort-ratio", type=float, default=1.0, metavar="R",
                   help="--demo with both legs: the right leg's push over the left's "
                   "(default: %(default)g)")  # fmt: skip
    p.add_argument("--history", metavar="DIR",
                   help="folder of earlier sessions for 'beat last time' targets and the "
                   "results against last time")  # fmt: skip
    p.add_argument("-o", "--output", metavar="SESSION",
                   help="file to write (with --replay: the recording with the program's "
                   "events; default: none)")  # fmt: skip
    p.add_argument("--folder", metavar="DIR", help="file named by date, side and pose")
    p.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    p.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    p.add_argument("--show-default", action="store_true",
                   help="print the default program (a template for your own) and exit")  # fmt: skip
    p.set_defaults(func=run)
