"""Offline time alignment: each sensor's clock fitted with look-ahead, a bounded stretch at a time.

Per sensor the aligner buffers the inputs as they are fed. Once a sensor's input reaches
``context_s`` past the end of the next round's window (``window_s`` of receive time; the first
one from the sensor's first notification plus ``context_s``), it aligns the stretch from
``history_s`` before that window to ``context_s`` after it with :mod:`imuhip.align.streams`
(the clock fit, connection-event loss counting and the gyro-signal placement of ambiguous
losses, which need data from after each sample) and releases the samples of the notifications
in the window; the last ``history_s`` stay for the next round (timing and signal for the fit,
nothing released twice). ``history_s`` is the clock fit's trailing window
(``ClockParams.window_s``) by default, so every fit inside a window sees as much of the past as
in the whole-session fit, and the last round (at :meth:`OfflineAligner.flush`) may be short.
Each notification is decoded once, by one decoder per sensor kept across rounds. A sensor whose
data span less than ``window_s + 2 * context_s`` is aligned at :meth:`OfflineAligner.flush`
in one call, exactly as a whole-session fit (``window_s=None``: always so). Rounds should span
well over the clock's ``min_span_s`` (its rate is trusted only over that). After
:meth:`OfflineAligner.flush` what is left is released all at once, or (``release_s``) in
pieces of that many seconds of session time, one more per :meth:`OfflineAligner.release_next`.
Times are seconds on the session time base, values in SI units in the sensor frame. See
docs/alignment.md (windowed alignment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from imuhip.align.aligner import SensorHealth
from imuhip.align.channels import merge_channels
from imuhip.align.clock import ClockParams
from imuhip.align.conn_events import arrival_interval
from imuhip.align.reconstruct import ReconstructParams
from imuhip.align.streams import (
    SensorStream,
    decode_indexed,
    on_sensor_clock,
    reconstruct_kinds,
    sensor_stream,
    timestamped,
)
from imuhip.decode import get_decoder
from imuhip.decode.base import Decoder
from imuhip.samples import ChannelBlock, ImuSamples
from imuhip.session import (
    SAMPLES_PROFILE,
    Notification,
    NotificationBlock,
    Notifications,
    SampleBlock,
    SensorInfo,
    SessionHeader,
)

#: Receive time (s) each round decides: bounds what a sensor's alignment holds.
WINDOW_S = 600.0
#: Receive time (s) after a round's window that the fit sees but does not decide (before it:
#: ``history_s``, the clock fit's trailing window unless given).
CONTEXT_S = 120.0
#: Drop reason of a notification that arrived after its part of the session was aligned.
LATE_REASON = "arrived after its part of the session was aligned"


def _note_range(notes: Notifications, a: int, b: int) -> Notifications:
    """Notifications ``a:b`` (their payload bytes copied)."""
    off = notes.offsets[a : b + 1]
    return Notifications(
        notes.t[a:b],
        notes.channel[a:b],
        off - off[0],
        notes.payload[int(off[0]) : int(off[-1])],
    )


def _taker(keep: np.ndarray) -> slice | np.ndarray:
    """What selects the (increasing) indices ``keep`` of an array: a slice where they are one
    run (the usual case: copying a run is much cheaper than gathering), else ``keep``."""
    if len(keep) and int(keep[-1]) - int(keep[0]) + 1 == len(keep):
        return slice(int(keep[0]), int(keep[-1]) + 1)
    return keep


def _members(t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each of ``t`` is one of ``values`` (``np.isin``; by binary search in
    ``values``, which are usually sorted already)."""
    if len(values) > 1 and not np.all(values[1:] >= values[:-1]):
        values = np.sort(values)
    at = np.minimum(np.searchsorted(values, t), len(values) - 1)
    return values[at] == t


