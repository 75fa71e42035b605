"""What a running session shows: the pipeline's state after each step (live view, replay)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from imuhip.align.aligner import SensorHealth


class Status(StrEnum):
    """Where a session's analysis stands."""

    WAITING = "waiting"  # for data from every sensor
    CALIBRATING = "calibrating"  # collecting the calibration protocol
    READY = "ready"  # calibrated: angles, reps and holds
    FAILED = "failed"  # the calibration attempt was refused (see the message)


@dataclass
class LiveState:
    """What the live view shows; times are seconds on the session's time base.

    Attributes:
        t: time of the newest grid sample (None before data from both sensors).
        status: "waiting" (for data), "calibrating" (collecting the protocol), "ready",
            "failed" (calibration impossible; see ``message``).
        message: calibration problem or warnings, plain language.
        angle_deg: current hip rotation (internal positive), None before calibration.
        highest_deg: largest angle seen since calibration.
        best_rep_deg: largest counted rep peak (``max_rotation_deg`` of ``imuhip analyze``).
        reps: counted reps; last_rep_peak_deg: peak of the last one.
        partial_reps: excursions not counted.
        holds: finished holds; hold_start_s: start of the hold in progress (None if none);
            hold_s: its duration so far; last_hold_s, total_hold_s: finished holds.
        stretches: finished stretches; stretch_start_s: start of the stretch in progress
            (where the leg arrived; None if none; set once the detector recognises it,
            ``stretch_min_s`` in); stretch_s: its duration so far; stretch_at_end_range_s: its
            time so far within ``END_RANGE_DEG`` of its farthest angle, stretch_max_deg;
            overpressure_start_s, overpressure_deg: the overpressure in it and its gain so far
            (None before one); last_stretch_s, last_stretch_at_end_range_s,
            last_overpressure_deg: the last finished stretch's (the detector's own figures).
        external_reps: counted reps into external rotation (among ``reps``).
        still_s: how long both segments have been still (for guidance).
        calibrated_at_s: end of the calibration (None before).
        unrested_s: seconds since the leg last rested still at its rest level, in the poses
            where the thigh's heading needs such rests (seated, supine; else 0). From
            ``UNCHECKED_HEADING_S`` on the angle may drift: the view asks for a rest.
    """

    t: float | None = None
    status: Status = Status.WAITING
    message: str = ""
    angle_deg: float | None = None
    highest_deg: float | None = None
    best_rep_deg: float | None = None
    reps: int = 0
    last_rep_peak_deg: float | None = None
    partial_reps: int = 0
    holds: int = 0
    hold_start_s: float | None = None
    hold_s: float = 0.0
    last_hold_s: float | None = None
    total_hold_s: float = 0.0
    stretches: int = 0
    stretch_start_s: float | None = None
    stretch_s: float = 0.0
    stretch_at_end_range_s: float = 0.0
    stretch_max_deg: float | None = None
    overpressure_start_s: float | None = None
    overpressure_deg: float | None = None
    last_stretch_s: float | None = None
    last_stretch_at_end_range_s: float | None = None
    last_overpressure_deg: float | None = None
    external_reps: int = 0
    still_s: float = 0.0
    calibrated_at_s: float | None = None
    unrested_s: float = 0.0
    sensors: dict[str, SensorHealth] = field(default_factory=dict)
