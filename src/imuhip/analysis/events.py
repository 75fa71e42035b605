"""What the exercise analysis reports: reps, holds and the events emitted while detecting them.

Times are seconds on the session's time base; angles are degrees of hip rotation (internal
positive, 0 in the calibrated start pose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: A rep dwells at its peak while the angle stays within this of it, degrees.
DWELL_DEG = 2.0


@dataclass(frozen=True)
class Rep:
    """One AROM repetition: from rest into internal rotation and back.

    Attributes:
        start_s: when the leg left rest.
        peak_s: time of the largest rotation.
        end_s: when it was back at rest.
        peak_deg: largest rotation (absolute angle).
        range_deg: peak minus the rest angle at the start.
        dwell_s: time spent within ``DWELL_DEG`` of the peak (a pause at end range).
        duration_s: end minus start.
    """

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    range_deg: float
    dwell_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict:
        return {**_rounded(asdict(self)), "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class PartialRep:
    """An excursion that is not counted: too small, or cut off by the end of the session."""

    start_s: float
    peak_s: float
    end_s: float | None
    peak_deg: float
    range_deg: float
    reason: str  # "below threshold" or "not finished"

    def as_dict(self) -> dict:
        return _rounded(asdict(self))


@dataclass(frozen=True)
class Hold:
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

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict:
        return {**_rounded(asdict(self)), "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class AnalysisEvent:
    """Something the live view shows as it happens.

    ``kind`` is one of "rep_started", "rep_counted", "partial_rep", "hold_started",
    "hold_ended"; ``t`` is when it happened (seconds); ``item`` is the Rep, PartialRep or Hold
    (for hold_started: the hold's start time in ``t`` and no item). A partial rep with reason
    "settled at a new rest" ends a hold that had started without a hold_ended: the plateau was
    the leg relaxing at a new level.
    """

    kind: str
    t: float
    item: Rep | PartialRep | Hold | None = None


def _rounded(d: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}