@dataclass
class _Rounds:
    """One sensor's state between rounds (internal, mutable)."""

    # [Notifications, first pending index, latest receive time (s)] in receive order
    raw: list[list] = field(default_factory=list)
    singles: list[Notification] = field(default_factory=list)
    stored: list[ImuSamples] = field(default_factory=list)
    fed: int = 0  # notifications fed
    first_h: float = math.nan  # the first receive time fed (s)
    latest_h: float = -math.inf  # the latest receive time fed (s)
    decoder: Decoder | None = None
    clocked: bool = False  # samples carry sensor timestamps
    note_h: np.ndarray = field(default_factory=lambda: np.empty(0))  # buffered notifications
    blocks: list[ChannelBlock] = field(default_factory=list)  # their decoded blocks
    owner: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # note of block
    cut: float = -math.inf  # receive times before this are decided (s)
    rounds: int = 0
    last_t: float = -math.inf  # the latest released sample time (s)
    last_h: float = math.nan  # the latest decided receive time (s)
    released: int = 0
    lost: int = 0
    starts: list[float] = field(default_factory=list)
    intervals: list[float] = field(default_factory=list)
    active_s: float = 0.0
    kept: list[ImuSamples] = field(default_factory=list)


def _round_interval(st: _Rounds) -> float | None:
    """The connection interval (s) of a timestamp-less sensor aligned in rounds: the median
    of the rounds' where found in most of them (else, like a whole fit that cannot tell it,
    None; None for sensors with timestamps)."""
    if st.clocked or not 2 * len(st.intervals) > st.rounds:
        return None
    return float(np.median(st.intervals))


