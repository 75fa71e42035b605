"""Options shared by several ``imuhip`` commands."""

from __future__ import annotations

import argparse
from typing import Any

from imuhip.layout import SIDES, Layout

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


#: The flags that give sensors by role (import, pair, record, live), in layout order.
ROLE_FLAGS: tuple[tuple[str, str], ...] = (
    ("--thigh", "thigh"),
    ("--shin", "shin"),
    ("--left-thigh", "left_thigh"),
    ("--left-shin", "left_shin"),
    ("--right-thigh", "right_thigh"),
    ("--right-shin", "right_shin"),
    ("--pelvis", "pelvis"),
    ("--trunk", "trunk"),
)
FLAG_OF = {role: flag for flag, role in ROLE_FLAGS}


def add_role_args(p: argparse.ArgumentParser, metavar: str, what: str, **kw: Any) -> None:
    """One flag per role (``--thigh``, ``--left-shin``, ``--pelvis``...; ``dest`` the role);
    ``what`` completes the help ("sensor address"), ``kw`` goes to every flag."""
    for flag, role in ROLE_FLAGS:
        p.add_argument(
            flag, dest=role, metavar=metavar, help=f"{role.replace('_', ' ')} {what}", **kw
        )


def given_roles(args: argparse.Namespace) -> dict[str, Any]:
    """The role flags given, by role, in layout order."""
    return {role: v for _, role in ROLE_FLAGS if (v := getattr(args, role, None))}


def flags_layout(roles: list[str], side: str | None) -> Layout:
    """The layout of the role flags given, with ``--side`` (needed by ``--thigh/--shin``; the
    sided flags name their legs). :class:`LayoutError` naming the flags otherwise."""
    from imuhip.errors import LayoutError
    from imuhip.layout import BOTH, PLAIN_LEG_ROLES, layout_of

    plain = [FLAG_OF[r] for r in roles if r in PLAIN_LEG_ROLES]
    sided = [FLAG_OF[r] for r in roles if "_" in r]
    if plain and sided:
        raise LayoutError(
            f"{', '.join(plain)} cannot be combined with {', '.join(sided)}: for one leg give "
            "--thigh/--shin with --side, for both legs --left-thigh, --left-shin, "
            "--right-thigh, --right-shin"
        )
    if not plain and not sided:
        raise LayoutError(
            "no leg sensor given: give --thigh and --shin with --side left|right for one leg, "
            "or --left-thigh, --left-shin, --right-thigh and --right-shin for both"
        )
    legs = {r.split("_", 1)[0] for r in roles if "_" in r}
    want = (side or "left") if plain else BOTH if len(legs) == 2 else legs.pop()
    try:
        layout = layout_of(roles, want)
    except LayoutError as exc:
        raise LayoutError(f"{', '.join(FLAG_OF[r] for r in roles)}: {exc}") from None
    if plain and side is None:
        raise LayoutError(f"{', '.join(plain)} need --side left|right (the instrumented leg)")
    if sided and side is not None and side != want:
        raise LayoutError(
            f"--side {side} disagrees with {', '.join(sided)}: the sided flags name the legs, "
            "drop --side"
        )
    return layout


def add_sensor_args(p: argparse.ArgumentParser, side_required: bool = False) -> None:
    add_role_args(p, "ADDR", "sensor address (default: the saved pairing)")
    p.add_argument(
        "--side",
        required=side_required,
        choices=SIDES,
        help="instrumented leg with --thigh/--shin (default: the saved pairing's; with a "
        "pairing of both legs: record that leg's sensors only)",
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
    """The sensors to connect and the side: the role flags given (checked as a layout, the
    flags named) or else the saved pairing."""
    from imuhip.live.commands import assignments_for

    addresses = given_roles(args)
    side = flags_layout(list(addresses), args.side).side if addresses else args.side
    return assignments_for(
        addresses=addresses, side=side, profiles=args.profile, spec=args.ble,
        rate_hz=getattr(args, "rate", 100.0),
    )  # fmt: skip
