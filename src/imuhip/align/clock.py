"""Sensor clock -> host clock: a drift-tracking lower-envelope clock model.

Sensors with timestamps in their frames count time on their own crystal, which runs fast or slow
by up to a few hundred ppm and drifts slowly with temperature. The host stamps each notification
when it arrives: ``host = a + b·sensor + latency`` where the latency (radio queueing until the
next connection event, retransmissions, host stack) is never negative and has a heavy upper tail.
The points with the smallest latency therefore lie on the true line, and the model is the *lower
envelope* of the (sensor, host) pairs, not a least-squares fit.

Inputs are *pairs*: one per notification, the sensor time of the notification's **last** sample
(the sensor cannot send a sample before taking it) and the host receive time, both float64
seconds.

Method (identical in :func:`fit_clock` and :class:`StreamingClock`):

1. **Segments.** The pairs are split into clock segments, each with its own line:

   - the sensor time goes backwards (clock reset, reboot, wrap): a new segment starts at once;
   - after a host-side silence longer than ``ClockParams.gap_s`` (a reconnect, a stall), the
     offset ``host - sensor`` is compared before and after the silence (minimum over
     ``confirm_s`` of sensor time on each side). If it moved by more than
     ``jump_tol_s + max_skew_ppm·Δt`` the sensor clock did not simply keep running (it paused,
     jumped or restarted): a new segment starts at the first pair after the silence. Otherwise
     the clock continued and the segment goes on, keeping its warmed-up model.

   Not detected: a clock jump smaller than ``jump_tol_s``, and a jump without a host silence
   (e.g. a time-sync command mid-stream); both show up as a transient bias of at most the jump.

2. **Envelope.** Within a segment, the offset ``y = host - sensor`` is reduced to the minimum of
   each ``bucket_s`` of sensor time; the buckets are grouped into blocks of ``block_s``, and the
   lower convex hull of each block's bucket minima is kept.

3. **Fit.** At the end of every block, the lower hull of the bucket minima of the trailing
   ``window_s`` is taken and the line under all of them that is highest at ``anchor`` of the
   window is the fit (the linear program "maximise the line under all points"; its slope is
   taken from a chord of hull vertices at least ``min_span_s`` apart, because one short hull
   edge has a noisy slope). The slope is the skew ``b - 1``, clipped to ``±max_skew_ppm``.
   Sliding the window tracks slow drift. The window is long (6 min) on purpose: when the
   sensor's notification period and the BLE connection interval are commensurate, the minimum
   latency depends on their phase, which only sweeps through as slowly as the two clocks
   differ; the envelope is only reached where that phase passes zero.

4. **Mapping.** A sample in block ``k`` of its segment is mapped with the fit made at the end of
   block ``k - 1`` (causal: the live view can use it the moment the sample arrives). The result
   is ``host = sensor + y(sensor) - latency_floor_s``.

Difference between batch and streaming (the warm-up): for the blocks before the first full
window of a segment, :func:`fit_clock` uses the first full-window fit (or the fit over the whole
segment when it is shorter than a window), i.e. data from up to ``window_s`` later, while
:class:`StreamingClock` can only use what has arrived: a running minimum of the offset during
the first block, then fits over the (still growing) window. Also, while a silence is being
checked (``confirm_s`` of sensor time after it), the streaming clock keeps mapping with the old
segment; if a new segment is then confirmed, those samples were mapped with the old model. From
the block after the first full window onward, both give bit-identical times.

The unknown constant part of the latency (radio + host stack minimum, a few ms) cannot be seen in
the data; ``latency_floor_s`` subtracts an assumed value (default 0). Sensors on the same host
share it, so it does not affect the alignment of sensors with each other.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from imuhip.errors import ClockModelError


@dataclass(frozen=True)
class ClockParams:
    """Tuning of the clock model. All times in seconds (sensor time unless stated).

    Attributes:
        bucket_s: sensor time reduced to one minimum point (small enough that the skew changes
            the offset by much less than a millisecond across it).
        block_s: model update interval; one fit per block.
        window_s: trailing window of each fit; long enough that the connection-event phase
            sweeps through, short enough to follow temperature drift.
        max_skew_ppm: largest believable crystal error; slopes are clipped to it and it sets the
            tolerance of the continuity check.
        gap_s: host-time silence that triggers a continuity check.
        confirm_s: sensor time looked at on each side of a silence for the check.
        jump_tol_s: offset change across a silence above which the clock is considered
            discontinuous (besides the allowed skew).
        latency_floor_s: assumed minimum latency subtracted from every mapped time.
        anchor: where in the window (0 start, 1 end) the fitted line should be best.
        min_span_s: shortest chord of hull vertices whose slope is trusted.
    """

    bucket_s: float = 0.25
    block_s: float = 10.0
    window_s: float = 360.0
    max_skew_ppm: float = 1000.0
    gap_s: float = 0.5
    confirm_s: float = 2.0
    jump_tol_s: float = 0.05
    latency_floor_s: float = 0.0
    anchor: float = 0.75
    min_span_s: float = 60.0

    def __post_init__(self) -> None:
        if not (0 < self.bucket_s <= self.block_s <= self.window_s):
            raise ValueError("need 0 < bucket_s <= block_s <= window_s")
        if self.block_s / self.bucket_s != round(self.block_s / self.bucket_s):
            raise ValueError("block_s must be a whole number of buckets")

    @property
    def blocks_per_window(self) -> int:
        return max(1, round(self.window_s / self.block_s))


@dataclass(frozen=True)
class Fit:
    """One line ``y = offset_s + skew·(sensor - s0)`` of a segment (y = host - sensor)."""

    offset_s: float
    skew: float


@dataclass
class ClockSegment:
    """One stretch of pairs with a continuous sensor clock.

    Attributes:
        start: index of the first pair of the segment (into the pairs given to the fit).
        stop: one past the last pair.
        s0: sensor time of the first pair (origin of the segment's block grid), s.
        y0: ``host - sensor`` of the first pair, s (fits are relative to it).
        fits: fit at the end of each block (index = block number); None for an empty block
            before any data.
        reason: why the segment starts: "start", "reset" (sensor time went back) or "jump"
            (offset changed across a silence).
    """

    start: int
    stop: int
    s0: float
    y0: float
    fits: list[Fit] = field(default_factory=list)
    reason: str = "start"

    @property
    def skew_ppm(self) -> np.ndarray:
        """Skew of every block's fit, ppm (host seconds per sensor second - 1)."""
        return np.array([f.skew * 1e6 for f in self.fits])


@dataclass
class ClockModel:
    """Result of :func:`fit_clock`: the segments and their fits."""

    params: ClockParams
    segments: list[ClockSegment]

    def segment_of(self, n_pairs: int) -> np.ndarray:
        """(n_pairs,) segment number of each pair."""
        seg = np.zeros(n_pairs, np.int64)
        for g, s in enumerate(self.segments[1:], start=1):
            seg[s.start :] = g
        return seg

    def to_host(self, sensor_t: np.ndarray, segment: np.ndarray | int) -> np.ndarray:
        """Host times (s) of sensor times ``sensor_t`` (s) belonging to ``segment`` (per time)."""
        sensor_t = np.asarray(sensor_t, np.float64)
        seg = np.broadcast_to(np.asarray(segment, np.int64), sensor_t.shape)
        if seg.size and seg.min() == seg.max():  # one segment (the usual case): no masks
            g = int(seg.flat[0])
            return _map_segment(self.segments[g], sensor_t, self.params, warm=True)
        out = np.empty_like(sensor_t)
        for g in np.unique(seg):
            m = seg == g
            out[m] = _map_segment(self.segments[int(g)], sensor_t[m], self.params, warm=True)
        return out

    @property
    def resets(self) -> int:
        """Number of segment starts after the first."""
        return max(0, len(self.segments) - 1)


# --------------------------------------------------------------------------- geometry helpers


def _lower_hull(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    """Lower convex hull of points sorted by x (monotone chain)."""
    hx: list[float] = []
    hy: list[float] = []
    for xi, yi in zip(x, y, strict=True):
        while (
            len(hx) >= 2
            and (hx[-1] - hx[-2]) * (yi - hy[-2]) - (hy[-1] - hy[-2]) * (xi - hx[-2]) <= 0
        ):
            hx.pop()
            hy.pop()
        if hx and xi == hx[-1]:  # equal x: keep the lower point
            if yi >= hy[-1]:
                continue
            hx.pop()
            hy.pop()
        hx.append(xi)
        hy.append(yi)
    return hx, hy


def _bridge(a: _Hull, b: _Hull) -> _Hull:
    """Lower hull of two lower hulls with every x of ``a`` below every x of ``b``: a prefix of
    ``a`` joined to a suffix of ``b`` by their common lower tangent (two-pointer walk; the same
    vertices as the monotone chain over both, collinear points dropped alike)."""
    ax, ay = a
    bx, by = b
    i, j = len(ax) - 1, 0
    moved = True
    while moved:
        moved = False
        while (
            i > 0
            and (ax[i] - ax[i - 1]) * (by[j] - ay[i - 1])
            - (ay[i] - ay[i - 1]) * (bx[j] - ax[i - 1])
            <= 0
        ):
            i -= 1
            moved = True
        while (
            j < len(bx) - 1
            and (bx[j] - ax[i]) * (by[j + 1] - ay[i]) - (by[j] - ay[i]) * (bx[j + 1] - ax[i]) <= 0
        ):
            j += 1
            moved = True
    return ax[: i + 1] + bx[j:], ay[: i + 1] + by[j:]


def _support(
    hx: list[float], hy: list[float], at: float, prior_skew: float, clip: float, min_span: float
) -> Fit:
    """The line under all hull points that is highest near ``at``.

    Its slope is that of the chord between the hull vertices around ``at`` that are at least
    ``min_span`` apart (a single short hull edge has a noisy slope); where possible the first
    and last vertex (the window's ends, whatever their height) are not used. The line is then
    lowered until it touches the hull.
    """
    n = len(hx)
    if n == 1:
        k = prior_skew
        return Fit(hy[0] - k * hx[0], k)
    i = 0
    while i < n - 2 and hx[i + 1] <= at:
        i += 1
    lo_lim, hi_lim = 0, n - 1
    lo = min(max(i, lo_lim), hi_lim - 1)
    hi = lo + 1
    while hx[hi] - hx[lo] < min_span and (lo > lo_lim or hi < hi_lim):
        left = hx[lo] - hx[lo - 1] if lo > lo_lim else -1.0
        right = hx[hi + 1] - hx[hi] if hi < hi_lim else -1.0
        # grow on the side that keeps the chord centred on `at`
        if right < 0 or (left >= 0 and (at - hx[lo]) <= (hx[hi] - at)):
            lo -= 1
        else:
            hi += 1
    k = (hy[hi] - hy[lo]) / (hx[hi] - hx[lo])
    k = min(max(k, -clip), clip)
    b = min(yy - k * xx for xx, yy in zip(hx, hy, strict=True))
    return Fit(b, k)


_Hull = tuple[list[float], list[float]]


class _HullWindow:
    """Lower hull of the last ``size`` block hulls, updated in amortised O(hull size).

    A queue built from two stacks: blocks are merged into a running hull as they come (back);
    when the oldest block must go, the back blocks are turned into suffix hulls (front). The
    window's hull is the merge of the oldest remaining suffix with the back hull. Blocks are in
    x order, so merging is one monotone-chain pass over two short hulls.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self.front: list[_Hull] = []  # suffix hulls, oldest block's suffix last
        self.back: list[_Hull] = []
        self.back_hull: _Hull = ([], [])

    @staticmethod
    def _merge(a: _Hull, b: _Hull) -> _Hull:
        if not a[0]:
            return b
        if not b[0]:
            return a
        return _bridge(a, b)

    def push(self, h: _Hull) -> None:
        if self.count == self.size:
            if not self.front:
                suf: _Hull = ([], [])
                for blk in reversed(self.back):
                    suf = self._merge(blk, suf)
                    self.front.append(suf)
                self.back = []
                self.back_hull = ([], [])
            self.front.pop()
            self.count -= 1
        self.back.append(h)
        self.back_hull = self._merge(self.back_hull, h)
        self.count += 1

    def hull(self) -> _Hull:
        return self._merge(self.front[-1], self.back_hull) if self.front else self.back_hull


def _window_fit(
    hull: _Hull,
    w_start: float,
    w_end: float,
    prior: float,
    clip: float,
    anchor: float,
    min_span: float,
) -> Fit | None:
    hx, hy = hull
    if not hx:
        return None
    lo = max(w_start, hx[0])
    hi = min(w_end, hx[-1])
    return _support(hx, hy, lo + anchor * (hi - lo), prior, clip, min_span)


# --------------------------------------------------------------------------- segmentation


def _check_continuity(
    s: np.ndarray, h: np.ndarray, seg_start: int, i: int, end: int, p: ClockParams
) -> bool:
    """True when the offset ``h - s`` before pair ``i`` and after it differ: a clock
    discontinuity.

    Uses pairs of the current segment with sensor time in ``[s[i-1] - confirm_s, s[i-1]]``
    before and ``[s[i], s[i] + confirm_s]`` after (pairs before ``end`` only).
    """
    a = int(np.searchsorted(s[seg_start:i], s[i - 1] - p.confirm_s, "left")) + seg_start
    b = int(np.searchsorted(s[i:end], s[i] + p.confirm_s, "right")) + i
    before = float((h[a:i] - s[a:i]).min())
    after = float((h[i:b] - s[i:b]).min())
    span = float(s[b - 1] - s[a])
    return abs(after - before) > p.jump_tol_s + p.max_skew_ppm * 1e-6 * span


def _steps_where(v: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Indices ``i`` (1..) where ``test(v[i] - v[i - 1])`` holds, the differences taken
    :data:`BUCKET_CHUNK` at a time."""
    out = [
        np.flatnonzero(test(np.diff(v[a : a + BUCKET_CHUNK + 1]))) + a + 1
        for a in range(0, max(len(v) - 1, 0), BUCKET_CHUNK)
    ]
    return np.concatenate(out) if out else np.empty(0, np.int64)


def find_segments(
    sensor_t: np.ndarray,
    host_t: np.ndarray,
    params: ClockParams | None = None,
    starts: np.ndarray | None = None,
) -> list[tuple[int, str]]:
    """Pair indices where clock segments start, with the reason (see the module docstring).

    ``starts`` adds externally known segment starts (e.g. reconnects known to the caller).
    """
    p = params or ClockParams()
    s = np.asarray(sensor_t, np.float64)
    h = np.asarray(host_t, np.float64)
    n = len(s)
    if n == 0:
        return []
    forced = {0: "start"}
    if starts is not None:
        for k in np.asarray(starts, np.int64).tolist():
            if 0 < k < n:
                forced[k] = "given"
    back = _steps_where(s, lambda d: d < 0)
    for k in back.tolist():
        forced[k] = "reset"
    gaps = _steps_where(h, lambda d: d > p.gap_s)
    hard = sorted(forced)
    out: list[tuple[int, str]] = []
    cand = sorted(set(gaps.tolist()) - set(hard))
    ci = 0
    for j, st in enumerate(hard):
        end = hard[j + 1] if j + 1 < len(hard) else n
        out.append((st, forced[st]))
        seg_start = st
        blocked_until = -math.inf
        while ci < len(cand) and cand[ci] < end:
            i = cand[ci]
            ci += 1
            if i <= st or s[i] < blocked_until:
                continue
            blocked_until = s[i] + p.confirm_s
            if _check_continuity(s, h, seg_start, i, end, p):
                out.append((i, "jump"))
                seg_start = i
    return out


# --------------------------------------------------------------------------- per-segment fit


#: Points :func:`bucket_minima` reads at a time (its temporaries are bounded; a bucket longer
#: than this is read whole).
BUCKET_CHUNK = 1 << 16


def _first_minima(bid: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index of the first minimum of ``y`` in each run of equal ``bid``."""
    starts = np.flatnonzero(np.r_[True, bid[1:] != bid[:-1]])
    ymin = np.minimum.reduceat(y, starts)
    counts = np.diff(np.r_[starts, len(y)])
    hit = np.flatnonzero(y == np.repeat(ymin, counts))
    hb = bid[hit]
    return hit[np.r_[True, hb[1:] != hb[:-1]]]


def bucket_minima(
    x: np.ndarray,
    y: np.ndarray,
    bucket_s: float,
    x0: float = 0.0,
    y_less: np.ndarray | None = None,
    y0: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """(bucket id, x, y) of the first minimum of y in each bucket of x (x non-decreasing).

    The buckets are of ``x - x0`` (``bucket_s`` wide, same unit as x) and the values are
    ``(y - y_less) - y0`` (``y_less`` None: ``y - y0``); the returned x and y are those
    shifted ones, made :data:`BUCKET_CHUNK` points at a time, never whole."""
    n = len(x)
    bids, xs, ys = [], [], []
    a, size = 0, BUCKET_CHUNK
    while a < n or not bids:
        b = min(a + size, n)
        xc = x[a:b] - x0 if x0 else x[a:b]
        yc = y[a:b] - y_less[a:b] if y_less is not None else y[a:b]
        yc = yc - y0 if y0 else yc
        bid = np.floor(xc / bucket_s).astype(np.int64)
        if b < n:  # the chunk's last bucket may go on after it: it is read with the next
            last = np.flatnonzero(bid[1:] != bid[:-1])
            if not len(last):
                size *= 2
                continue
            b = a + int(last[-1]) + 1
            xc, yc, bid = xc[: b - a], yc[: b - a], bid[: b - a]
        first = _first_minima(bid, yc)
        bids.append(bid[first])
        xs.append(xc[first])
        ys.append(yc[first])
        a, size = b, BUCKET_CHUNK
    if len(bids) == 1:
        return bids[0], xs[0], ys[0]
    return np.concatenate(bids), np.concatenate(xs), np.concatenate(ys)


#: Slopes :func:`_hull_candidates` compares at a time (three float arrays of this many).
HULL_CHUNK = 250_000


def _hull_candidates(x: np.ndarray, y: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Mask of the points that may be lower-hull vertices of their block (``cuts``: block
    bounds; x strictly increasing within a block). Point ``i`` is a vertex when some line
    through it lies below all the others, i.e. when the steepest slope into it from its left
    does not exceed the shallowest slope out of it to its right; a small tolerance keeps
    near-ties, so the monotone chain over the kept points gives the hull of them all."""
    keep = np.ones(len(x), bool)
    sizes = np.diff(cuts)
    width = int(sizes.max()) if len(sizes) else 0
    if width < 3:
        return keep
    chunk = max(1, HULL_CHUNK // (width * width))
    for c0 in range(0, len(sizes), chunk):
        ks = np.arange(c0, min(c0 + chunk, len(sizes)))
        pos = cuts[ks][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < sizes[ks][:, None]
        pos = np.where(valid, pos, cuts[ks][:, None])
        bx, by = x[pos], y[pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            sl = (by[:, None, :] - by[:, :, None]) / (bx[:, None, :] - bx[:, :, None])
        idx = np.arange(width)
        # all but the pairs (first, second) of valid points with first left of second
        other = ~(valid[:, :, None] & valid[:, None, :] & (idx[:, None] < idx[None, :]))
        np.copyto(sl, np.inf, where=other)
        hi = sl.min(axis=2)  # shallowest slope out of each point to its right
        np.copyto(sl, -np.inf, where=other)
        lo = sl.max(axis=1)  # steepest slope into each point from its left
        tol = 1e-9 * (np.abs(lo) + np.abs(hi)) + 1e-15
        ok = ~(lo > hi + tol)
        keep[pos[valid]] = ok[valid]
    return keep


def _fit_segment(seg: ClockSegment, s: np.ndarray, h: np.ndarray, p: ClockParams) -> None:
    bid, bx, by = bucket_minima(s, h, p.bucket_s, x0=seg.s0, y_less=s, y0=seg.y0)
    per_block = round(p.block_s / p.bucket_s)
    blk = bid // per_block
    n_blocks = int(blk[-1]) + 1
    cuts = np.searchsorted(blk, np.arange(n_blocks + 1))
    hulls = _HullWindow(p.blocks_per_window)
    clip = p.max_skew_ppm * 1e-6
    prior = 0.0
    last: Fit | None = None
    keep = _hull_candidates(bx, by, cuts)
    for k in range(n_blocks):
        a, b = cuts[k], cuts[k + 1]
        m = keep[a:b]
        hulls.push(_lower_hull(bx[a:b][m].tolist(), by[a:b][m].tolist()))
        w_end = (k + 1) * p.block_s
        f = _window_fit(
            hulls.hull(), w_end - p.window_s, w_end, prior, clip, p.anchor, p.min_span_s
        )
        if f is None:
            f = last
        if f is not None:
            prior = f.skew
            last = f
        seg.fits.append(f)  # type: ignore[arg-type]


def _map_segment(seg: ClockSegment, t: np.ndarray, p: ClockParams, warm: bool) -> np.ndarray:
    """Map sensor times of one segment with its block fits (batch rule, see module doc)."""
    x = t - seg.s0
    n = len(seg.fits)
    if n == 0:
        return t + seg.y0 - p.latency_floor_s
    k = np.clip(np.floor(x / p.block_s).astype(np.int64) - 1, 0, n - 1)
    if warm:
        first_full = min(p.blocks_per_window - 1, n - 1)
        k = np.maximum(k, first_full)
    off = np.array([f.offset_s for f in seg.fits])
    sk = np.array([f.skew for f in seg.fits])
    return t + seg.y0 + off[k] + sk[k] * x - p.latency_floor_s


def fit_clock(
    sensor_t: np.ndarray,
    host_t: np.ndarray,
    params: ClockParams | None = None,
    starts: np.ndarray | None = None,
) -> ClockModel:
    """Batch clock model over a whole stream of (sensor time, host time) pairs (seconds).

    ``sensor_t`` is the sensor time of each notification's last sample, ``host_t`` its receive
    time; pairs in receive order. ``starts`` optionally forces segment starts (pair indices).
    Raises :class:`ClockModelError` for mismatched input.
    """
    p = params or ClockParams()
    s = np.asarray(sensor_t, np.float64)
    h = np.asarray(host_t, np.float64)
    if s.shape != h.shape or s.ndim != 1:
        raise ClockModelError(
            f"sensor and host times must be 1-D arrays of equal length, got {s.shape} and {h.shape}"
        )
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(h))):
        raise ClockModelError("sensor or host times contain NaN or infinity")
    bounds = find_segments(s, h, p, starts)
    segs: list[ClockSegment] = []
    for j, (st, why) in enumerate(bounds):
        end = bounds[j + 1][0] if j + 1 < len(bounds) else len(s)
        seg = ClockSegment(st, end, float(s[st]), float(h[st] - s[st]), reason=why)
        _fit_segment(seg, s[st:end], h[st:end], p)
        segs.append(seg)
    return ClockModel(p, segs)


def map_pairs_and_samples(
    model: ClockModel, pair_segment: np.ndarray, sample_t: np.ndarray, sample_pair: np.ndarray
) -> np.ndarray:
    """Host times of samples, each belonging to the notification (pair) ``sample_pair``."""
    return model.to_host(sample_t, pair_segment[sample_pair])


# --------------------------------------------------------------------------- streaming


class StreamingClock:
    """The clock model updated one notification at a time (live use).

    Call :meth:`update` with each notification's (last-sample sensor time, host receive time),
    then :meth:`to_host` for that notification's sample times. After the first full window of a
    segment the mapping equals :func:`fit_clock`'s bit for bit; see the module docstring for the
    warm-up difference.
    """

    def __init__(self, params: ClockParams | None = None) -> None:
        self.p = params or ClockParams()
        self.segments: list[ClockSegment] = []
        self._n = 0  # pairs accepted so far
        self._recent: deque[tuple[float, float]] = deque()  # (s, y) of the current segment
        self._pending: list[tuple[float, float]] | None = None  # pairs after a silence
        self._pending_at = 0
        self._blocked_until = -math.inf
        self._last_s = math.nan
        self._last_h = math.nan
        self._reset_state()

    # state of the current segment
    def _reset_state(self) -> None:
        self._hulls = _HullWindow(self.p.blocks_per_window)
        self._block = 0
        self._bx: list[float] = []
        self._by: list[float] = []
        self._bucket = -1
        self._bmin = (math.inf, math.inf)  # (x, y) of the current bucket's minimum
        self._run_min = math.inf
        self._prior = 0.0
        self._last_fit: Fit | None = None

    @property
    def segment(self) -> ClockSegment | None:
        return self.segments[-1] if self.segments else None

    def update(self, sensor_t: float, host_t: float) -> None:
        """Add one pair (seconds): the sensor time of a notification's last sample and its
        host receive time."""
        s, h = float(sensor_t), float(host_t)
        if not (math.isfinite(s) and math.isfinite(h)):
            raise ClockModelError("sensor or host time is NaN or infinite")
        if self._pending is not None:
            if s < self._last_s:
                self._resolve_pending(force_end=True)
            elif s > self._pending_s0 + self.p.confirm_s:
                self._resolve_pending(force_end=False)
            else:
                self._pending.append((s, h))
                self._last_s, self._last_h = s, h
                return
        if not self.segments:
            self._start(s, h, "start")
        elif s < self._last_s:
            self._start(s, h, "reset")
        elif h - self._last_h > self.p.gap_s and s >= self._blocked_until:
            self._pending = [(s, h)]
            self._pending_s0 = s
            self._pending_prev_s = self._last_s
            self._blocked_until = s + self.p.confirm_s
            self._last_s, self._last_h = s, h
            return
        else:
            self._add(s, h)
        self._last_s, self._last_h = s, h

    def _resolve_pending(self, force_end: bool) -> None:
        pend = self._pending or []
        self._pending = None
        p = self.p
        prev_s = self._pending_prev_s
        before = [yy for ss, yy in self._recent if ss >= prev_s - p.confirm_s]
        b_s = [ss for ss, _ in self._recent if ss >= prev_s - p.confirm_s]
        after = [hh - ss for ss, hh in pend]
        span = pend[-1][0] - b_s[0]
        jump = abs(min(after) - min(before)) > p.jump_tol_s + p.max_skew_ppm * 1e-6 * span
        for k, (ss, hh) in enumerate(pend):
            if k == 0 and jump:
                self._start(ss, hh, "jump")
            else:
                self._add(ss, hh)

    def _start(self, s: float, h: float, why: str) -> None:
        if self.segments:
            self.segments[-1].stop = self._n
        self.segments.append(ClockSegment(self._n, self._n, s, h - s, reason=why))
        self._reset_state()
        self._recent.clear()
        self._blocked_until = -math.inf
        self._add(s, h)

    def _add(self, s: float, h: float) -> None:
        seg = self.segments[-1]
        p = self.p
        self._n += 1
        seg.stop = self._n
        self._recent.append((s, h - s))
        while self._recent and self._recent[0][0] < s - 2 * p.confirm_s:
            self._recent.popleft()
        x = s - seg.s0
        y = (h - s) - seg.y0
        self._run_min = min(self._run_min, y)
        b = math.floor(x / p.bucket_s)
        if b != self._bucket:
            if self._bucket >= 0:
                self._close_bucket()
            per_block = round(p.block_s / p.bucket_s)
            blk = b // per_block
            while self._block < blk:
                self._close_block()
            self._bucket = b
            self._bmin = (x, y)
        elif y < self._bmin[1]:
            self._bmin = (x, y)

    def _close_bucket(self) -> None:
        self._bx.append(self._bmin[0])
        self._by.append(self._bmin[1])

    def _close_block(self) -> None:
        p = self.p
        seg = self.segments[-1]
        self._hulls.push(_lower_hull(self._bx, self._by))
        self._bx, self._by = [], []
        w_end = (self._block + 1) * p.block_s
        f = _window_fit(
            self._hulls.hull(),
            w_end - p.window_s,
            w_end,
            self._prior,
            p.max_skew_ppm * 1e-6,
            p.anchor,
            p.min_span_s,
        )
        if f is None:
            f = self._last_fit
        if f is not None:
            self._prior = f.skew
            self._last_fit = f
        seg.fits.append(f)  # type: ignore[arg-type]
        self._block += 1

    def to_host(self, sensor_t: np.ndarray | float) -> np.ndarray:
        """Host times (s) of sensor times of the current segment with the current model."""
        t = np.asarray(sensor_t, np.float64)
        seg = self.segment
        if seg is None:
            raise ClockModelError("no pairs yet: call update() before to_host()")
        p = self.p
        if not seg.fits:  # first block: running minimum of the offset, nominal rate
            return t + seg.y0 + self._run_min - p.latency_floor_s
        x = t - seg.s0
        k = np.clip(np.floor(x / p.block_s).astype(np.int64) - 1, 0, len(seg.fits) - 1)
        off = np.array([f.offset_s for f in seg.fits])
        sk = np.array([f.skew for f in seg.fits])
        return t + seg.y0 + off[k] + sk[k] * x - p.latency_floor_s
