"""Per-sample host times for sensors that send no timestamps, fitted with look-ahead.

Such sensors (e.g. WitMotion) sample at a steady rate on their own crystal, slightly off the
configured nominal rate, and send ``n`` samples per notification; the host only knows when each
notification arrived. With ``P = 1 / nominal_rate`` and ``c_j`` the sample index of the last
sample in notification ``j``, ``host_j = a + b·(c_j·P) + latency_j`` with one-sided latency,
the sensor-clock problem of :mod:`imuhip.align.clock` with the sensor clock ``c·P``.
:func:`reconstruct_times` splits the receive times into segments (reconnects, not host
stalls: :func:`stall_pile_needed`), counts and places lost notifications from steps of the
arrival floor (or on the connection-event clock of :mod:`imuhip.align.conn_events` where it
applies), optionally refines the places with the decoded signal, and fits the rate and phase.
Times are seconds on the host clock; rates in Hz. The method, its limits and its SIMULATED
figures: ``docs/alignment.md``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from imuhip.align.clock import (
    ClockModel,
    ClockParams,
    bucket_minima,
    fit_clock,
)
from imuhip.align.conn_events import (
    EventParams,
    FoundInterval,
    connection_interval,
    event_losses,
)
from imuhip.align.numeric import median_filter, running_min
from imuhip.errors import ClockModelError


@dataclass(frozen=True)
class ReconstructParams:
    """Tuning of the reconstruction (seconds).

    Attributes:
        restart_gap_s: host silence after which sampling is assumed to restart (new segment).
        step_window_s: time compared before/after each notification to find index steps.
        clock: parameters of the rate/phase fit.
        pile_fraction: notifications arriving within this fraction of a notification period
            of the one before were held up together (same connection event, stall); sets how
            far a loss may move after its timing-only place when a signal is given.
        signal_window: samples in each local quadratic fit of the signal test.
        signal_evidence: how much better (in noise variances of the summed squared
            residuals) the signal must fit a loss's best place than its timing-only place for
            the loss to be moved there.
        signal_max_choices: largest number of joint placements tried for one group of nearby
            losses (more: the timing-only places are kept).
        use_signal: whether :func:`imuhip.align.streams.sensor_streams` passes the decoded
            samples as the signal (False: timing only, as before signals were used).
        events: the loss count on the connection-event clock
            (:mod:`imuhip.align.conn_events`), used where it applies.
    """

    restart_gap_s: float = 1.0
    step_window_s: float = 1.0
    clock: ClockParams = field(default_factory=ClockParams)
    pile_fraction: float = 0.4
    signal_window: int = 6
    signal_evidence: float = 20.0
    signal_max_choices: int = 400
    use_signal: bool = True
    events: EventParams = field(default_factory=EventParams)


@dataclass(frozen=True)
class Reconstruction:
    """Sample times rebuilt from receive times.

    Attributes:
        t: host time of every received sample, s, in notification order (of the samples from
            ``first_sample`` on, where only some notifications' times were asked for).
        note_last_index: (M,) sample index (within its segment, counting lost samples) of each
            notification's last sample.
        lost_samples: samples found missing (lost notifications), all segments.
        losses: (notification index, samples missing just before it) of every loss found.
        segment_starts: notification indices where a segment starts (first is 0).
        model: the rate/phase fit (sensor time = index / nominal rate).
        interval: the connection interval of all the receive times
            (:func:`~imuhip.align.conn_events.connection_interval`) where it was looked for
            over all of them (one segment), for
            :func:`~imuhip.align.conn_events.arrival_interval`; None where not.
    """

    t: np.ndarray
    note_last_index: np.ndarray
    lost_samples: int
    losses: tuple[tuple[int, int], ...]
    segment_starts: tuple[int, ...]
    model: ClockModel
    interval: FoundInterval | None = None
    first_sample: int = 0


def _fmin(e: np.ndarray, k: int) -> np.ndarray:
    """Minimum of ``e[j : j + k]`` at each ``j`` (the window cut at the end: its last value
    repeated changes no minimum)."""
    return running_min(e, k, origin=-(k // 2), mode="nearest")


def _rise(e: np.ndarray, k: int) -> np.ndarray:
    """At each ``j``: the minimum of ``e[j : j + k]`` less that of the ``k`` values before
    (of those there are where the segment starts; infinite before the first), computed in
    place from the end a bounded piece at a time."""
    n = len(e)
    rise = _fmin(e, k)  # the window ahead; becomes the rise
    head = np.minimum.accumulate(e[: min(k, n)])  # windows cut by the segment start
    step = max(k, 1 << 16)
    for j1 in range(n, k, -step):  # the window behind j is the one ahead of j - k
        j0 = max(k, j1 - step)
        rise[j0:j1] -= rise[j0 - k : j1 - k]  # not yet changed: only [j1, n) is
    rise[1 : min(k, n)] -= head[: min(k, n) - 1]
    if n:
        rise[0] -= np.inf
    return rise


def _join_split_losses(d: np.ndarray, step: float) -> np.ndarray:
    """Changes ``d`` (s) of the floor between buckets, with a loss split over two of them
    joined into one: when a loss falls near a bucket's start, that bucket's floor may be set by
    the few notifications before it that are not at the least wait, so two neighbouring
    changes, each off whole periods (``step``, s) by over 0.15 of one, add up to whole periods
    (at least one) within 0.15. Wraps next to a loss stay apart (their sum is not whole)."""
    if len(d) < 2:
        return d
    off = np.abs(d / step - np.round(d / step)) > 0.15
    pair = d[:-1] + d[1:]
    join = off[:-1] & off[1:] & (np.round(pair / step) >= 0)
    join &= np.abs(pair / step - np.round(pair / step)) < 0.15
    join &= ~np.r_[False, join[:-1]]  # one join per change
    out = d.copy()
    out[:-1][join] = pair[join]
    return np.delete(out, np.flatnonzero(join) + 1)


def _staircase(
    s: np.ndarray, y: np.ndarray, bucket_s: float, step: float, clip: float
) -> tuple[float, float]:
    """Skew (s/s, positive: slow sensor) from the long-term rise of the offset's floor leaving
    out lost notifications, and the loss fraction (:func:`_loss_fraction`) for the segment.

    ``s``: sensor time of each notification, s; ``y``: offset ``host - s``, s; ``step``: one
    notification period, s. The floor (minimum per ``bucket_s``) rises by whole periods where
    notifications were lost; with commensurate connection intervals it is flat between steps of
    a fraction of a period where the connection-event phase wraps, *up* for a slow sensor and
    *down* for a fast one: its long-term slope is the skew. Each change between buckets
    (:func:`_join_split_losses`) loses its whole periods, with the edge at 0.6 of a period (so
    half a period, give or take the floors' noise, is a wrap; a fall of whole periods ends a
    bump, e.g. a host stall longer than a bucket). When at least half of what is left (over
    0.2 of a period) is half a period, the connection interval makes half-period wraps and the sign
    matters: a slow sensor's floor never falls; one that falls at least half as often as it
    rises by half a period is a fast one's (its losses fall next to a wrap in the same bucket
    now and then). Then the rises lose their whole periods as a loss is counted
    (:func:`_loss_fraction`); what is left of a loss's rise counts only if it is a wrap (over
    a tenth of a period; less is the noise of the two floors). The sum over the segment's span
    is the skew, to within a wrap over the span. (0, 1/2) for less than three buckets.
    """
    if len(s) < 2 or s[-1] - s[0] < 3 * bucket_s:
        return 0.0, _loss_fraction(0.0)
    _, bx, by = bucket_minima(s, y, bucket_s, x0=s[0])
    d = _join_split_losses(np.diff(by), step)
    whole = np.where(d > 0, np.ceil(d / step - 0.6), -np.ceil(-d / step - 0.6))
    rest = d - whole * step
    off = np.abs(rest) > 0.2 * step
    half = off & (np.abs(np.abs(rest) - 0.5 * step) < 0.15 * step)
    sign = 0.0
    if half.any() and half.sum() >= (off & ~half).sum():  # half-period wraps: sign matters
        n_up, n_down = int((half & (rest > 0)).sum()), int((half & (rest < 0)).sum())
        sign = 1.0 if n_up > 2 * n_down else -1.0 if n_down else 0.0
    frac = _loss_fraction(sign)
    whole = np.where(d > 0, np.floor(d / step + 1.0 - frac), whole)
    rest = d - whole * step
    rest[(whole > 0) & (np.abs(rest) < 0.1 * step)] = 0.0  # a loss alone: its noise, not skew
    k = float(rest.sum()) / float(bx[-1] - bx[0])
    return min(max(k, -clip), clip), frac


def _wrap_times(
    x: np.ndarray, y: np.ndarray, bucket_s: float, step: float, whole: bool = False
) -> tuple[np.ndarray, float, float]:
    """Where the connection-event phase wraps in one segment with the losses counted.

    ``x``: sensor time of each notification, s; ``y``: offset ``host - x``, s; ``step``: one
    notification period, s. The wraps are the changes of the floor (minimum per ``bucket_s``;
    neighbouring changes over a tenth of a period in one direction joined) over 0.2 of a
    period, all in the direction most of them take (a bump up and back down, e.g. a host
    stall longer than a bucket, is none) and of about the same size (within a quarter of
    their median), at most 0.6 of a period (a whole period up is counted as a loss; with
    ``whole``, a segment where no loss was found, a whole period down is a fast sensor's
    wrap). A tread more than 1.5 times the median tread holds wraps the floors' noise hid: it
    is split evenly.

    Returns:
        (sensor times of the wraps, s, in order; wrap size, s; direction: +1 up (slow
        sensor), -1 down (fast), 0 no wraps).
    """
    none = (np.empty(0), 0.0, 0.0)
    if len(x) < 2 or x[-1] - x[0] < 3 * bucket_s:
        return none
    bid, _, by = bucket_minima(x, y, bucket_s, x0=x[0])
    d = np.diff(by)
    at = bid[1:]
    # a wrap spread over neighbouring buckets (the floor's jitter near it): one change
    sig = np.where(np.abs(d) > 0.1 * step, np.sign(d), 0.0)
    first = np.flatnonzero((sig == 0) | (sig != np.r_[0.0, sig[:-1]]))
    last = np.r_[first[1:], len(d)] - 1
    # the floor of the bucket after a rise is all above it, after a fall only partly below:
    # an upward wrap is over by the start of the bucket after the group's last change, a
    # downward one not before the start of the bucket after its first
    at = np.where(np.add.reduceat(d, first) > 0, at[last], at[first])
    d = np.add.reduceat(d, first)
    big = np.abs(d) > 0.2 * step
    bump = big[:-1] & big[1:] & (np.abs(d[:-1] + d[1:]) < 0.2 * step)
    big &= ~(np.r_[bump, False] | np.r_[False, bump])
    if not big.any():
        return none
    sign = 1.0 if (d[big] > 0).sum() >= (d[big] < 0).sum() else -1.0
    cand = big & (np.sign(d) == sign)
    g = float(np.median(np.abs(d[cand])))
    cand &= np.abs(np.abs(d) - g) < 0.25 * g
    # a whole period up is a lost notification as much as a wrap; down, a fast sensor's wrap
    # where the interval is a whole number of periods (30 ms at 100 Hz), or the dip of a
    # loss placed a little off: taken as wraps only where no loss was found (``whole``)
    if g > (1.2 if whole and sign < 0 else 0.6) * step or not cand.any():
        return none
    w = x[0] + at[cand] * bucket_s  # start of the bucket after the change
    if len(w) >= 2:
        tread = np.diff(w)
        parts = np.maximum(1, np.round(tread / np.median(tread))).astype(np.int64)
        parts[tread < 1.5 * np.median(tread)] = 1
        first = np.repeat(np.cumsum(parts) - parts, parts)
        frac = (np.arange(int(parts.sum())) - first) / np.repeat(parts, parts)
        w = np.r_[np.repeat(w[:-1], parts) + np.repeat(tread, parts) * frac, w[-1]]
    return w, g, sign


#: Notifications :func:`_least_wait` computes at a time (bounds its temporaries).
WAIT_CHUNK = 1 << 16


def _least_wait(
    x: np.ndarray,
    y: np.ndarray,
    bucket_s: float,
    step: float,
    whole: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The least wait for a connection event at each notification of one segment, s (0
    where no wraps are seen, or where they are under 0.4 of a period: a quarter at 7.5 ms
    and 100 Hz comes every few seconds at the usual skews, and the clock's lower envelope over
    its many corners is the line already). ``x``: sensor time, s; ``y``: ``host - x``, s,
    with the losses counted; ``step``: one notification period, s; ``whole``: no loss was
    found in the segment, so a fall of the floor by a whole period is a wrap.

    Between wraps (:func:`_wrap_times`) the floor of ``y`` is flat while the true line
    (sensor clock to host at the least latency) runs under it at the skew: the least wait
    falls from one wrap size to 0 across a slow sensor's tread (the wrap follows when it
    reaches 0) and rises from 0 across a fast one's. It is interpolated linearly across each
    tread; the partial treads at the ends take the length of their neighbour, or with one wrap
    only twice the longer of the two flats around it (the middle of the skews the flats
    allow). Past the last tread a fast sensor's wraps are assumed to go on, a slow sensor's
    not (either way a wrong guess leaves the corrected floor above the line, never under it).
    Where the corrected floor (per bucket) still lies more than half a wrap under its median
    over a minute, a wrap was placed off or missed: the wait is a wrap less there.
    Subtracting the wait from the receive times turns the staircase into the line, which the
    clock fit then follows instead of touching the treads' corners only. Written into ``out``
    (returned) where given.
    """
    w, g, sign = _wrap_times(x, y, bucket_s, step, whole)
    n = len(w)
    if n == 0 or g < 0.4 * step:
        if out is None:
            return np.zeros(len(x))
        out[:] = 0.0
        return out
    if n == 1:
        span = 2.0 * max(w[0] - x[0], x[-1] - w[0], bucket_s)
        bounds = np.r_[w[0] - span, w, w[0] + span]
    else:
        bounds = np.r_[2 * w[0] - w[1], w, 2 * w[-1] - w[-2]]
    wait = np.empty(len(x)) if out is None else out
    for a in range(0, len(x), WAIT_CHUNK):  # elementwise: a chunk at a time
        xc = x[a : a + WAIT_CHUNK]
        j = np.clip(np.searchsorted(bounds, xc, side="right"), 1, len(bounds) - 1)
        lo, hi = bounds[j - 1], bounds[j]
        pos = (xc - lo) / (hi - lo)  # 0 just after a wrap, 1 just before one
        # past the treads seen: a fast sensor's floor goes on falling a wrap a tread, a slow
        # one's rise is left to be seen (a wrap assumed too early would put the floor under
        # the line, one too late only above it)
        inner = np.clip(pos, 0.0, 1.0)
        if sign < 0:
            past = pos > 1.0
            inner[past] = np.mod(pos[past], 1.0)
        pos = inner
        wait[a : a + WAIT_CHUNK] = g * (1.0 - pos if sign > 0 else pos)
    # a wrap placed off by a bucket or missed leaves a floor a wrap below its neighbours,
    # which the lower envelope would take for the line: there the wait is a wrap less
    bid, _, cf = bucket_minima(x, y, bucket_s, x0=x[0], y_less=wait)
    near = median_filter(cf, 2 * round(30.0 / bucket_s) + 1, mode="reflect")
    dip = np.zeros(int(bid[-1]) + 1, bool)
    dip[bid] = cf < near - 0.5 * g
    for a in range(0, len(x), WAIT_CHUNK):
        xc = x[a : a + WAIT_CHUNK]
        wc = wait[a : a + WAIT_CHUNK]
        wc[:] = wc - g * dip[np.floor((xc - x[0]) / bucket_s).astype(np.int64)]
    return wait


