"""Find the calibration protocol's phases in a recording, from the gyroscopes alone.

The protocol (see :mod:`imuhip.calibration_protocol`): still start pose, three slow knee bends,
three small rocks of the leg (inward first), still again. Knee bends rotate the shin about the
knee axis; rocks rotate thigh and shin about the femur's long axis. Those two axes are nearly
perpendicular in the shin's frame, so the motion after the still start splits into two clusters
of shin rotation axes, bends first; the split point is where two principal axes explain the shin's
angular velocity best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.errors import CalibrationError

#: Smoothed angular rate (rad/s) under which a segment counts as still.
STILL_RATE = 0.12
#: Shin angular rate (rad/s) above which a sample counts as moving for the axis analysis.
MOVING_RATE = 0.25


@dataclass(frozen=True)
class Phases:
    """Sample index ranges ``[start, stop)`` of the calibration phases."""

    still_start: tuple[int, int]
    bends: tuple[int, int]
    rocks: tuple[int, int]
    still_end: tuple[int, int]

    @property
    def end(self) -> int:
        """First sample after the calibration (end of the final still phase)."""
        return self.still_end[1]


def phases_from_marks(t: np.ndarray, marks: dict[str, float], min_still_end_s: float = 1.5):
    """Phases from the times (seconds) at which live guidance started each phase.

    ``marks`` maps "still_start", "bends", "rocks", "still_end" to start times; the final still
    phase lasts ``min_still_end_s``. Returns None if a mark is missing or out of order, or the
    final still phase begins after the data (a file cut short).
    """
    names = ("still_start", "bends", "rocks", "still_end")
    if any(n not in marks for n in names):
        return None
    idx = [int(np.searchsorted(t, marks[n])) for n in names]
    if idx != sorted(idx) or len(set(idx)) != 4 or idx[3] >= len(t) - 1:
        return None
    rate = 1.0 / float(np.median(np.diff(t)))
    end = min(len(t), idx[3] + round(min_still_end_s * rate))
    return Phases((idx[0], idx[1]), (idx[1], idx[2]), (idx[2], idx[3]), (idx[3], end))


#: The still start pose is looked for from this long (s) before the guidance's first mark.
MARK_LEAD_S = 1.0


def phases_near_marks(
    t: np.ndarray,
    gyr_thigh: np.ndarray,
    gyr_shin: np.ndarray,
    rate_hz: float,
    marks: dict[str, float],
    min_still_end_s: float = 1.5,
) -> Phases | None:
    """The phases the person actually did, found in the data around live guidance's marks.

    The marks (phase -> start time of its prompt, seconds) are a prior: a person slower or
    faster than the prompts moves later or earlier than them. The movements are searched for
    (:func:`find_phases`) from ``MARK_LEAD_S`` before the first mark on, and taken when they
    agree with the marks: the knee bends start before the rocks' prompt, the rocks split off
    after the bends' prompt, and the final still pose begins after the rocks' prompt. Returns
    None when the data show no such protocol (the caller falls back on
    :func:`phases_from_marks`).
    """
    names = ("still_start", "bends", "rocks", "still_end")
    if any(n not in marks for n in names) or len(t) < 2:
        return None
    a = int(np.searchsorted(t, marks["still_start"] - MARK_LEAD_S))
    span = marks["still_end"] - marks["still_start"]
    try:
        ph = find_phases(
            t[a:], gyr_thigh[a:], gyr_shin[a:], rate_hz,
            search_start_s=MARK_LEAD_S + max(0.0, marks["bends"] - marks["still_start"]),
            search_motion_s=1.5 * span + 5.0, min_still_end_s=min_still_end_s,
        )  # fmt: skip
    except CalibrationError:
        return None
    shifted = Phases(
        *((x + a, y + a) for x, y in (ph.still_start, ph.bends, ph.rocks, ph.still_end))
    )
    bends_t, rocks_t, end_t = (float(t[shifted.bends[0]]), float(t[shifted.rocks[0]]),
                               float(t[shifted.still_end[0]]))  # fmt: skip
    if not (bends_t < marks["rocks"] and rocks_t > marks["bends"] and end_t > marks["rocks"]):
        return None
    return shifted


@dataclass(frozen=True)
class AxisSplit:
    """Result of splitting a motion into two rotation-axis clusters."""

    split: int  # index into the segment where the second cluster starts
    axis_before: np.ndarray
    axis_after: np.ndarray
    consistency_before: float  # share of angular-rate energy along the axis (1 = pure hinge)
    consistency_after: float


def moving_average(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average over ``n`` samples (edges use the available samples)."""
    n = max(1, int(n))
    c = np.cumsum(np.concatenate([[0.0], x]))
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i + (n - n // 2), 0, len(x))
    return (c[hi] - c[lo]) / (hi - lo)


def still_mask(gyr_thigh: np.ndarray, gyr_shin: np.ndarray, rate_hz: float) -> np.ndarray:
    """True where both segments are still (smoothed rate under :data:`STILL_RATE`)."""
    m = np.maximum(np.linalg.norm(gyr_thigh, axis=1), np.linalg.norm(gyr_shin, axis=1))
    return moving_average(m, round(0.25 * rate_hz)) < STILL_RATE


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def principal_axis(w: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit axis carrying most of the energy of rates ``w`` (N, 3), and its energy share."""
    m = w.T @ w
    vals, vecs = np.linalg.eigh(m)
    total = float(vals.sum())
    return vecs[:, -1], (float(vals[-1]) / total if total > 0 else 0.0)


def split_axes(w: np.ndarray) -> AxisSplit:
    """Best split of rates ``w`` (N, 3) into an early and a late rotation-axis cluster."""
    n = len(w)
    outer = w[:, :, None] * w[:, None, :]
    cum = np.concatenate([np.zeros((1, 3, 3)), np.cumsum(outer, axis=0)])
    k = np.arange(max(1, n // 10), max(2, n - n // 10))
    before = np.linalg.eigvalsh(cum[k])[:, -1]
    after = np.linalg.eigvalsh(cum[n] - cum[k])[:, -1]
    best = int(k[np.argmax(before + after)])
    a1, c1 = principal_axis(w[:best])
    a2, c2 = principal_axis(w[best:])
    return AxisSplit(best, a1, a2, c1, c2)


def first_excursion_sign(w: np.ndarray, axis: np.ndarray, dt: float) -> float:
    """+1 if the first clear excursion of the rotation about ``axis`` is positive, else -1."""
    phi = np.cumsum(w @ axis) * dt
    big = np.abs(phi) >= 0.4 * np.abs(phi).max()
    return 1.0 if phi[int(np.argmax(big))] >= 0 else -1.0


#: Least knee movement (degrees) that counts as the protocol's knee bends.
MIN_BEND_DEG = 8.0
#: Least rotation about the femur axis (degrees) that counts as the protocol's leg rocks.
MIN_ROCK_DEG = 1.5


def find_phases(
    t: np.ndarray,
    gyr_thigh: np.ndarray,
    gyr_shin: np.ndarray,
    rate_hz: float,
    *,
    search_start_s: float = 30.0,
    search_motion_s: float = 60.0,
    min_still_start_s: float = 2.0,
    min_still_end_s: float = 1.5,
    min_bend_deg: float = MIN_BEND_DEG,
    min_rock_deg: float = MIN_ROCK_DEG,
) -> Phases:
    """Locate the calibration phases; :class:`CalibrationError` says what is missing.

    Args:
        t: (N,) sample times, seconds.
        gyr_thigh, gyr_shin: (N, 3) angular rates, rad/s, each in its sensor frame.
        rate_hz: sample rate of the common grid.
        search_start_s: the still start pose must begin within this time from the start.
        search_motion_s: bends and rocks must be done within this time after it.
    """
    dt = 1.0 / rate_hz
    still = still_mask(gyr_thigh, gyr_shin, rate_hz)
    t0 = t[0]
    still_runs = [r for r in runs(still) if (r[1] - r[0]) * dt >= min_still_start_s]
    first = next((r for r in still_runs if t[r[0]] - t0 <= search_start_s), None)
    if first is None:
        raise CalibrationError(
            f"no still start pose found: hold the leg still for 3 s at the start "
            f"(searched the first {search_start_s:g} s)"
        )
    e0 = first[1]
    limit = t[e0 - 1] + search_motion_s
    ends = [
        r
        for r in runs(still)
        if r[0] > e0 and (r[1] - r[0]) * dt >= min_still_end_s and t[r[0]] <= limit
    ]
    moving_shin = np.linalg.norm(gyr_shin, axis=1) > MOVING_RATE
    bends_seen: tuple[float, float] | None = None
    for r in ends:
        idx = np.flatnonzero(moving_shin[e0 : r[0]]) + e0
        if len(idx) < 20:
            continue
        w = gyr_shin[idx]
        sp = split_axes(w)
        j_range = np.ptp(np.cumsum(gyr_shin[e0 : idx[sp.split]] @ sp.axis_before) * dt)
        f_range = np.ptp(np.cumsum(gyr_shin[idx[sp.split] : r[0]] @ sp.axis_after) * dt)
        whole = np.ptp(np.cumsum(gyr_shin[e0 : r[0]] @ principal_axis(w)[0]) * dt)
        if np.degrees(whole) >= min_bend_deg and bends_seen is None:
            bends_seen = (float(t[e0]), float(t[r[0] - 1]))
        orthogonal = abs(float(sp.axis_before @ sp.axis_after)) < 0.5
        if (
            orthogonal
            and np.degrees(j_range) >= min_bend_deg
            and np.degrees(f_range) >= min_rock_deg
        ):
            # the final still phase ends a fixed time after it begins, so live use (which
            # calibrates as soon as that time has passed) and replay agree on the end
            still_end = (r[0], min(r[1], r[0] + round(min_still_end_s * rate_hz)))
            return Phases(first, (e0, int(idx[sp.split])), (int(idx[sp.split]), r[0]), still_end)
    if bends_seen is None:
        raise CalibrationError(
            f"no knee bends found in the {search_motion_s:g} s after the still start pose "
            f"(t = {t[first[0]] - t0:.1f}-{t[e0 - 1] - t0:.1f} s): bend the knee slowly three "
            "times, then rock the leg in and out, then hold still"
        )
    raise CalibrationError(
        f"knee movement found at t = {bends_seen[0] - t0:.1f} s, but no small rocks of the leg "
        "about its long axis followed by a still pose: after the knee bends, rock the leg "
        "inward and outward three times (under 10°), then hold still for 2 s"
    )
