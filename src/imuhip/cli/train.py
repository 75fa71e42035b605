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
        if args.exercise or args.side or args.duration is not None:
            raise ImuhipError("--replay takes the side and exercise from the recording; "
                              "drop --side, --exercise and --duration")  # fmt: skip
        return train_replay_command(
            args.replay, program, sound=args.sound, speed=speed_of(args.speed),
            output=Path(args.output) if args.output else None, overwrite=args.force,
            history=args.history, plain=plain,
        )  # fmt: skip
    poses = program.poses()
    pose = args.exercise.pose if args.exercise else ("prone" if "prone" in poses else poses[0])
    assignments: list = []
    side = args.side
    if not args.demo:
        assignments, side = options.live_sensors(args)
        if side == "both":
            raise ImuhipError("train runs one leg per session: give --side left|right to "
                              "train that leg of the sensors of both legs")  # fmt: skip
    side = side or "left"
    from imuhip.live.commands import output_path

    path = output_path(args.output, args.folder, side, f"train-{pose}")
    speed = speed_of(args.speed)
    return train_session_command(
        program, side=side, pose=pose, path=path, demo=args.demo, sound=args.sound,
        speed=1.0 if speed is None else speed, duration_s=args.duration, seed=args.seed,
        history=args.history, plain=plain, overwrite=args.force, spec=args.ble,
        assignments=assignments,
    )  # fmt: skip


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
        "recording (--replay). One session is one leg in one start pose: the program's "
        "exercises for that side and pose are run.",
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
    p.add_argument("--side", choices=["left", "right"],
                   help="leg (default: the pairing's; left for --demo)")  # fmt: skip
    p.add_argument("--thigh", metavar="ADDR", help="thigh sensor (default: the saved pairing)")
    p.add_argument("--shin", metavar="ADDR", help="shin sensor (default: the saved pairing)")
    p.add_argument("--profile", action="append", metavar="P", help="sensor profile (or ROLE=P)")
    p.add_argument("--ble", metavar="SPEC", help=options.BLE_HELP)
    p.add_argument("--speed", default="1", metavar="X|max",
                   help="time acceleration of --demo, pace of --replay (max: as fast as "
                   "possible, --replay only) (default: %(default)s)")  # fmt: skip
    p.add_argument("--duration", type=float, metavar="S",
                   help="session seconds (default: the program's length estimate)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help=options.SEED_HELP)
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
