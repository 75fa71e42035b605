"""Causal time alignment: samples released as soon as they are decided (live use).

Each sensor's notifications go through its profile's decoder; samples with sensor timestamps
are mapped to host time by a :class:`~imuhip.align.clock.StreamingClock`, samples without by a
:class:`~imuhip.align.host_clock.HostStampedClock` (per channel kind); accelerometer samples
are merged onto the gyroscope's times. Times are seconds on the host's monotonic clock, values
in SI units in the sensor frame. The offline strategy over the same inputs is
:class:`~imuhip.align.offline.OfflineAligner`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from imuhip.align.aligner import SensorHealth
from imuhip.align.clock import StreamingClock
from imuhip.align.conn_events import EventParams, arrival_interval
from imuhip.align.host_clock import LOSS_WINDOW_S, HostStampedClock, increasing_times
from imuhip.align.reconstruct import PILE_WINDOW_S, ReconstructParams, stall_pile_needed
from imuhip.align.streams import SensorStream
from imuhip.decode import DecodeStats, get_decoder
from imuhip.samples import ImuSamples
from imuhip.session import (
    SAMPLES_PROFILE,
    Notification,
    NotificationBlock,
    SampleBlock,
    SensorInfo,
    SessionHeader,
)

#: A timestamp-less sensor's connection interval is judged once, on the receive times of its
#: first this many notifications (about 10 s at 100 Hz).
INTERVAL_PROBE_NOTES = 1000
_EMPTY3 = np.empty((0, 3))


class CausalSensorAligner:
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
        self,
        info: SensorInfo,
        rp: ReconstructParams,
        loss_window_s: float,
        peers: dict,
        *,
        keep: bool = True,
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
        # merged samples released and not yet taken
        self._parts: list[ImuSamples] = []
        self._kept: list[ImuSamples] | None = [] if keep else None
        self._active_s = 0.0  # receive time of notifications, silences left out
        self.samples = 0
        self.notifications = 0
        self._rate_win: deque[tuple[float, int]] = deque()
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
        if 0.0 < h - self._last_note_h <= self._rp.restart_gap_s:
            self._active_s += h - self._last_note_h
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
                t = increasing_times(t_common, self._last[b.kind])
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

    def take(self) -> ImuSamples | None:
        """Samples released since the last call, in time order (None when none)."""
        parts, self._parts = self._parts, []
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else ImuSamples.concatenate(parts)

    def health(self) -> SensorHealth:
        stats = self.stats
        return SensorHealth(
            self.role,
            self.timing,
            self.notifications,
            self.samples,
            self.effective_rate(),
            stats.dropped if stats else 0,
            self.lost_samples,
            self.interval_s,
        )

    def stream(self) -> SensorStream:
        """Everything released so far as one stream (without ``keep``: its figures and
        counters, with empty samples)."""
        if self._kept:
            s = ImuSamples.concatenate(self._kept)
            self._kept = [s] if len(s) else []
        else:
            s = ImuSamples.concatenate([])
        rate = None
        if self.timing == "reconstructed" and self._active_s >= 1.0:
            rate = self.samples / self._active_s
        return SensorStream(
            self.role,
            s,
            not self.stored,
            self.stats,
            False,
            self.timing or ("stored" if self.stored else ""),
            self.lost_samples,
            (),
            self.interval_s,
            rate,
        )

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
        s = ImuSamples(t, acc, gyr)
        self._parts.append(s)
        if self._kept is not None:
            self._kept.append(s)
        self.samples += len(t)
        w = self._rate_win
        w.append((float(t[-1]), self.samples))
        while len(w) > 2 and w[-1][0] - w[1][0] >= 2.0:
            w.popleft()


class CausalAligner:
    """The causal :class:`~imuhip.align.aligner.Aligner`: one
    :class:`CausalSensorAligner` per sensor of ``header``, sharing the host-congestion
    detection of their clocks.

    Args:
        header: the session header (sensors with profile, rate and decoder config).
        reconstruct: the reconstruction parameters (restart gap, clock model).
        loss_window_s: see :class:`~imuhip.align.host_clock.HostStampedClock`.
        keep: keep every released sample for :meth:`streams` (off: the streams hold their
            figures and counters, and no samples).
    """

    def __init__(
        self,
        header: SessionHeader,
        reconstruct: ReconstructParams | None = None,
        *,
        loss_window_s: float = LOSS_WINDOW_S,
        keep: bool = True,
    ) -> None:
        rp = reconstruct or ReconstructParams()
        peers: dict = {}
        self.sensors = {
            s.role: CausalSensorAligner(s, rp, loss_window_s, peers, keep=keep)
            for s in header.sensors
        }

    def notification(self, n: Notification) -> None:
        inp = self.sensors.get(n.role)
        if inp is None or inp.decoder is None:
            return
        inp.notification(n.channel, n.t, n.data)
        for other in self.sensors.values():
            if other is not inp:
                other.poll(n.t)

    def notifications(self, b: NotificationBlock) -> None:
        notes = b.notes
        payloads = notes.payloads()
        ch = notes.channel.tolist()
        for i, t in enumerate(notes.t.tolist()):
            self.notification(Notification(b.role, t, payloads[i], int(ch[i])))

    def samples(self, b: SampleBlock) -> None:
        inp = self.sensors.get(b.role)
        if inp is not None:
            inp.add_samples(b.samples)

    def poll(self, t: float) -> None:
        for inp in self.sensors.values():
            inp.poll(t)

    def flush(self) -> None:
        for inp in self.sensors.values():
            inp.flush()

    def take(self, role: str) -> ImuSamples | None:
        inp = self.sensors.get(role)
        return None if inp is None else inp.take()

    def health(self) -> dict[str, SensorHealth]:
        return {r: inp.health() for r, inp in self.sensors.items()}

    def streams(self) -> dict[str, SensorStream]:
        return {r: inp.stream() for r, inp in self.sensors.items()}
