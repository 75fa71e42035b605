"""``imuhip simulate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options
from imuhip.errors import ImuhipError


def run(args: argparse.Namespace) -> int:
    from imuhip.sim.scripts import ScriptOptions
    from imuhip.sim.sensor_model import EffortModel, ImuErrorModel
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
        script=ScriptOptions(pace=args.pace),
        effort=EffortModel.loose_strap() if args.loose_strap else EffortModel(),
        layout=args.layout,
        trunk=args.trunk,
        asymmetry_deg=args.asymmetry_deg,
        effort_ratio=args.effort_ratio,
        pelvic_lift_deg=args.pelvic_lift_deg,
        pelvic_rotation_deg=args.pelvic_rotation_deg,
        trunk_lean_deg=args.trunk_lean_deg,
    )
    if Path(args.output).exists() and not args.force:
        raise ImuhipError(f"{args.output} exists; use -f to overwrite it")
    try:
        sim = simulate(cfg)
    except ValueError as e:  # a combination the simulator cannot make (e.g. shin-only seated)
        raise ImuhipError(f"cannot simulate that: {e}") from None
    truth = write_simulation(sim, args.output, overwrite=args.force)
    ev = sim.truth.events
    print(
        f"wrote {args.output} (simulated {cfg.exercise}, {sim.header.layout.describe()},"
        f" {sim.script.duration_s:.0f} s,"
        f" {len(ev['reps'])} reps, {len(ev['holds'])} holds) and its truth {truth}"
    )
    return 0


def add_parser(sub: options.Subcommands) -> None:
    from imuhip.sim.body import LAYOUTS
    from imuhip.sim.scripts import CONTENTS

    sim = sub.add_parser("simulate", help="write a simulated session and its ground truth")
    sim.add_argument("-o", "--output", required=True, metavar="SESSION", help="file to create")
    options.add_exercise(sim, "prone")
    sim.add_argument("--side", default="left", choices=["left", "right"], help=options.SIDE_HELP)
    sim.add_argument(
        "--content",
        default="mixed",
        choices=CONTENTS,
        help="what the leg does after the calibration: "
        + ", ".join(CONTENTS)
        + " (docs/simulator.md; default: %(default)s)",
    )
    sim.add_argument(
        "--pace",
        type=float,
        metavar="X",
        help="the person's tempo against the guidance prompts, e.g. 1.3 for 30 %% slower "
        "(needs --marks; default: follows the prompts exactly)",
    )
    sim.add_argument(
        "--loose-strap", action="store_true", help="sensors strapped loosely (damped tremor)"
    )
    sim.add_argument(
        "--duration", type=float, default=120.0, metavar="S", help="seconds (default: %(default)g)"
    )
    sim.add_argument("--rate", type=float, default=100.0, metavar="HZ", help=options.RATE_HELP)
    sim.add_argument("--seed", type=int, default=0, help=options.SEED_HELP)
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
    sim.add_argument(
        "--layout",
        default="one-leg",
        choices=LAYOUTS,
        help="which legs carry sensors: one-leg (thigh + shin on --side), both-legs (four "
        "sensors; --side leads), shin-only (the --side shin, prone only), both-shins "
        "(default: %(default)s)",
    )
    sim.add_argument("--pelvis", action="store_true", help="add a sensor on the sacrum")
    sim.add_argument("--trunk", action="store_true", help="add a sensor on the sternum")
    sim.add_argument(
        "--asymmetry-deg",
        type=float,
        default=0.0,
        metavar="DEG",
        help="both legs: the right hip's range minus the left's in every rep, hold and stretch "
        "(negative: the right hip is stiffer; default: %(default)g)",
    )
    sim.add_argument(
        "--effort-ratio",
        type=float,
        default=1.0,
        metavar="X",
        help="both legs: the right leg's isometric effort over the left's (default: %(default)g)",
    )
    sim.add_argument(
        "--pelvic-lift-deg",
        type=float,
        default=0.0,
        metavar="DEG",
        help="the pelvis rolls this far at each rep's peak (one hip rising from the floor, "
        "adding to the apparent rotation; default: %(default)g)",
    )
    sim.add_argument(
        "--pelvic-rotation-deg",
        type=float,
        default=0.0,
        metavar="DEG",
        help="the pelvis turns about the vertical this far at each peak (default: %(default)g)",
    )
    sim.add_argument(
        "--trunk-lean-deg",
        type=float,
        default=0.0,
        metavar="DEG",
        help="the trunk leans sideways towards --side this far at each peak (default: %(default)g)",
    )
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
    sim.set_defaults(func=run)
