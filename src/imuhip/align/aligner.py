"""The seam between a session's raw inputs and its one time grid: the aligner.

An aligner takes each sensor's inputs (raw notifications, decoded sample blocks), decodes them
with the sensor's profile, puts every sample on the session's time base (the host's monotonic
clock for live recordings, seconds) and releases, per sensor and in time order, merged
samples: accelerometer (m/s²) and gyroscope (rad/s) on the gyroscope's sample times, sensor
frame. Two strategies share this interface:

- :class:`~imuhip.align.causal.CausalAligner` releases samples as soon as they are decided, from
  what has arrived (live use, and replay as it was seen live);
- :class:`~imuhip.align.offline.OfflineAligner` fits each sensor's clock looking ahead, a
  bounded stretch of the input at a time, and releases what each stretch decided (analysis of
  a file).

Both report the same counters (:class:`SensorHealth`) and, at the end, one
:class:`~imuhip.align.streams.SensorStream` per sensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from imuhip.align.streams import SensorStream
from imuhip.samples import ImuSamples
from imuhip.session import Notification, NotificationBlock, SampleBlock, SessionInput


@dataclass(frozen=True)
class SensorHealth:
    """Counters of one sensor's data (not of its radio link).

    Attributes:
        role: sensor role.
        timing: how sample times are obtained: "stored", "sensor-clock", "reconstructed", or
            "" before the first sample.
        notifications: notifications received.
        samples: samples released.
        rate_hz: samples per second over the last two seconds of sample time (None before).
        dropped: notifications the decoder rejected.
        lost_samples: samples found missing (decoder counters and the time alignment).
        interval_s: BLE connection interval judged from a timestamp-less sensor's receive
            times (s; None for sensors with timestamps and until judged).
    """

    role: str
    timing: str
    notifications: int
    samples: int
    rate_hz: float | None
    dropped: int
    lost_samples: int
    interval_s: float | None = None


class Aligner(Protocol):
    """Raw inputs in, per-sensor merged samples on the session time base out."""

    def notification(self, n: Notification) -> None:
        """Take one raw notification."""

    def notifications(self, b: NotificationBlock) -> None:
        """Take many raw notifications of one sensor, in receive order."""

    def samples(self, b: SampleBlock) -> None:
        """Take decoded samples (times already on the session time base)."""

    def poll(self, t: float) -> None:
        """The session clock has reached ``t`` (s): decide what waits for time to pass."""

    def flush(self) -> None:
        """End of input: release everything still held back."""

    def take(self, role: str) -> ImuSamples | None:
        """Samples of ``role`` released since the last call (None when there are none)."""

    def health(self) -> dict[str, SensorHealth]:
        """Each sensor's counters now."""

    def streams(self) -> dict[str, SensorStream]:
        """After :meth:`flush`: each sensor's whole stream (samples and alignment figures)."""


def feed_aligner(aligner: Aligner, item: SessionInput) -> bool:
    """Give ``item`` to ``aligner`` if it is sensor data (a notification, a block of them or a
    sample block); False for any other input (an event)."""
    if isinstance(item, Notification):
        aligner.notification(item)
    elif isinstance(item, NotificationBlock):
        aligner.notifications(item)
    elif isinstance(item, SampleBlock):
        aligner.samples(item)
    else:
        return False
    return True
