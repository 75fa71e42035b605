"""Nordic Thingy:52 (stock firmware), motion service raw data: profile ``"thingy52"``.

Raw data characteristic ef680406, one 18-byte sample per notification: acc x,y,z int16 (6Q10,
÷2^10 → g), gyro x,y,z int16 (11Q5, ÷2^5 → °/s), compass x,y,z int16 (12Q4, ÷2^4 → µT).
These are the firmware's fixed-point formats; Nordic's JavaScript library divides by 64 / 2048 /
4096 instead (open question 9). The shifts are decoder config (``acc_frac_bits``,
``gyr_frac_bits``, ``mag_frac_bits``) so a recording can be re-decoded if hardware proves the
library right. The compass axes are output as sent (the firmware swaps x/y and inverts y before
sending). No timestamps: every sample gets the notification's host time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import (
    DEG,
    EncodedNotification,
    G,
    block,
    config_rate,
    merge_blocks,
    quantise,
)
from imuhip.decode.base import Decoder
from imuhip.decode.profile import (
    Advertisement,
    GattWrite,
    SensorProfile,
    nearest_rate,
    register_profile,
)
from imuhip.samples import ChannelBlock

PROFILE = "thingy52"


def _uuid(short: int) -> str:
    return f"ef68{short:04x}-9b35-4933-9b10-52ffa9740042"


SERVICE_UUID = _uuid(0x0400)
CONFIG_UUID = _uuid(0x0401)
RAW_UUID = _uuid(0x0406)
FRAME_LEN = 18
FRAC_BITS = {"acc": 10, "gyr": 5, "mag": 4}
RATES_HZ = (5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0)
#: Firmware defaults: pedometer, temperature-compensation, magnetometer-compensation intervals
#: (ms), motion processing frequency (Hz), wake-on-motion.
DEFAULT_CONFIG = (1000, 500, 500, 10, 1)


def _scales(config: Mapping[str, Any]) -> np.ndarray:
    def frac(kind: str) -> int:  # junk falls back to the firmware's fixed point
        try:
            bits = int(config.get(f"{kind}_frac_bits", FRAC_BITS[kind]))
        except (TypeError, ValueError, OverflowError):
            return FRAC_BITS[kind]
        return bits if 0 <= bits <= 15 else FRAC_BITS[kind]

    return np.array(
        [2.0 ** -frac("acc") * G] * 3 + [2.0 ** -frac("gyr") * DEG] * 3 + [2.0 ** -frac("mag")] * 3
    )


@register
class Thingy52Decoder(Decoder):
    """Decoder of Thingy:52 raw motion notifications (acc, gyro, compass).

    Config: ``rate_hz`` (informational), ``acc_frac_bits`` (10), ``gyr_frac_bits`` (5),
    ``mag_frac_bits`` (4).
    """

    profile = PROFILE
    notify_uuids = (RAW_UUID,)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self.rate_hz = config_rate(self.config, 0.0, PROFILE)
        self._scale = _scales(self.config)

    def _convert(self, raw: bytes, t: np.ndarray) -> list[ChannelBlock]:
        v = np.frombuffer(raw, "<i2").reshape(-1, 9) * self._scale
        self.stats.samples += 3 * len(t)
        return [
            block("acc", t, v[:, 0:3], False),
            block("gyr", t, v[:, 3:6], False),
            block("mag", t, v[:, 6:9], False),
        ]

    def _reason(self, data: bytes, channel: int) -> str | None:
        if channel != 0:
            return "unknown_channel"
        if len(data) != FRAME_LEN:
            return "bad_length"
        return None

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        self.stats.notifications += 1
        data = bytes(data)
        reason = self._reason(data, channel)
        if reason:
            self.stats.drop(reason)
            return []
        return self._convert(data, np.array([float(t_host)]))

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Vectorised: all 18-byte notifications converted at once."""
        n = len(payloads)
        ch = np.zeros(n, np.int64) if channels is None else np.asarray(channels).astype(np.int64)
        keep = []
        for i, p in enumerate(payloads):
            reason = self._reason(p, int(ch[i]))
            if reason:
                self.stats.drop(reason)
            else:
                keep.append(i)
        self.stats.notifications += n
        if not keep:
            return []
        raw = b"".join(bytes(payloads[i]) for i in keep)
        t = np.asarray(t_host, np.float64)[keep]
        return merge_blocks(self._convert(raw, t))


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float | None = None,
    *,
    mag: np.ndarray | None = None,
) -> list[EncodedNotification]:
    """One 18-byte notification per sample at the sample time (channel 0).

    acc m/s², gyr rad/s, mag µT (zeros if None) are rounded to the firmware fixed point and
    clipped to int16, as the firmware clamps out-of-range values.
    """
    del rate_hz
    t = np.asarray(t, np.float64).reshape(-1)
    n = len(t)
    words = np.zeros((n, 9), "<i2")
    words[:, 0:3] = quantise(np.asarray(acc).reshape(-1, 3) / G, 2.0 ** FRAC_BITS["acc"])
    words[:, 3:6] = quantise(np.asarray(gyr).reshape(-1, 3) / DEG, 2.0 ** FRAC_BITS["gyr"])
    if mag is not None:
        words[:, 6:9] = quantise(np.asarray(mag).reshape(-1, 3), 2.0 ** FRAC_BITS["mag"])
    raw = words.tobytes()
    return [EncodedNotification(float(t[i]), 0, raw[i * 18 : (i + 1) * 18]) for i in range(n)]


