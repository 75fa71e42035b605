"""``imuhip demo``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import demo_command, output_path

    path = output_path(args.output, args.folder, args.side, f"demo-{args.exercise.pose}")
    return demo_command(
        exercise=args.exercise, side=args.side, content=args.content, speed=args.speed,
        duration_s=args.duration, seed=args.seed, path=path, hold_target_s=args.hold_target,
        plain=True if args.plain else None, overwrite=args.force,
        lsl=args.lsl, lsl_wait_s=args.lsl_wait, layout=args.layout, pelvis=args.pelvis,
    )  # fmt: skip


def add_parser(sub: options.Subcommands) -> None:
    demo = sub.add_parser("demo", help="the live path with virtual sensors and a simulated leg")
    options.add_exercise(demo, "prone")
    demo.add_argument("--side", default="left", choices=["left", "right"], help=options.SIDE_HELP)
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
    demo.add_argument("--seed", type=int, default=0, help=options.SEED_HELP)
    demo.add_argument(
        "--layout",
        default="one-leg",
        choices=["one-leg", "both-legs", "shin-only", "both-shins"],
        help="the simulated sensors: one leg (thigh + shin on --side), both legs (four), the "
        "shin only, both shins (prone only; default: %(default)s)",
    )
    demo.add_argument(
        "--pelvis", action="store_true", help="a sacrum sensor too (its step is guided)"
    )
    demo.add_argument("--hold-target", type=float, metavar="S", help=options.HOLD_HELP)
    demo.add_argument("-o", "--output", metavar="SESSION", help="file to create")
    demo.add_argument(
        "--folder", metavar="DIR", help="file named by date, side and exercise (default: .)"
    )
    demo.add_argument("-f", "--force", action="store_true", help="overwrite SESSION")
    demo.add_argument("--plain", action="store_true", help="plain status lines, no full screen")
    options.add_lsl(demo)
    demo.set_defaults(func=run)
