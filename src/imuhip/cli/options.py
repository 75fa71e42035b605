"""Options shared by several ``imuhip`` commands."""

from __future__ import annotations

import argparse
from typing import Any

#: argparse's sub-command registry (its class is private to argparse).
Subcommands = Any

BLE_HELP = (
    "Bluetooth backend: os, virtual (virtual sensors on a simulated leg, to rehearse; options "
    "virtual:seed=N,speed=X), bumble:virtual, bumble:<transport> (default: $IMUHIP_BLE, os)"
)
SESSION_HELP = "session file (.imuhip)"
SIDE_HELP = "instrumented leg (default: %(default)s)"
RATE_HELP = "sensor rate, Hz (default: %(default)g)"
SEED_HELP = "random seed, the same seed gives the same session (default: %(default)s)"
HOLD_HELP = "hold timer target, seconds (default: no target)"
SCAN_HELP = "scan seconds (default: %(default)g)"


def add_sensor_args(p: argparse.ArgumentParser, side_required: bool = False) -> None:
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
    p.add_argument("--ble", metavar="SPEC", help=BLE_HELP)


def add_lsl(p: argparse.ArgumentParser) -> None:
    """``--lsl`` and ``--lsl-wait``, the same in ``live``, ``demo`` and ``replay``."""
    p.add_argument(
        "--lsl",
        action="store_true",
        help="publish the hip angle and the exercise events as Lab Streaming Layer streams "
        "imuhip-angles and imuhip-events, for a lab recorder (needs imuhip[lsl])",
    )
    p.add_argument(
        "--lsl-wait",
        type=float,
        default=0.0,
        metavar="S",
        help="with --lsl: wait up to S seconds for a recorder to connect before starting, and "
        "at the end for it to disconnect (default: %(default)g)",
    )


def add_exercise(
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


def add_fusion(p: argparse.ArgumentParser) -> None:
    from imuhip.fusion.orientation import DEFAULT_METHOD, METHODS

    p.add_argument(
        "--fusion",
        choices=METHODS,
        metavar="METHOD",
        help=f"orientation filter: {', '.join(METHODS)} (default: {DEFAULT_METHOD}, the most "
        "accurate in the benchmarks)",
    )


def live_sensors(args: argparse.Namespace):
    from imuhip.live.commands import assignments_for

    return assignments_for(
        thigh=args.thigh, shin=args.shin, pelvis=args.pelvis, side=args.side,
        profiles=args.profile, spec=args.ble, rate_hz=args.rate,
    )  # fmt: skip
