"""What a chart of a whole session draws, accumulated as the pipeline's chunks pass, in a size
that does not grow with the session.

:class:`TraceEnvelope` keeps every sample of a trace while there are at most ``raw_limit`` of
them (a chart of such a trace is drawn from exactly the samples the arrays would give), then
turns into an envelope: per time bucket the minimum and the maximum (each with its time) of the
finite values; the bucket width doubles, merging pairs of buckets, whenever the session
outgrows ``buckets`` of them. :class:`GapSpans` finds the stretches without valid grid points
chunk by chunk. Pure numpy, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Samples kept as they are before a trace turns into an envelope (22 min at 100 Hz).
RAW_LIMIT = 2**17
#: Most envelope buckets (at least half of them cover the session once it is an envelope:
#: over 8 chart rows of 894 plot units that is more than one bucket per unit).
BUCKETS = 2**14


@dataclass(frozen=True)
class Trace:
    """A trace as a chart draws it.

    Attributes:
        x, y: the points in time order (s, the trace's unit); NaN ``y`` breaks the line. Every
            sample when ``exact``, else each bucket's minimum and maximum in time order (one
            NaN point for a bucket without a finite value).
        exact: the points are every sample fed.
        t_first, t_last: the first and last sample's time (s); NaN when none was fed.
        lo, hi: the least and greatest finite value (NaN when there is none).
        head_x, head_y: the first samples as they were (all of them when ``exact``; empty when
            the accumulator was not asked to keep them).
    """

    x: np.ndarray
    y: np.ndarray
    exact: bool
    t_first: float
    t_last: float
    lo: float
    hi: float
    head_x: np.ndarray
    head_y: np.ndarray

    def window(self, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw from ``a`` to ``b`` (s): every sample where the kept first
        samples reach ``b`` (or the trace is exact), else the envelope's points."""
        if self.exact or (len(self.head_x) and self.head_x[-1] >= b):
            return self.head_x, self.head_y
        return self.x, self.y

    def value_at(self, t: float) -> float:
        """The trace linearly interpolated at ``t`` (s) between its finite points (NaN: none)."""
        ok = np.isfinite(self.y)
        if not ok.any():
            return math.nan
        return float(np.interp(t, self.x[ok], self.y[ok]))


