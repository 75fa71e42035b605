"""``imuhip replay``."""

from __future__ import annotations

import argparse

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    from imuhip.live.commands import replay_command

    return replay_command(
        args.session, speed=args.speed, hold_target_s=args.hold_target,
        plain=True if args.plain else None, as_json=args.json, aligner=args.aligner,
        lsl=args.lsl, lsl_wait_s=args.lsl_wait,
    )  # fmt: skip


def add_parser(sub: options.Subcommands) -> None:
    rpl = sub.add_parser("replay", help="show a session file through the live view")
    rpl.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    rpl.add_argument(
        "--speed",
        default="1",
        metavar="X|max",
        help="pace: a positive number (1 real time, 10 ten times faster, 0.5 half speed) or "
        "max, as fast as possible (default: %(default)s)",
    )
    rpl.add_argument("--hold-target", type=float, metavar="S", help=options.HOLD_HELP)
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
    options.add_lsl(rpl)
    rpl.set_defaults(func=run)
