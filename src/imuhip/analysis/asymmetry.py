"""Left/right asymmetry inside one session of both legs: reps and holds of the two legs paired in
time, their differences in range and in effort.

Reps pair when their peaks are within ``max(PAIR_MIN_S, PAIR_SHARE × the shorter rep)`` of each
other (both legs swing together, not in perfect step), each rep at most once, nearest first.
Holds pair when they overlap in time.

Differences are left minus right. The asymmetry index is ``100·(L−R)/max(L,R)`` percent: range
in degrees from each leg's rest; effort as tremor power above each leg's own rest (the effort
index in dB, as a power ratio), so that the index compares how much harder each leg worked.
A difference under the noise floor is reported as such (``within_noise``).

Times are seconds on the session time base, angles degrees, effort dB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imuhip.analysis.events import Hold, Rep

#: Reps pair when their peaks are this close (s) at least ...
PAIR_MIN_S = 1.0
#: ... or within this share of the shorter rep's duration.
PAIR_SHARE = 0.5
#: A range difference under this (degrees) is within the noise: each leg's peak is known to
#: about 1.5° (SIMULATED; README), so their difference to about √2 × 1.5°.
RANGE_NOISE_DEG = 2.1
#: An effort difference under this (dB) is within the noise: the effort index of a leg at
#: rest scatters by about this much between rests (SIMULATED).
EFFORT_NOISE_DB = 3.0


def asymmetry_index(left: float, right: float) -> float | None:
    """``100·(L−R)/max(L,R)`` percent (None when both are zero or either is not finite)."""
    top = max(left, right)
    if not (np.isfinite(left) and np.isfinite(right)) or top <= 0:
        return None
    return 100.0 * (left - right) / top


@dataclass(frozen=True)
class RepPair:
    """A rep of each leg done together.

    Attributes:
        left, right: the two reps.
        range_diff_deg: left range minus right range.
        range_index_pct: ``100·(L−R)/max(L,R)`` of the ranges.
        peak_offset_s: right peak time minus left peak time.
        within_noise: the range difference is under ``RANGE_NOISE_DEG``.
    """

    left: Rep
    right: Rep
    range_diff_deg: float
    range_index_pct: float | None
    peak_offset_s: float
    within_noise: bool

    def as_dict(self) -> dict:
        return {
            "left_peak_s": round(self.left.peak_s, 3),
            "right_peak_s": round(self.right.peak_s, 3),
            "left_range_deg": round(self.left.range_deg, 2),
            "right_range_deg": round(self.right.range_deg, 2),
            "range_diff_deg": round(self.range_diff_deg, 2),
            "range_index_pct": _round(self.range_index_pct, 1),
            "peak_offset_s": round(self.peak_offset_s, 3),
            "within_noise": self.within_noise,
        }


@dataclass(frozen=True)
class HoldPair:
    """A hold of each leg done together (overlapping in time).

    Attributes:
        left, right: the two holds.
        effort_diff_db: left effort index minus right (None without both).
        effort_index_pct: ``100·(L−R)/max(L,R)`` of the tremor power above each leg's rest.
        duration_diff_s: left duration minus right.
        mean_diff_deg: left mean angle minus right.
        within_noise: the effort difference is under ``EFFORT_NOISE_DB`` (or unknown).
    """

    left: Hold
    right: Hold
    effort_diff_db: float | None
    effort_index_pct: float | None
    duration_diff_s: float
    mean_diff_deg: float
    within_noise: bool

    def as_dict(self) -> dict:
        return {
            "left_start_s": round(self.left.start_s, 3),
            "right_start_s": round(self.right.start_s, 3),
            "effort_diff_db": _round(self.effort_diff_db, 1),
            "effort_index_pct": _round(self.effort_index_pct, 1),
            "duration_diff_s": round(self.duration_diff_s, 2),
            "mean_diff_deg": round(self.mean_diff_deg, 2),
            "within_noise": self.within_noise,
        }


@dataclass(frozen=True)
class Asymmetry:
    """Left/right comparison of one session (or one set of it).

    Attributes:
        rep_pairs, hold_pairs: the paired reps and holds, in time order.
        unpaired_left, unpaired_right: reps of one leg with no partner in the other.
        mean_range_diff_deg: mean of the pairs' range differences (None without pairs).
        range_index_pct: the index of the pairs' mean ranges.
        mean_effort_diff_db: mean of the hold pairs' effort differences (None without).
        effort_index_pct: the index of the hold pairs' mean tremor power above rest.
    """

    rep_pairs: tuple[RepPair, ...]
    hold_pairs: tuple[HoldPair, ...]
    unpaired_left: tuple[Rep, ...]
    unpaired_right: tuple[Rep, ...]
    mean_range_diff_deg: float | None
    range_index_pct: float | None
    mean_effort_diff_db: float | None
    effort_index_pct: float | None

    def as_dict(self) -> dict:
        """The ``asymmetry`` object of ``imuhip analyze --json``."""
        return {
            "rep_pairs": [p.as_dict() for p in self.rep_pairs],
            "hold_pairs": [p.as_dict() for p in self.hold_pairs],
            "unpaired_left_reps": [round(r.peak_s, 3) for r in self.unpaired_left],
            "unpaired_right_reps": [round(r.peak_s, 3) for r in self.unpaired_right],
            "mean_range_diff_deg": _round(self.mean_range_diff_deg, 2),
            "range_index_pct": _round(self.range_index_pct, 1),
            "mean_effort_diff_db": _round(self.mean_effort_diff_db, 1),
            "effort_index_pct": _round(self.effort_index_pct, 1),
            "noise_floor": {"range_deg": RANGE_NOISE_DEG, "effort_db": EFFORT_NOISE_DB},
        }


def pair_reps(left: Sequence[Rep], right: Sequence[Rep]) -> list[tuple[Rep, Rep]]:
    """Reps of the two legs done together: peaks within the pairing window, nearest first,
    each rep at most once; in time order."""
    candidates = []
    for i, a in enumerate(left):
        for k, b in enumerate(right):
            window = max(PAIR_MIN_S, PAIR_SHARE * min(a.duration_s, b.duration_s))
            gap = abs(a.peak_s - b.peak_s)
            if gap <= window:
                candidates.append((gap, i, k))
    pairs = [(left[i], right[k]) for i, k in _match(candidates)]
    return sorted(pairs, key=lambda p: p[0].peak_s)


def pair_holds(left: Sequence[Hold], right: Sequence[Hold]) -> list[tuple[Hold, Hold]]:
    """Holds of the two legs that overlap in time, the longest overlap first, each at most
    once; in time order."""
    candidates = []
    for i, a in enumerate(left):
        for k, b in enumerate(right):
            overlap = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
            if overlap > 0:
                candidates.append((-overlap, i, k))
    pairs = [(left[i], right[k]) for i, k in _match(candidates)]
    return sorted(pairs, key=lambda p: p[0].start_s)


def _match(candidates: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of (cost, left index, right index), cheapest first."""
    used_l: set[int] = set()
    used_r: set[int] = set()
    out = []
    for _, i, k in sorted(candidates):
        if i not in used_l and k not in used_r:
            used_l.add(i)
            used_r.add(k)
            out.append((i, k))
    return out