def _loss_fraction(skew: float) -> float:
    """Fraction of a notification period above which a rise of the offset's floor counts as a
    lost notification, where the connection-event phase wraps by half a period, for a sensor
    of skew ``skew`` (s/s or its sign; positive: slow; 0: unknown or other wraps).

    Where the phase wraps, the floor of a slow sensor steps *up* by the gcd of notification
    period and connection interval (half a period at 15 ms and 100 Hz, a quarter at 7.5 ms), a
    fast sensor's *down*. With a quarter (or less), half a period separates a wrap from a loss
    either way; with half, a slow sensor's wrap is a rise of half a period (rises up to 3/4 are
    wraps), while a fast sensor's loss next to a wrap raises the floor by only half (rises
    above 1/4 count).
    """
    if skew > 0:
        return 0.75
    if skew < 0:
        return 0.25
    return 0.5


def _place_step(
    e: np.ndarray, a: int, b: int, k: int, pre: float, step: float, tol: float, frac: float
) -> list[tuple[int, int]]:
    """Places of the lost notifications behind one upward step of the offset floor.

    ``e[a:b]`` is a run of notifications whose following window's floor is above the previous
    window's (``pre``, the floor before ``a``). ``post``, the floor of the ``k`` notifications
    after the run, must be above the loss(es); the step is ``units`` notification periods, a
    rest above ``frac`` of a period counting as one more (:func:`_loss_fraction`).
    Unit ``u`` of the step lies after every notification that would otherwise arrive before
    it was sent (``e < post - (units - u)·step - tol``) and, by the lower-envelope principle
    (least total latency), right after the last such one. Close losses inside one run come out
    as separate places; one loss of several notifications as one.

    Returns:
        (notification index, lost notifications) pairs, in order.
    """
    post = float(e[b : b + k].min())
    units = math.floor((post - pre) / step + 1.0 - frac)
    if units <= 0:
        return []
    run = e[a:b]
    places = []
    for u in range(1, units + 1):
        level = min(pre + u * step, post - (units - u) * step)
        below = np.flatnonzero(run < level - tol)
        places.append(a + (int(below[-1]) + 1 if below.size else 0))
    out: list[tuple[int, int]] = []
    for q in places:
        if out and out[-1][0] == q:
            out[-1] = (q, out[-1][1] + 1)
        else:
            out.append((q, 1))
    return out


