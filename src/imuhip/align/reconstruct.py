"""Per-sample host times for sensors that send no timestamps.

Such sensors (e.g. WitMotion) sample at a steady rate on their own crystal, slightly off the
configured nominal rate, and send ``n`` samples per notification; the host only knows when each
notification arrived. With ``P = 1 / nominal_rate`` and ``c_j`` the sample index of the last
sample in notification ``j``, ``host_j = a + b·(c_j·P) + latency_j`` with one-sided latency, which
is the sensor-clock problem of :mod:`imuhip.align.clock` with the sensor clock ``c·P``. So:

1. **Segments**: a host silence longer than ``restart_gap_s`` starts a new segment (after a
   reconnect the sensor restarts its sampling with an unrelated phase; whether it went on
   sampling cannot be told without timestamps), unless the silence ends with a pile of held
   samples arriving at once (a host stall: the sensor went on sampling, the segment goes on).
2. **Lost notifications**: a lost notification makes every later raw index too small by its
   sample count, so the lower envelope (floor) of ``host - c·P`` steps *up* by ``m·P``. Steps
   are found by comparing the minimum of the (de-skewed) offset over ``step_window_s`` before
   and after each notification (down to 10 notifications before a segment's end); the step
   ``pre -> post`` counts whole notification periods. Each period of the step is placed right
   after the last notification that would otherwise have arrived before it was sent (offset
   below the floor after it, taken as the lower of ``pre + u·step`` and ``post - (units -
   u)·step``, less a tenth of a period): the earliest place consistent with non-negative
   latency, i.e. least total latency (the lower-envelope principle). Taking the lower of the
   two floors matters because the floor itself jumps by a fraction of a period when the
   connection-event phase wraps (a quarter at 7.5 ms connection intervals and 100 Hz); close
   losses come out at separate places. Repeated until no step is left.

   Limitations (receive times alone cannot tell): a notification just before a loss that
   arrived unusually late (retransmission, stall) is put after the loss, one notification
   period off; with several notifications per connection event the place of a loss inside a
   burst is ambiguous, and at connection intervals of a whole number of periods (30 ms at
   100 Hz) the floor jumps by about a period when the phase wraps, which looks like a loss;
   at 15 ms the jump is half a period and may add one (counts are then one off).
3. **Rate and phase**: :func:`imuhip.align.clock.fit_clock` on the pairs ``(c_j·P, host_j)``,
   which tracks the true rate (the skew) and its drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import minimum_filter1d

from imuhip.align.clock import (
    ClockModel,
    ClockParams,
    _bucket_minima,
    fit_clock,
)
from imuhip.errors import ClockModelError


@dataclass(frozen=True)
class ReconstructParams:
    """Tuning of the reconstruction (seconds).

    Attributes:
        restart_gap_s: host silence after which sampling is assumed to restart (new segment).
        step_window_s: time compared before/after each notification to find index steps.
        clock: parameters of the rate/phase fit.
    """

    restart_gap_s: float = 1.0
    step_window_s: float = 1.0
    clock: ClockParams = field(default_factory=ClockParams)


@dataclass(frozen=True)
class Reconstruction:
    """Sample times rebuilt from receive times.

    Attributes:
        t: (N,) host time of every received sample, s, in notification order.
        note_last_index: (M,) sample index (within its segment, counting lost samples) of each
            notification's last sample.
        lost_samples: samples found missing (lost notifications), all segments.
        losses: (notification index, samples missing just before it) of every loss found.
        segment_starts: notification indices where a segment starts (first is 0).
        model: the rate/phase fit (sensor time = index / nominal rate).
    """

    t: np.ndarray
    note_last_index: np.ndarray
    lost_samples: int
    losses: tuple[tuple[int, int], ...]
    segment_starts: tuple[int, ...]
    model: ClockModel


def _fmin(xp: np.ndarray, k: int) -> np.ndarray:
    # centred minimum filter shifted so that output j covers xp[j : j + k]
    c = minimum_filter1d(xp, k, mode="nearest")
    h = k // 2
    out = np.empty_like(xp)
    out[: len(xp) - h] = c[h:]
    out[len(xp) - h :] = np.inf
    return out


def _rough_skew(s: np.ndarray, y: np.ndarray, bucket_s: float, clip: float) -> float:
    """Skew from the median change of the offset's per-bucket minima (robust to index steps)."""
    if len(s) < 2 or s[-1] - s[0] < 3 * bucket_s:
        return 0.0
    bid, _, by = _bucket_minima(s - s[0], y, bucket_s)
    good = np.diff(bid) == 1
    if not good.any():
        return 0.0
    k = float(np.median(np.diff(by)[good])) / bucket_s
    return min(max(k, -clip), clip)


