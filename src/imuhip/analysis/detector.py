"""Streaming detection of reps, isometric holds and passive stretches from the hip rotation
angle and the shin's angular rate.

One state machine serves live use and offline analysis: offline analysis is this detector run
over the whole recording, so both give the same result on the same data whatever the chunking
(every decision is taken at a sample index fixed by the data; tested). The rules, thresholds and
their limits are described in ``docs/detector.md``.

Signals:
- the angle, smoothed by a causal moving average over ``smooth_s``; its constant delay of
  ``(n - 1) / 2`` samples is removed from every reported time. Its rate of change (degrees per
  second) says whether the leg is still (under ``still_dps``).
- effort: the shin's 6–12 Hz tremor power (its angular rate through a band-pass FIR, squared and
  summed over the axes; rad²/s²) against the person's rest baseline (a low quantile of 1 s
  windows of still rest), in dB. A contraction makes the leg tremble: ``effort_on_db`` over
  rest is effort, under ``effort_off_db`` is none.

States:
- REST: the leg is near the rest angle, which follows slowly (``rest_tau_s``) while the leg is
  still there. Effort at rest for ``min_hold_s`` is an isometric hold (HOLDING).
- HOLDING: an isometric hold at the rest level (the leg pushes and does not move); it ends
  when the effort stops or the leg moves off. Its edges are where the tremor power changes
  level (the two-level split of highest likelihood).
- EXCURSION: the angle left rest by ``start_deg`` either way (internal: up; external: down).
  A still plateau lasting ``min_hold_s`` away from rest is a hold if it carries effort, else a
  pause (a rep's dwell at end range). A pause at least ``stretch_min_deg`` from rest that lasts
  ``stretch_min_s`` is a stretch; a further move on from a stretch by ``overpressure_min_deg``
  is its overpressure. A pause closer to rest that lasts ``settle_s`` or that the leg leaves
  further away from rest is the leg settling at a new rest (a partial rep; rest jumps there).
- RETURNING: back near rest; the excursion ends at rest (within ``low_deg``) or at its lowest
  point if the leg moves out again into the next one.

An excursion that held or stretched is that hold or stretch, not a rep. Otherwise it is a rep
if its range reached the rep threshold: ``rep_fraction`` of the largest rep counted so far in
the session, at least ``min_rep_floor_deg`` and at most ``min_rep_deg`` (only the past is used,
so live and offline agree); else a partial rep ("below threshold"). An excursion still open when
the session ends is a partial rep ("not finished").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from imuhip.analysis.effort import tremor_fir
from imuhip.analysis.events import (
    DWELL_DEG,
    END_RANGE_DEG,
    Activity,
    ActivityKind,
    AnalysisEvent,
    Direction,
    EventKind,
    Hold,
    PartialRep,
    Rep,
    Stretch,
)

REST, EXCURSION, RETURNING, HOLDING = 0, 1, 2, 3

#: A hold's level follows the still leg within this of it (creep), degrees, with the time
#: constant ``HOLD_TRACK_TAU_S``; a leg further away is leaving the hold (decided ``start_deg``
#: away).
HOLD_TRACK_DEG = 1.0
HOLD_TRACK_TAU_S = 2.0

#: Window of the effort decisions (trailing), seconds; rest baseline windows have this length.
EFFORT_WINDOW_S = 1.0
#: The rest baseline is this quantile of up to ``REST_WINDOWS`` windows of still rest.
REST_QUANTILE = 25.0
REST_WINDOWS = 60
#: Longest run of quiet rest samples stepped at once (a speed-up, same result).
QUIET_BLOCK = 512
#: Inputs longer than this many samples are stepped in parts (bounded memory, same result).
PART = 4096
#: Runs (samples between decisions done at once, :meth:`ExerciseDetector._run`) are looked for
#: with at least this many samples left in the input; after a run shorter than this,
#: ``RETRY`` samples are stepped one by one before the next is looked for (speed-ups, same
#: result).
RUN_MIN = 16
RETRY = 16
QUIET_MARGIN_DEG = 0.5
#: How far back from where a hold was recognised its effort edge is searched for, seconds.
EDGE_SEARCH_S = 3.0
#: A hold's effort begins (ends) where the tremor power over ``ONSET_S`` is within this ratio
#: of the quiet side's (searched from the most likely split between the two levels).
ONSET_RATIO = 2.0
ONSET_S = 0.1
#: Overpressure starts where the leg was last within this of the stretch's level, degrees; a
#: stretch's start is looked for from where the leg arrived within ``ARRIVED_DEG`` of it.
OVERPRESSURE_TOL_DEG = 0.1
ARRIVED_DEG = 0.5
#: A stretch's edges are where the movement into it ends and the one out of it begins: the
#: angle's speed (degrees per second, the slope of a line fitted over ``EDGE_SMOOTH_S`` seconds,
#: less its median over ``EDGE_BASE_S`` seconds of the held side next to the edge) between
#: ``EDGE_SLOW_DPS`` and ``EDGE_FAST_DPS`` near the edge, its square root extrapolated along a
#: line to zero (a smooth movement's speed falls to zero as the square of the time left).
EDGE_SMOOTH_S = 0.3
EDGE_SLOW_DPS = 0.5
EDGE_FAST_DPS = 2.0
EDGE_BASE_S = (0.5, 2.5)
#: How far from the anchors the edges' speeds are looked at, seconds.
EDGE_WINDOW_S = 10.0


@dataclass(frozen=True)
class StretchProgress:
    """The stretch in progress as far as the samples fed so far show it (the live stretch
    timer): ``start_s`` where the leg arrived (seconds), ``at_end_range_s`` the time so far
    within ``END_RANGE_DEG`` of ``max_deg`` (the farthest angle so far, degrees),
    ``overpressure_start_s`` and ``overpressure_deg`` (the farthest 0.5 s mean since it began
    minus the level before it: while the leg is still pushed, the finished stretch's gain, the
    mean of its last 0.5 s; both None before any overpressure)."""

    start_s: float
    at_end_range_s: float
    max_deg: float
    overpressure_start_s: float | None
    overpressure_deg: float | None
    direction: Direction


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds (degrees, seconds, degrees per second, dB); see ``docs/detector.md``."""

    min_rep_deg: float = 10.0
    min_rep_floor_deg: float = 5.0
    rep_fraction: float = 0.12
    start_deg: float = 3.0
    low_deg: float = 1.5
    return_deg: float = 3.0
    return_fraction: float = 0.3
    min_hold_s: float = 2.0
    hold_min_deg: float = 1.5
    still_dps: float = 4.0
    rest_still_dps: float = 1.0
    pause_range_deg: float = 1.5
    smooth_s: float = 0.2
    rest_tau_s: float = 10.0
    effort_window_s: float = 120.0
    settle_s: float = 30.0
    effort_on_db: float = 6.0
    effort_off_db: float = 3.0
    stretch_min_s: float = 8.0
    stretch_min_deg: float = 12.0
    overpressure_min_deg: float = 2.0


@dataclass
class _Stretch:
    start_i: int
    level: float  # directed (sign × angle), follows creep
    level_i: int
    op_start_i: int | None = None
    pre_level: float = 0.0  # directed level before the overpressure