def _find_losses(
    h: np.ndarray, counts: np.ndarray, period: float, rp: ReconstructParams
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Last-sample index of each notification of one segment, with losses inserted."""
    n_typ = int(np.median(counts))
    step = n_typ * period
    c = np.cumsum(counts) - 1
    losses: list[tuple[int, int]] = []
    k = max(5, round(rp.step_window_s / step))
    clip = rp.clock.max_skew_ppm * 1e-6
    tol = 0.1 * period
    frac = None
    for _ in range(50):  # steps close together interact: re-check after inserting
        s = c * period
        e = h - s  # y, the offset
        skew, frac_now = _staircase(s, e, max(0.25, 5 * step), step, clip)
        frac = frac_now if frac is None else frac  # decided on the receive times as they came
        s -= s[0]
        s *= skew
        e -= s  # y - skew·(s - s0)
        del s
        rise = _rise(e, k)
        hit = rise > frac * step
        del rise
        hit[0] = False
        hit[max(1, len(e) - 10) :] = False  # too little after it to tell a step
        if not hit.any():
            break
        starts = np.flatnonzero(hit & ~np.r_[False, hit[:-1]])
        ends = np.flatnonzero(hit & ~np.r_[hit[1:], False]) + 1
        added = False
        free_from = 0  # a step changes the windows of the next k notifications: one at a time
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if a < free_from:
                continue
            pre = float(e[max(0, a - k) : a].min())
            found = _place_step(e, a, b, k, pre, step, tol, frac)
            for q, units in found:
                m = n_typ * units
                c[q:] += m
                e[q:] -= m * period
                losses.append((q, m))
            added = added or bool(found)
            free_from = b + k
        if not added:
            break
    return c, losses


def _noise_var(sig: np.ndarray) -> float:
    """White-noise variance per channel of a smooth signal, (signal unit)², averaged over
    channels: from the 20th percentile of the absolute third differences (which rest and slow
    motion dominate; for white noise they have variance 20·σ² and that percentile is
    0.2533·√20·σ), but at least a twelfth of the squared quantisation step (the smallest
    non-zero first difference), so a quantised signal at rest does not look noise-free."""
    if len(sig) < 8:
        return 0.0
    i = np.arange(0, len(sig) - 3, 7)  # a subsample is plenty for a quantile
    d3 = np.abs(sig[i + 3] - 3.0 * sig[i + 2] + 3.0 * sig[i + 1] - sig[i])
    sd = np.percentile(d3, 20, axis=0) / (0.2533 * np.sqrt(20.0))
    d1 = np.abs(np.diff(sig[:50_000], axis=0))
    lsb = np.where(d1 > 0, d1, np.inf).min(axis=0)
    lsb = np.where(np.isfinite(lsb), lsb, 0.0)
    return float(np.mean(np.maximum(sd**2, lsb**2 / 12.0)))


def _ranges(h: np.ndarray, lo: np.ndarray, step: float, pile_fraction: float) -> np.ndarray:
    """Latest place of each loss consistent with the receive times (``lo``: the earliest).

    Every notification at or after a loss's timing-only place ``lo`` arrived at or above the
    floor after the loss, so as far as latency ≥ 0 goes it may as well have been sent before
    the loss, with a latency of at least the lost samples' duration. That needs a reason: the
    first one may be a single late notification (retransmission, host outlier), and those
    after it only if they were held up with it: each within ``pile_fraction`` of a
    notification period of the one before (same connection event, a stall's pile). So a loss
    can lie anywhere from ``lo`` to just before the first notification after ``lo`` that
    arrived on its own (returned; at most the last notification)."""
    piled = np.r_[False, np.diff(h) < pile_fraction * step]
    free = np.flatnonzero(~piled)
    k = np.searchsorted(free, lo, side="right")
    hi = np.where(k < len(free), free[np.minimum(k, len(free) - 1)], len(h) - 1)
    return np.maximum(np.minimum(hi, len(h) - 1), lo)


def _quadratic_rss(tau: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Residual sum of squares of least-squares quadratics in ``tau`` (T, L) through ``x``
    (T, L, k), one per row and channel, summed over channels: (T,). Projects onto an
    orthonormal basis of {1, t, t²} per row (Gram-Schmidt; ``tau`` distinct within a row)."""
    n_pts = tau.shape[1]
    t = tau - tau.mean(axis=1, keepdims=True)
    s2 = (t * t).sum(1, keepdims=True)
    r = t * t - s2 / n_pts
    r -= ((r * t).sum(1, keepdims=True) / s2) * t
    q1 = (t / np.sqrt(s2))[:, :, None]
    q2 = (r / np.sqrt((r * r).sum(1, keepdims=True)))[:, :, None]
    xs = x.sum(1)
    return (
        (x * x).sum(axis=(1, 2))
        - (xs * xs).sum(1) / n_pts
        - ((q1 * x).sum(1) ** 2).sum(1)
        - ((q2 * x).sum(1) ** 2).sum(1)
    )


def _place_choices(
    lo: np.ndarray, hi: np.ndarray, fs: np.ndarray, ns: int, rp: ReconstructParams
) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, ...]], list[int]]:
    """Groups of losses whose place ranges ``lo..hi`` (notification indices) touch, each
    ``(first loss, last loss, first window, windows)``, and every non-decreasing choice of
    places per group (rows, with their group)."""
    L = rp.signal_window
    # groups of losses whose ranges touch
    brk = np.flatnonzero(hi[:-1] < lo[1:]) + 1
    g_first = np.r_[0, brk]
    g_last = np.r_[brk, len(lo)]
    rows_places: list[tuple[int, ...]] = []
    rows_group: list[int] = []
    groups: list[tuple[int, int, int, int]] = []  # (first loss, last loss, window0, windows)
    lo_l, hi_l = lo.tolist(), hi.tolist()
    fs_l = dict(zip(np.r_[lo, hi].tolist(), fs[np.r_[lo, hi]].tolist(), strict=True))
    for a, b in zip(g_first.tolist(), g_last.tolist(), strict=True):
        spans = [range(lo_l[i], hi_l[i] + 1) for i in range(a, b)]
        sizes = [len(r) for r in spans]
        if max(sizes) == 1 or math.prod(sizes) > rp.signal_max_choices:
            continue
        w0 = max(0, fs_l[lo_l[a]] - L + 1)
        w1 = min(ns - L, fs_l[max(hi_l[a:b])] - 1)
        if w1 < w0:
            continue
        g = len(groups)
        groups.append((a, b, w0, w1 - w0 + 1))
        if b - a == 1:
            choices = [(p,) for p in spans[0]]
        else:
            choices = [q for q in itertools.product(*spans) if all(np.diff(q) >= 0)]
        rows_places += choices
        rows_group += [g] * len(choices)
    return groups, rows_places, rows_group