def _power_above_rest(db: float) -> float:
    """Tremor power above rest, in units of the rest power, from an effort index in dB."""
    return max(0.0, 10.0 ** (db / 10.0) - 1.0)


def rep_pair(a: Rep, b: Rep) -> RepPair:
    diff = a.range_deg - b.range_deg
    return RepPair(
        a, b, diff, asymmetry_index(a.range_deg, b.range_deg), b.peak_s - a.peak_s,
        abs(diff) < RANGE_NOISE_DEG,
    )  # fmt: skip


def hold_pair(a: Hold, b: Hold) -> HoldPair:
    ea, eb = a.effort_index, b.effort_index
    diff = None if ea is None or eb is None else ea - eb
    index = (
        None
        if ea is None or eb is None
        else asymmetry_index(_power_above_rest(ea), _power_above_rest(eb))
    )
    return HoldPair(
        a, b, diff, index, a.duration_s - b.duration_s, a.mean_deg - b.mean_deg,
        diff is None or abs(diff) < EFFORT_NOISE_DB,
    )  # fmt: skip


def asymmetry(
    left_reps: Sequence[Rep],
    right_reps: Sequence[Rep],
    left_holds: Sequence[Hold] = (),
    right_holds: Sequence[Hold] = (),
) -> Asymmetry:
    """Compare the two legs' reps and holds of one session (or one set)."""
    reps = [rep_pair(a, b) for a, b in pair_reps(left_reps, right_reps)]
    holds = [hold_pair(a, b) for a, b in pair_holds(left_holds, right_holds)]
    paired_l = {id(p.left) for p in reps}
    paired_r = {id(p.right) for p in reps}
    mean_l = float(np.mean([p.left.range_deg for p in reps])) if reps else None
    mean_r = float(np.mean([p.right.range_deg for p in reps])) if reps else None
    efforts = [p for p in holds if p.effort_diff_db is not None]
    power_l = [_power_above_rest(p.left.effort_index or 0.0) for p in efforts]
    power_r = [_power_above_rest(p.right.effort_index or 0.0) for p in efforts]
    return Asymmetry(
        tuple(reps),
        tuple(holds),
        tuple(r for r in left_reps if id(r) not in paired_l),
        tuple(r for r in right_reps if id(r) not in paired_r),
        float(np.mean([p.range_diff_deg for p in reps])) if reps else None,
        None if mean_l is None or mean_r is None else asymmetry_index(mean_l, mean_r),
        float(np.mean([p.effort_diff_db for p in efforts])) if efforts else None,
        asymmetry_index(float(np.mean(power_l)), float(np.mean(power_r))) if efforts else None,
    )


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(float(x), digits)