class TraceEnvelope:
    """Accumulates a trace (times increasing across calls) into a :class:`Trace` of bounded
    size: every sample up to ``raw_limit``, then a min/max envelope of at most ``buckets``
    buckets whose width doubles as the session grows; ``keep_head``: the first ``raw_limit``
    samples stay kept beside the envelope (:attr:`Trace.head_x`)."""

    def __init__(
        self, raw_limit: int = RAW_LIMIT, buckets: int = BUCKETS, keep_head: bool = False
    ) -> None:
        if buckets < 2 or buckets % 2:
            raise ValueError("buckets must be even and at least 2")
        self.raw_limit = raw_limit
        self.buckets = buckets
        self.keep_head = keep_head
        self._head = (np.empty(0), np.empty(0))
        self._raw_t: list[np.ndarray] = []
        self._raw_y: list[np.ndarray] = []
        self._n = 0
        self._t_first = math.nan
        self._t_last = math.nan
        self._lo = math.inf
        self._hi = -math.inf
        self._width = 0.0  # bucket width (s); 0 while every sample is kept
        self._origin = 0.0
        self._min_t = self._min_y = self._max_t = self._max_y = np.empty(0)

    @property
    def exact(self) -> bool:
        """Every sample is still kept."""
        return self._width == 0.0

    @property
    def bucket_width_s(self) -> float:
        """The envelope's bucket width (s; 0 while every sample is kept); buckets start at the
        first sample's time."""
        return self._width

    def add(self, t: np.ndarray, y: np.ndarray) -> None:
        """A chunk of samples: times (s, increasing, after those fed before) and values (NaN:
        no value there)."""
        t = np.asarray(t, float)
        y = np.asarray(y, float)
        if not len(t):
            return
        if self._n == 0:
            self._t_first = float(t[0])
        self._t_last = float(t[-1])
        self._n += len(t)
        fin = y[np.isfinite(y)]
        if len(fin):
            self._lo = min(self._lo, float(fin.min()))
            self._hi = max(self._hi, float(fin.max()))
        if self.exact:
            self._raw_t.append(t.copy())
            self._raw_y.append(y.copy())
            if self._n > self.raw_limit:
                self._to_envelope()
            return
        self._bucket(t, y)

    def _to_envelope(self) -> None:
        """Turn the kept samples into an envelope over half of the buckets."""
        t, y = np.concatenate(self._raw_t), np.concatenate(self._raw_y)
        self._raw_t, self._raw_y = [], []
        if self.keep_head:
            self._head = (t[: self.raw_limit], y[: self.raw_limit])
        self._origin = float(t[0])
        span = float(t[-1] - t[0])
        self._width = max(span / (self.buckets // 2), 1e-9)
        nan = np.full(self.buckets, np.nan)
        self._min_t, self._min_y, self._max_t, self._max_y = (nan.copy() for _ in range(4))
        self._bucket(t, y)

    def _bucket(self, t: np.ndarray, y: np.ndarray) -> None:
        """Fold samples into the buckets, widening them first as far as the samples need."""
        last = int((t[-1] - self._origin) // self._width)
        while last >= self.buckets:
            self._merge()
            last = int((t[-1] - self._origin) // self._width)
        ok = np.isfinite(y)
        t, y = t[ok], y[ok]
        if not len(t):
            return
        k = np.minimum(((t - self._origin) // self._width).astype(np.int64), self.buckets - 1)
        # k does not decrease (the times increase): each bucket's samples are one run
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        kk = k[starts]
        sizes = np.diff(np.r_[starts, len(y)])
        for sign, op, bt, by in (
            (1.0, np.minimum, self._min_t, self._min_y),
            (-1.0, np.maximum, self._max_t, self._max_y),
        ):
            extreme = op.reduceat(y, starts)
            # the earliest sample of each bucket at its extreme
            hits = np.flatnonzero(y == np.repeat(extreme, sizes))
            first = hits[np.r_[True, k[hits[1:]] != k[hits[:-1]]]]
            tt, yy = t[first], y[first]
            old = by[kk]
            better = ~(sign * old <= sign * yy)  # NaN (empty bucket) or strictly beyond
            bt[kk[better]] = tt[better]
            by[kk[better]] = yy[better]

    def _merge(self) -> None:
        """Double the bucket width: each pair of buckets becomes one (the earlier extreme of the
        two on ties)."""
        self._width *= 2.0
        half = self.buckets // 2
        for sign, bt, by in ((1.0, self._min_t, self._min_y), (-1.0, self._max_t, self._max_y)):
            a_t, a_y, b_t, b_y = bt[0::2], by[0::2], bt[1::2], by[1::2]
            take_b = np.isnan(a_y) | (sign * b_y < sign * a_y)
            new_t = np.where(take_b, b_t, a_t)
            new_y = np.where(take_b, b_y, a_y)
            bt[:half], by[:half] = new_t, new_y
            bt[half:], by[half:] = np.nan, np.nan

    def trace(self) -> Trace:
        """The trace as accumulated so far."""
        lo = self._lo if self._lo <= self._hi else math.nan
        hi = self._hi if self._lo <= self._hi else math.nan
        if self.exact:
            x = np.concatenate(self._raw_t) if self._raw_t else np.empty(0)
            y = np.concatenate(self._raw_y) if self._raw_y else np.empty(0)
            return Trace(x, y, True, self._t_first, self._t_last, lo, hi, x, y)
        used = int((self._t_last - self._origin) // self._width) + 1
        used = min(used, self.buckets)
        starts = self._origin + self._width * np.arange(used)
        mt, my = self._min_t[:used], self._min_y[:used]
        xt, xy = self._max_t[:used], self._max_y[:used]
        empty = np.isnan(my)
        first_t = np.where(empty, starts, np.minimum(mt, xt))
        first_y = np.where(empty, np.nan, np.where(mt <= xt, my, xy))
        second = ~empty & (mt != xt)
        second_t = np.maximum(mt, xt)
        second_y = np.where(mt <= xt, xy, my)
        x = np.empty(used + int(second.sum()))
        y = np.empty_like(x)
        pos = np.arange(used) + np.r_[0, np.cumsum(second)[:-1]]
        x[pos], y[pos] = first_t, first_y
        x[pos[second] + 1], y[pos[second] + 1] = second_t[second], second_y[second]
        return Trace(x, y, False, self._t_first, self._t_last, lo, hi, *self._head)


class GapSpans:
    """The stretches of the grid without valid points, found chunk by chunk: each from the
    last valid point before it (or the first point) to the first valid point after it (or the
    last point), seconds; those at least ``min_s`` long, the ``most`` longest (the earlier of
    equally long ones first)."""

    def __init__(self, min_s: float = 0.2, most: int = 200) -> None:
        self.min_s = min_s
        self.most = most
        self._prev_t: float | None = None  # time of the last point fed
        self._open: float | None = None  # start of a stretch still going on
        self._found: list[tuple[float, float, int]] = []  # (start, end, order found)
        self._seq = 0

    def add(self, t: np.ndarray, valid: np.ndarray) -> None:
        """A chunk of grid points: times (s, increasing) and whether each is valid."""
        if not len(t):
            return
        bad = ~np.asarray(valid, bool)
        lead = self._open is not None
        edges = np.flatnonzero(np.diff(np.r_[lead, bad].astype(np.int8)))
        for e in edges.tolist():
            if self._open is None:  # a stretch starts at point e
                self._open = (
                    float(t[e - 1])
                    if e > 0
                    else (self._prev_t if self._prev_t is not None else float(t[0]))
                )
            else:  # it ends at point e, valid
                self._keep(self._open, float(t[e]))
                self._open = None
        self._prev_t = float(t[-1])

    def _keep(self, a: float, b: float) -> None:
        if b - a < self.min_s:
            return
        self._found.append((a, b, self._seq))
        self._seq += 1
        if len(self._found) > 4 * self.most:  # the rest can no longer be among the longest
            ranked = sorted(self._found, key=lambda x: (x[0] - x[1], x[2]))
            self._found = sorted(ranked[: self.most], key=lambda x: x[2])

    def spans(self) -> tuple[tuple[float, float], ...]:
        """The stretches found, the longest first (one still going on ends at the last
        point)."""
        found = list(self._found)
        if self._open is not None and self._prev_t is not None:
            a, b = self._open, self._prev_t
            if b - a >= self.min_s:
                found.append((a, b, self._seq))
        ranked = sorted(found, key=lambda x: (x[0] - x[1], x[2]))
        return tuple((a, b) for a, b, _ in ranked[: self.most])


@dataclass(frozen=True)
class LegTrace:
    """What the report draws of a leg over the session, of bounded size.

    Attributes:
        hip_rotation: the hip rotation (degrees, internal +), NaN where the grid point is not
            valid or the angle not tracked.
        shin_speed: the shin sensor's angular speed (degrees/s, gyroscope as corrected), NaN
            where the grid point is not valid; its first samples kept as they were.
        gaps: the stretches without valid grid points (:class:`GapSpans`), seconds.
        sample_times: role -> every sensor's aligned sample times summed up (the session's, the
            same for every leg; :class:`SampleTimes`).
    """

    hip_rotation: Trace
    shin_speed: Trace
    gaps: tuple[tuple[float, float], ...]
    sample_times: dict[str, SampleTimes] = field(default_factory=dict)


class LegTraceFeed:
    """Accumulates a :class:`LegTrace` from a leg chain: the grid points as they come
    (:meth:`add_grid`) and, later and in the same order, their angles (:meth:`add_angles`);
    holds only the grid points whose angle has not come yet."""

    def __init__(self, raw_limit: int | None = None, buckets: int | None = None) -> None:
        raw_limit = RAW_LIMIT if raw_limit is None else raw_limit  # None: the module's
        buckets = BUCKETS if buckets is None else buckets
        self._angle = TraceEnvelope(raw_limit, buckets)
        self._speed = TraceEnvelope(raw_limit, buckets, keep_head=True)
        self._gaps = GapSpans()
        self._waiting: list[tuple[np.ndarray, np.ndarray]] = []  # (t, valid) awaiting angles

    def add_grid(self, t: np.ndarray, valid: np.ndarray, shin_gyr: np.ndarray) -> None:
        """Grid points: times (s), valid, the shin's gyroscope (N, 3) rad/s."""
        valid = np.asarray(valid, bool)
        speed = np.degrees(np.linalg.norm(shin_gyr, axis=1))
        self._speed.add(t, np.where(valid, speed, np.nan))
        self._gaps.add(t, valid)
        if len(t):
            self._waiting.append((np.asarray(t, float), valid))

    def add_angles(self, rot: np.ndarray) -> None:
        """The hip rotation (degrees, NaN: none) of the next grid points fed to
        :meth:`add_grid` (surplus angles beyond them are ignored)."""
        rot = np.asarray(rot, float)
        while len(rot) and self._waiting:
            t, valid = self._waiting[0]
            n = min(len(t), len(rot))
            self._angle.add(t[:n], np.where(valid[:n], rot[:n], np.nan))
            if n == len(t):
                self._waiting.pop(0)
            else:
                self._waiting[0] = (t[n:], valid[n:])
            rot = rot[n:]

    def trace(self) -> LegTrace:
        """The trace so far (grid points whose angle has not come count as without one)."""
        for t, _ in self._waiting:
            self._angle.add(t, np.full(len(t), np.nan))
        self._waiting = []
        return LegTrace(self._angle.trace(), self._speed.trace(), self._gaps.spans())


@dataclass(frozen=True)
class SampleTimes:
    """A sensor's aligned sample times summed up, as ``imuhip info`` and the report's health
    table show them.

    Attributes:
        count: samples.
        effective_rate_hz: (count - 1) / (last - first sample time); 0 with under two samples.
        gaps: intervals longer than 1.5 sample periods (the configured rate's, else the median
            interval's).
        longest_gap_s: the longest of them (None: no gap).
        missing: samples estimated missing in them.
        longest_gap_at_s: the sample time where the longest begins (the first such gap's;
            None: no gap).
    """

    count: int
    effective_rate_hz: float
    gaps: int
    longest_gap_s: float | None
    missing: int
    longest_gap_at_s: float | None = None


class SampleTimesFeed:
    """Accumulates a :class:`SampleTimes` from a sensor's sample times (s, increasing across
    calls); ``nominal_rate_hz`` 0: the period is the median interval (of the first
    ``raw_limit`` intervals once there are more)."""

    def __init__(self, nominal_rate_hz: float = 0.0, raw_limit: int = RAW_LIMIT) -> None:
        self._period = 1.0 / nominal_rate_hz if nominal_rate_hz > 0 else None
        self.raw_limit = raw_limit
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (intervals, their starts)
        self._n_pending = 0
        self._count = 0
        self._first = self._last = math.nan
        self._gaps = 0
        self._longest = -math.inf
        self._longest_at = math.nan
        self._missing = 0

    def add(self, t: np.ndarray) -> None:
        """The next sample times (s)."""
        t = np.asarray(t, float)
        if not len(t):
            return
        x = t if self._count == 0 else np.r_[self._last, t]
        dt = np.diff(x)
        if self._count == 0:
            self._first = float(t[0])
        self._count += len(t)
        self._last = float(t[-1])
        if self._period is None:
            self._pending.append((dt, x[:-1]))
            self._n_pending += len(dt)
            if self._n_pending > self.raw_limit:
                self._settle()
            return
        self._intervals(dt, x[:-1])

    def _settle(self) -> None:
        """Fix the period at the median of the intervals held, and count their gaps."""
        dt = np.concatenate([d for d, _ in self._pending]) if self._pending else np.empty(0)
        at = np.concatenate([a for _, a in self._pending]) if self._pending else np.empty(0)
        self._pending, self._n_pending = [], 0
        self._period = float(np.median(dt)) if len(dt) else 1.0
        self._intervals(dt, at)

    def _intervals(self, dt: np.ndarray, at: np.ndarray) -> None:
        """Count the gaps among the intervals ``dt`` (s) that begin at ``at`` (s)."""
        assert self._period is not None
        where = np.flatnonzero(dt > 1.5 * self._period)
        if len(where):
            big = dt[where]
            self._gaps += len(big)
            k = int(np.argmax(big))
            if big[k] > self._longest:
                self._longest, self._longest_at = float(big[k]), float(at[where[k]])
            missing = np.maximum(np.rint(big / self._period).astype(np.int64) - 1, 1)
            self._missing += int(missing.sum())

    def summary(self) -> SampleTimes:
        """The summary so far."""
        if self._count < 2:
            return SampleTimes(self._count, 0.0, 0, None, 0)
        if self._period is None:
            self._settle()
        duration = self._last - self._first
        rate = (self._count - 1) / duration if duration > 0 else math.nan
        if self._gaps == 0:
            return SampleTimes(self._count, rate, 0, None, self._missing)
        return SampleTimes(
            self._count, rate, self._gaps, self._longest, self._missing, self._longest_at
        )
