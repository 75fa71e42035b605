"""Causal sample times for a sensor without timestamps, from its notifications' receive times.

:class:`HostStampedClock` numbers the samples of one channel (the nominal rate as the sensor's
clock, the samples per notification as counted), maps them to host time with a
:class:`~imuhip.align.clock.StreamingClock` that follows the lower envelope of the receive
times, and decides causally where notifications were lost: a run of late arrivals is held back
until it ends on time (held up, nothing lost) or lasts long enough to show a loss. Times are
seconds on the host's monotonic clock. The offline counterpart, fitting a stretch at
once, is :func:`imuhip.align.reconstruct.reconstruct_times`; the two count the same losses on
the same data and differ in sample times by about a millisecond (tests).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from imuhip.align.clock import ClockParams, StreamingClock
from imuhip.align.reconstruct import ReconstructParams, reconstruct_times
from imuhip.errors import ClockModelError, ImuhipError

__all__ = ["HostStampedClock", "increasing_times"]

#: A notification counts as late when it arrives this many notification periods after the
#: clock model's time for it. One lost notification makes the following ones at least a whole
#: period late; the connection-event phase alone makes a run of them up to about a third of a
#: 15 ms interval late (simulated links), so half a period gave false losses.
LATE_FRACTION = 0.75
#: A run of late notifications is a loss once it has lasted this long (seconds; the default of
#: ``loss_window_s``) over at least ``MIN_LATE_NOTES`` notifications. Retransmissions hold a
#: few connection events up (tens of ms) and end with the backlog arriving on time.
LOSS_WINDOW_S = 0.2
MIN_LATE_NOTES = 5
#: Another sensor's late run that began within this long (seconds) of this one's, both late by
#: ``HOST_LATE_MIN_PERIODS`` notification periods or more, is taken for the host falling behind
#: (a busy event loop delays every callback at once), not a loss: such runs wait until they end
#: (no loss), for at most ``CONGESTION_WAIT_S``.
LATE_ONSET_S = 0.05
HOST_LATE_MIN_PERIODS = 3.0
CONGESTION_WAIT_S = 2.0
#: Notifications closer than this many sample periods after a host stall's silence are its
#: pile (held up together; as ``ReconstructParams.pile_fraction``).
PILE_SPACING = 0.4
#: Lateness is measured above the lowest lateness of the on-time notifications of this long
#: before (seconds), as batch compares the floors before and after a step.
FLOOR_WINDOW_S = 1.0
#: No loss is looked for in a segment's first seconds: the rate and phase are still settling.
LOSS_WARM_UP_S = 1.0


def increasing_times(t: np.ndarray, after: float) -> np.ndarray:
    """``t`` unchanged when strictly increasing and after ``after``; else the smallest
    change that makes it so (1 µs steps). Causal estimates may step back a little when the
    clock model improves; the grid needs increasing times."""
    if len(t) == 0 or (t[0] > after and (len(t) == 1 or bool(np.all(np.diff(t) > 0)))):
        return t
    ramp = 1e-6 * np.arange(1, len(t) + 1)
    return np.maximum.accumulate(np.maximum(t - ramp, after)) + ramp


class HostStampedClock:
    """Causal sample times for a channel without sensor timestamps (see module docstring).

    Notifications go in with :meth:`push` and come out, in order, with their samples' host
    times. Most come out at once. A notification that arrives late (``LATE_FRACTION`` of a
    notification period after the clock model's time for it, above the floor of the on-time
    arrivals of the last ``FLOOR_WINDOW_S``) is held back with those after
    it until the run of late arrivals is decided: it ends with one on time (held up, not lost:
    released as they are) or it lasts ``loss_window_s`` over ``MIN_LATE_NOTES``
    notifications (a loss: its samples, whole notifications of the smallest lateness seen,
    are put before the first late one, the least-latency place batch also takes, and every
    held sample gets its true index). The clock model learns from the held ones only once
    they are placed, so a loss neither drags it nor leaves samples a period early.

    Silences: a receive silence over ``restart_gap_s`` starts a new segment unless
    :meth:`push` is told it was a host stall (``stall=True``); then the segment goes on and
    the held samples get the times the sensor sampled them at (spread over the end of the
    silence, as in batch). The decision needs the pile that follows the silence, so it is
    made by :class:`~imuhip.align.causal.CausalSensorAligner`, which holds the notifications
    after a silence back (at most ``PILE_WINDOW_S``) and decides exactly as
    :func:`imuhip.align.reconstruct.reconstruct_times`. Used alone, this class restarts on
    every such silence.

    Args:
        rate_hz: nominal sample rate.
        restart_gap_s: receive silence after which sampling restarts (new segment).
        loss_window_s: how long receive times must stay late to count as lost samples (the
            most a late run holds samples back, unless the host seems behind).
        clock: clock model parameters.
        peers: a dict shared by the host-stamped channels of one host: a late run that began
            together with another sensor's (within ``LATE_ONSET_S``, both at least
            ``HOST_LATE_MIN_PERIODS`` late) is the host, not the link, being behind; it waits
            to end, for at most ``CONGESTION_WAIT_S``.
    """

    def __init__(
        self,
        rate_hz: float,
        restart_gap_s: float = 1.0,
        loss_window_s: float = LOSS_WINDOW_S,
        clock: ClockParams | None = None,
        peers: dict | None = None,
    ) -> None:
        if not rate_hz or rate_hz <= 0:
            raise ImuhipError(
                "a sensor without timestamps needs its configured sample rate (rate_hz)"
            )
        self.period = 1.0 / float(rate_hz)
        self.restart_gap_s = restart_gap_s
        self.loss_window_s = loss_window_s
        # silences are handled here (restart), not by the clock's continuity check
        self._params = replace(clock or ClockParams(), gap_s=math.inf)
        self.clock: StreamingClock | None = None
        self._last_index = -1
        self._last_h = -math.inf
        self._segment_h0 = -math.inf
        self._in_pile = False
        self._recent: deque[tuple[float, float]] = deque()  # on-time (receive time, lateness)
        self._warm: list[tuple[float, int, Any]] = []  # a segment's first notifications
        self._counts: deque[int] = deque(maxlen=64)
        self._hist: dict[int, int] = {}
        self._n_typ = 1
        # the late run held back: (receive time, samples, item) and its summary
        self._held: list[tuple[float, int, Any]] = []
        self._held_n = 0
        self._late_since = math.inf
        self._late_min = math.inf
        self._run_floor = 0.0
        self.lost_samples = 0
        self.segments = 0
        self.peers = peers if peers is not None else {}

    @property
    def holding(self) -> bool:
        """Whether notifications are held back (warm-up or a late run)."""
        return bool(self._held or self._warm)

    def push(
        self, t_host: float, n: int, item: Any = None, *, stall: bool = False
    ) -> list[tuple[Any, np.ndarray]]:
        """Take a notification of ``n`` samples received at ``t_host`` (``item``: whatever the
        caller needs back with it); return the notifications released by it, in arrival
        order, each as ``(item, sample host times (n,))``.

        ``stall``: the silence before this notification was a host stall (it ended with a
        pile of held samples, decided by the caller as batch does): the segment goes on."""
        if n <= 0:
            return []
        h = float(t_host)
        out: list[tuple[Any, np.ndarray]] = []
        if self.clock is None or (h - self._last_h > self.restart_gap_s and not stall):
            out += self.flush()
            self.clock = StreamingClock(self._params)
            self._last_index = -1
            self._segment_h0 = h
            self._recent.clear()
            self.segments += 1
        # a host stall's pile (notifications back to back after the silence) is late because
        # the host was: placed as it comes (as batch, which finds no loss in it)
        gap, self._last_h = h - self._last_h, h
        self._in_pile = stall or (self._in_pile and gap < PILE_SPACING * self.period)
        self._count_typ(n)
        if self._in_pile:
            return out + self._release(0) + [(item, self._commit(h, n, 0))]
        if h - self._segment_h0 < LOSS_WARM_UP_S:
            self._warm.append((h, n, item))
            return out
        return out + self._end_warm_up() + self._take(h, n, item)

    def _end_warm_up(self) -> list[tuple[Any, np.ndarray]]:
        """Place a segment's first ``LOSS_WARM_UP_S`` of notifications as batch does (a causal
        model that young cannot tell a loss from its own error): indices and losses from
        :func:`~imuhip.align.reconstruct.reconstruct_times` over them, then the streaming
        clock learns them in order."""
        warm, self._warm = self._warm, []
        if not warm:
            return []
        hs = np.array([w[0] for w in warm])
        ns = np.array([w[1] for w in warm])
        last = np.cumsum(ns) - 1
        if len(warm) >= MIN_LATE_NOTES:
            try:
                rp = ReconstructParams(restart_gap_s=math.inf, clock=self._params)
                last = reconstruct_times(hs, ns, 1.0 / self.period, rp).note_last_index
            except ClockModelError:
                pass  # too little to fit: taken as they came
        out = []
        for (h, n, item), k in zip(warm, last, strict=True):
            out.append((item, self._commit(h, n, int(k) - self._last_index - n)))
        return out

    def _take(self, h: float, n: int, item: Any) -> list[tuple[Any, np.ndarray]]:
        """Place a notification now or hold it in the late run; what that releases."""
        step = self._n_typ * self.period
        # lateness against the clock model, above the recent floor of on-time arrivals (the
        # floor wanders by a fraction of a period as the connection-event phase drifts against
        # the sample clock); a run is judged against the floor from before it, which would
        # otherwise age out while the run waits
        late = h - self._map((self._last_index + self._held_n + n) * self.period)
        floor = self._run_floor if self._held else self._recent_floor(h)
        late -= floor
        if late <= LATE_FRACTION * step:
            out = self._release(0)  # the run ended on time: held up, nothing lost
            out.append((item, self._commit(h, n, 0)))
            self._note_on_time(h, late + floor)
            return out
        if not self._held:
            self._late_since, self._late_min, self._run_floor = h, math.inf, floor
        self._held.append((h, n, item))
        self._held_n += n
        self._late_min = min(self._late_min, late)
        self.peers[id(self)] = (self._late_since, self._late_min)
        if self._loss_shown(h):
            return self._release(self._run_loss())
        return []

    def _note_on_time(self, h: float, late: float) -> None:
        """Keep the sliding minimum of on-time lateness (``FLOOR_WINDOW_S``)."""
        r = self._recent
        while r and r[-1][1] >= late:
            r.pop()
        r.append((h, late))

    def _recent_floor(self, h: float) -> float:
        r = self._recent
        while r and r[0][0] < h - FLOOR_WINDOW_S:
            r.popleft()
        return r[0][1] if r else 0.0

    def poll(self, t_host: float) -> list[tuple[Any, np.ndarray]]:
        """Decide a held run, or end a warm-up, whose time is up at ``t_host`` (any later
        receive time, also another sensor's) though no notification of this channel came;
        return what that releases."""
        if self._held and t_host - self._late_since >= self._wait_s() + self.loss_window_s:
            return self.flush()
        if self._warm and t_host - self._segment_h0 >= LOSS_WARM_UP_S + self.loss_window_s:
            return self._end_warm_up()
        return []

    def flush(self) -> list[tuple[Any, np.ndarray]]:
        """Release what is held now (end of data, silence), decided on what has arrived."""
        out = self._end_warm_up()
        while self._held:  # a loss re-takes the rest, which may hold a run of its own
            # still late when the data ends: a loss, if the run is long enough to tell
            out += self._release(self._run_loss() if len(self._held) >= MIN_LATE_NOTES else 0)
        return out

    def _run_loss(self) -> int:
        """Samples lost before the held run: whole notifications of its least lateness."""
        return self._n_typ * round(self._late_min / (self._n_typ * self.period))

    def _wait_s(self) -> float:
        return CONGESTION_WAIT_S if self._host_late() else self.loss_window_s

    def _loss_shown(self, h: float) -> bool:
        """Whether the held run shows a loss at receive time ``h``."""
        if len(self._held) < MIN_LATE_NOTES or h - self._late_since < self.loss_window_s:
            return False
        return not self._host_late() or h - self._late_since >= CONGESTION_WAIT_S

    def _release(self, lost: int) -> list[tuple[Any, np.ndarray]]:
        """Place the held run, ``lost`` samples missing before its first notification. With
        a loss the rest are taken again against the corrected index: a second loss inside
        the run starts a run of its own."""
        held, self._held, self._held_n = self._held, [], 0
        self.peers.pop(id(self), None)
        if not held:
            return []
        (h, n, item), rest = held[0], held[1:]
        out = [(item, self._commit(h, n, lost))]
        for h, n, item in rest:
            out += self._take(h, n, item) if lost else [(item, self._commit(h, n, 0))]
        return out

    def _commit(self, h: float, n: int, lost: int) -> np.ndarray:
        """Index the notification (``lost`` samples missing before it), teach the clock."""
        assert self.clock is not None
        last = self._last_index + lost + n
        self.lost_samples += lost
        self.clock.update(last * self.period, h)
        self._last_index = last
        idx = last - n + 1 + np.arange(n)
        return self._map_many(idx * self.period)

    def _host_late(self) -> bool:
        """Whether another sensor's late run began together with this one's, both by at
        least ``HOST_LATE_MIN_PERIODS`` (two sensors losing a notification or two within the
        same 50 ms is not that rare; a host falling that far behind for ``loss_window_s``
        would look like a loss of several notifications on every sensor)."""
        me = id(self)
        far = HOST_LATE_MIN_PERIODS * self._n_typ * self.period
        return self._late_min >= far and any(
            k != me and abs(since - self._late_since) <= LATE_ONSET_S and least >= far
            for k, (since, least) in self.peers.items()
        )

    def _count_typ(self, n: int) -> None:
        """Track the usual samples per notification (most common of the last 64)."""
        if len(self._counts) == self._counts.maxlen:
            old = self._counts[0]
            self._hist[old] -= 1
        self._counts.append(n)
        self._hist[n] = self._hist.get(n, 0) + 1
        if self._hist[n] > self._hist.get(self._n_typ, 0):
            self._n_typ = n

    def _fit_for(self, x: float):
        """The clock fit :meth:`StreamingClock.to_host` uses at sensor time ``x``."""
        assert self.clock is not None
        seg = self.clock.segment
        if seg is None or not seg.fits:
            return None
        k = min(max(math.floor((x - seg.s0) / self._params.block_s) - 1, 0), len(seg.fits) - 1)
        return seg.fits[k]

    def _map(self, x: float) -> float:
        f = self._fit_for(x)
        if f is None:
            return float(self.clock.to_host(x))  # type: ignore[union-attr]
        seg = self.clock.segment  # type: ignore[union-attr]
        return x + seg.y0 + f.offset_s + f.skew * (x - seg.s0) - self._params.latency_floor_s

    def _map_many(self, x: np.ndarray) -> np.ndarray:
        f = self._fit_for(float(x[-1]))
        if f is None or self._fit_for(float(x[0])) is not f:
            return self.clock.to_host(x)  # type: ignore[union-attr]
        seg = self.clock.segment  # type: ignore[union-attr]
        return x + seg.y0 + f.offset_s + f.skew * (x - seg.s0) - self._params.latency_floor_s
