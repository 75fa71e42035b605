"""What the exercise analysis reports: reps, holds and the events emitted while detecting them.

Times are seconds on the session's time base; angles are degrees of hip rotation (internal
positive, 0 in the calibrated start pose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

#: A rep dwells at its peak while the angle stays within this of it, degrees.
DWELL_DEG = 2.0

#: A stretch is at end range while the angle stays within this of its maximum, degrees.
END_RANGE_DEG = 2.0


class Direction(StrEnum):
    """Which way a movement went from rest: into internal (angle rising) or external rotation
    (angle falling)."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class EventKind(StrEnum):
    """What an :class:`AnalysisEvent` announces."""

    REP_STARTED = "rep_started"
    REP_COUNTED = "rep_counted"
    PARTIAL_REP = "partial_rep"
    HOLD_STARTED = "hold_started"
    HOLD_ENDED = "hold_ended"
    STRETCH_STARTED = "stretch_started"
    OVERPRESSURE_STARTED = "overpressure_started"
    STRETCH_ENDED = "stretch_ended"
    #: a rep or stretch (the item, with its ``compensation``) went over a compensation
    #: threshold (:meth:`Compensation.flags`); comes right after its rep_counted/stretch_ended
    COMPENSATION = "compensation"


class ActivityKind(StrEnum):
    """The label of one stretch of a session's timeline."""

    CALIBRATION = "calibration"
    REST = "rest"
    REP = "rep"
    PARTIAL_REP = "partial_rep"
    HOLD = "hold"
    STRETCH = "stretch"
    GAP = "gap"


#: Compensation flag thresholds, degrees (justified in :mod:`imuhip.pipeline.compensation`).
OBLIQUITY_FLAG_DEG = 5.0
ROTATION_FLAG_DEG = 10.0
LEAN_FLAG_DEG = 10.0


@dataclass(frozen=True)
class Compensation:
    """How the pelvis and trunk moved during one rep or stretch: the largest magnitude during
    it, signed, degrees; None where that sensor is absent (or its step was not found).

    Attributes:
        pelvis_obliquity_deg: the leg's side's hip higher positive, from the still pose
            before the pelvis step.
        pelvis_rotation_deg: the pelvis's turn about the vertical from the movement's start
            (counter-clockwise seen from above positive for a right leg, clockwise for a left).
        trunk_lateral_flexion_deg: the trunk's sideways bend relative to the pelvis from the
            movement's start, towards the leg's side positive.
    """

    pelvis_obliquity_deg: float | None = None
    pelvis_rotation_deg: float | None = None
    trunk_lateral_flexion_deg: float | None = None

    def flags(self) -> tuple[str, ...]:
        """The names of the figures over their threshold."""
        limits = (
            ("pelvis_obliquity_deg", OBLIQUITY_FLAG_DEG),
            ("pelvis_rotation_deg", ROTATION_FLAG_DEG),
            ("trunk_lateral_flexion_deg", LEAN_FLAG_DEG),
        )
        return tuple(
            name for name, lim in limits
            if (v := getattr(self, name)) is not None and abs(v) > lim
        )  # fmt: skip

    def as_dict(self) -> dict:
        return {**_rounded(asdict(self)), "flagged": list(self.flags())}


def _with_compensation(d: dict, c: Compensation | None) -> dict:
    """A rep's or stretch's dict with its compensation (left out without one: sessions with
    neither a pelvis nor a trunk sensor keep their output)."""
    d.pop("compensation", None)
    return d if c is None else {**d, "compensation": c.as_dict()}