class OfflineAligner:
    """The look-ahead :class:`~imuhip.align.aligner.Aligner` (see the module docstring).

    Args:
        header: the session header (sensors with profile, rate and decoder config).
        clock, reconstruct: parameters of the clock model and the reconstruction.
        release_s: after :meth:`flush`, release what is left in pieces of this many seconds of
            session time, one more piece per :meth:`release_next` (None: everything at
            :meth:`flush`).
        keep_samples: keep each sensor's aligned samples for :meth:`streams` (off: they are let
            go once taken, and the streams hold empty samples; their counters stay).
        window_s: receive time (s) each round decides (None: one round per sensor at
            :meth:`flush`, the whole-session fit, whose memory grows with the session).
        context_s: receive time (s) after a round's window the fit also sees (and before the
            first round's window: the session's start).
        history_s: receive time (s) before a round's window the fit also sees (None: the
            clock fit's trailing window, ``clock.window_s``; at least ``context_s``).
    """

    def __init__(
        self,
        header: SessionHeader,
        clock: ClockParams | None = None,
        reconstruct: ReconstructParams | None = None,
        *,
        release_s: float | None = None,
        keep_samples: bool = True,
        window_s: float | None = WINDOW_S,
        context_s: float = CONTEXT_S,
        history_s: float | None = None,
    ) -> None:
        if release_s is not None and not (release_s > 0 and math.isfinite(release_s)):
            raise ValueError(f"release_s must be a positive number of seconds, not {release_s}")
        if window_s is not None and not (window_s > 0 and math.isfinite(window_s)):
            raise ValueError(f"window_s must be a positive number of seconds, not {window_s}")
        if not (context_s >= 0 and math.isfinite(context_s)):
            raise ValueError(f"context_s must be a non-negative number of seconds, not {context_s}")
        self.header = header
        self._cp = clock or ClockParams()
        self._rp = reconstruct or ReconstructParams(clock=self._cp)
        self._clock_arg, self._rec_arg = clock, reconstruct
        self._release_s = release_s
        self._keep_samples = keep_samples
        self._window = window_s
        self._context = context_s
        past = self._cp.window_s if history_s is None else history_s
        if not (past >= 0 and math.isfinite(past)):
            raise ValueError(f"history_s must be a non-negative number of seconds, not {past}")
        self._history = max(past, context_s)
        self._info: dict[str, SensorInfo] = {s.role: s for s in header.sensors}
        self._st: dict[str, _Rounds] = {s.role: _Rounds() for s in header.sensors}
        self._pieces: dict[str, list[ImuSamples]] = {s.role: [] for s in header.sensors}
        self._streams: dict[str, SensorStream] | None = None
        self._out: dict[str, ImuSamples] = {}  # aligned samples not yet taken (after flush)
        self._counts: dict[str, int] = {}  # samples aligned, per role
        self._until = -math.inf if release_s is not None else math.inf  # released before (s)
        self._end = -math.inf  # the latest aligned sample (s)

    # ---- input

    def notification(self, n: Notification) -> None:
        st = self._st.get(n.role)
        if st is None or self._streams is not None:
            return
        st.singles.append(n)
        st.fed += 1
        self._fed(n.role, st, n.t, n.t)

    def notifications(self, b: NotificationBlock) -> None:
        st = self._st.get(b.role)
        if st is None or self._streams is not None or len(b.notes) == 0:
            return
        self._pending_singles(st)
        latest = float(b.notes.t.max())
        st.raw.append([b.notes, 0, latest])
        st.fed += len(b.notes)
        self._fed(b.role, st, float(b.notes.t[0]), latest)

    def samples(self, b: SampleBlock) -> None:
        st = self._st.get(b.role)
        if st is None or self._streams is not None or not len(b.samples):
            return
        st.stored.append(b.samples)
        t = b.samples.t
        self._fed(b.role, st, float(t[0]), float(t[-1]))

    def poll(self, t: float) -> None:
        """Nothing waits for time: rounds wait for data."""

    def _fed(self, role: str, st: _Rounds, t0: float, t1: float) -> None:
        if math.isnan(st.first_h):
            st.first_h = t0
        st.latest_h = max(st.latest_h, t1)
        if self._window is None:
            return
        # a round is decided once its context after it has arrived (the history before it
        # makes a short last round at flush as good as any)
        while st.latest_h >= self._next_cut(st) + self._context:
            self._round(role, st, self._next_cut(st))

    def _next_cut(self, st: _Rounds) -> float:
        assert self._window is not None
        if st.rounds == 0:
            return st.first_h + self._window + self._context
        return st.cut + self._window

    def _pending_singles(self, st: _Rounds) -> None:
        single, st.singles = st.singles, []
        if single:
            notes = Notifications.from_list(
                [n.t for n in single], [n.data for n in single], [n.channel for n in single]
            )
            st.raw.append([notes, 0, float(notes.t.max())])

    # ---- rounds

    def _take_raw(self, st: _Rounds, lim: float) -> Notifications | None:
        """The pending notifications in receive order up to the first at or after ``lim``."""
        self._pending_singles(st)
        parts = []
        while st.raw:
            notes, i0, latest = st.raw[0]
            n = len(notes)
            if latest < lim:  # all of it before the limit
                i1 = n
            else:
                later = np.flatnonzero(notes.t[i0:] >= lim)
                i1 = i0 + int(later[0]) if later.size else n
            if i1 > i0:
                parts.append(notes if (i0 == 0 and i1 == n) else _note_range(notes, i0, i1))
            if i1 < n:
                st.raw[0][1] = i1
                break
            st.raw.pop(0)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Notifications.concatenate(parts)

    def _round(self, role: str, st: _Rounds, cut: float) -> None:
        """Align the buffered stretch and release the samples of notifications received in
        ``[st.cut, cut)`` (s); keep the trailing context."""
        info = self._info[role]
        if st.stored:  # stored samples need no context: released as they are
            self._release(role, st, ImuSamples.concatenate(st.stored), fix=False)
            st.stored = []
        if info.profile == SAMPLES_PROFILE:
            st.rounds += 1
            st.cut = cut
            self._drop_raw(st)
            return
        chunk = self._take_raw(st, cut + self._context)
        if chunk is not None:
            self._decode(info, st, chunk)
        lo = st.cut
        if len(st.note_h):
            if st.clocked:
                self._align_clocked(role, st, lo, cut)
            else:
                self._align_reconstructed(role, st, lo, cut)
            dec = st.note_h[(st.note_h >= lo) & (st.note_h < cut)]
            if len(dec):
                prev = st.last_h if not math.isnan(st.last_h) else dec[0]
                dt = np.diff(np.r_[prev, dec])
                st.active_s += float(dt[dt <= self._rp.restart_gap_s].sum())
                st.last_h = float(dec[-1])
        st.rounds += 1
        st.cut = cut
        self._trim(st, cut - self._history)

    def _drop_raw(self, st: _Rounds) -> None:
        st.raw, st.singles = [], []

    def _decode(self, info: SensorInfo, st: _Rounds, chunk: Notifications) -> None:
        """Decode ``chunk`` once with the sensor's decoder and buffer the blocks."""
        config = {"rate_hz": info.rate_hz, **info.config}
        if st.decoder is None:
            st.decoder = get_decoder(info.profile, config)
            st.clocked = timestamped(info.profile, config, chunk)
        late = int(np.count_nonzero(chunk.t < st.cut))
        for _ in range(late):
            st.decoder.stats.drop(LATE_REASON)
        base = len(st.note_h)
        if st.clocked:
            blocks, owner = decode_indexed(st.decoder, chunk)
            st.owner = np.r_[st.owner, owner + base]
        else:
            blocks = st.decoder.decode_joined(chunk.t, chunk.payload, chunk.offsets, chunk.channel)
        st.blocks += blocks
        st.note_h = np.r_[st.note_h, chunk.t]

    def _align_reconstructed(self, role: str, st: _Rounds, lo: float, cut: float) -> None:
        info = self._info[role]
        # the times of the samples of the window's notifications only (the rest is context)
        kt = reconstruct_kinds(list(st.blocks), info.rate_hz, self._rp, times_in=(lo, cut))
        if kt.rec is None or kt.h is None or kt.counts is None:
            return
        h, rec = kt.h, kt.rec
        gyr_t = next(b.t for b in kt.blocks if b.kind == "gyr")
        st.lost += sum(m for j, m in rec.losses if lo <= h[j] < cut)
        first = np.r_[0, np.cumsum(kt.counts)[:-1]] - rec.first_sample
        for k in rec.segment_starts[1:]:
            if lo <= h[k] < cut:
                st.starts.append(float(rec.t[first[k]]))
        if (
            st.rounds
            and lo <= h[0] < cut
            and not math.isnan(st.last_h)
            and h[0] - st.last_h > self._rp.restart_gap_s
        ):
            st.starts.append(float(rec.t[0]))  # a restart where the buffer begins
        ci = arrival_interval(h, self._rp.events, rec.interval)
        if ci is not None:
            st.intervals.append(ci)
        self._release_decided(role, st, kt.blocks, gyr_t, all_gyro=True)

    def _align_clocked(self, role: str, st: _Rounds, lo: float, cut: float) -> None:
        ts = [i for i, b in enumerate(st.blocks) if b.sensor_clock]
        aligned, starts = on_sensor_clock(
            [st.blocks[i] for i in ts], st.owner[ts], st.note_h, self._cp
        )
        other = [i for i, b in enumerate(st.blocks) if not b.sensor_clock]
        aligned += [st.blocks[i] for i in other]
        owners = st.owner[ts + other]
        in_win = (st.note_h >= lo) & (st.note_h < cut)
        decided = [
            b.t
            for b, o in zip(aligned, owners.tolist(), strict=True)
            if b.kind == "gyr" and in_win[o]
        ]
        st.starts += [s for s in starts if lo <= s < cut]
        self._release_decided(
            role, st, aligned, np.concatenate(decided) if decided else np.empty(0)
        )

    def _release_decided(
        self,
        role: str,
        st: _Rounds,
        aligned: list[ChannelBlock],
        decided: np.ndarray,
        *,
        all_gyro: bool = False,
    ) -> None:
        """Merge the stretch's channels and release the samples at the decided gyro times
        (``all_gyro``: ``decided`` are all of the stretch's gyro times)."""
        if not len(decided):
            return
        merged = merge_channels(aligned).samples
        if all_gyro and np.array_equal(merged.t, decided):
            # the merged times are the gyro's, every one decided: all of them
            take: slice | np.ndarray = slice(0, len(merged.t))
        else:
            keep = np.flatnonzero(_members(merged.t, decided))
            if not len(keep):
                return
            take = _taker(keep)

        def part(a: np.ndarray) -> np.ndarray:  # in its own memory: the stretch is let go
            return a[take].copy() if isinstance(take, slice) else a[take]

        mag = None if merged.mag is None else part(merged.mag)
        quat = None if merged.quat is None else part(merged.quat)
        piece = ImuSamples(part(merged.t), part(merged.acc), part(merged.gyr), mag, quat)
        self._release(role, st, piece, fix=True)

    def _release(self, role: str, st: _Rounds, piece: ImuSamples, *, fix: bool) -> None:
        if not len(piece):
            return
        if fix and math.isfinite(st.last_t) and piece.t[0] < st.last_t + self._half(role):
            # after a round boundary: increasing, at least half a period apart
            half = self._half(role)
            ramp = half * np.arange(1, len(piece) + 1)
            t = np.maximum.accumulate(np.maximum(piece.t - ramp, st.last_t)) + ramp
            piece = replace(piece, t=t)
        st.last_t = float(piece.t[-1])
        st.released += len(piece)
        self._pieces[role].append(piece)
        if self._keep_samples:
            st.kept.append(piece)

    def _half(self, role: str) -> float:
        rate = self._info[role].rate_hz
        return 0.5 / rate if rate and rate > 0 else 0.0

    def _trim(self, st: _Rounds, keep_from: float) -> None:
        """Let go of buffered notifications received before ``keep_from`` (s)."""
        keep = st.note_h >= keep_from
        if keep.all():
            return
        if st.clocked:
            new_index = np.cumsum(keep) - 1
            kb = keep[st.owner]
            st.blocks = [b for b, k in zip(st.blocks, kb.tolist(), strict=True) if k]
            st.owner = new_index[st.owner[kb]]
        else:
            blocks = []
            for b in st.blocks:
                m = np.flatnonzero(b.t >= keep_from)
                if len(m) == len(b.t):
                    blocks.append(b)
                elif len(m):
                    take = _taker(m)
                    blocks.append(replace(b, t=b.t[take].copy(), values=b.values[take].copy()))
            st.blocks = blocks
        st.note_h = st.note_h[keep]

    # ---- end

    def flush(self) -> None:
        if self._streams is not None:
            return
        streams = {}
        rests: dict[str, ImuSamples] = {}
        for info in self.header.sensors:
            role = info.role
            st = self._st[role]
            self._pending_singles(st)
            if st.rounds == 0:
                st_out = self._whole(info, st)
                self._counts[role] = len(st_out.samples)
                rest = st_out.samples
                if not self._keep_samples:
                    st_out = replace(st_out, samples=ImuSamples.concatenate([]))
            else:
                self._round(role, st, math.inf)
                st_out = self._windowed_stream(info, st)
                self._counts[role] = st.released
                pieces, self._pieces[role] = self._pieces[role], []
                rest = pieces[0] if len(pieces) == 1 else ImuSamples.concatenate(pieces)
            st.kept = []
            self._st[role] = _Rounds()
            streams[role] = st_out
            if len(rest):
                rests[role] = rest
        starts = []
        for role, rest in rests.items():
            self._out[role] = rest
            starts.append(float(rest.t[0]))
            self._end = max(self._end, float(rest.t[-1]))
        self._streams = streams
        if self._release_s is not None:
            # the first release_next() gives the first piece (nothing to release: all is out)
            self._until = min(starts) if starts else math.inf

    def _whole(self, info: SensorInfo, st: _Rounds) -> SensorStream:
        """A sensor aligned in one call (no round filled): the whole-session fit."""
        parts = [n if i0 == 0 else _note_range(n, i0, len(n)) for n, i0, _ in st.raw]
        st.raw = []
        notes = (
            (parts[0] if len(parts) == 1 else Notifications.concatenate(parts)) if parts else None
        )
        del parts
        stored = st.stored
        st.stored = []
        samples = (
            (stored[0] if len(stored) == 1 else ImuSamples.concatenate(stored)) if stored else None
        )
        del stored
        return sensor_stream(info, samples, notes, self._clock_arg, self._rec_arg)

    def _windowed_stream(self, info: SensorInfo, st: _Rounds) -> SensorStream:
        """The one stream of a sensor aligned over several rounds (counters merged)."""
        kept = ImuSamples.concatenate(st.kept) if self._keep_samples else ImuSamples.concatenate([])
        if info.profile == SAMPLES_PROFILE or st.decoder is None:
            return SensorStream(info.role, kept, False, None, False)
        timing = "sensor-clock" if st.clocked else "reconstructed"
        interval, rate = _round_interval(st), None
        if not st.clocked:
            rate = st.released / st.active_s if st.active_s >= 1.0 else None
        return SensorStream(
            info.role,
            kept,
            True,
            st.decoder.stats,
            False,
            timing,
            st.lost,
            tuple(st.starts),
            interval,
            rate,
        )

    def release_next(self) -> bool:
        """Release the next ``release_s`` seconds of aligned samples (after :meth:`flush`);
        False once everything has been released (nothing new this time)."""
        if self._streams is None:
            raise RuntimeError("flush() the offline aligner before releasing its samples")
        if self._until > self._end:
            self._until = math.inf
            return False
        self._until += self._release_s or math.inf
        if self._until > self._end:
            self._until = math.inf
        return True

    def take(self, role: str) -> ImuSamples | None:
        if self._streams is None:  # before flush: what the rounds have decided so far
            pieces = self._pieces.get(role)
            if not pieces:
                return None
            self._pieces[role] = []
            return pieces[0] if len(pieces) == 1 else ImuSamples.concatenate(pieces)
        s = self._out.get(role)
        if s is None:
            return None
        if math.isinf(self._until) and self._until > 0:
            del self._out[role]
            return s
        k = int(np.searchsorted(s.t, self._until, side="left"))
        if k == 0:
            return None
        self._out[role] = s.slice(k, len(s))  # views: the whole stream stays until all is taken
        if k == len(s):
            del self._out[role]
        return s.slice(0, k)

    def health(self) -> dict[str, SensorHealth]:
        """Each sensor's counters: before :meth:`flush` those of the rounds decided so far
        (a sensor fitted whole has released nothing until then), after it the streams'."""
        out = {}
        for info in self.header.sensors:
            st = (self._streams or {}).get(info.role)
            if st is None:
                out[info.role] = self._rounds_health(info)
                continue
            stats = st.stats
            out[info.role] = SensorHealth(
                info.role,
                st.timing,
                stats.notifications if stats is not None else 0,
                self._counts.get(info.role, 0),
                None,
                stats.dropped if stats is not None else 0,
                st.lost_samples + (stats.lost_samples if stats is not None else 0),
                st.connection_interval_s,
            )
        return out

    def _rounds_health(self, info: SensorInfo) -> SensorHealth:
        """The counters of a sensor not yet flushed, from its rounds."""
        st = self._st[info.role]
        stats = st.decoder.stats if st.decoder is not None else None
        if info.profile == SAMPLES_PROFILE or (stats is None and st.released):
            timing = "stored"
        elif stats is None:
            timing = ""
        else:
            timing = "sensor-clock" if st.clocked else "reconstructed"
        return SensorHealth(
            info.role,
            timing,
            st.fed,
            st.released,
            None,
            stats.dropped if stats is not None else 0,
            st.lost + (stats.lost_samples if stats is not None else 0),
            _round_interval(st),
        )

    def streams(self) -> dict[str, SensorStream]:
        if self._streams is None:
            raise RuntimeError("the offline aligner gives its streams after flush()")
        return self._streams
