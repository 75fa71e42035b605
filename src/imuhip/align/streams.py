"""Per-sensor sample streams of a session, whichever way the session stored them.

Decoded samples (imports, simulations) are used as they are; raw notifications (live
recordings) go through the sensor profile's decoder, exactly as they did live.
"""

from __future__ import annotations

from dataclasses import dataclass

from imuhip.align.channels import merge_channels
from imuhip.decode import DecodeStats, get_decoder
from imuhip.samples import ImuSamples
from imuhip.session import SAMPLES_PROFILE, Session


@dataclass(frozen=True)
class SensorStream:
    """Samples of one sensor plus how they were obtained.

    Attributes:
        role: sensor role.
        samples: merged samples, session time base (see ``sensor_clock``).
        decoded: True when the samples came from raw notifications through a decoder.
        stats: decoder counters (None for stored samples).
        sensor_clock: True when ``samples.t`` are sensor timestamps (still to be mapped to
            host time by the clock model).
    """

    role: str
    samples: ImuSamples
    decoded: bool
    stats: DecodeStats | None
    sensor_clock: bool


def sensor_streams(session: Session) -> dict[str, SensorStream]:
    """Every sensor's samples, decoding raw notifications where the session holds them."""
    out: dict[str, SensorStream] = {}
    for info in session.header.sensors:
        role = info.role
        if role in session.samples or info.profile == SAMPLES_PROFILE:
            s = session.samples.get(role) or ImuSamples.concatenate([])
            out[role] = SensorStream(role, s, False, None, False)
            continue
        notes = session.notifications.get(role)
        decoder = get_decoder(info.profile, {"rate_hz": info.rate_hz, **info.config})
        blocks = (
            [] if notes is None else decoder.decode_many(notes.t, notes.payloads(), notes.channel)
        )
        merged = merge_channels(blocks)
        out[role] = SensorStream(role, merged.samples, True, decoder.stats, merged.sensor_clock)
    return out
