"""Offline exercise analysis: the streaming detector run over a whole recording."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.analysis.detector import DetectorParams, ExerciseDetector
from imuhip.analysis.events import (
    Activity,
    AnalysisEvent,
    Direction,
    Hold,
    PartialRep,
    Rep,
    Stretch,
)


@dataclass(frozen=True)
class ExerciseResult:
    """What the detector found after the calibration, in time order within each kind.

    ``timeline`` labels every part of the analysed span (rest, reps, partial reps, holds,
    stretches, gaps) without overlap; the pipeline adds the calibration before it.
    """

    reps: tuple[Rep, ...]
    partial_reps: tuple[PartialRep, ...]
    holds: tuple[Hold, ...]
    events: tuple[AnalysisEvent, ...]
    stretches: tuple[Stretch, ...] = ()
    timeline: tuple[Activity, ...] = ()

    def summary(self) -> dict:
        """Counts and extremes as reported by ``imuhip analyze`` (degrees, seconds):
        ``longest_stretch_s`` the longest stretch's duration, ``max_stretch_deg`` the
        farthest end-range angle of any stretch (the largest ``|max_deg|``, signed; None
        without stretches), ``external_rep_count`` the counted reps into external rotation
        (they are also in ``rep_count``)."""
        peaks = [r.peak_deg for r in self.reps]
        durations = [h.duration_s for h in self.holds]
        longest = max(self.stretches, key=lambda s: s.duration_s, default=None)
        extreme = max(self.stretches, key=lambda s: abs(s.max_deg), default=None)
        return {
            "rep_count": len(self.reps),
            "max_rotation_deg": round(max(peaks), 2) if peaks else None,
            "mean_peak_deg": round(float(np.mean(peaks)), 2) if peaks else None,
            "hold_count": len(self.holds),
            "total_hold_s": round(float(sum(durations)), 2),
            "longest_hold_s": round(max(durations), 2) if durations else None,
            "stretch_count": len(self.stretches),
            "longest_stretch_s": round(longest.duration_s, 2) if longest else None,
            "max_stretch_deg": round(extreme.max_deg, 2) if extreme else None,
            "external_rep_count": sum(r.direction is Direction.EXTERNAL for r in self.reps),
        }


def analyze_exercise(
    t: np.ndarray,
    angle_deg: np.ndarray,
    gyr_shin: np.ndarray,
    rate_hz: float,
    *,
    rest_deg: float = 0.0,
    params: DetectorParams | None = None,
    chunk: int | None = None,
    valid: np.ndarray | None = None,
) -> ExerciseResult:
    """Reps and holds in the hip rotation ``angle_deg`` (N,) sampled at ``rate_hz`` at times
    ``t`` (N,), with the shin's angular rate ``gyr_shin`` (N, 3) rad/s for the effort index.

    Pass only the samples after calibration. ``rest_deg`` is the rest angle to start from
    (the angle in the calibration's final still pose). ``chunk`` feeds the detector in pieces
    of that many samples, as live use does; the result does not depend on it. ``valid`` (N,)
    marks samples with data; across a run of invalid samples (a sensor gap) the detector is
    interrupted (an open rep becomes partial) and resumes after it with the same rest.
    """
    ok = np.ones(len(t), bool) if valid is None else np.asarray(valid, bool)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    segments = list(zip(edges[::2], edges[1::2], strict=True))
    reps: list[Rep] = []
    partial: list[PartialRep] = []
    holds: list[Hold] = []
    events: list[AnalysisEvent] = []
    prev: ExerciseDetector | None = None
    for a, b in segments:
        det = ExerciseDetector(rate_hz, params)
        if prev is None:
            det.rest = rest_deg
        else:
            det.resume_from(prev)
        step = chunk or max(1, b - a)
        for c in range(a, b, step):
            e = min(b, c + step)
            det.update(t[c:e], angle_deg[c:e], gyr_shin[c:e])
        if b < len(t):  # a gap follows (or the data end inside one)
            det.interrupt()
        else:
            det.finish()
        reps += det.reps
        partial += det.partial_reps
        holds += det.holds
        events += det.events
        prev = det
    return ExerciseResult(tuple(reps), tuple(partial), tuple(holds), tuple(events))
