"""The calibration protocol: one definition shared by the simulator, live guidance and analysis.

At the start of every session the user, in the exercise's start pose with the leg plane vertical
(prone: shin vertical; seated and supine: knee pointing up):

1. ``still_start``: holds still for at least 3 s;
2. ``bends``: bends the knee slowly three times, further first, then back to the start angle;
3. ``rocks``: rocks the leg three times about the thigh's long axis, inward first then outward,
   by less than 10°;
4. ``still_end``: holds still for at least 2 s.

Live guidance writes a ``calibration_phase`` event (``data={"phase": name}``) when each step
starts; replayed or imported data without those marks is searched automatically
(:func:`imuhip.joint.phases.find_phases`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Event kind written when a calibration step starts.
PHASE_EVENT = "calibration_phase"
#: Event kind of the calibration a live session made (data: ``calibration``, the record of
#: :func:`imuhip.joint.calibration.calibration_record`), kept for damaged files.
CALIBRATION_EVENT = "calibration"


@dataclass(frozen=True)
class Step:
    """One step of the protocol.

    Attributes:
        phase: phase name as stored in ``calibration_phase`` events.
        duration_s: time the live guidance allows for the step, seconds.
        min_duration_s: shortest acceptable duration, seconds (still steps).
        prompt: what the user is told to do.
        repetitions: movements expected in the step (0 for still steps).
    """

    phase: str
    duration_s: float
    min_duration_s: float
    prompt: str
    repetitions: int = 0


STEPS: tuple[Step, ...] = (
    Step("still_start", 4.0, 3.0, "Get into the start pose, leg plane vertical, and hold still"),
    Step("bends", 9.0, 4.0, "Bend the knee slowly 3 times: further, then back", repetitions=3),
    Step("rocks", 7.0, 3.0, "Rock the leg gently 3 times: inward, then outward", repetitions=3),
    Step("still_end", 3.0, 2.0, "Back to the start pose and hold still"),
)

PHASES: tuple[str, ...] = tuple(s.phase for s in STEPS)

#: The pelvis's step, after the leg calibration's final still pose, in layouts with a pelvis
#: sensor only (it shows the pelvis's roll axis; :mod:`imuhip.joint.pelvis`).
PELVIS_STEP = Step(
    "pelvis_lift",
    8.0,
    1.0,
    "Lift the hip of the working side a little off the floor, twice, then hold still",
    repetitions=2,
)
#: The trunk's step, after the pelvis's (or the leg calibration), in layouts with a trunk
#: sensor only (it shows the trunk's lateral flexion axis).
TRUNK_STEP = Step(
    "trunk_lean",
    8.0,
    1.0,
    "Lean sideways towards the working side, twice, then hold still",
    repetitions=2,
)
#: Phase names of the pelvis and trunk steps (their ``calibration_phase`` marks).
BODY_PHASES: tuple[str, ...] = (PELVIS_STEP.phase, TRUNK_STEP.phase)


#: With both legs instrumented there is no single working side: the steps lift the right hip
#: and lean to the right (the obliquity is then reported for each leg's own side).
BOTH_LEGS_STEP_SIDE = "right"


def body_steps(roles: tuple[str, ...]) -> tuple[Step, ...]:
    """The pelvis and trunk steps a layout with sensor ``roles`` does after the leg
    calibration, in order (none without a pelvis or trunk sensor); with both legs the prompts
    name the right side (:data:`BOTH_LEGS_STEP_SIDE`)."""
    steps = tuple(
        s for s, role in ((PELVIS_STEP, "pelvis"), (TRUNK_STEP, "trunk")) if role in roles
    )
    if any(r.startswith("left_") for r in roles) and any(r.startswith("right_") for r in roles):
        side = f"your {BOTH_LEGS_STEP_SIDE} side"
        steps = tuple(replace(s, prompt=s.prompt.replace("the working side", side)) for s in steps)
    return steps


#: How far the shank leans from vertical towards the feet in each exercise's start pose,
#: degrees (prone: shin vertical; seated on the floor: feet under the knees; supine
#: hook-lying: hips ~45°, knees ~90°). The calibration takes the shank's long axis from it.
START_POSE_SHANK_TILT_DEG: dict[str, float] = {"prone": 0.0, "seated": 0.0, "supine": 45.0}

#: Largest rock amplitude the protocol asks for, degrees.
MAX_ROCK_DEG = 10.0


def step(phase: str) -> Step:
    """The step called ``phase`` (KeyError if there is none)."""
    for s in STEPS:
        if s.phase == phase:
            return s
    raise KeyError(phase)


def step_of(phase: str) -> Step:
    """The leg, pelvis or trunk step called ``phase`` (KeyError if there is none)."""
    for s in (*STEPS, PELVIS_STEP, TRUNK_STEP):
        if s.phase == phase:
            return s
    raise KeyError(phase)


@dataclass(frozen=True)
class GuidanceStatus:
    """What to show for the guidance.

    Attributes:
        index: current step (0-based); ``len(steps)`` when finished.
        steps: number of steps.
        phase: current phase name (None when finished).
        prompt: what to do now.
        progress: 0..1 within the current step.
        detail: a short line (e.g. "still 1.2 / 3.0 s").
        done: the protocol is complete; abandoned: the guidance gave up (see ``detail``).
    """

    index: int
    steps: int
    phase: str | None
    prompt: str
    progress: float
    detail: str = ""
    done: bool = False
    abandoned: bool = False

    @property
    def active(self) -> bool:
        return not (self.done or self.abandoned)
