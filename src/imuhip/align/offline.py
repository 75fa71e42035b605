"""Offline time alignment: each sensor's clock fitted over the whole session at once.

Holds every input until :meth:`OfflineAligner.flush` (the end of the session), then aligns
each sensor with :func:`~imuhip.align.streams.sensor_stream` — the whole-session clock fit,
connection-event loss counting and the gyro-signal placement of ambiguous losses, which need
data from after each sample — and releases the samples: all at once, or (``release_s``) in
pieces of that many seconds of session time, one more per :meth:`OfflineAligner.release_next`,
so the stages after it hold a bounded stretch at a time. Times are seconds on the session time
base, values in SI units in the sensor frame. The result does not depend on how the input was
cut into notifications and blocks, nor on how the output is cut.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from imuhip.align.aligner import SensorHealth
from imuhip.align.clock import ClockParams
from imuhip.align.reconstruct import ReconstructParams
from imuhip.align.streams import SensorStream, sensor_stream
from imuhip.samples import ImuSamples
from imuhip.session import (
    Notification,
    NotificationBlock,
    Notifications,
    SampleBlock,
    SessionHeader,
)


class OfflineAligner:
    """The look-ahead :class:`~imuhip.align.aligner.Aligner` (see the module docstring).

    Args:
        header: the session header (sensors with profile, rate and decoder config).
        clock, reconstruct: parameters of the clock model and the reconstruction.
        release_s: release the aligned samples in pieces of this many seconds of session time,
            one more piece per :meth:`release_next` after :meth:`flush` (None: everything at
            :meth:`flush`).
        keep_samples: keep each sensor's aligned samples for :meth:`streams` (off: they are let
            go once taken, and the streams hold empty samples; their counters stay).
    """

    def __init__(
        self,
        header: SessionHeader,
        clock: ClockParams | None = None,
        reconstruct: ReconstructParams | None = None,
        *,
        release_s: float | None = None,
        keep_samples: bool = True,
    ) -> None:
        if release_s is not None and not (release_s > 0 and math.isfinite(release_s)):
            raise ValueError(f"release_s must be a positive number of seconds, not {release_s}")
        self.header = header
        self._cp = clock
        self._rp = reconstruct
        self._release_s = release_s
        self._keep_samples = keep_samples
        self._notes: dict[str, list[Notifications]] = {s.role: [] for s in header.sensors}
        self._single: dict[str, list[Notification]] = {s.role: [] for s in header.sensors}
        self._samples: dict[str, list[ImuSamples]] = {s.role: [] for s in header.sensors}
        self._streams: dict[str, SensorStream] | None = None
        self._out: dict[str, ImuSamples] = {}  # aligned samples not yet taken
        self._counts: dict[str, int] = {}  # samples aligned, per role
        self._until = -math.inf if release_s is not None else math.inf  # released before (s)
        self._end = -math.inf  # the latest aligned sample (s)

    def notification(self, n: Notification) -> None:
        if n.role in self._single:
            self._single[n.role].append(n)

    def notifications(self, b: NotificationBlock) -> None:
        if b.role in self._notes:
            self._pending_singles(b.role)
            self._notes[b.role].append(b.notes)

    def samples(self, b: SampleBlock) -> None:
        if b.role in self._samples and len(b.samples):
            self._samples[b.role].append(b.samples)

    def poll(self, t: float) -> None:
        """Nothing waits for time: everything waits for the end."""

    def flush(self) -> None:
        if self._streams is not None:
            return
        streams = {}
        starts = []
        for info in self.header.sensors:
            role = info.role
            self._pending_singles(role)
            parts, note_parts = self._samples[role], self._notes[role]
            samples = (
                (parts[0] if len(parts) == 1 else ImuSamples.concatenate(parts)) if parts else None
            )
            notes = (
                (note_parts[0] if len(note_parts) == 1 else Notifications.concatenate(note_parts))
                if note_parts
                else None
            )
            self._notes[role], self._samples[role] = [], []
            del parts, note_parts
            st = sensor_stream(info, samples, notes, self._cp, self._rp)
            del samples, notes
            self._counts[role] = len(st.samples)
            if len(st.samples):
                self._out[role] = st.samples
                starts.append(float(st.samples.t[0]))
                self._end = max(self._end, float(st.samples.t[-1]))
            if not self._keep_samples:
                st = replace(st, samples=ImuSamples.concatenate([]))
            streams[role] = st
        self._streams = streams
        if self._release_s is not None:
            # the first release_next() gives the first piece (nothing to release: all is out)
            self._until = min(starts) if starts else math.inf

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

    def _pending_singles(self, role: str) -> None:
        single, self._single[role] = self._single[role], []
        if single:
            self._notes[role].append(
                Notifications.from_list(
                    [n.t for n in single], [n.data for n in single], [n.channel for n in single]
                )
            )

    def take(self, role: str) -> ImuSamples | None:
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
        out = {}
        for info in self.header.sensors:
            st = (self._streams or {}).get(info.role)
            if st is None:
                out[info.role] = SensorHealth(info.role, "", 0, 0, None, 0, 0)
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

    def streams(self) -> dict[str, SensorStream]:
        if self._streams is None:
            raise RuntimeError("the offline aligner gives its streams after flush()")
        return self._streams
