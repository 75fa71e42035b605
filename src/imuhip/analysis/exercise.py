"""Offline exercise analysis: the streaming detector run over a whole recording; the
session's timeline from what the detectors found."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from imuhip.analysis.detector import DetectorParams, ExerciseDetector
from imuhip.analysis.events import (
    Activity,
    ActivityKind,
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


def combine_detectors(detectors: Sequence[ExerciseDetector]) -> ExerciseResult:
    """The result of consecutive detectors (one per stretch of data between sensor gaps, each
    resumed from the one before): their findings in time order and the timeline over their
    spans, with a gap between one's last sample and the next one's first."""
    reps = tuple(r for d in detectors for r in d.reps)
    partial = tuple(r for d in detectors for r in d.partial_reps)
    holds = tuple(h for d in detectors for h in d.holds)
    stretches = tuple(s for d in detectors for s in d.stretches)
    events = tuple(e for d in detectors for e in d.events)
    spans = [(d.first_s, d.last_s) for d in detectors if d.first_s is not None]
    envelopes = [a for d in detectors for a in d.envelopes]
    timeline = build_timeline(spans, reps, partial, holds, stretches, envelopes)
    return ExerciseResult(reps, partial, holds, events, stretches, timeline)


def build_timeline(
    spans: Sequence[tuple[float, float | None]],
    reps: Sequence[Rep],
    partial_reps: Sequence[PartialRep],
    holds: Sequence[Hold],
    stretches: Sequence[Stretch],
    envelopes: Sequence[Activity] = (),
) -> tuple[Activity, ...]:
    """Label every part of the analysed ``spans`` (seconds; consecutive stretches of data, the
    time between them a gap) as hold, stretch, rep, partial rep or rest, in time order without
    overlap. ``envelopes`` (from :attr:`ExerciseDetector.envelopes`) widen a hold or stretch to
    the whole movement out of rest and back around it. Where two overlap the first of
    hold/stretch, rep, partial rep wins (a partial rep open at the end runs to its span's
    end)."""
    if not spans:
        return ()
    end_all = spans[-1][1] if spans[-1][1] is not None else spans[-1][0]
    painted: list[tuple[float, float, ActivityKind]] = []
    for a, b in pairwise(spans):
        if a[1] is not None and b[0] > a[1]:
            _paint(painted, [(a[1], b[0], ActivityKind.GAP)])
    _paint(painted, sorted(
        [(a.start_s, a.end_s, a.kind) for a in envelopes if a.end_s is not None]
        + [(h.start_s, h.end_s, ActivityKind.HOLD) for h in holds]
        + [(s.start_s, s.end_s, ActivityKind.STRETCH) for s in stretches]
    ))  # fmt: skip
    _paint(painted, [(r.start_s, r.end_s, ActivityKind.REP) for r in reps])
    ends = [b for _, b in spans]
    open_end = [next((e for e in ends if e is not None and e >= p.start_s), end_all)
                for p in partial_reps]  # fmt: skip
    _paint(painted, [
        (p.start_s, p.end_s if p.end_s is not None else e, ActivityKind.PARTIAL_REP)
        for p, e in zip(partial_reps, open_end, strict=True)
    ])  # fmt: skip
    _paint(painted, [(spans[0][0], end_all, ActivityKind.REST)])
    return tuple(Activity(k, a, b) for a, b, k in painted if b > a)


def _paint(painted: list[tuple[float, float, ActivityKind]], new) -> None:
    """Add the parts of ``new`` intervals (start, end, kind) not yet covered to ``painted``
    (sorted, not overlapping), keeping it sorted."""
    starts = [p[0] for p in painted]
    for a, b, kind in new:
        k = max(0, bisect_left(starts, a) - 1)
        pieces = []
        cur = a
        while k < len(painted) and painted[k][0] < b:
            pa, pb, _ = painted[k]
            if pb > cur:
                if pa > cur:
                    pieces.append((cur, min(pa, b), kind))
                cur = max(cur, pb)
            k += 1
        if cur < b:
            pieces.append((cur, b, kind))
        for piece in pieces:
            if piece[1] > piece[0]:
                at = bisect_left(painted, piece)
                painted.insert(at, piece)
                starts.insert(at, piece[0])


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
    """Reps, holds, stretches and the timeline in the hip rotation ``angle_deg`` (N,) sampled at
    ``rate_hz`` at times ``t`` (N,), with the shin's angular rate ``gyr_shin`` (N, 3) rad/s for the
    effort index.

    Pass only the samples after calibration. ``rest_deg`` is the rest angle to start from
    (the angle in the calibration's final still pose). ``chunk`` feeds the detector in pieces
    of that many samples, as live use does; the result does not depend on it. ``valid`` (N,)
    marks samples with data; across a run of invalid samples (a sensor gap) the detector is
    interrupted (an open rep becomes partial) and resumes after it with the same rest.
    """
    ok = np.ones(len(t), bool) if valid is None else np.asarray(valid, bool)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    segments = list(zip(edges[::2], edges[1::2], strict=True))
    done: list[ExerciseDetector] = []
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
        done.append(det)
        prev = det
    return combine_detectors(done)