@dataclass
class _Excursion:
    start_i: int
    rest: float
    peak_i: int
    peak: float  # directed: sign × angle
    sign: int = 1  # +1 internal (angle rises), -1 external
    plateau_i: int | None = None
    plat_lo: float = 0.0  # directed extremes of the plateau so far
    plat_hi: float = 0.0
    hold_start_i: int | None = None
    hold_depth: float = 0.0  # directed angle from rest when the hold was recognised
    hold_level: float = 0.0  # directed smoothed angle of the hold (follows creep)
    hold_level_i: int = 0  # where hold_level was last set
    pause_i: int | None = None  # an effortless plateau (a dwell) in progress
    pause_level: float = 0.0
    pause_level_i: int = 0
    stretch: _Stretch | None = None
    holds: list[Hold] = field(default_factory=list)
    stretches: list[Stretch] = field(default_factory=list)
    from_gap: bool = False  # already under way when the data came back after a gap


class _Tail:
    """A growing 1-D float array that drops from its front, without copying it all each time
    (``a`` is the current contents, a view)."""

    def __init__(self) -> None:
        self._buf = np.empty(1024)
        self._lo = 0
        self._hi = 0
        self.a = self._buf[0:0]

    def append(self, x: np.ndarray) -> None:
        n = len(x)
        if self._hi + n > len(self._buf):
            size = self._hi - self._lo
            # grow, or move the contents to the front
            buf = np.empty(2 * (size + n)) if size + n > len(self._buf) // 2 else self._buf
            buf[:size] = self._buf[self._lo : self._hi]
            self._buf, self._lo, self._hi = buf, 0, size
        self._buf[self._hi : self._hi + n] = x
        self._hi += n
        self.a = self._buf[self._lo : self._hi]

    def drop(self, k: int) -> None:
        self._lo += k
        self.a = self._buf[self._lo : self._hi]


@dataclass
class _Iso:
    """An isometric hold at the rest level in progress."""

    start_i: int
    level: float
    level_i: int