def config_bytes(
    rate_hz: float,
    pedometer_ms: int = DEFAULT_CONFIG[0],
    temp_comp_ms: int = DEFAULT_CONFIG[1],
    mag_comp_ms: int = DEFAULT_CONFIG[2],
    wake_on_motion: int = DEFAULT_CONFIG[4],
) -> bytes:
    """The 9-byte motion configuration with the given processing frequency."""
    rate = int(min(200, max(5, round(rate_hz))))
    return (
        int(pedometer_ms).to_bytes(2, "little")
        + int(temp_comp_ms).to_bytes(2, "little")
        + int(mag_comp_ms).to_bytes(2, "little")
        + rate.to_bytes(2, "little")
        + bytes([int(wake_on_motion) & 1])
    )


def parse_command(data: bytes) -> dict[str, int] | None:
    """Parse a 9-byte configuration write (None if not 9 bytes)."""
    data = bytes(data)
    if len(data) != 9:
        return None
    v = [int.from_bytes(data[i : i + 2], "little") for i in range(0, 8, 2)]
    return {
        "pedometer_ms": v[0],
        "temp_comp_ms": v[1],
        "mag_comp_ms": v[2],
        "rate_hz": v[3],
        "wake_on_motion": data[8],
    }


def recognise(adv: Advertisement) -> bool:
    """Default name "Thingy" (renamable), or the motion service UUID in the advertisement."""
    return (adv.name or "").startswith("Thingy") or SERVICE_UUID in adv.service_uuids


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Write the motion configuration with the processing frequency (other fields: firmware
    defaults). Streaming starts when raw notifications are enabled, so the profile writes it
    before enabling them (``configure_first``)."""
    rate = nearest_rate(RATES_HZ, rate_hz)
    return [GattWrite(CONFIG_UUID, config_bytes(rate), True, 0.1)]


def stop() -> list[GattWrite]:
    """Nothing to write: streaming stops when notifications are disabled."""
    return []


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    rate = nearest_rate(RATES_HZ, rate_hz)
    return {"rate_hz": rate, **{f"{k}_frac_bits": v for k, v in FRAC_BITS.items()}}


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="Nordic Thingy:52",
        service_uuid=SERVICE_UUID,
        notify_uuids=(RAW_UUID,),
        command_uuid=CONFIG_UUID,
        rates_hz=RATES_HZ,
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
        # it streams at the saved frequency (10 Hz out of the box) once notifications are on,
        # and the config write takes effect when written: configure, then subscribe
        configure_first=True,
    )
)
