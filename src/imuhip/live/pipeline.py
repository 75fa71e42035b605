"""The streaming form of :func:`imuhip.pipeline.analyze_session`: live use and replay.

Feed raw notifications ``(role, channel, t_host, bytes)`` (or decoded sample blocks, for
sessions that store samples) and events in arrival order; :class:`LivePipeline` runs

    decode (the session header's decoders) -> sample times on the host clock -> one common
    time grid -> [buffer until the calibration phases are complete] -> orientation per sensor
    (:class:`OrientationFilter`, seeded with the still start's gyro bias and run from the
    session's first sample, as batch does) -> calibrate -> :class:`HipRotationTracker` ->
    :class:`ExerciseDetector`

and keeps a :class:`LiveState` (current angle, best rep, rep and hold counts, hold timer) plus
the detector's events as they happen. Each stage is the streaming form of the batch stage, so
where the input times are the same the results are the same as the batch pipeline's on the
recorded file (tested):

- **Stored samples** (imports, simulations): times as stored; identical to batch.
- **Sensor timestamps** (Polar, Movesense, ...): :class:`~imuhip.align.clock.StreamingClock`
  per sensor; bit-identical to batch after its warm-up (see :mod:`imuhip.align.clock`).
- **Host-stamped profiles** (WitMotion, MetaMotion packed): the batch pipeline rebuilds sample
  times with a fit over the whole session (:mod:`imuhip.align.reconstruct`); live, a causal
  estimate is used (:class:`HostStampedClock`): the sample index (counted from the samples per
  notification, the nominal rate as sensor clock) goes through a :class:`StreamingClock`, so
  the rate and phase follow the lower envelope of the receive times as in batch, but only
  from what has arrived. A segment's first ``LOSS_WARM_UP_S`` (1 s) is held back and placed by
  the batch reconstruction itself. Afterwards a notification arriving late (3/4 of a
  notification period above the recent floor) is held back with the ones after it until the
  run is decided: one on time ends it (held up, nothing lost), or it lasts ``loss_window_s``
  (0.2 s): whole notifications of its smallest lateness were lost just before it, and every
  held sample gets its true index. So counts match batch and samples after a loss are not a
  period early; the cost is that many milliseconds of latency while a run is open (runs of 3
  or more periods that start together on two sensors wait up to 2 s: the host, not a link,
  may be behind). A silence over ``restart_gap_s`` is decided as in batch: the samples of the
  notifications arriving in the next ``PILE_WINDOW_S`` (50 ms) are held back; a pile of held
  samples (:func:`~imuhip.align.reconstruct.stall_pile_needed`) is a host stall and the
  segment goes on, else a new segment starts (see :class:`_SensorInput`). On SIMULATED lossy
  links live counts the lost samples as batch does (tested) and its times follow batch's;
  where the connection-event phase wraps slowly against a sensor clock a few tens of ppm off
  both drift apart from the truth by several milliseconds (see
  :mod:`imuhip.align.reconstruct`). One batch refinement has no live counterpart yet: the
  batch places ambiguous losses with the decoded gyro (live keeps the least-latency place).

The grid is the batch grid: ``start = max(first thigh, first shin sample)``, points
``start + k / rate`` emitted as soon as both sensors have a sample at or after them, values
linearly interpolated between the same neighbouring samples. Calibration waits for the four
``calibration_phase`` marks of live guidance and ``min_still_end_s`` of data after the last
one (exactly :func:`~imuhip.joint.phases.phases_from_marks`); sessions without marks are
searched with :func:`~imuhip.joint.phases.find_phases` as data grows (once found, the phases
match a search over the whole file unless later data changes the first match).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from imuhip.align.clock import ClockParams, StreamingClock
from imuhip.align.conn_events import EventParams, arrival_interval
from imuhip.align.reconstruct import (
    PILE_WINDOW_S,
    ReconstructParams,
    reconstruct_times,
    stall_pile_needed,
)
from imuhip.analysis.detector import ExerciseDetector
from imuhip.analysis.events import AnalysisEvent, Hold, Rep
from imuhip.analysis.exercise import ExerciseResult
from imuhip.calibration_protocol import PHASE_EVENT, PHASES, START_POSE_SHANK_TILT_DEG
from imuhip.decode import DecodeStats, get_decoder
from imuhip.errors import CalibrationError, ClockModelError, ImuhipError
from imuhip.fusion.gyro_scale import correct_gyro
from imuhip.fusion.orientation import DEFAULT_METHOD, OrientationFilter
from imuhip.joint.calibration import Calibration, calibrate
from imuhip.joint.hip_rotation import HipRotationTracker
from imuhip.joint.phases import STILL_RATE, Phases, find_phases, phases_from_marks
from imuhip.pipeline import (
    LONG_GAP_S,
    RECOVERY_S,
    PipelineOptions,
    check_calibration_data,
    gyro_scales,
    heading_needs_rests,
    still_start_bias,
)
from imuhip.samples import ImuSamples
from imuhip.session import SAMPLES_PROFILE, Event, SensorInfo, SessionHeader

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
#: A timestamp-less sensor's connection interval is judged once, on the receive times of its
#: first this many notifications (about 10 s at 100 Hz), as batch judges it on the whole file.
INTERVAL_PROBE_NOTES = 1000
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
#: Seconds of still data after the ``still_end`` mark that the calibration uses (as batch).
MIN_STILL_END_S = 1.5
_EMPTY3 = np.empty((0, 3))


def _increasing(t: np.ndarray, after: float) -> np.ndarray:
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
    made by :class:`_SensorInput`, which holds the notifications after a silence back (at most
    ``PILE_WINDOW_S``) and decides exactly as
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


class _SensorInput:
    """One sensor: decode, put samples on the host clock, merge acc onto gyro times.

    Host stalls (host-stamped sensors only): when a notification arrives more than
    ``restart_gap_s`` after the previous one, it and the notifications arriving within
    ``PILE_WINDOW_S`` (50 ms) of it are held back, and their samples counted (gyro samples, as
    batch counts per channel kind). As soon as the count reaches
    :func:`~imuhip.align.reconstruct.stall_pile_needed` of the silence (a pile of held
    samples: a host stall) they are released with the segment going on; if the window ends
    without that (judged on the next receive time of any sensor, :meth:`poll`, or at the end
    of data, :meth:`flush`) they are released as the start of a new segment (reconnect). The
    same rule as batch, so both split segments at the same places. Added latency: only after a
    silence over ``restart_gap_s``; on a stall until the pile is big enough (a few ms: piles
    arrive back-to-back), on a reconnect at most 50 ms plus the wait for the next
    notification. Elsewhere samples are put on the clock as they arrive.
    """

    def __init__(
        self, info: SensorInfo, rp: ReconstructParams, loss_window_s: float, peers: dict
    ) -> None:
        self.info = info
        self._peers = peers
        self.role = info.role
        self.stored = info.profile == SAMPLES_PROFILE
        config = {"rate_hz": info.rate_hz, **info.config}
        self.decoder = None if self.stored else get_decoder(info.profile, config)
        self._rp = rp
        self._loss_window_s = loss_window_s
        self.clock: StreamingClock | None = None
        self.host_clocks: dict[str, HostStampedClock] = {}
        self.timing = "stored" if self.stored else ""
        self._last = {"acc": -math.inf, "gyr": -math.inf}
        self._acc_t = np.empty(0)
        self._acc_v = _EMPTY3
        self._gyr_t = np.empty(0)
        self._gyr_v = _EMPTY3
        self._first_acc: float | None = None
        # merged samples not yet consumed by the grid (chunks, joined when resampling)
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.first_t: float | None = None  # first sample not yet consumed
        self.last_t: float | None = None  # newest sample
        self.samples = 0
        self.notifications = 0
        self._rate_win: deque[tuple[float, int]] = deque()
        self.kept_times: list[np.ndarray] | None = None
        # host-stamped notifications held back after a long silence (receive time, blocks)
        self._held: list[tuple[float, list]] = []
        self._pile = 0
        self._pile_needed = math.inf
        self._last_note_h = -math.inf
        # receive times of host-timed notifications until the connection interval is judged
        self._probe: list[float] | None = []
        self.interval_s: float | None = None

    @property
    def stats(self) -> DecodeStats | None:
        return None if self.decoder is None else self.decoder.stats

    @property
    def lost_samples(self) -> int:
        found = sum(c.lost_samples for c in self.host_clocks.values() if c is not None)
        return found // max(1, len(self.host_clocks)) + (
            self.decoder.stats.lost_samples if self.decoder else 0
        )

    def effective_rate(self) -> float | None:
        """Samples per second over the last two seconds of sample time."""
        w = self._rate_win
        if len(w) < 2 or w[-1][0] - w[0][0] <= 0.2:
            return None
        return (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])

    # -- input
    def notification(self, channel: int, t_host: float, data: bytes) -> None:
        assert self.decoder is not None
        self.notifications += 1
        blocks = [b for b in self.decoder.feed(data, t_host, channel) if b.kind != "mag"]
        if not blocks:
            return
        if any(b.sensor_clock and len(b.t) for b in blocks):
            self._place(t_host, blocks)
            return
        n = next((len(b.t) for b in blocks if b.kind == "gyr" and len(b.t)), 0) or max(
            len(b.t) for b in blocks
        )
        if not n:
            return
        h = float(t_host)
        self.poll(h)
        if self._held:
            self._held.append((h, blocks))
            self._pile += n
            if self._pile >= self._pile_needed:  # a stall: known as soon as the pile is
                self._release(stall=True)
        elif h - self._last_note_h > self._rp.restart_gap_s and self._last_note_h > -math.inf:
            self._held = [(h, blocks)]
            self._pile = n
            self._pile_needed = float(
                stall_pile_needed(h - self._last_note_h, 1.0 / self.info.rate_hz)
            )
            if self._pile >= self._pile_needed:
                self._release(stall=True)
        else:
            self._place(h, blocks)
        self._last_note_h = h

    def poll(self, t_host: float) -> None:
        """Release held samples once the pile window after a silence is over at ``t_host``
        (host time, s; any later receive time, also another sensor's): no pile means a
        restart; and late runs whose time is up."""
        if self._held and t_host > self._held[0][0] + PILE_WINDOW_S:
            self._release(stall=False)
        for hc in self.host_clocks.values():
            if hc.holding:
                self._emit(hc.poll(t_host))

    def flush(self) -> None:
        """Release held samples now (end of data): decided on the pile seen so far."""
        if self._held:
            self._release(stall=self._pile >= self._pile_needed)
        for hc in self.host_clocks.values():
            self._emit(hc.flush())

    def _release(self, stall: bool) -> None:
        held, self._held = self._held, []
        for i, (h, blocks) in enumerate(held):
            self._place(h, blocks, stall=stall and i == 0)

    def _host_clock(self, kind: str) -> HostStampedClock:
        hc = self.host_clocks.get(kind)
        if hc is None:
            hc = self.host_clocks[kind] = HostStampedClock(
                self.info.rate_hz,
                self._rp.restart_gap_s,
                self._loss_window_s,
                self._rp.clock,
                self._peers,
            )
        return hc

    def _place(self, t_host: float, blocks: list, stall: bool = False) -> None:
        """Put decoded blocks on the host clock and queue them for the grid (host-stamped
        ones once their clock releases them: see :class:`HostStampedClock`)."""
        stamped = [b for b in blocks if b.sensor_clock and len(b.t)]
        if stamped:
            self.timing = "sensor-clock"
            if self.clock is None:
                self.clock = StreamingClock(self._rp.clock)
            self.clock.update(max(float(b.t[-1]) for b in stamped), t_host)
        ready: list[tuple[Any, np.ndarray]] = []
        host = []
        for b in blocks:
            if not len(b.t):
                continue
            if b.sensor_clock:
                assert self.clock is not None
                ready.append(([b], self.clock.to_host(b.t)))
            else:
                host.append(b)
        if host:
            self.timing = self.timing or "reconstructed"
            self._probe_interval(t_host)
            # blocks of the same frames share one clock and one set of times (the first
            # kind's); a block of another length has its own kind's clock
            same = [b for b in host if len(b.t) == len(host[0].t)]
            groups = [same] + [[b] for b in host if len(b.t) != len(host[0].t)]
            for g in groups:
                hc = self._host_clock(g[0].kind)
                ready += hc.push(float(g[0].t[-1]), len(g[0].t), g, stall=stall)
        self._emit(ready)

    def _probe_interval(self, t_host: float) -> None:
        """Collect receive times; judge the connection interval once there are enough."""
        probe = self._probe
        if probe is None:
            return
        probe.append(t_host)
        if len(probe) >= INTERVAL_PROBE_NOTES:
            self._probe = None
            self.interval_s = arrival_interval(np.sort(np.asarray(probe)), EventParams())

    def _emit(self, ready: list[tuple[Any, np.ndarray]]) -> None:
        """Queue released ``(blocks, their common sample times)`` for the grid."""
        for blocks, t_common in ready:
            mapped: dict[str, np.ndarray] = {}
            for b in blocks:
                t = _increasing(t_common, self._last[b.kind])
                self._last[b.kind] = float(t[-1])
                mapped[b.kind] = t
            acc = next((b for b in blocks if b.kind == "acc"), None)
            gyr = next((b for b in blocks if b.kind == "gyr"), None)
            if (
                acc is not None
                and gyr is not None
                and len(blocks) == 2
                and mapped["acc"] is mapped["gyr"]
                and not len(self._gyr_t)
            ):  # the usual case: acc and gyro of the same frames, nothing pending
                t = mapped["gyr"]
                self._append(t, acc.values, gyr.values)
                self._acc_t, self._acc_v = t[-1:], acc.values[-1:]
                if self._first_acc is None:
                    self._first_acc = float(t[0])
                continue
            for b in blocks:
                self._add_block(b.kind, mapped[b.kind], b.values)
            self._merge()

    def add_samples(self, s: ImuSamples) -> None:
        if len(s) == 0:
            return
        self._append(s.t, s.acc, s.gyr)

    def _add_block(self, kind: str, t: np.ndarray, v: np.ndarray) -> None:
        if kind == "acc":
            self._acc_t = np.concatenate([self._acc_t, t])
            self._acc_v = np.concatenate([self._acc_v, v])
            if self._first_acc is None:
                self._first_acc = float(t[0])
        else:
            self._gyr_t = np.concatenate([self._gyr_t, t])
            self._gyr_v = np.concatenate([self._gyr_v, v])

    def _merge(self) -> None:
        """Emit gyro samples covered by accelerometer samples (acc interpolated onto them);
        gyro samples before the first accelerometer sample are dropped, as in batch."""
        if not len(self._gyr_t) or not len(self._acc_t):
            return
        ta = self._acc_t
        assert self._first_acc is not None
        keep = self._gyr_t >= self._first_acc
        tg, vg = self._gyr_t[keep], self._gyr_v[keep]
        k = int(np.searchsorted(tg, ta[-1], side="right"))
        if k:
            out_t = tg[:k]
            if len(ta) == k and np.array_equal(ta, out_t):
                acc = self._acc_v
            else:
                acc = np.stack([np.interp(out_t, ta, self._acc_v[:, j]) for j in range(3)], 1)
            self._append(out_t, acc, vg[:k])
        self._gyr_t, self._gyr_v = tg[k:], vg[k:]
        # keep the last accelerometer sample at or before the next gyro sample's bracket
        if k:
            i = max(0, int(np.searchsorted(ta, tg[k - 1], side="right")) - 1)
            self._acc_t, self._acc_v = ta[i:], self._acc_v[i:]

    def _append(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        self._parts.append((t, acc, gyr))
        if self.first_t is None:
            self.first_t = float(t[0])
        self.last_t = float(t[-1])
        self.samples += len(t)
        if self.kept_times is not None:
            self.kept_times.append(t)
        w = self._rate_win
        w.append((float(t[-1]), self.samples))
        while len(w) > 2 and w[-1][0] - w[1][0] >= 2.0:
            w.popleft()

    def resample(self, tg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(acc, gyr) interpolated at grid times ``tg`` and where they fall in a lost stretch
        (a gap over ``LONG_GAP_S``, as batch marks it); drops samples no longer needed."""
        parts = self._parts
        if len(parts) == 1:
            t, a, g = parts[0]
        else:
            t = np.concatenate([p[0] for p in parts])
            a = np.concatenate([p[1] for p in parts])
            g = np.concatenate([p[2] for p in parts])
        acc = np.stack([np.interp(tg, t, a[:, j]) for j in range(3)], axis=1)
        gyr = np.stack([np.interp(tg, t, g[:, j]) for j in range(3)], axis=1)
        k = np.clip(np.searchsorted(t, tg), 1, max(1, len(t) - 1))
        lost = (t[k] - t[k - 1]) > LONG_GAP_S if len(t) > 1 else np.zeros(len(tg), bool)
        i = max(0, int(np.searchsorted(t, tg[-1], side="right")) - 1)
        self._parts = [(t[i:], a[i:], g[i:])]
        self.first_t = float(t[i])
        return acc, gyr, lost


@dataclass
class SensorHealth:
    """Live counters of one sensor's data (not of its radio link).

    ``interval_s`` is the BLE connection interval judged from a timestamp-less sensor's
    receive times (s; None for sensors with timestamps and before ``INTERVAL_PROBE_NOTES``).
    """

    role: str
    timing: str
    notifications: int
    samples: int
    rate_hz: float | None
    dropped: int
    lost_samples: int
    interval_s: float | None = None


@dataclass
class LiveState:
    """What the live view shows; times are seconds on the session's time base.

    Attributes:
        t: time of the newest grid sample (None before data from both sensors).
        status: "waiting" (for data), "calibrating" (collecting the protocol), "ready",
            "failed" (calibration impossible; see ``message``).
        message: calibration problem or warnings, plain language.
        angle_deg: current hip rotation (internal positive), None before calibration.
        highest_deg: largest angle seen since calibration.
        best_rep_deg: largest counted rep peak (``max_rotation_deg`` of ``imuhip analyze``).
        reps: counted reps; last_rep_peak_deg: peak of the last one.
        partial_reps: excursions not counted.
        holds: finished holds; hold_start_s: start of the hold in progress (None if none);
            hold_s: its duration so far; last_hold_s, total_hold_s: finished holds.
        still_s: how long both segments have been still (for guidance).
        calibrated_at_s: end of the calibration (None before).
        unrested_s: seconds since the leg last rested still at its rest level, in the poses
            where the thigh's heading needs such rests (seated, supine; else 0). From
            ``UNCHECKED_HEADING_S`` on the angle may drift: the view asks for a rest.
    """

    t: float | None = None
    status: str = "waiting"
    message: str = ""
    angle_deg: float | None = None
    highest_deg: float | None = None
    best_rep_deg: float | None = None
    reps: int = 0
    last_rep_peak_deg: float | None = None
    partial_reps: int = 0
    holds: int = 0
    hold_start_s: float | None = None
    hold_s: float = 0.0
    last_hold_s: float | None = None
    total_hold_s: float = 0.0
    still_s: float = 0.0
    calibrated_at_s: float | None = None
    unrested_s: float = 0.0
    sensors: dict[str, SensorHealth] = field(default_factory=dict)


class LivePipeline:
    """Streaming session analysis (see the module docstring).

    Args:
        header: the session header (side, sensors with profile, rate and decoder config).
        options: the same options as the batch pipeline.
        loss_window_s: see :class:`HostStampedClock`.
        auto_search_every_s: how often (data time) to search for the calibration phases when
            the session has no guidance marks.
        keep_sample_times: keep every estimated sample time (tests, benchmarks).
    """

    def __init__(
        self,
        header: SessionHeader,
        options: PipelineOptions | None = None,
        *,
        reconstruct: ReconstructParams | None = None,
        loss_window_s: float = LOSS_WINDOW_S,
        auto_search_every_s: float = 1.0,
        keep_sample_times: bool = False,
    ) -> None:
        for role in ("thigh", "shin"):
            if role not in header.roles:
                raise ImuhipError(f"the session has no {role} sensor; the hip angle needs both")
        self.header = header
        self.opts = options or PipelineOptions()
        rp = reconstruct or ReconstructParams()
        peers: dict = {}
        self.inputs = {s.role: _SensorInput(s, rp, loss_window_s, peers) for s in header.sensors}
        if keep_sample_times:
            for inp in self.inputs.values():
                inp.kept_times = []
        self.rate = self._rate()
        self._gyro_scale = gyro_scales(header)  # per-axis, from a table calibration
        # the orientation filters start when the calibration's phases are known (seeded with
        # the still start's gyro bias, run over every grid sample since the start)
        self._filters: dict[str, OrientationFilter] = {}
        method = self.opts.fusion_method or DEFAULT_METHOD
        OrientationFilter(method, self.rate, self.opts.fusion_params)  # bad ones raise here
        self._start: float | None = None
        self._k = 0  # grid points emitted
        self.marks: dict[str, float] = {}
        self._marks_seen = False
        self._auto_every = auto_search_every_s
        self._next_search_t = -math.inf
        # buffers until calibrated: the current attempt's grid data (cleared on a refusal) ...
        self._buf: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "gt", "gs", "u", "l")}
        # ... and every filter input since the session's start
        self._raw: dict[str, list[np.ndarray]] = {k: [] for k in ("gt", "at", "gs", "as")}
        self._recovery_left = 0
        self._interrupted = False
        self._done_detectors: list[ExerciseDetector] = []
        self._still_avg: deque[float] = deque(maxlen=max(1, round(0.25 * self.rate)))
        self._still_from: float | None = None
        self.calibration: Calibration | None = None
        self.tracker: HipRotationTracker | None = None
        self._rested_at = 0.0  # last time the leg rested at its rest level (seconds)
        self.detector: ExerciseDetector | None = None
        self.state = LiveState()
        self.events: list[AnalysisEvent] = []
        self.result: ExerciseResult | None = None
        self._finished = False

    def _rate(self) -> float:
        if self.opts.rate_hz > 0:
            return self.opts.rate_hz
        configured = self.header.sensor("thigh").rate_hz
        if configured > 0:
            return float(configured)
        raise ImuhipError(
            "the thigh sensor's rate is not in the session header; give the grid rate"
        )

    # ------------------------------------------------------------------ input
    def notification(
        self, role: str, channel: int, t_host: float, data: bytes, *, advance: bool = True
    ) -> list[AnalysisEvent]:
        """One raw notification of ``role``; returns the detector events it completed.

        With ``advance=False`` the data is only decoded and queued; call :meth:`advance`
        after a batch of inputs (cheaper: one grid/filter step per batch, same results)."""
        inp = self.inputs.get(role)
        if inp is None or inp.decoder is None:
            return []
        inp.notification(channel, t_host, data)
        for other in self.inputs.values():
            if other is not inp:
                other.poll(t_host)
        return self.advance() if advance else []

    def samples(self, role: str, s: ImuSamples, *, advance: bool = True) -> list[AnalysisEvent]:
        """Decoded samples of ``role`` (sessions that store samples), in time order."""
        inp = self.inputs.get(role)
        if inp is None:
            return []
        inp.add_samples(s)
        return self.advance() if advance else []

    def event(self, e: Event, *, advance: bool = True) -> list[AnalysisEvent]:
        """A session event; calibration phase marks drive the calibration."""
        if e.kind == PHASE_EVENT and e.data.get("phase") in PHASES:
            phase = str(e.data["phase"])
            if phase == PHASES[0] and self.marks and self.calibration is None:
                # the guidance starts over (after a refused calibration): a new attempt, as
                # batch takes them (:func:`imuhip.pipeline.mark_sets`)
                self.marks = {}
                if self.state.status == "failed":
                    self.state.status = "calibrating"
                    self.state.message = ""
            self.marks[phase] = float(e.t)
            self._marks_seen = True
            return self.advance() if advance else []
        return []

    def finish(self) -> ExerciseResult | None:
        """End of session: closes an open excursion; returns the final reps and holds (None
        when the session never got calibrated)."""
        if self._finished:
            return self.result
        for inp in self.inputs.values():
            inp.flush()
        self.advance()
        self._finished = True
        if self.detector is not None:
            if not self._interrupted:
                self._handle(self.detector.finish())
            dets = [*self._done_detectors, self.detector]
            self.result = ExerciseResult(
                tuple(r for d in dets for r in d.reps),
                tuple(r for d in dets for r in d.partial_reps),
                tuple(h for d in dets for h in d.holds),
                tuple(e for d in dets for e in d.events),
            )
        self._update_health()
        return self.result

    # ------------------------------------------------------------------ grid
    def advance(self) -> list[AnalysisEvent]:
        """Process what has been fed: new grid samples through every stage."""
        n_before = len(self.events)
        th, sh = self.inputs["thigh"], self.inputs["shin"]
        if th.last_t is not None and sh.last_t is not None:
            if self._start is None:
                assert th.first_t is not None and sh.first_t is not None
                self._start = max(th.first_t, sh.first_t)
            stop = min(th.last_t, sh.last_t)
            k_end = 0
            if stop >= self._start:
                k_end = int(np.floor((stop - self._start) * self.rate)) + 1
            if k_end > self._k:
                t = self._start + np.arange(self._k, k_end) / self.rate
                self._k = k_end
                acc_t, gyr_t, lost_t = th.resample(t)
                acc_s, gyr_s, lost_s = sh.resample(t)
                gyr_t = correct_gyro(gyr_t, self._gyro_scale.get("thigh"))
                gyr_s = correct_gyro(gyr_s, self._gyro_scale.get("shin"))
                self._process(t, acc_t, gyr_t, acc_s, gyr_s, lost_t | lost_s)
        if not self.calibration and self.state.status != "failed":
            self._try_calibrate()
        self._update_health()
        return self.events[n_before:]

    def _undefined(self, lost: np.ndarray) -> np.ndarray:
        """Lost samples and the ``RECOVERY_S`` after each lost stretch (causal; the same
        samples batch leaves undefined)."""
        out = np.empty(len(lost), bool)
        left = self._recovery_left
        n = round(RECOVERY_S * self.rate)
        for k, x in enumerate(lost.tolist()):
            if x:
                left = n
                out[k] = True
            else:
                out[k] = left > 0
                left = max(0, left - 1)
        self._recovery_left = left
        return out

    def _process(self, t, acc_t, gyr_t, acc_s, gyr_s, lost) -> None:
        self._stillness(t, gyr_t, gyr_s)
        undefined = self._undefined(lost)
        # no motion is invented inside a lost stretch: the filters see a still sensor there
        in_t = np.where(lost[:, None], 0.0, gyr_t)
        in_s = np.where(lost[:, None], 0.0, gyr_s)
        self.state.t = float(t[-1])
        if self.tracker is None:
            b = self._buf
            b["t"].append(t)
            b["gt"].append(gyr_t)
            b["gs"].append(gyr_s)
            b["u"].append(undefined)
            b["l"].append(lost)
            for key, x in (("gt", in_t), ("at", acc_t), ("gs", in_s), ("as", acc_s)):
                self._raw[key].append(x)
            if self.state.status == "waiting":
                self.state.status = "calibrating"
            return
        q_t = self._filters["thigh"].update(in_t, acc_t)
        q_s = self._filters["shin"].update(in_s, acc_s)
        ang = self._track(t, q_t, q_s)
        self._angles(t, ang, gyr_s, undefined)

    def _track(self, t: np.ndarray, q_t: np.ndarray, q_s: np.ndarray) -> np.ndarray:
        """Hip rotation (N,) degrees for a chunk; keeps ``state.unrested_s`` up to date."""
        assert self.tracker is not None and self.calibration is not None
        h = self.tracker.update(q_t, q_s)
        if h.rest_seen is not None and heading_needs_rests(self.calibration) and len(t):
            seen = np.flatnonzero(h.rest_seen)
            if len(seen):
                self._rested_at = float(t[seen[-1]])
            self.state.unrested_s = float(t[-1]) - self._rested_at
        return h.hip_rotation_deg

    def _angles(
        self, t: np.ndarray, ang: np.ndarray, gyr_s: np.ndarray, undefined: np.ndarray
    ) -> None:
        st = self.state
        ang = np.where(undefined, np.nan, ang)
        if len(ang):
            st.angle_deg = None if undefined[-1] else float(ang[-1])
            if not undefined.all():
                hi = float(np.nanmax(ang))
                st.highest_deg = hi if st.highest_deg is None else max(st.highest_deg, hi)
        edges = np.flatnonzero(np.diff(undefined.astype(np.int8))) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, len(t)], strict=True):
            if b <= a:
                continue
            if undefined[a]:  # a lost stretch: the open excursion cannot be finished
                if not self._interrupted:
                    assert self.detector is not None
                    self._handle(self.detector.interrupt())
                    self._interrupted = True
                continue
            if self._interrupted:  # data again: a fresh detector from where the last stopped
                assert self.detector is not None
                self._done_detectors.append(self.detector)
                fresh = ExerciseDetector(self.rate, self.opts.detector)
                fresh.resume_from(self.detector)
                self.detector = fresh
                self._interrupted = False
            assert self.detector is not None
            self._handle(self.detector.update(t[a:b], ang[a:b], gyr_s[a:b]))
        if st.hold_start_s is not None and st.t is not None:
            st.hold_s = max(0.0, st.t - st.hold_start_s)

    def _stillness(self, t: np.ndarray, gyr_t: np.ndarray, gyr_s: np.ndarray) -> None:
        m = np.maximum(np.linalg.norm(gyr_t, axis=1), np.linalg.norm(gyr_s, axis=1)).tolist()
        avg = self._still_avg
        tl = t.tolist()
        for k, v in enumerate(m):
            avg.append(v)
            still = len(avg) == avg.maxlen and sum(avg) / len(avg) < STILL_RATE
            if still and self._still_from is None:
                self._still_from = tl[k]
            elif not still:
                self._still_from = None
        self.state.still_s = 0.0 if self._still_from is None else tl[-1] - self._still_from

    # ------------------------------------------------------------------ calibration
    def _buffered(self, buf: dict[str, list[np.ndarray]] | None = None) -> dict[str, np.ndarray]:
        out = {}
        for k, parts in (self._buf if buf is None else buf).items():
            if len(parts) > 1:
                parts[:] = [np.concatenate(parts)]
            out[k] = parts[0] if parts else np.empty(0)
        return out

    def _fuse(self, b: dict[str, np.ndarray], phases: Phases) -> None:
        """Start both orientation filters, seeded with the gyro bias of the still start in
        ``phases`` (indices into the buffer ``b``), and run them over every grid sample since
        the session's start (as batch does); the buffer's part goes into ``b["qt"]``,
        ``b["qs"]``."""
        raw = self._buffered(self._raw)
        off = len(raw["gt"]) - len(b["t"])  # the buffer is the tail of the raw inputs
        method = self.opts.fusion_method or DEFAULT_METHOD
        for role, g, a, key in (("thigh", "gt", "at", "qt"), ("shin", "gs", "as", "qs")):
            bias = still_start_bias(raw[g][off:], phases, b["l"])
            f = OrientationFilter(method, self.rate, self.opts.fusion_params, bias)
            self._filters[role] = f
            b[key] = f.update(raw[g], raw[a])[off:]

    def _try_calibrate(self) -> None:
        if not self._buf["t"]:
            return
        t_last = float(self._buf["t"][-1][-1])
        complete = all(p in self.marks for p in PHASES)
        phases = None
        if complete:
            if t_last < self.marks["still_end"] + MIN_STILL_END_S:
                return
            b = self._buffered()
            phases = phases_from_marks(b["t"], self.marks, MIN_STILL_END_S)
            if phases is not None and phases.end > len(b["t"]):
                return
        if phases is None:
            # no (usable) marks: search the data, as batch does on the whole file
            latest = max(self.marks.values(), default=-math.inf)
            if (self._marks_seen and not complete and t_last < latest + 30.0) or (
                t_last < self._next_search_t
            ):
                return
            self._next_search_t = t_last + self._auto_every
            b = self._buffered()
            if len(b["t"]) < 2:
                return
            try:
                phases = find_phases(b["t"], b["gt"], b["gs"], self.rate)
            except CalibrationError as exc:
                span = t_last - float(b["t"][0])
                if span > 100.0:  # past find_phases' search windows: give up
                    self._fail(str(exc))
                else:
                    self.state.message = ""
                return
        b = self._buffered()
        self._fuse(b, phases)
        try:
            cal = calibrate(
                b["t"], b["gt"], b["gs"], b["qt"], b["qs"],
                side=self.header.side, rate_hz=self.rate, phases=phases,
                shank_tilt_deg=START_POSE_SHANK_TILT_DEG.get(self.header.exercise),
            )  # fmt: skip
            check_calibration_data(b["t"], b["u"], cal)
        except CalibrationError as exc:
            self._fail(str(exc))
            return
        self._calibrated(cal, b)

    def _fail(self, message: str) -> None:
        self.state.status = "failed"
        self.state.message = message
        for parts in self._buf.values():
            parts.clear()

    def _calibrated(self, cal: Calibration, b: dict[str, np.ndarray]) -> None:
        self.calibration = cal
        k0, k1 = cal.phases.still_end
        self.tracker = HipRotationTracker(cal, self.rate)
        self._rested_at = float(b["t"][k0])
        ang = self._track(b["t"][k0:], b["qt"][k0:], b["qs"][k0:])
        rest = float(np.nanmean(np.where(b["u"][k0:k1], np.nan, ang[: k1 - k0])))
        self.detector = ExerciseDetector(self.rate, self.opts.detector)
        self.detector.rest = rest
        st = self.state
        st.status = "ready"
        st.calibrated_at_s = cal.end_s
        st.message = "; ".join(cal.quality.warnings())
        for buf in (self._buf, self._raw):
            for parts in buf.values():
                parts.clear()
        self._angles(b["t"][k1:], ang[k1 - k0 :], b["gs"][k1:], b["u"][k1:])

    # ------------------------------------------------------------------ events
    def _handle(self, evs: list[AnalysisEvent]) -> None:
        st = self.state
        for e in evs:
            self.events.append(e)
            if e.kind == "rep_counted" and isinstance(e.item, Rep):
                st.reps += 1
                st.last_rep_peak_deg = e.item.peak_deg
                st.best_rep_deg = (
                    e.item.peak_deg
                    if st.best_rep_deg is None
                    else max(st.best_rep_deg, e.item.peak_deg)
                )
            elif e.kind == "partial_rep":
                st.partial_reps += 1
                st.hold_start_s = None  # a plateau re-read as a new rest was no hold
                st.hold_s = 0.0
            elif e.kind == "hold_started":
                st.hold_start_s = e.t
                st.hold_s = max(0.0, (st.t or e.t) - e.t)
            elif e.kind == "hold_ended" and isinstance(e.item, Hold):
                st.holds += 1
                st.hold_start_s = None
                st.hold_s = 0.0
                st.last_hold_s = e.item.duration_s
                st.total_hold_s += e.item.duration_s

    def _update_health(self) -> None:
        for role, inp in self.inputs.items():
            stats = inp.stats
            self.state.sensors[role] = SensorHealth(
                role,
                inp.timing,
                inp.notifications,
                inp.samples,
                inp.effective_rate(),
                stats.dropped if stats else 0,
                inp.lost_samples,
                inp.interval_s,
            )

    def sample_times(self, role: str) -> np.ndarray:
        """Every sample time estimated for ``role`` (needs ``keep_sample_times=True``)."""
        kept = self.inputs[role].kept_times
        if kept is None:
            raise ValueError("create the pipeline with keep_sample_times=True")
        return np.concatenate(kept) if kept else np.empty(0)

    def summary(self) -> dict:
        """Counts and extremes in the form of ``ExerciseResult.summary`` (after
        :meth:`finish`: exactly that)."""
        if self.result is not None:
            return self.result.summary()
        d = self.detector
        if d is None:
            return ExerciseResult((), (), (), ()).summary()
        return ExerciseResult(tuple(d.reps), (), tuple(d.holds), ()).summary()
