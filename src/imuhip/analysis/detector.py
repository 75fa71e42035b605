"""Streaming detection of AROM repetitions and isometric holds from the hip rotation angle.

One state machine serves live use and offline analysis: offline analysis is this detector run
over the whole recording, so both give the same result on the same data (chunking does not
matter; tested).

Signals: the angle is smoothed by a causal moving average over ``smooth_s``; its constant delay
of ``(n - 1) / 2`` samples is removed from every reported time, so events are reported that much
later than they happen (0.1 s by default) and timed correctly. Rate of change: difference of the
smoothed angle over ``smooth_s``.

States:
- REST: the leg is at rest; the rest angle follows slowly (time constant ``rest_tau_s``) while
  the leg is still, so a leg that settles does not create reps.
- EXCURSION: the angle rose more than ``start_deg`` above rest. A still plateau at least
  ``hold_min_deg`` above rest lasting ``min_hold_s`` makes it a hold (start: where the movement
  into it stopped; end: where the leg starts back). Falling back below
  ``max(return_deg, return_fraction × excursion)`` ends the excursion.
- RETURNING: back near rest; the rep ends at rest (within ``low_deg``) or at the lowest point if
  the leg rises again into the next rep.

Leaving a hold is decided once the leg is ``start_deg`` away from the hold's level: back down,
or up with effort, ends the hold (timed where the leg left the level); up again from a hold
without effort (tremor within ``settle_effort_db`` of rest's) means the plateau was the leg
settling at a new rest, and the rise is a new excursion from it. Likewise a hold that goes on
for ``settle_s`` without effort (over the whole plateau so far) is the leg settled at a new rest;
a hold that had effort is kept however long it lasts (a leg pushing against a band trembles
more). Either way the excursion becomes a partial rep ("settled at a new rest"), the rest angle
jumps to the plateau's level, and detection goes on from there (a slow settle is followed by the
rest filter instead). Without a rest seen before (no effort baseline) a plateau stays a hold.

An excursion with a hold is a hold, not a rep. One without a hold is a rep if it peaked at least
``min_rep_deg`` above rest, else a partial rep ("below threshold"). An excursion still open when
the session ends is a partial rep ("not finished").
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from imuhip.analysis.effort import band_power
from imuhip.analysis.events import DWELL_DEG, AnalysisEvent, EventKind, Hold, PartialRep, Rep

REST, EXCURSION, RETURNING = 0, 1, 2

#: A hold's level follows the still leg within this of it (creep), degrees, with the time
#: constant ``HOLD_TRACK_TAU_S``; a leg further away is leaving the hold (decided ``start_deg``
#: away).
HOLD_TRACK_DEG = 1.0
HOLD_TRACK_TAU_S = 2.0


@dataclass(frozen=True)
class DetectorParams:
    """Thresholds (degrees, seconds, degrees per second)."""

    min_rep_deg: float = 10.0
    start_deg: float = 3.0
    low_deg: float = 1.5
    return_deg: float = 3.0
    return_fraction: float = 0.3
    min_hold_s: float = 2.0
    hold_min_deg: float = 1.5
    still_dps: float = 4.0
    smooth_s: float = 0.2
    rest_tau_s: float = 10.0
    effort_window_s: float = 120.0
    settle_s: float = 30.0
    settle_effort_db: float = 3.0


@dataclass
class _Excursion:
    start_i: int
    rest: float
    peak_i: int
    peak: float
    plateau_i: int | None = None
    hold_start_i: int | None = None
    hold_depth: float = 0.0  # smoothed angle above rest when the hold was recognised
    hold_level: float = 0.0  # smoothed angle of the hold (follows creep, not moves)
    hold_level_i: int = 0  # where hold_level was last set
    holds: list[Hold] = field(default_factory=list)
    from_gap: bool = False  # already under way when the data came back after a gap


class ExerciseDetector:
    """Feed (time, angle, shin gyro) chunks; collect reps, partial reps, holds and events."""

    def __init__(self, rate_hz: float, params: DetectorParams | None = None) -> None:
        self.p = params or DetectorParams()
        self.rate = rate_hz
        p = self.p
        self._n = max(1, round(p.smooth_s * rate_hz))
        self.delay = (self._n - 1) // 2
        # running sums of the raw angle (the last n of them): the moving average from their
        # differences is the same number whatever the chunking (a filter's state is not)
        self._csum = np.zeros(self._n)
        self._hist: deque[float] = deque(maxlen=self._n + 1)
        self._rest_alpha = 1.0 - math.exp(-1.0 / (p.rest_tau_s * rate_hz))
        self._hold_alpha = 1.0 - math.exp(-1.0 / (HOLD_TRACK_TAU_S * rate_hz))
        cap = round(p.effort_window_s * rate_hz) + self._n
        self._t0: float | None = None
        # the last ``cap`` raw angles and shin rates (and the chunk being stepped through):
        # ``_base`` is the global index of their first element, ``_i0`` of the oldest one
        # still in reach, ``_avail`` one past the newest one stepped to
        self._cap = cap
        self._raw = np.empty(0)
        self._gyr = np.empty((0, 3))
        self._base = 0
        self._i0 = 0
        self._avail = 0
        self._count = 0
        self.state = REST
        self.rest = 0.0
        self._resumed = False  # after a gap: an excursion at the first sample began in it
        self._exc: _Excursion | None = None
        self._ret_min_i = 0
        self._ret_min = 0.0
        self._last_low_i: int | None = None
        self._rest_power: float | None = None
        self._rest_power_sum = 0.0
        self._rest_power_n = 0
        self.reps: list[Rep] = []
        self.partial_reps: list[PartialRep] = []
        self.holds: list[Hold] = []
        self.events: list[AnalysisEvent] = []

    # ------------------------------------------------------------------ public
    def update(
        self, t: np.ndarray, angle_deg: np.ndarray, gyr_shin: np.ndarray
    ) -> list[AnalysisEvent]:
        """Process the next samples; returns the events they completed."""
        n_before = len(self.events)
        c = np.cumsum(np.r_[self._csum[-1], np.asarray(angle_deg, np.float64)])[1:]
        prev = np.r_[self._csum, c][: len(c)]  # the running sum n samples before each
        smooth = (c - prev) / self._n
        self._csum = np.r_[self._csum, c][-self._n :]
        if self._t0 is None and len(t):
            self._t0 = float(t[0])
        self._raw = np.concatenate([self._raw, np.asarray(angle_deg, np.float64)])
        self._gyr = np.concatenate([self._gyr, np.asarray(gyr_shin, np.float64).reshape(-1, 3)])
        cap = self._cap
        for s in smooth.tolist():
            self._avail = self._count + 1
            if self._count >= cap:  # the oldest sample just fell out of reach
                self._i0 += 1
            self._step(s)
            self._count += 1
        keep = self._i0 - self._base  # drop what is out of reach
        if keep > 0:
            self._raw, self._gyr, self._base = self._raw[keep:], self._gyr[keep:], self._i0
        return self.events[n_before:]

    def _raw_at(self, a: int, b: int) -> np.ndarray:
        """Raw angles (degrees) of samples ``a..b`` (inclusive; ``a`` in reach)."""
        return self._raw[a - self._base : min(b + 1, self._avail) - self._base]

    def _gyr_at(self, a: int, b: int) -> np.ndarray:
        """Shin rates (N, 3) rad/s of samples ``a..b`` (inclusive; ``a`` in reach)."""
        return self._gyr[a - self._base : min(b + 1, self._avail) - self._base]

    def finish(self) -> list[AnalysisEvent]:
        """End of session: an open excursion becomes a partial rep (or closes its hold); one
        already on its way back is counted."""
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
        in progress ends here. Rest and the effort baseline are kept for :meth:`resume_from`."""
        return self._cut(reason)

    def _cut(self, reason: str) -> list[AnalysisEvent]:
        """End an open excursion here: its hold closes, and without a hold it is partial."""
        n_before = len(self.events)
        last = self._count - 1 - self.delay
        exc = self._exc
        if exc is not None and self.state in (EXCURSION, RETURNING):
            if exc.hold_start_i is not None:
                self._close_hold(last)
            if not exc.holds:
                part = PartialRep(
                    self._time(exc.start_i),
                    self._time(exc.peak_i),
                    None,
                    exc.peak,
                    exc.peak - exc.rest,
                    reason,
                )
                self.partial_reps.append(part)
                self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, self._time(last), part))
        self._exc = None
        self.state = REST
        return self.events[n_before:]

    def resume_from(self, previous: ExerciseDetector) -> None:
        """Start from where ``previous`` stopped (after a gap): its rest angle and effort
        baseline; this detector's times start with the first sample it is fed."""
        self.rest = previous.rest
        self._resumed = True
        self._rest_power = previous._rest_power
        self._rest_power_sum = previous._rest_power_sum
        self._rest_power_n = previous._rest_power_n

    # ------------------------------------------------------------------ internals
    def _time(self, i: int) -> float:
        """Time of sample ``i`` (the input is on a uniform grid)."""
        return (self._t0 or 0.0) + i / self.rate

    def _step(self, s: float) -> None:
        p = self.p
        hist = self._hist
        hist.append(s)
        if len(hist) <= self._n:
            return  # filling the smoother
        i = self._count - self.delay  # index of the sample this smoothed value describes
        resumed, self._resumed = self._resumed, False
        rate = (s - hist[0]) * self.rate / self._n
        still = abs(rate) < p.still_dps
        e = s - self.rest
        if self.state == REST:
            if still and e < p.start_deg:
                self.rest += self._rest_alpha * (s - self.rest)
                self._learn_rest_power(i)
            if e > p.start_deg:
                self._begin(i, s, self._last_low_i if self._last_low_i is not None else i)
                assert self._exc is not None
                self._exc.from_gap = resumed
            elif e < p.low_deg:
                self._last_low_i = i
            return
        exc = self._exc
        assert exc is not None
        if self.state == EXCURSION:
            if s > exc.peak:
                exc.peak, exc.peak_i = s, i
            if exc.hold_start_i is not None:
                # the leg has left the hold once it is start_deg away from the hold's level
                # (its end is found afterwards where it left that level); which way decides
                away = s - exc.hold_level
                if away > p.start_deg and self._effortless(exc.hold_start_i, i):
                    # up again from a plateau held without effort: that was the leg settling
                    # at a new rest, and this is a new excursion from it
                    self._settle(self._hold_departure(i), exc.hold_level)
                    return
                if abs(away) > p.start_deg:
                    self._close_hold(i)
                    exc.plateau_i = None
            if still and e >= p.hold_min_deg:
                if exc.plateau_i is None:
                    exc.plateau_i = i
                if exc.hold_start_i is None and (i - exc.plateau_i) >= p.min_hold_s * self.rate:
                    exc.hold_start_i = exc.plateau_i
                    exc.hold_depth = e
                    exc.hold_level, exc.hold_level_i = s, i
                    self.events.append(
                        AnalysisEvent(EventKind.HOLD_STARTED, self._time(exc.plateau_i))
                    )
                elif exc.hold_start_i is not None:
                    if self._settled(exc, i):
                        self._settle(i, s)
                        return
                    if abs(s - exc.hold_level) <= HOLD_TRACK_DEG:  # creep, not a move away
                        exc.hold_level += self._hold_alpha * (s - exc.hold_level)
                        exc.hold_level_i = i
            else:
                exc.plateau_i = None
            level = max(p.return_deg, p.return_fraction * (exc.peak - exc.rest))
            if exc.hold_start_i is not None:
                # a shallow hold (a few degrees) creeps and trembles around the fixed return
                # level; while holding, only a drop to half the hold's depth is a return
                level = min(level, 0.5 * exc.hold_depth)
            if e < level:
                if exc.hold_start_i is not None:
                    self._close_hold(i)
                self.state = RETURNING
                self._ret_min_i, self._ret_min = i, s
            return
        # RETURNING
        if s < self._ret_min:
            self._ret_min_i, self._ret_min = i, s
        if e < p.low_deg:
            self._finish_excursion(i)
            self.state = REST
            self._last_low_i = i
        elif s > self._ret_min + p.start_deg:
            end_i = self._ret_min_i
            self._finish_excursion(end_i)
            self._begin(i, s, end_i)

    def _begin(self, i: int, s: float, start_i: int) -> None:
        self._exc = _Excursion(start_i=start_i, rest=self.rest, peak_i=i, peak=s)
        self.state = EXCURSION
        self.events.append(AnalysisEvent(EventKind.REP_STARTED, self._time(start_i)))

    def _finish_excursion(self, end_i: int) -> None:
        exc = self._exc
        assert exc is not None
        self._exc = None
        if exc.holds:
            return
        start, peak_t, end = self._time(exc.start_i), self._time(exc.peak_i), self._time(end_i)
        rng = exc.peak - exc.rest
        if exc.from_gap:  # its start (and maybe its peak) fell in the gap
            part = PartialRep(start, peak_t, end, exc.peak, rng, "began during a sensor gap")
            self.partial_reps.append(part)
            self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))
        elif rng >= self.p.min_rep_deg:
            peak = self._raw_peak(exc.start_i, end_i)
            rep = Rep(
                start, peak[0], end, peak[1], peak[1] - exc.rest,
                self._dwell(exc.start_i, end_i, peak[1]),
            )  # fmt: skip
            self.reps.append(rep)
            self.events.append(AnalysisEvent(EventKind.REP_COUNTED, end, rep))
        else:
            part = PartialRep(start, peak_t, end, exc.peak, rng, "below threshold")
            self.partial_reps.append(part)
            self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))

    def _raw_peak(self, a: int, b: int) -> tuple[float, float]:
        """(time, angle) of the largest raw angle in [a, b] (as far as still buffered)."""
        lo = max(a, self._i0)
        seg = self._raw_at(lo, b)
        k = int(np.argmax(seg))
        return self._time(lo + k), float(seg[k])

    def _dwell(self, a: int, b: int, peak: float) -> float:
        """Seconds of samples ``a..b`` (as far as still buffered) within ``DWELL_DEG`` of
        ``peak``."""
        seg = self._raw_at(max(a, self._i0), b)
        return float(np.count_nonzero(seg >= peak - DWELL_DEG)) / self.rate

    def _settled(self, exc: _Excursion, i: int) -> bool:
        """Whether the hold in progress is the leg at rest at a new level: effortless for
        ``settle_s`` (checked once a second from then on)."""
        assert exc.hold_start_i is not None
        held = i - exc.hold_start_i
        need = round(self.p.settle_s * self.rate)
        if held < need or (held - need) % max(1, round(self.rate)):
            return False
        return self._effortless(exc.hold_start_i, i)

    def _effortless(self, a: int, b: int) -> bool:
        """Whether samples ``a..b`` show no effort (tremor within ``settle_effort_db`` of rest;
        False when there is no rest to compare with)."""
        effort = self._effort(a, b)
        return effort is not None and effort < self.p.settle_effort_db

    def _hold_departure(self, i: int) -> int:
        """Index where the leg left the level of the hold in progress (looking back from i)."""
        exc = self._exc
        assert exc is not None and exc.hold_start_i is not None
        a = max(exc.hold_start_i, self._i0)
        seg = self._raw_at(a, i)
        return a + self._departure(seg, exc.hold_level_i - a)

    def _settle(self, end_i: int, level: float) -> None:
        """The plateau is the new rest (``level``, left at ``end_i``): the excursion into it
        becomes a partial rep, and its hold none."""
        exc = self._exc
        assert exc is not None
        peak_t, peak = self._raw_peak(exc.start_i, end_i)
        end = self._time(end_i)
        part = PartialRep(
            self._time(exc.start_i), peak_t, end, peak, peak - exc.rest, "settled at a new rest"
        )
        self.partial_reps.append(part)
        self.events.append(AnalysisEvent(EventKind.PARTIAL_REP, end, part))
        self._exc = None
        self.state = REST
        self.rest = level
        self._last_low_i = end_i

    def _effort(self, a: int, b: int) -> float | None:
        """Effort index (dB against rest) of samples ``a..b`` (as far as still buffered)."""
        lo = max(a, self._i0)
        gyr = self._gyr_at(lo, b)
        power = band_power(gyr, self.rate)
        if not self._rest_power or not power > 0:
            return None
        return float(10.0 * np.log10(power / self._rest_power))

    def _close_hold(self, end_i: int) -> None:
        exc = self._exc
        assert exc is not None and exc.hold_start_i is not None
        a = max(exc.hold_start_i, self._i0)
        end_i = self._hold_departure(end_i)
        seg = self._raw_at(a, end_i)
        effort = self._effort(a, end_i)
        hold = Hold(
            self._time(exc.hold_start_i),
            self._time(end_i),
            float(seg.mean()),
            float(seg.std()),
            effort,
        )
        exc.holds.append(hold)
        exc.hold_start_i = None
        self.holds.append(hold)
        self.events.append(AnalysisEvent(EventKind.HOLD_ENDED, hold.end_s, hold))

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

    def _learn_rest_power(self, i: int) -> None:
        """Shin tremor power at rest, from 2 s windows of still rest (first minute of rest)."""
        win = round(2.0 * self.rate)
        if self._rest_power_n >= 30 or (i - self._i0) < win or i % win:
            return
        gyr = self._gyr_at(i - win + 1, i)
        self._rest_power_sum += band_power(gyr, self.rate)
        self._rest_power_n += 1
        self._rest_power = self._rest_power_sum / self._rest_power_n