class _Span:
    """What a rep, a hold and a stretch share: a start and an end (s), and their dict with the
    duration."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def _span_dict(self) -> dict:
        return {**_rounded(asdict(self)), "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class Rep(_Span):
    """One AROM repetition: from rest into internal rotation and back.

    Attributes:
        start_s: when the leg left rest.
        peak_s: time of the largest rotation.
        end_s: when it was back at rest.
        peak_deg: the extreme rotation reached (absolute angle; the largest for an internal
            rep, the smallest, most external, for an external one).
        range_deg: distance of the peak from the rest angle at the start, positive either way.
        dwell_s: time spent within ``DWELL_DEG`` of the peak (a pause at end range).
        direction: internal (the angle rose from rest) or external (it fell).
        duration_s: end minus start.
        compensation: the pelvis's and trunk's movement during it (None without those
            sensors).
    """

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    range_deg: float
    dwell_s: float = 0.0
    direction: Direction = Direction.INTERNAL
    compensation: Compensation | None = None

    def as_dict(self) -> dict:
        return _with_compensation(self._span_dict(), self.compensation)


@dataclass(frozen=True)
class PartialRep:
    """An excursion that is not counted: too small, or cut off by the end of the session."""

    start_s: float
    peak_s: float
    end_s: float | None
    peak_deg: float
    range_deg: float
    reason: str  # "below threshold" or "not finished"
    direction: Direction = Direction.INTERNAL

    def as_dict(self) -> dict:
        return _rounded(asdict(self))


@dataclass(frozen=True)
class Hold(_Span):
    """An isometric hold: the leg kept still in internal rotation away from rest.

    Attributes:
        start_s: when the movement into the hold stopped.
        end_s: when the leg started back.
        mean_deg: mean rotation during the hold.
        steadiness_deg: standard deviation of the rotation during the hold.
        effort_index: shin 6-12 Hz tremor power in the hold against that at rest, in dB
            (0 = like resting; pushing against a band makes the leg tremble more: 25-45 dB in
            SIMULATED holds, not yet measured on a real leg); None when no rest was seen before
            the hold to compare with.
    """

    start_s: float
    end_s: float
    mean_deg: float
    steadiness_deg: float
    effort_index: float | None

    def as_dict(self) -> dict:
        return self._span_dict()


@dataclass(frozen=True)
class Stretch(_Span):
    """A passive end-range hold: the leg kept at the end of its range with little effort of its
    own (gravity, a hand or the other foot doing the work), as in knee-to-floor or knee inward
    tilts.

    Attributes:
        start_s: when the leg arrived at the stretch (the movement into it stopped).
        end_s: when the leg started back.
        mean_deg: mean rotation during the stretch.
        max_deg: the extreme rotation during the stretch (the largest for an internal stretch,
            the smallest for an external one).
        time_at_end_range_s: time spent within ``END_RANGE_DEG`` of ``max_deg``.
        overpressure_start_s: when overpressure (the other foot or a hand pushing further at
            the end of the stretch) began; None when there was none.
        overpressure_gain_deg: how much further the overpressure took the angle, from the
            stretch's level before it to the maximum under it, positive; None without one.
        direction: internal or external rotation.
        compensation: the pelvis's and trunk's movement during it (None without those
            sensors).
    """

    start_s: float
    end_s: float
    mean_deg: float
    max_deg: float
    time_at_end_range_s: float
    overpressure_start_s: float | None = None
    overpressure_gain_deg: float | None = None
    direction: Direction = Direction.INTERNAL
    compensation: Compensation | None = None

    def as_dict(self) -> dict:
        return _with_compensation(self._span_dict(), self.compensation)


@dataclass(frozen=True)
class Activity:
    """One labelled stretch of the session's timeline, seconds on the session time base
    (``end_s`` None while it is still going on)."""

    kind: ActivityKind
    start_s: float
    end_s: float | None

    def as_dict(self) -> dict:
        return _rounded(asdict(self))


@dataclass(frozen=True)
class AnalysisEvent:
    """Something the live view shows as it happens.

    ``kind`` says what; ``t`` is when it happened (seconds); ``item`` is the Rep, PartialRep,
    Hold or Stretch (for hold_started, stretch_started and overpressure_started: their start
    time in ``t`` and no item). A partial rep with reason "settled at a new rest" ends a hold
    that had started without a hold_ended: the plateau was the leg relaxing at a new level.
    """

    kind: EventKind
    t: float
    item: Rep | PartialRep | Hold | Stretch | None = None
    side: str = ""  # the leg ("left", "right") in sessions of both legs; "" with one leg


def _rounded(d: dict) -> dict:
    return {
        k: (round(v, 3) if isinstance(v, float) else str(v) if isinstance(v, StrEnum) else v)
        for k, v in d.items()
    }
