"""Offline time alignment: each sensor's clock fitted over the whole session at once.

Holds every input until :meth:`OfflineAligner.flush` (the end of the session), then aligns
each sensor with :func:`~imuhip.align.streams.sensor_stream` — the whole-session clock fit,
connection-event loss counting and the gyro-signal placement of ambiguous losses, which need
data from after each sample — and releases the samples. Times are seconds on the session time
base, values in SI units in the sensor frame. The result does not depend on how the input was
cut into notifications and blocks.
"""

from __future__ import annotations

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
    """

    def __init__(
        self,
        header: SessionHeader,
        clock: ClockParams | None = None,
        reconstruct: ReconstructParams | None = None,
    ) -> None:
        self.header = header
        self._cp = clock
        self._rp = reconstruct
        self._notes: dict[str, list[Notifications]] = {s.role: [] for s in header.sensors}
        self._single: dict[str, list[Notification]] = {s.role: [] for s in header.sensors}
        self._samples: dict[str, list[ImuSamples]] = {s.role: [] for s in header.sensors}
        self._streams: dict[str, SensorStream] | None = None
        self._out: dict[str, ImuSamples] = {}

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
            streams[role] = sensor_stream(info, samples, notes, self._cp, self._rp)
            if len(streams[role].samples):
                self._out[role] = streams[role].samples
        self._streams = streams

    def _pending_singles(self, role: str) -> None:
        single, self._single[role] = self._single[role], []
        if single:
            self._notes[role].append(
                Notifications.from_list(
                    [n.t for n in single], [n.data for n in single], [n.channel for n in single]
                )
            )

    def take(self, role: str) -> ImuSamples | None:
        return self._out.pop(role, None)

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
                len(st.samples),
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