def _place_step(
    e: np.ndarray, a: int, b: int, k: int, pre: float, step: float, tol: float
) -> list[tuple[int, int]]:
    """Places of the lost notifications behind one upward step of the offset floor.

    ``e[a:b]`` is a run of notifications whose following window's floor is above the previous
    window's (``pre``, the floor before ``a``). ``post``, the floor of the ``k`` notifications
    after the run, must be above the loss(es); the step is ``units`` notification periods.
    Unit ``u`` of the step lies after every notification that would otherwise arrive before
    it was sent (``e < post - (units - u)·step - tol``) and, by the lower-envelope principle
    (least total latency), right after the last such one. Close losses inside one run come out
    as separate places; one loss of several notifications as one.

    Returns:
        (notification index, lost notifications) pairs, in order.
    """
    post = float(e[b : b + k].min())
    units = round((post - pre) / step)
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
    for _ in range(50):  # steps close together interact: re-check after inserting
        s = c * period
        y = h - s
        e = y - _rough_skew(s, y, max(1.0, 20 * step), clip) * (s - s[0])
        fw = _fmin(np.concatenate([e, np.full(k, np.inf)]), k)[: len(e)]
        bw = np.full(len(e), np.inf)
        if len(e) > k:  # a segment shorter than the window has no full windows behind
            bw[k:] = fw[: len(e) - k]
        head = np.minimum.accumulate(e)  # windows cut by the segment start
        bw[1 : min(k, len(e))] = head[: min(k, len(e)) - 1]
        rise = fw - bw
        hit = rise > 0.5 * step
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
            found = _place_step(e, a, b, k, float(e[max(0, a - k) : a].min()), step, tol)
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


def _restarts(h: np.ndarray, n: np.ndarray, period: float, gap_s: float) -> np.ndarray:
    """Notification indices where sampling restarts: after a silence longer than ``gap_s``,
    unless the silence ends with a pile of samples arriving at once (at least a quarter of
    those the silence would hold, within 50 ms): then the host or the link was held up and
    delivered what the sensor went on sampling, so the segment goes on."""
    after = np.flatnonzero(np.diff(h) > gap_s) + 1
    if not after.size:
        return after
    gap = h[after] - h[after - 1]
    csum = np.r_[0, np.cumsum(n)]
    pile = csum[np.searchsorted(h, h[after] + 0.05, side="right")] - csum[after]
    return after[pile < np.maximum(10, 0.25 * gap / period)]


def reconstruct_times(
    host_t: np.ndarray,
    counts: np.ndarray,
    rate_hz: float,
    params: ReconstructParams | None = None,
) -> Reconstruction:
    """Per-sample host times for notifications without sensor timestamps.

    Args:
        host_t: (M,) receive time of each notification, s, in receive order.
        counts: (M,) samples in each notification.
        rate_hz: configured (nominal) sample rate, Hz.
        params: tuning.

    Raises:
        ClockModelError: for a non-positive rate or mismatched inputs.
    """
    rp = params or ReconstructParams()
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
    period = 1.0 / rate_hz
    if len(h) == 0:
        model = fit_clock(np.empty(0), np.empty(0), rp.clock)
        return Reconstruction(np.empty(0), np.empty(0, np.int64), 0, (), (), model)
    starts = np.r_[0, _restarts(h, n, period, rp.restart_gap_s)]
    bounds = np.r_[starts, len(h)]
    last = np.empty(len(h), np.int64)
    losses: list[tuple[int, int]] = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        c, found = _find_losses(h[a:b], n[a:b], period, rp)
        last[a:b] = c
        losses += [(a + j, m) for j, m in found]
    model = fit_clock(last * period, h, rp.clock, starts=starts)
    pair_seg = model.segment_of(len(h))
    note = np.repeat(np.arange(len(h)), n)
    first = last - n + 1
    idx = np.repeat(first, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    t = model.to_host(idx * period, pair_seg[note])
    # where the clock model starts a new segment its first mapped times can fall before the
    # last ones of the previous segment; samples keep their order and at least half a period
    # between them (elsewhere the steps are a whole period and nothing changes)
    ramp = 0.5 * period * np.arange(len(t))
    t = np.maximum.accumulate(t - ramp) + ramp
    lost = sum(m for _, m in losses)
    return Reconstruction(t, last, lost, tuple(losses), tuple(starts.tolist()), model)