def _best_places(
    groups: list[tuple[int, int, int, int]],
    rows_places: list[tuple[int, ...]],
    rows_group: list[int],
    lo: np.ndarray,
    m: np.ndarray,
    c: np.ndarray,
    n: np.ndarray,
    fs: np.ndarray,
    sig: np.ndarray,
    rp: ReconstructParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score every choice by the local quadratic fits' residuals; per group the cheapest row
    and whether it beats the timing-only one by ``signal_evidence`` noise variances."""
    L = rp.signal_window
    gi = np.array(groups, np.int64)
    u_max = int((gi[:, 1] - gi[:, 0]).max())
    row_g = np.array(rows_group, np.int64)
    n_rows = len(row_g)
    # per row and unit: timing-only place, chosen place, samples (padded units move nothing)
    unit = np.minimum(gi[row_g, 0][:, None] + np.arange(u_max), len(lo) - 1)
    m_u = np.where(np.arange(u_max) < (gi[row_g, 1] - gi[row_g, 0])[:, None], m[unit], 0)
    lo_u = lo[unit]
    places = np.array([q + q[-1:] * (u_max - len(q)) for q in rows_places], np.int64)
    nw = gi[row_g, 3]
    tri_row = np.repeat(np.arange(n_rows), nw)
    w_start = gi[row_g, 2][tri_row] + (np.arange(len(tri_row)) - np.repeat(np.cumsum(nw) - nw, nw))
    smp = w_start[:, None] + np.arange(L)  # (T, L)
    note = np.searchsorted(fs, smp, side="right") - 1
    tau = (c[note] - n[note] + 1 + (smp - fs[note])).astype(np.float64)  # timing-only index
    for j in range(u_max):
        a_s = fs[lo_u[tri_row, j]][:, None]
        b_s = fs[places[tri_row, j]][:, None]
        tau -= ((smp >= a_s) & (smp < b_s)) * m_u[tri_row, j][:, None]
    rss = _quadratic_rss(tau, sig[smp])
    cost = np.bincount(tri_row, rss, minlength=n_rows)
    row0 = np.r_[0, np.flatnonzero(np.diff(row_g)) + 1]  # first row of each group: timing-only
    srt = np.lexsort((cost, row_g))
    best = srt[np.r_[0, np.flatnonzero(np.diff(row_g[srt])) + 1]]  # cheapest row per group
    dof = gi[:, 3] * (L - 3) * sig.shape[1]
    noise = np.maximum(cost[best] / dof, _noise_var(sig))
    move = (best != row0) & (cost[row0] - cost[best] > rp.signal_evidence * noise)
    return gi, places, best, move


def _signal_places(
    h: np.ndarray,
    n: np.ndarray,
    c: np.ndarray,
    losses: list[tuple[int, int]],
    sig: np.ndarray,
    period: float,
    rp: ReconstructParams,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Move losses within their timing-consistent ranges to where the signal is smoothest.

    Losses whose ranges (:func:`_ranges`) touch are placed jointly: every non-decreasing
    choice of places is scored by the summed squared residuals of local quadratic fits
    (``signal_window`` samples, sample index as abscissa, the lost samples counted) over all
    windows that straddle a candidate place. At the right place the missing samples leave a
    gap in the abscissa that the smooth signal bridges; at a wrong one the fit sees the
    signal's change over ``m + 1`` sample periods squeezed into one (and one period spread
    over ``m + 1`` where the gap really is). The best choice replaces the timing-only one when
    it fits better by more than ``signal_evidence`` noise variances (noise: the larger of the
    best choice's mean squared residual and the segment's white noise, :func:`_noise_var`); at
    rest nothing changes.

    Returns:
        (last-sample index of each notification, losses) with the chosen places.
    """
    big = len(h)
    L = rp.signal_window
    ns = len(sig)
    if not losses or big < 3 or ns < L + 2:
        return c, losses
    n_typ = int(np.median(n))
    order = sorted(range(len(losses)), key=lambda i: losses[i][0])
    lo = np.array([losses[i][0] for i in order], np.int64)
    m = np.array([losses[i][1] for i in order], np.int64)
    hi = _ranges(h, lo, n_typ * period, rp.pile_fraction)
    # places the timing put at most one notification past a loss's range may be the same
    # loss split in two (the floor between them is only known to a fraction of a period)
    for i in range(len(lo) - 2, -1, -1):
        if lo[i + 1] <= hi[i] + 1:
            hi[i] = max(hi[i], lo[i + 1])
    fs = np.r_[0, np.cumsum(n)[:-1]]  # first sample of each notification
    groups, rows_places, rows_group = _place_choices(lo, hi, fs, ns, rp)
    if not groups:
        return c, losses
    gi, places, best, move = _best_places(groups, rows_places, rows_group, lo, m, c, n, fs, sig, rp)
    new_lo = lo.copy()
    for g in np.flatnonzero(move).tolist():
        a, b = int(gi[g, 0]), int(gi[g, 1])
        new_lo[a:b] = places[best[g], : b - a]
    if np.array_equal(new_lo, lo):
        return c, losses
    out = list(losses)
    for j, i in enumerate(order):
        out[i] = (int(new_lo[j]), int(m[j]))
    extra = np.zeros(big + 1, np.int64)
    np.add.at(extra, new_lo, m)
    return np.cumsum(n) - 1 + np.cumsum(extra)[:big], out


#: Seconds after the first notification following a long silence in which the samples that
#: arrive count as the pile of a host stall (:func:`stall_pile_needed`).
PILE_WINDOW_S = 0.05


def stall_pile_needed(gap_s: float | np.ndarray, period: float) -> float | np.ndarray:
    """Samples that must arrive within :data:`PILE_WINDOW_S` of the first notification after
    a silence of ``gap_s`` seconds (sample period ``period``, s) for the silence to count as a
    host stall (the segment goes on) rather than a restart: a quarter of the samples the
    silence would hold, at least 10. The live pipeline uses the same rule."""
    return np.maximum(10, 0.25 * np.asarray(gap_s) / period)


def _restarts(h: np.ndarray, n: np.ndarray, period: float, gap_s: float) -> np.ndarray:
    """Notification indices where sampling restarts: after a silence longer than ``gap_s``,
    unless the silence ends with a pile of samples arriving at once (at least
    :func:`stall_pile_needed`, within :data:`PILE_WINDOW_S`): then the host or the link was
    held up and delivered what the sensor went on sampling, so the segment goes on."""
    after = np.flatnonzero(np.diff(h) > gap_s) + 1
    if not after.size:
        return after
    gap = h[after] - h[after - 1]
    csum = np.r_[0, np.cumsum(n)]
    pile = csum[np.searchsorted(h, h[after] + PILE_WINDOW_S, side="right")] - csum[after]
    return after[pile < stall_pile_needed(gap, period)]


def _checked_inputs(
    host_t: np.ndarray, counts: np.ndarray, rate_hz: float, signal: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The inputs of :func:`reconstruct_times` as arrays (the signal (N, k), non-finite values
    zeroed), or :class:`ClockModelError`."""
    h = np.asarray(host_t, np.float64)
    n = np.asarray(counts, np.int64)
    if not rate_hz or rate_hz <= 0:
        raise ClockModelError(
            "a sensor without timestamps needs its configured sample rate (rate_hz) to rebuild "
            "sample times; the session header has none"
        )
    if h.shape != n.shape or h.ndim != 1:
        raise ClockModelError(
            f"host times and counts must be 1-D of equal length, got {h.shape} and {n.shape}"
        )
    sig = None
    if signal is not None:
        sig = np.asarray(signal, np.float64)
        sig = sig[:, None] if sig.ndim == 1 else sig
        if sig.ndim != 2 or len(sig) != int(n.sum()):
            raise ClockModelError(
                f"the signal must have one row per sample ({int(n.sum())}), got {sig.shape}"
            )
        if not np.isfinite(sig).all():
            sig = np.nan_to_num(sig, nan=0.0, posinf=0.0, neginf=0.0)
    return h, n, sig


#: Notifications whose samples :func:`_sample_times` maps at a time (bounds its temporaries).
SAMPLE_CHUNK = 1 << 15


def _sample_times(
    model: ClockModel, last: np.ndarray, n: np.ndarray, period: float, notes: range
) -> np.ndarray:
    """Host time (s) of every sample of the notifications ``notes``: their last-sample
    indices ``last`` (within their segments) and counts ``n`` mapped by ``model`` (sensor
    time = index · ``period``, s), :data:`SAMPLE_CHUNK` notifications at a time into one
    output. Where the model starts a new segment its first mapped times can fall before the
    last ones of the previous segment; samples keep their order and at least half a period
    between them (elsewhere the steps are a whole period and nothing changes)."""
    pair_seg = model.segment_of(len(last))
    fs = np.cumsum(n) - n  # first sample of each notification
    base = int(fs[notes.start]) if len(notes) else 0
    t = np.empty(int(n[notes.start : notes.stop].sum()))
    carry = -np.inf  # the running maximum of (time - ramp) before the chunk
    half = 0.5 * period
    for a in range(notes.start, notes.stop, SAMPLE_CHUNK):
        b = min(a + SAMPLE_CHUNK, notes.stop)
        nn = n[a:b]
        s0 = int(fs[a])
        s1 = s0 + int(nn.sum())
        if s1 == s0:
            continue
        note = np.repeat(np.arange(a, b), nn)
        idx = np.repeat(last[a:b] - nn + 1, nn) + (np.arange(s0, s1) - np.repeat(fs[a:b], nn))
        piece = model.to_host(idx * period, pair_seg[note])
        del note, idx
        ramp = half * np.arange(s0, s1)
        piece -= ramp
        piece[0] = np.maximum(piece[0], carry)
        np.maximum.accumulate(piece, out=piece)
        carry = piece[-1]
        piece += ramp
        t[s0 - base : s1 - base] = piece
    return t


def reconstruct_times(
    host_t: np.ndarray,
    counts: np.ndarray,
    rate_hz: float,
    params: ReconstructParams | None = None,
    signal: np.ndarray | None = None,
    times_in: tuple[float, float] | None = None,
) -> Reconstruction:
    """Per-sample host times for notifications without sensor timestamps.

    Args:
        host_t: (M,) receive time of each notification, s, in receive order.
        counts: (M,) samples in each notification.
        rate_hz: configured (nominal) sample rate, Hz.
        params: tuning.
        signal: optional (N,) or (N, k) values of every sample in notification order (N =
            ``counts.sum()``), e.g. the gyro in rad/s; any smooth quantity works, as only
            residuals relative to its own noise are compared. Used to place losses the receive
            times leave ambiguous (see the module docstring); None: timing only.
        times_in: (from, to) receive times, s: the sample times only of the notifications
            received in ``[from, to)`` (``Reconstruction.first_sample`` says where they
            begin; their order and spacing is kept among themselves), as a caller that
            decides only those does; the losses and the clock are found on all of them.
            None: of every sample.

    Raises:
        ClockModelError: for a non-positive rate or mismatched inputs.
    """
    rp = params or ReconstructParams()
    h, n, sig = _checked_inputs(host_t, counts, rate_hz, signal)
    period = 1.0 / rate_hz
    if len(h) == 0:
        model = fit_clock(np.empty(0), np.empty(0), rp.clock)
        return Reconstruction(np.empty(0), np.empty(0, np.int64), 0, (), (), model)
    starts = np.r_[0, _restarts(h, n, period, rp.restart_gap_s)]
    bounds = np.r_[starts, len(h)]
    last = np.empty(len(h), np.int64)
    losses: list[tuple[int, int]] = []
    csum = dict(zip(bounds.tolist(), np.r_[0, np.cumsum(n)][bounds].tolist(), strict=True))
    # one segment: its connection interval is also the one reported for all the receive times
    interval = FoundInterval(connection_interval(h, rp.events)) if len(starts) == 1 else None
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        by_events = event_losses(h[a:b], n[a:b], period, rp.restart_gap_s, rp.events, interval)
        c, found = by_events or _find_losses(h[a:b], n[a:b], period, rp)
        if sig is not None and found:
            c, found = _signal_places(h[a:b], n[a:b], c, found, sig[csum[a] : csum[b]], period, rp)
        last[a:b] = c
        losses += [(a + j, m) for j, m in found]
        del c
    del csum
    # the clock follows the line under the connection-event staircase, not its treads
    wait = np.zeros(len(h))
    at_loss = np.array([j for j, _ in losses], np.int64)
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        x = last[a:b] * period
        step = int(np.median(n[a:b])) * period
        clean = not np.any((at_loss >= a) & (at_loss < b))
        _least_wait(x, h[a:b] - x, max(0.25, 5 * step), step, whole=clean, out=wait[a:b])
        del x
    below = np.subtract(h, wait, out=wait)  # h - wait: the receive times on the line
    model = fit_clock(last * period, below, rp.clock, starts=starts)
    del wait, below
    notes = range(len(h))
    if times_in is not None:
        notes = range(*(int(i) for i in np.searchsorted(h, times_in)))
    t = _sample_times(model, last, n, period, notes)
    lost = sum(m for _, m in losses)
    first = int(n[: notes.start].sum())
    return Reconstruction(
        t, last, lost, tuple(losses), tuple(starts.tolist()), model, interval, first
    )