class ExerciseDetector:
    """Feed (time, angle, shin gyro) chunks; collect reps, partial reps, holds, stretches and
    events."""

    def __init__(self, rate_hz: float, params: DetectorParams | None = None) -> None:
        self.p = params or DetectorParams()
        self.rate = rate_hz
        p = self.p
        self._n = max(1, round(p.smooth_s * rate_hz))
        self.delay = (self._n - 1) // 2
        # running sums of the raw angle (the last n of them): the moving average from their
        # differences is the same number whatever the chunking (a filter's state is not)
        self._csum = np.zeros(self._n)
        self._stail = np.empty(0)  # the last n smoothed values (fewer at the start)
        self._on = 10.0 ** (p.effort_on_db / 10.0)  # effort thresholds as power ratios
        self._off = 10.0 ** (p.effort_off_db / 10.0)
        self._rest_alpha = 1.0 - math.exp(-1.0 / (p.rest_tau_s * rate_hz))
        self._hold_alpha = 1.0 - math.exp(-1.0 / (HOLD_TRACK_TAU_S * rate_hz))
        self._fir = tremor_fir(rate_hz)
        self._fd = (len(self._fir) - 1) // 2  # the filter's delay, samples
        self._win = max(2, round(EFFORT_WINDOW_S * rate_hz))
        cap = round(p.effort_window_s * rate_hz) + self._n + self._win
        self._t0: float | None = None
        # the last ``cap`` raw angles, tremor powers and their running sum (and the chunk being
        # stepped through): ``_base`` is the global index of their first element, ``_i0`` of
        # the oldest one still in reach, ``_avail`` one past the newest one stepped to
        self._cap = cap
        self._rawb = _Tail()
        self._powb = _Tail()  # tremor power of sample k (aligned: the filter delay removed)
        self._pcsb = _Tail()  # running sum of _pow, one leading element (index base - 1)
        self._pcsb.append(np.zeros(1))
        self._raw, self._pow, self._pcs = self._rawb.a, self._powb.a, self._pcsb.a
        self._ghist: np.ndarray | None = None  # the last len(fir) - 1 shin rates
        self._base = 0
        self._i0 = 0
        self._avail = 0
        self._count = 0
        self.state = REST
        self.rest = 0.0
        self._resumed = False  # after a gap: an excursion at the first sample began in it
        self._exc: _Excursion | None = None
        self._iso: _Iso | None = None
        self._iso_run_i: int | None = None  # where effort at rest was first seen
        self._ret_min_i = 0
        self._ret_min = 0.0
        self._last_low_i: int | None = None
        self._still_since: int | None = None  # still at rest since this index
        self._rest_from = 0  # at rest (REST) since this index
        self._rest_windows: list[float] = []
        self._rest_power: float | None = None
        self._largest = 0.0  # the largest counted rep's range, degrees
        self.reps: list[Rep] = []
        self.partial_reps: list[PartialRep] = []
        self.holds: list[Hold] = []
        self.stretches: list[Stretch] = []
        #: the whole movement (out of rest and back) around an excursion's single hold or
        #: stretch, for the timeline
        self.envelopes: list[Activity] = []
        self.events: list[AnalysisEvent] = []

    # ------------------------------------------------------------------ public
    @property
    def first_s(self) -> float | None:
        """Time of the first sample fed (None before any)."""
        return self._t0

    @property
    def last_s(self) -> float | None:
        """Time of the last sample fed (None before any)."""
        return None if self._t0 is None or not self._count else self._time(self._count - 1)

    def update(
        self, t: np.ndarray, angle_deg: np.ndarray, gyr_shin: np.ndarray
    ) -> list[AnalysisEvent]:
        """Process the next samples (times s, angles degrees, shin rates (N, 3) rad/s); returns
        the events they completed. Long inputs go through in parts of ``PART`` samples (the
        result does not depend on it; the memory does)."""
        n_before = len(self.events)
        angle = np.asarray(angle_deg, np.float64)
        gyr = np.asarray(gyr_shin, np.float64).reshape(-1, 3)
        for a in range(0, len(angle), PART):
            self._update_part(t[a : a + PART], angle[a : a + PART], gyr[a : a + PART])
        return self.events[n_before:]

    def _update_part(self, t: np.ndarray, angle: np.ndarray, gyr: np.ndarray) -> None:
        m = len(angle)
        if not m:
            return
        c = np.cumsum(np.r_[self._csum[-1], angle])[1:]
        prev = np.r_[self._csum, c][:m]  # the running sum n samples before each
        smooth = (c - prev) / self._n
        self._csum = np.r_[self._csum, c][-self._n :].copy()
        if self._t0 is None:
            self._t0 = float(t[0])
        # tremor power: the band-passed rate squared; sample k's value needs rates to k + fd
        if self._ghist is None:
            self._ghist = np.repeat(gyr[:1], len(self._fir) - 1, axis=0)
        g = np.concatenate([self._ghist, gyr])
        self._ghist = g[-(len(self._fir) - 1) :].copy()
        y2 = np.zeros(m)
        for ax in range(3):
            y2 += np.convolve(g[:, ax], self._fir, mode="valid") ** 2
        # y2[q] describes global sample count + q - fd; the first fd outputs describe samples
        # before the first one fed (the padding): dropped
        first_new = self._count - self._fd
        if first_new < 0:
            y2 = y2[-first_new:]
        pcs = np.cumsum(np.r_[self._pcsb.a[-1], y2])[1:]
        self._rawb.append(angle)
        self._powb.append(y2)
        self._pcsb.append(pcs)
        self._raw, self._pow, self._pcs = self._rawb.a, self._powb.a, self._pcsb.a
        # rate of change of the smoothed angle over n samples (NaN while filling), deg/s
        n = self._n
        ext = np.concatenate([self._stail, smooth])
        back = len(self._stail) + np.arange(m) - n
        rate = (smooth - ext[np.maximum(back, 0)]) * (self.rate / n)
        rate[back < 0] = np.nan
        self._stail = ext[-n:].copy()
        # mean tremor power over the trailing window ending at the newest known power
        w = self._win
        js = self._count + np.arange(m) - self._fd
        ok = js - w + 1 >= 0
        hi = np.where(ok, js - self._base + 1, 0)
        trail = (self._pcs[hi] - self._pcs[np.where(ok, hi - w, 0)]) / w
        trail[~ok] = np.nan
        cap = self._cap
        sl, rl, tl = smooth.tolist(), rate.tolist(), trail.tolist()
        step = self._step
        q = 0
        retry = 0  # where a run is looked for again after a short one
        while q < m:
            c = self._count
            if q >= retry and m - q >= RUN_MIN and c >= n:
                k = self._run(q, sl, smooth, rate, trail)
                if k > q:  # samples q..k-1 done: only the state's running values moved
                    c1 = c + k - q
                    self._i0 += max(0, c1 - max(c, cap))
                    self._count = self._avail = c1
                    self._resumed = False
                    # the sample at k is usually a decision: stepped before the next run
                    retry = k + 1 if k - q >= RUN_MIN else k + RETRY
                    q = k
                    continue
                retry = q + 1  # (the runs check their first sample cheaply)
            self._avail = c + 1
            if c >= cap:  # the oldest sample just fell out of reach
                self._i0 += 1
            if c >= n:  # the smoother is full
                step(sl[q], rl[q], tl[q])
            self._count = c + 1
            q += 1
        keep = self._i0 - self._base  # drop what is out of reach
        if keep > 0:
            for b in (self._rawb, self._powb, self._pcsb):
                b.drop(keep)
            self._raw, self._pow, self._pcs = self._rawb.a, self._powb.a, self._pcsb.a
            self._base = self._i0

    def finish(self) -> list[AnalysisEvent]:
        """End of session: an open excursion becomes a partial rep (or closes its hold or
        stretch); one already on its way back is counted."""
        if self._exc is not None and self.state == RETURNING:
            n_before = len(self.events)
            self._finish_excursion(self._ret_min_i)
            self._exc = None
            self.state = REST
            return self.events[n_before:]
        return self._cut("not finished")

    def interrupt(self, reason: str = "interrupted by a sensor gap") -> list[AnalysisEvent]:
        """The data stop here for a while (a sensor vanished): an open excursion becomes a
        partial rep with ``reason`` even if it was on its way back (its end is unknown); a hold
        or stretch in progress ends here. Rest and the effort baseline are kept for
        :meth:`resume_from`."""
        return self._cut(reason)

    def resume_from(self, previous: ExerciseDetector) -> None:
        """Start from where ``previous`` stopped (after a gap): its rest angle, effort baseline
        and largest rep; this detector's times start with the first sample it is fed."""
        self.rest = previous.rest
        self._resumed = True
        self._rest_windows = list(previous._rest_windows)
        self._rest_power = previous._rest_power
        self._largest = previous._largest

    def add_hold(self, hold: Hold) -> list[AnalysisEvent]:
        """A hold found beside the detector (:mod:`imuhip.analysis.hold_prior`: an asked-for
        hold on weaker evidence) joins its holds, in time order; returns its events."""
        k = sum(h.start_s <= hold.start_s for h in self.holds)
        self.holds.insert(k, hold)
        new = [
            AnalysisEvent(EventKind.HOLD_STARTED, hold.start_s),
            AnalysisEvent(EventKind.HOLD_ENDED, hold.end_s, hold),
        ]
        self.events += new
        return new

    def rep_threshold(self) -> float:
        """The smallest range (degrees) counted as a rep now: ``rep_fraction`` of the largest
        rep so far, within [``min_rep_floor_deg``, ``min_rep_deg``]."""
        p = self.p
        return min(p.min_rep_deg, max(p.min_rep_floor_deg, p.rep_fraction * self._largest))

    def stretch_progress(self) -> StretchProgress | None:
        """The stretch in progress (None without one), over the samples fed so far; its
        figures are defined as the finished :class:`Stretch`'s, up to the newest sample."""
        exc = self._exc
        if exc is None or exc.stretch is None:
            return None
        st, sg = exc.stretch, exc.sign
        seg = sg * self._raw_at(st.start_i, self._avail - 1)
        if not len(seg):
            return None
        top = float(np.max(seg))
        gain = None
        if st.op_start_i is not None:
            under = seg[max(0, st.op_start_i - max(st.start_i, self._i0)) :]
            k = min(len(under), max(1, round(0.5 * self.rate)))
            means = np.convolve(under, np.full(k, 1.0 / k), "valid") if k else [st.pre_level]
            gain = float(np.max(means)) - st.pre_level
        return StretchProgress(
            self._time(st.start_i),
            float(np.count_nonzero(seg >= top - END_RANGE_DEG)) / self.rate,
            sg * top,
            None if st.op_start_i is None else self._time(st.op_start_i),
            gain,
            Direction.INTERNAL if sg > 0 else Direction.EXTERNAL,
        )

    # ------------------------------------------------------------------ buffers
    def _time(self, i: int) -> float:
        """Time of sample ``i`` (the input is on a uniform grid)."""
        return (self._t0 or 0.0) + i / self.rate

    def _raw_at(self, a: int, b: int) -> np.ndarray:
        """Raw angles (degrees) of samples ``a..b`` (inclusive; clipped to what is in reach)."""
        return self._raw[max(a, self._i0) - self._base : min(b + 1, self._avail) - self._base]

    def _pow_top(self) -> int:
        """Index of the newest sample whose tremor power is known: inside a part the one the
        filter's delay allows at the sample being stepped; between parts (an interrupt, the
        end) no further than the powers stored."""
        return min(self._count - self._fd, self._base + len(self._pow) - 1)

    def _pow_at(self, a: int, b: int) -> np.ndarray:
        """Tremor powers (rad²/s²) of samples ``a..b`` (inclusive, clipped to what is known)."""
        b = min(b, self._pow_top())
        return self._pow[max(a, self._i0) - self._base : b + 1 - self._base]

    def _mean_pow(self, a: int, b: int) -> float | None:
        """Mean tremor power of samples ``a..b`` (clipped to what is known; None if none)."""
        a = max(a, self._i0)
        b = min(b, self._pow_top())
        if b < a:
            return None
        return float(self._pcs[b + 1 - self._base] - self._pcs[a - self._base]) / (b - a + 1)

    def _db(self, power: float | None) -> float | None:
        """Power against the rest baseline, dB (None without a baseline)."""
        if power is None or not self._rest_power or not power > 0:
            return None
        return float(10.0 * np.log10(power / self._rest_power))

    def _effort(self, a: int, b: int) -> float | None:
        """Effort index (dB against rest) of samples ``a..b`` (as far as known)."""
        return self._db(self._mean_pow(a, b))

    def _effortful(self, a: int, b: int) -> bool:
        """Whether samples ``a..b`` carry effort (True when there is no rest to compare with:
        then a still plateau away from rest is taken for a hold, as before effort was known)."""
        db = self._effort(a, b)
        return db is None or db >= self.p.effort_on_db

    # ------------------------------------------------------------------ the state machine
    def _step(self, s: float, rate: float, trail: float) -> None:
        """One sample: ``s`` the smoothed angle (degrees), ``rate`` its rate (deg/s), ``trail``
        the trailing window's tremor power (rad²/s², NaN while unknown)."""
        p = self.p
        i = self._count - self.delay  # index of the sample this smoothed value describes
        state = self.state
        if state in (REST, HOLDING):
            resumed, self._resumed = self._resumed, False
            # the trailing tremor power against rest's (None without a baseline)
            ratio = trail / self._rest_power if self._rest_power and trail == trail else None
            if state == REST:
                self._rest_step(i, s, s - self.rest, rate, ratio, resumed)
            else:
                self._holding_step(i, s, abs(rate) < p.still_dps, ratio)
            return
        self._resumed = False
        exc = self._exc
        assert exc is not None
        sg = exc.sign
        sd = sg * s  # directed: positive away from rest
        ed = sd - sg * self.rest
        if state == EXCURSION:
            self._excursion_step(exc, i, sd, ed, abs(rate) < p.still_dps)
            return
        # RETURNING
        if sd < self._ret_min:
            self._ret_min_i, self._ret_min = i, sd
        if ed < p.low_deg:
            self._finish_excursion(i)
            self.state = REST
            self._last_low_i = i
            self._rest_from = i
        elif sd > self._ret_min + p.start_deg:
            end_i = self._ret_min_i
            self._finish_excursion(end_i)
            self._begin(i, end_i, sg, sg * sd)

    def _rest_step(
        self, i: int, s: float, e: float, rate: float, ratio: float | None, resumed: bool
    ) -> None:
        p = self.p
        still = abs(rate) < p.still_dps
        near = abs(e) < p.start_deg
        if still and near:
            if self._still_since is None:
                self._still_since = i
        else:
            self._still_since = None
        # effort at rest: an isometric hold once it lasts min_hold_s
        j = self._pow_top()
        settled = self._still_since is not None and j - self._win + 1 >= self._still_since
        if ratio is not None and settled:
            on = ratio >= (self._off if self._iso_run_i is not None else self._on)
            if on and self._iso_run_i is None:
                self._iso_run_i = i
            elif not on:
                self._iso_run_i = None
            if self._iso_run_i is not None and i - self._iso_run_i >= p.min_hold_s * self.rate:
                self._start_iso(i, s)
                return
        else:
            self._iso_run_i = None
        if still and near and self._iso_run_i is None and abs(rate) < p.rest_still_dps:
            self.rest += self._rest_alpha * (s - self.rest)
            if not j % self._win and len(self._rest_windows) < REST_WINDOWS:
                self._learn_rest_power(j, ratio)
        if e > p.start_deg or e < -p.start_deg:
            self._iso_run_i = None
            start = self._last_low_i if self._last_low_i is not None else i
            self._begin(i, start, 1 if e > 0 else -1, s)
            assert self._exc is not None
            self._exc.from_gap = resumed
        elif abs(e) < p.low_deg:
            self._last_low_i = i

    def _run(
        self, q: int, sl: list, smooth: np.ndarray, rate: np.ndarray, trail: np.ndarray
    ) -> int:
        """Samples from ``q`` (of this chunk) that :meth:`_step` would take through its state
        without a decision, done at once with the very same arithmetic; returns where the run
        stops (``q``: the next sample needs a full step)."""
        if self.state == REST:
            return (
                q if self._iso_run_i is not None else self._quiet_rest(q, sl, smooth, rate, trail)
            )
        exc = self._exc
        if exc is None:
            return q
        if self.state == RETURNING:
            return self._returning_run(exc, q, smooth)
        if self.state == EXCURSION and exc.stretch is None and exc.hold_start_i is None:
            return q if exc.pause_i is not None else self._moving_run(exc, q, sl, smooth, rate)
        return q

    def _moving_run(
        self, exc: _Excursion, q: int, sl: list, smooth: np.ndarray, rate: np.ndarray
    ) -> int:
        """EXCURSION without a hold, pause or stretch: the run of samples before the next
        decision (back under the return level; a still plateau beyond ``hold_min_deg`` that
        outgrows ``pause_range_deg`` or lasts ``min_hold_s``); only the peak and the open
        plateau's extremes move."""
        p = self.p
        sg, rest, base = exc.sign, self.rest, exc.sign * exc.rest
        sd0 = sg * sl[q]  # the first sample, checked cheaply before the arrays
        if sd0 - sg * rest < max(p.return_deg, p.return_fraction * (max(exc.peak, sd0) - base)):
            return q
        end = min(len(sl), q + QUIET_BLOCK)
        sd = sg * smooth[q:end]
        ed = sd - sg * rest
        top = np.fmax(np.fmax.accumulate(sd), exc.peak)  # the peak after each sample
        back = (ed < np.maximum(p.return_deg, p.return_fraction * (top - base))).nonzero()[0]
        k = int(back[0]) if len(back) else len(sd)
        flat = ((np.abs(rate[q:end]) < p.still_dps) & (ed >= p.hold_min_deg))[:k]
        i0 = self._count - self.delay  # sample q's index
        # the plateaus (runs of flat samples; the first may be open already): each stops the
        # run where it outgrows pause_range_deg or lasts min_hold_s
        padded = np.zeros(k + 2, np.int8)
        padded[1:-1] = flat
        edges = np.diff(padded).nonzero()[0]
        starts, ends = edges[::2], edges[1::2]
        plateau = None
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if a >= k:
                break
            seg = sd[a:b]
            if a == 0 and exc.plateau_i is not None:  # goes on from the open plateau
                start, lo, hi = (
                    exc.plateau_i,
                    np.fmin(np.fmin.accumulate(seg), exc.plat_lo),
                    np.fmax(np.fmax.accumulate(seg), exc.plat_hi),
                )
            else:
                start, lo, hi = i0 + a, np.fmin.accumulate(seg), np.fmax.accumulate(seg)
            held = i0 + np.arange(a, b) - start
            over = ((hi - lo > p.pause_range_deg) | (held >= p.min_hold_s * self.rate)).nonzero()[0]
            if len(over):
                k = min(k, a + int(over[0]))
            if b >= k:  # the plateau the run ends in (or after)
                if k > a:
                    plateau = (start, float(lo[k - a - 1]), float(hi[k - a - 1]))
                break
        if k == 0:
            return q
        if top[k - 1] > exc.peak:
            exc.peak = float(top[k - 1])
            exc.peak_i = i0 + int((sd[:k] == exc.peak).nonzero()[0][0])
        if plateau is None or not flat[k - 1]:
            exc.plateau_i = None
        else:
            exc.plateau_i, exc.plat_lo, exc.plat_hi = plateau
        return q + k

    def _returning_run(self, exc: _Excursion, q: int, smooth: np.ndarray) -> int:
        """RETURNING: the run of samples neither back within ``low_deg`` of rest nor moving out
        again by ``start_deg``; only the lowest point moves."""
        p = self.p
        sg = exc.sign
        sd0 = sg * float(smooth[q])  # the first sample, checked cheaply before the arrays
        if sd0 - sg * self.rest < p.low_deg or sd0 > min(self._ret_min, sd0) + p.start_deg:
            return q
        end = min(len(smooth), q + QUIET_BLOCK)
        sd = sg * smooth[q:end]
        ed = sd - sg * self.rest
        low = np.fmin(np.fmin.accumulate(sd), self._ret_min)  # the lowest after each
        hit = ((ed < p.low_deg) | (sd > low + p.start_deg)).nonzero()[0]
        k = int(hit[0]) if len(hit) else end - q
        if k == 0:
            return q
        if low[k - 1] < self._ret_min:
            self._ret_min = float(low[k - 1])
            self._ret_min_i = (
                self._count - self.delay + int((sd[:k] == self._ret_min).nonzero()[0][0])
            )
        return q + k

    def _quiet_rest(
        self, q: int, sl: list, smooth: np.ndarray, rate: np.ndarray, trail: np.ndarray
    ) -> int:
        """The run of samples from ``q`` (of this chunk; REST, no effort run) in which
        :meth:`_rest_step` would only move the rest angle and its bookkeeping: done here at
        once, with the very same arithmetic; returns where the run stops (``q`` when the next
        sample needs a full step: it may leave rest, start an effort run or teach the
        baseline)."""
        p = self.p
        end = min(len(sl), q + QUIET_BLOCK)
        c0 = self._count
        win = self._win
        if len(self._rest_windows) < REST_WINDOWS:  # stop before a baseline window ends
            end = min(end, q + (self._fd - c0) % win)
        if end <= q or not abs(sl[q] - self.rest) < p.start_deg - QUIET_MARGIN_DEG:
            return q  # (the first sample checked cheaply before the arrays)
        # where the leg may leave rest (judged against today's rest; checked exactly below)
        e0 = smooth[q:end] - self.rest
        far = (~(np.abs(e0) < p.start_deg - QUIET_MARGIN_DEG)).nonzero()[0]
        if len(far):
            end = q + int(far[0])
        if end <= q:
            return q
        n = end - q
        ii = c0 + np.arange(n) - self.delay
        r = rate[q:end]
        still = np.abs(r) < p.still_dps
        if self._rest_power:  # effort seen while settled would start an effort run
            ns = (~still).nonzero()[0]
            last_ns = np.full(n, -1)
            last_ns[ns] = ns
            last_ns = np.maximum.accumulate(last_ns)
            prev = self._still_since if self._still_since is not None else int(ii[0])
            since = np.where(last_ns >= 0, ii[np.minimum(last_ns + 1, n - 1)], prev)
            settled = still & (last_ns < np.arange(n))
            settled &= ii + (self.delay - self._fd) - win + 1 >= since
            tw = trail[q:end]
            on = (settled & (tw == tw) & (tw >= self._on * self._rest_power)).nonzero()[0]
            if len(on):
                n = int(on[0])
                if n == 0:
                    return q
        # the rest angle before each sample, as _rest_step moves it (the leg near rest)
        calm = (still & (np.abs(r) < p.rest_still_dps))[:n]
        rest = self.rest
        alpha = self._rest_alpha
        after = [rest]  # the rest angle after each calm sample (Python floats, one by one)
        keep = after.append
        for x in smooth[q : q + n][calm].tolist():
            rest += alpha * (x - rest)
            keep(rest)
        # before each sample: after the calm samples before it
        before = np.array(after)[np.cumsum(calm) - calm]
        e = smooth[q : q + n] - before
        left = (~(np.abs(e) < p.start_deg)).nonzero()[0]
        cut = int(left[0]) if len(left) else n
        if cut == 0:
            return q
        still_c = still[:cut]
        ns = (~still_c).nonzero()[0]
        if len(ns):
            self._still_since = None if ns[-1] == cut - 1 else int(ii[ns[-1] + 1])
        elif self._still_since is None:
            self._still_since = int(ii[0])
        low = (np.abs(e[:cut]) < p.low_deg).nonzero()[0]
        if len(low):
            self._last_low_i = int(ii[low[-1]])
        self.rest = float(before[cut]) if cut < n else rest
        return q + cut

    def _begin(self, i: int, start_i: int, sign: int, s: float) -> None:
        self._exc = _Excursion(start_i=start_i, rest=self.rest, peak_i=i, peak=sign * s, sign=sign)
        self.state = EXCURSION
        self.events.append(AnalysisEvent(EventKind.REP_STARTED, self._time(start_i)))

    def _stretch_step(self, st: _Stretch, i: int, sd: float, still: bool) -> None:
        """One sample in a stretch: its end when the leg starts back, overpressure when it goes
        further, else the level creeping as the tissue gives."""
        p = self.p
        away = sd - st.level
        if away < -p.start_deg:  # the leg starts back: the stretch is over
            self._close_stretch(i)
        elif st.op_start_i is None and away > p.overpressure_min_deg:
            self._start_overpressure(st, i)
        elif st.op_start_i is not None and sd > st.level:
            st.level, st.level_i = sd, i  # under overpressure: the level is its top
        elif still and abs(away) <= HOLD_TRACK_DEG:  # creep as the tissue gives
            st.level += self._hold_alpha * (sd - st.level)
            st.level_i = i

    def _excursion_step(self, exc: _Excursion, i: int, sd: float, ed: float, still: bool) -> None:
        p = self.p
        if sd > exc.peak:
            exc.peak, exc.peak_i = sd, i
        if exc.stretch is not None:
            self._stretch_step(exc.stretch, i, sd, still)
            return
        # the leg has left the hold once it is start_deg away from the hold's level (its end
        # is found afterwards where it left that level)
        if exc.hold_start_i is not None and abs(sd - exc.hold_level) > p.start_deg:
            self._close_hold(i)
            exc.plateau_i = None
        if exc.pause_i is not None:
            away = sd - exc.pause_level
            if away > p.start_deg:
                if exc.pause_level - exc.rest * exc.sign < p.stretch_min_deg:
                    # further out from a pause without effort near rest: the leg had settled
                    # there, and this is a new excursion from it
                    self._settle(self._departure_from(exc.pause_i, exc.pause_level_i, i),
                                 exc.sign * exc.pause_level)  # fmt: skip
                    return
                exc.pause_i = None
                exc.plateau_i = None
            elif away < -p.start_deg:
                exc.pause_i = None
                exc.plateau_i = None
        if still and ed >= p.hold_min_deg:
            if exc.plateau_i is None or (
                exc.pause_i is None
                and exc.hold_start_i is None
                and max(exc.plat_hi, sd) - min(exc.plat_lo, sd) > p.pause_range_deg
                and not self._effortful(exc.plateau_i, i)
            ):  # a pause keeps within pause_range_deg (a crawl does not)
                exc.plateau_i = i
                exc.plat_lo = exc.plat_hi = sd
            exc.plat_lo, exc.plat_hi = min(exc.plat_lo, sd), max(exc.plat_hi, sd)
            held = i - exc.plateau_i
            if exc.hold_start_i is None and exc.pause_i is None:
                if held >= p.min_hold_s * self.rate:
                    if self._effortful(exc.plateau_i, i):
                        exc.hold_start_i = exc.plateau_i
                        exc.hold_depth = ed
                        exc.hold_level, exc.hold_level_i = sd, i
                        self.events.append(
                            AnalysisEvent(EventKind.HOLD_STARTED, self._time(exc.plateau_i))
                        )
                    else:
                        exc.pause_i = exc.plateau_i
                        exc.pause_level, exc.pause_level_i = sd, i
            elif exc.hold_start_i is not None:
                if abs(sd - exc.hold_level) <= HOLD_TRACK_DEG:  # creep, not a move away
                    exc.hold_level += self._hold_alpha * (sd - exc.hold_level)
                    exc.hold_level_i = i
            else:
                assert exc.pause_i is not None
                if abs(sd - exc.pause_level) <= HOLD_TRACK_DEG:
                    exc.pause_level += self._hold_alpha * (sd - exc.pause_level)
                    exc.pause_level_i = i
                paused = i - exc.pause_i
                far = exc.pause_level - exc.sign * exc.rest >= p.stretch_min_deg
                if far and paused >= p.stretch_min_s * self.rate:
                    self._start_stretch(exc, i)
                    return
                if not far and paused >= p.settle_s * self.rate:
                    self._settle(i, exc.sign * sd)
                    return
        else:
            exc.plateau_i = None
        level = max(p.return_deg, p.return_fraction * (exc.peak - exc.sign * exc.rest))
        if exc.hold_start_i is not None:
            # a shallow hold (a few degrees) creeps and trembles around the fixed return
            # level; while holding, only a drop to half the hold's depth is a return
            level = min(level, 0.5 * exc.hold_depth)
        if ed < level:
            if exc.hold_start_i is not None:
                self._close_hold(i)
            self.state = RETURNING
            self._ret_min_i, self._ret_min = i, sd

    # ------------------------------------------------------------------ reps
    def _finish_excursion(self, end_i: int) -> None:
        exc = self._exc
        assert exc is not None
        self._exc = None
        if exc.holds or exc.stretches:
            self._envelope(exc, end_i)
            return
        sg = exc.sign
        direction = Direction.INTERNAL if sg > 0 else Direction.EXTERNAL
        start, peak_t, end = self._time(exc.start_i), self._time(exc.peak_i), self._time(end_i)
        rng = exc.peak - sg * exc.rest
        if exc.from_gap:  # its start (and maybe its peak) fell in the gap
            part = PartialRep(
                start, peak_t, end, sg * exc.peak, rng, "began during a sensor gap", direction
            )
            self.partial_reps.append(part)
            self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))
        elif rng >= self.rep_threshold():
            peak_t, peak = self._raw_peak(exc.start_i, end_i, sg)
            rep = Rep(
                start, peak_t, end, peak, sg * (peak - exc.rest),
                self._dwell(exc.start_i, end_i, peak, sg), direction,
            )  # fmt: skip
            self._largest = max(self._largest, rep.range_deg)
            self.reps.append(rep)
            self.events.append(AnalysisEvent(EventKind.REP_COUNTED, end, rep))
        else:
            part = PartialRep(start, peak_t, end, sg * exc.peak, rng, "below threshold", direction)
            self.partial_reps.append(part)
            self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))

    def _envelope(self, exc: _Excursion, end_i: int) -> None:
        """The timeline's span of an excursion that was one hold or one stretch: from leaving
        rest to being back (an excursion with more than one is left to its items)."""
        if len(exc.holds) + len(exc.stretches) == 1:
            kind = ActivityKind.HOLD if exc.holds else ActivityKind.STRETCH
            self.envelopes.append(Activity(kind, self._time(exc.start_i), self._time(end_i)))

    def _raw_peak(self, a: int, b: int, sign: int = 1) -> tuple[float, float]:
        """(time, angle) of the extreme raw angle in [a, b] in direction ``sign`` (as far as
        still buffered)."""
        lo = max(a, self._i0)
        seg = self._raw_at(lo, b)
        k = int(np.argmax(sign * seg))
        return self._time(lo + k), float(seg[k])

    def _dwell(self, a: int, b: int, peak: float, sign: int = 1) -> float:
        """Seconds of samples ``a..b`` (as far as still buffered) within ``DWELL_DEG`` of
        ``peak`` (degrees; direction ``sign``)."""
        seg = sign * self._raw_at(a, b)
        return float(np.count_nonzero(seg >= sign * peak - DWELL_DEG)) / self.rate

    def _cut(self, reason: str) -> list[AnalysisEvent]:
        """End an open excursion or hold here: its hold or stretch closes, and without one it
        is partial."""
        n_before = len(self.events)
        last = self._count - 1 - self.delay
        if self.state == HOLDING:
            self._close_iso(last, by_effort=False)
        exc = self._exc
        if exc is not None and self.state in (EXCURSION, RETURNING):
            if exc.hold_start_i is not None:
                self._close_hold(last)
            if exc.stretch is not None:
                self._close_stretch(last, depart=False)
            if exc.holds or exc.stretches:
                self._envelope(exc, last)
            else:
                sg = exc.sign
                part = PartialRep(
                    self._time(exc.start_i),
                    self._time(exc.peak_i),
                    None,
                    sg * exc.peak,
                    exc.peak - sg * exc.rest,
                    reason,
                    Direction.INTERNAL if sg > 0 else Direction.EXTERNAL,
                )
                self.partial_reps.append(part)
                self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, self._time(last), part))
        self._exc = None
        self.state = REST
        return self.events[n_before:]

    def _settle(self, end_i: int, level: float) -> None:
        """The pause is the new rest (``level`` degrees, left at ``end_i``): the excursion into
        it becomes a partial rep."""
        exc = self._exc
        assert exc is not None
        peak_t, peak = self._raw_peak(exc.start_i, end_i, exc.sign)
        end = self._time(end_i)
        part = PartialRep(
            self._time(exc.start_i), peak_t, end, peak, exc.sign * (peak - exc.rest),
            "settled at a new rest",
            Direction.INTERNAL if exc.sign > 0 else Direction.EXTERNAL,
        )  # fmt: skip
        self.partial_reps.append(part)
        self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))
        self._exc = None
        self.state = REST
        self.rest = level
        self._last_low_i = end_i

    # ------------------------------------------------------------------ holds
    def _start_iso(self, i: int, s: float) -> None:
        """Effort at rest has lasted ``min_hold_s``: an isometric hold from where it began."""
        assert self._iso_run_i is not None
        j = self._pow_top()
        lo = max(self._iso_run_i - round(EDGE_SEARCH_S * self.rate), self._rest_from, self._i0)
        start = self._change(lo, j)
        self._iso = _Iso(start_i=start, level=s, level_i=i)
        self._iso_run_i = None
        self.state = HOLDING
        self.events.append(AnalysisEvent(EventKind.HOLD_STARTED, self._time(start)))

    def _holding_step(self, i: int, s: float, still: bool, ratio: float | None) -> None:
        p = self.p
        iso = self._iso
        assert iso is not None
        if abs(s - iso.level) > p.start_deg:  # the leg moves off: the hold ended where it left
            seg = self._raw_at(iso.start_i, i)
            end = iso.start_i + self._departure(seg, iso.level_i - iso.start_i)
            self._close_iso(end, by_effort=False)
            return
        if still and abs(s - iso.level) <= HOLD_TRACK_DEG:
            iso.level += self._hold_alpha * (s - iso.level)
            iso.level_i = i
        if ratio is not None and ratio < self._off:
            self._close_iso(self._pow_top())

    def _close_iso(self, end_i: int, by_effort: bool = True) -> None:
        iso = self._iso
        assert iso is not None
        if by_effort:
            lo = max(iso.start_i + 1, end_i - round(EDGE_SEARCH_S * self.rate))
            end_i = self._change(lo, end_i)
        end_i = max(end_i, iso.start_i + 1)
        seg = self._raw_at(iso.start_i, end_i)
        hold = Hold(
            self._time(iso.start_i),
            self._time(end_i),
            float(seg.mean()),
            float(seg.std()),
            self._effort(iso.start_i, end_i),
        )
        self.holds.append(hold)
        self.events.append(AnalysisEvent(EventKind.HOLD_ENDED, hold.end_s, hold))
        self._iso = None
        self.state = REST
        self._last_low_i = end_i
        self._rest_from = end_i

    def _change(self, a: int, b: int) -> int:
        """Index in ``a..b`` where the tremor power changes level: the split into two constant
        levels of highest likelihood (the band-passed rate taken as Gaussian)."""
        y = self._pow_at(a, b) + 1e-12
        a = max(a, self._i0)
        n = len(y)
        m = max(2, round(0.1 * self.rate))
        if n < 2 * m + 1:
            return a + n // 2
        c = np.cumsum(y)
        k = np.arange(m, n - m)
        left = c[k - 1] / k
        right = (c[-1] - c[k - 1]) / (n - k)
        cost = k * np.log(left) + (n - k) * np.log(right)
        q = int(np.argmin(cost))
        split = int(k[q])
        # from the split (the middle of the rise), out to where the effort begins: the first
        # sample, going toward the quiet side, whose short-window power is back within
        # ONSET_RATIO of the quiet side's level
        r = max(1, round(ONSET_S * self.rate))
        short = np.convolve(y, np.full(r, 1.0 / r), mode="same")
        if left[q] < right[q]:
            quiet = np.flatnonzero(short[:split] <= ONSET_RATIO * left[q])
            return a + (int(quiet[-1]) + 1 if len(quiet) else split)
        quiet = np.flatnonzero(short[split:] <= ONSET_RATIO * right[q])
        return a + split + (int(quiet[0]) if len(quiet) else 0)

    def _close_hold(self, end_i: int) -> None:
        exc = self._exc
        assert exc is not None and exc.hold_start_i is not None
        a = max(exc.hold_start_i, self._i0)
        end_i = self._departure_from(a, exc.hold_level_i, end_i)
        seg = self._raw_at(a, end_i)
        hold = Hold(
            self._time(exc.hold_start_i),
            self._time(end_i),
            float(seg.mean()),
            float(seg.std()),
            self._effort(a, end_i),
        )
        exc.holds.append(hold)
        exc.hold_start_i = None
        self.holds.append(hold)
        self.events.append(AnalysisEvent(EventKind.HOLD_ENDED, hold.end_s, hold))

    def _departure_from(self, a: int, level_i: int, i: int) -> int:
        """Index where the leg left a level held from ``a`` (last set at ``level_i``), looking
        back from ``i``."""
        a = max(a, self._i0)
        return a + self._departure(self._raw_at(a, i), level_i - a)

    def _departure(self, seg: np.ndarray, held: int) -> int:
        """Index in ``seg`` (a hold up to the moment its end was decided) where the leg left the
        hold's level: the last sample within tolerance of the level held from 1.5 s to 0.5 s
        before index ``held`` (where the hold's level was last set: the leg may have begun to
        move off just before)."""
        r = self.rate
        held = min(max(held, 1), len(seg) - 1)
        lo, hi = held - round(1.5 * r), held - round(0.5 * r)
        ref = seg[lo:hi] if lo >= 0 else seg[: max(1, held // 2)]
        level = float(np.median(ref))
        tol = max(0.3, 4.0 * float(np.std(ref)))
        k = max(1, round(0.05 * r))
        smooth = np.convolve(seg, np.full(k, 1.0 / k), mode="same")
        inside = np.flatnonzero(np.abs(smooth - level) <= tol)
        return int(inside[-1]) if len(inside) else len(seg) - 1

    # ------------------------------------------------------------------ stretches
    def _start_stretch(self, exc: _Excursion, i: int) -> None:
        """A pause far from rest has lasted ``stretch_min_s``: a stretch, from where the movement
        into it ended (:func:`_arrival`, looked for from where the leg came within
        ``ARRIVED_DEG`` of the level)."""
        assert exc.pause_i is not None
        sg = exc.sign
        lo = max(exc.start_i, self._i0)
        seg = sg * self._raw_at(lo, i)
        k = max(1, round(0.05 * self.rate))
        smooth = np.convolve(seg, np.full(k, 1.0 / k), mode="same")
        arrived = np.flatnonzero(smooth >= exc.pause_level - ARRIVED_DEG)
        start = lo + _arrival(seg, int(arrived[0]), self.rate) if len(arrived) else exc.pause_i
        exc.stretch = _Stretch(start_i=start, level=exc.pause_level, level_i=exc.pause_level_i)
        exc.pause_i = None
        exc.plateau_i = None
        self.events.append(AnalysisEvent(EventKind.STRETCH_STARTED, self._time(start)))

    def _start_overpressure(self, st: _Stretch, i: int) -> None:
        """The leg went further from a stretch's level: overpressure, from where it left the
        level (the last sample within ``OVERPRESSURE_TOL_DEG`` of it)."""
        exc = self._exc
        assert exc is not None
        a = max(st.start_i, self._i0)
        seg = exc.sign * self._raw_at(a, i)
        k = max(1, round(0.05 * self.rate))
        smooth = np.convolve(seg, np.full(k, 1.0 / k), mode="same")
        # the level before the push: the 2 s before it could have begun (a push takes the leg
        # overpressure_min_deg further within 2 s), not the tracked level it has dragged along
        r = round(self.rate)
        ref = smooth[max(0, len(seg) - 4 * r) : max(1, len(seg) - 2 * r)]
        level = float(np.median(ref))
        inside = np.flatnonzero(smooth[: len(seg) - k] <= level + OVERPRESSURE_TOL_DEG)
        st.op_start_i = a + (int(inside[-1]) if len(inside) else len(seg) - 1)
        st.pre_level = level
        st.level, st.level_i = float(smooth[-1]), i
        self.events.append(AnalysisEvent(EventKind.OVERPRESSURE_STARTED, self._time(st.op_start_i)))

    def _close_stretch(self, i: int, depart: bool = True) -> None:
        exc = self._exc
        assert exc is not None and exc.stretch is not None
        st, sg = exc.stretch, exc.sign
        a = max(st.start_i, self._i0)
        if depart:  # where the movement back began (looked for from where it left the level)
            left = self._departure_from(a, st.level_i, i) - a
            end_i = a + _set_off(sg * self._raw_at(a, i), left, self.rate)
        else:
            end_i = i
        end_i = max(end_i, a + 1)
        seg = self._raw_at(a, end_i)
        top = float(np.max(sg * seg))
        at_end = float(np.count_nonzero(sg * seg >= top - END_RANGE_DEG)) / self.rate
        gain = None
        if st.op_start_i is not None:
            k = max(1, round(0.5 * self.rate))
            gain = float(np.mean(sg * seg[-k:])) - st.pre_level
        stretch = Stretch(
            self._time(st.start_i),
            self._time(end_i),
            float(seg.mean()),
            sg * top,
            at_end,
            None if st.op_start_i is None else self._time(st.op_start_i),
            gain,
            Direction.INTERNAL if sg > 0 else Direction.EXTERNAL,
        )
        exc.stretches.append(stretch)
        exc.stretch = None
        exc.plateau_i = None
        self.stretches.append(stretch)
        self.events.append(AnalysisEvent(EventKind.STRETCH_ENDED, stretch.end_s, stretch))

    # ------------------------------------------------------------------ rest baseline
    def _learn_rest_power(self, j: int, ratio: float | None) -> None:
        """Shin tremor power at rest: windows of ``EFFORT_WINDOW_S`` of still rest without
        effort (the first ``REST_WINDOWS`` of them); the baseline is their low quantile."""
        win = self._win
        if (
            len(self._rest_windows) >= REST_WINDOWS
            or j % win
            or self._still_since is None
            or j - win + 1 < max(self._still_since, self._i0, 0)
            or (ratio is not None and ratio >= self._on)
        ):
            return
        power = self._mean_pow(j - win + 1, j)
        if power is None or not power > 0:
            return
        self._rest_windows.append(power)
        self._rest_power = float(np.percentile(self._rest_windows, REST_QUANTILE))


# ---------------------------------------------------------------------- stretch edges
def _edge_speed(seg: np.ndarray, rate: float) -> np.ndarray:
    """Rate of change (degrees per second) of the angles ``seg`` (degrees, one per sample at
    ``rate`` Hz): the slope of a straight line fitted over ``EDGE_SMOOTH_S`` around each sample
    (the ends padded with their own values)."""
    h = max(1, round(EDGE_SMOOTH_S * rate / 2))
    if len(seg) < 2:
        return np.zeros(len(seg))
    x = np.arange(-h, h + 1, dtype=np.float64)
    kernel = x[::-1] / float(np.sum(x * x)) * rate
    return np.convolve(np.pad(seg, (h, h), mode="edge"), kernel, mode="valid")


def _zero_of_tail(v: np.ndarray, a: int, b: int) -> float | None:
    """Where the line fitted to the square root of the speeds ``v[a..b]`` (degrees per second)
    over their indices reaches zero (a fractional index; None if the line is flat or a speed is
    not finite)."""
    x = np.arange(a, b + 1, dtype=np.float64)
    y = np.sqrt(np.maximum(v[a : b + 1], 0.0))
    if not np.isfinite(y).all():
        return None
    xm, ym = float(x.mean()), float(y.mean())
    slope = float(np.dot(x - xm, y - ym)) / float(np.dot(x - xm, x - xm))
    return None if not slope else xm - ym / slope


def _arrival(seg: np.ndarray, anchor: int, rate: float) -> int:
    """Index in ``seg`` (directed angles, degrees, rising into a stretch held from about index
    ``anchor`` on) where the movement into the stretch ended: the approach's speed, less the
    held part's (its median over ``EDGE_BASE_S`` after the speed fell under ``EDGE_SLOW_DPS``),
    extrapolated to zero from its last samples between ``EDGE_FAST_DPS`` and ``EDGE_SLOW_DPS``.
    ``anchor`` when the approach never reached ``EDGE_FAST_DPS`` in the ``EDGE_WINDOW_S``
    before ``anchor``."""
    lo = max(0, anchor - round(EDGE_WINDOW_S * rate))
    seg = seg[lo : anchor + round(EDGE_WINDOW_S * rate)]
    anchor -= lo
    v = _edge_speed(seg, rate)
    fast = np.flatnonzero(v[: anchor + 1] >= EDGE_FAST_DPS)
    if not len(fast):
        return lo + anchor
    a = int(fast[-1])
    slow = np.flatnonzero(v[a:] < EDGE_SLOW_DPS)
    if not len(slow):
        return lo + anchor
    b = a + int(slow[0])
    held = v[b + round(EDGE_BASE_S[0] * rate) : b + round(EDGE_BASE_S[1] * rate)]
    if len(held):
        v = v - float(np.median(held))
        slow = np.flatnonzero(v[a:] < EDGE_SLOW_DPS)
        b = a + int(slow[0]) if len(slow) else b
    if b - a < 3:
        return lo + b
    z = _zero_of_tail(v, a, b - 1)
    if z is None:
        return lo + b
    return lo + round(min(max(z, b), b + 2.0 * rate, len(seg) - 1))


def _set_off(seg: np.ndarray, anchor: int, rate: float) -> int:
    """Index in ``seg`` (directed angles, degrees, of a stretch up to where its end was decided,
    the leg leaving its level at about index ``anchor``) where the movement back began: the
    speed back, less the held part's (its median over ``EDGE_BASE_S`` before the speed rose
    over ``EDGE_SLOW_DPS``), extrapolated back to zero from its first samples between
    ``EDGE_SLOW_DPS`` and ``EDGE_FAST_DPS``. ``anchor`` when the leg never went back at
    ``EDGE_FAST_DPS``."""
    lo = max(0, anchor - round(EDGE_WINDOW_S * rate))
    seg = seg[lo:]
    anchor -= lo
    v = -_edge_speed(seg, rate)
    fast = np.flatnonzero(v[anchor:] >= EDGE_FAST_DPS)
    if not len(fast):
        return lo + anchor
    b = anchor + int(fast[0])
    slow = np.flatnonzero(v[:b] < EDGE_SLOW_DPS)
    if not len(slow):
        return lo + anchor
    a = int(slow[-1]) + 1
    held = v[max(0, a - round(EDGE_BASE_S[1] * rate)) : max(0, a - round(EDGE_BASE_S[0] * rate))]
    if len(held):
        v = v - float(np.median(held))
        slow = np.flatnonzero(v[:b] < EDGE_SLOW_DPS)
        a = int(slow[-1]) + 1 if len(slow) else a
    if b - a < 3:
        return lo + a
    z = _zero_of_tail(v, a, b)
    if z is None:
        return lo + a
    return lo + round(max(min(z, a), a - 2.0 * rate, 0))
