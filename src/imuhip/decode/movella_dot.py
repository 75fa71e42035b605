"""Movella DOT (formerly Xsens DOT): profile ``"movella-dot"``.

Streaming uses the "rate quantities" payload modes, one sample per notification:

- mode 21 (default), medium payload (channel 0): uint32 µs timestamp, acc 3 × float32 m/s²,
  gyro 3 × float32 °/s (28 bytes);
- mode 20, medium payload (channel 0): as 21 plus magnetic field 3 × int16 fixed point ÷ 2^12
  (34 bytes). The spec calls the unit "a.u."; the vendor server's ÷2^12 is applied and the
  result multiplied by ``config["mag_scale"]`` (default 1), so ``mag`` is NOT in µT unless a
  scale is configured (open question 6 in the protocol notes);
- mode 26 "custom mode 5", long payload (channel 1): timestamp, quaternion (ignored), acc, gyro
  (44 bytes; newer firmware only).

Notifications may be longer than the mode size (trailing zero bytes). Timestamps are unwrapped
across the 2^32 µs (~71.6 min) rollover and returned as sensor-clock seconds. A timestamp step
of more than 1.5 sample periods counts ``round(step / period) - 1`` lost samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import (
    DEG,
    EncodedNotification,
    block,
    config_number,
    config_rate,
    merge_blocks,
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

PROFILE = "movella-dot"


def _uuid(short: int) -> str:
    return f"1517{short:04x}-4947-11e9-8646-d663bd873d93"


SERVICE_UUID = _uuid(0x2000)
CONTROL_UUID = _uuid(0x2001)
LONG_UUID = _uuid(0x2002)
MEDIUM_UUID = _uuid(0x2003)
SHORT_UUID = _uuid(0x2004)
DEVICE_CONTROL_UUID = _uuid(0x1002)
COMPANY_ID = 0x0886

MODE_RATE_MAG = 20
MODE_RATE = 21
MODE_CUSTOM5 = 26
#: mode -> (channel, sample size in bytes, payload characteristic length)
MODES: dict[int, tuple[int, int, int]] = {
    MODE_RATE_MAG: (0, 34, 40),
    MODE_RATE: (0, 28, 40),
    MODE_CUSTOM5: (1, 44, 63),
}
RATES_HZ = (1.0, 4.0, 10.0, 12.0, 15.0, 20.0, 30.0, 60.0)
DEFAULT_RATE = 60.0
MAG_FIXED_POINT = 2.0**-12
WRAP = 1 << 32


def _dtype(mode: int) -> np.dtype:
    fields = [("ts", "<u4")]
    if mode == MODE_CUSTOM5:
        fields.append(("quat", "<f4", (4,)))
    fields += [("acc", "<f4", (3,)), ("gyr", "<f4", (3,))]
    if mode == MODE_RATE_MAG:
        fields.append(("mag", "<i2", (3,)))
    return np.dtype(fields)


@register
class MovellaDotDecoder(Decoder):
    """Decoder of DOT rate-quantity notifications.

    Config: ``mode`` (20, 21 or 26; default 21), ``rate_hz`` (output rate, for loss counting;
    default 60), ``mag_scale`` (multiplier after ÷2^12; default 1).
    """

    profile = PROFILE
    notify_uuids = (MEDIUM_UUID, LONG_UUID)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        mode = self.config.get("mode", MODE_RATE)
        self.mode = int(mode) if isinstance(mode, int) and mode in MODES else MODE_RATE
        self._channel, self._size, self._max = MODES[self.mode]
        self._dt = _dtype(self.mode)
        self._period_us = 1e6 / config_rate(self.config, DEFAULT_RATE, PROFILE)
        scale = config_number(self.config, "mag_scale", 1.0, PROFILE, (-1e6, 1e6))
        self._mag_scale = MAG_FIXED_POINT * scale
        self._last: int | None = None  # last unwrapped timestamp, µs

    def reset(self) -> None:
        self._last = None

    def _check(self, data: bytes, channel: int) -> str | None:
        """Drop reason for a notification, or None if it holds a sample."""
        if channel != self._channel:
            return "unknown_channel" if channel not in (0, 1) else "unexpected_channel"
        if len(data) < self._size:
            return "short_payload"
        if len(data) > self._max:
            return "long_payload"
        return None

    def _records(self, rec: np.ndarray) -> list[ChannelBlock]:
        """Blocks from a structured array of valid records (state advanced)."""
        finite = np.isfinite(rec["acc"]).all(axis=1) & np.isfinite(rec["gyr"]).all(axis=1)
        if not finite.all():
            for _ in range(int((~finite).sum())):
                self.stats.drop("non_finite")
            rec = rec[finite]
        if len(rec) == 0:
            return []
        ts = rec["ts"].astype(np.int64)
        prev = self._last
        base = (prev // WRAP) * WRAP if prev is not None else 0
        ref = prev % WRAP if prev is not None else ts[0]
        seq = np.concatenate([[ref], ts])
        wraps = np.cumsum(np.diff(seq) < -(WRAP // 2))
        t_us = ts + base + wraps * WRAP
        steps = np.diff(np.concatenate([[prev], t_us])) if prev is not None else np.diff(t_us)
        gap = steps / self._period_us
        lost = np.where(gap > 1.5, np.rint(gap) - 1, 0)
        self.stats.lost_samples += int(lost.sum())
        self._last = int(t_us[-1])
        t = t_us * 1e-6
        self.stats.samples += 2 * len(t)
        out = [
            block("acc", t, rec["acc"], True),
            block("gyr", t, rec["gyr"].astype(np.float64) * DEG, True),
        ]
        if self.mode == MODE_RATE_MAG:
            out.append(block("mag", t, rec["mag"] * self._mag_scale, True))
            self.stats.samples += len(t)
        return out

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        self.stats.notifications += 1
        data = bytes(data)
        reason = self._check(data, channel)
        if reason:
            self.stats.drop(reason)
            return []
        return self._records(np.frombuffer(data, self._dt, 1))

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Vectorised: all valid notifications are parsed as one structured array."""
        n = len(payloads)
        ch = np.zeros(n, np.int64) if channels is None else np.asarray(channels).astype(np.int64)
        good = []
        for i, p in enumerate(payloads):
            reason = self._check(p, int(ch[i]))
            if reason:
                self.stats.drop(reason)
            else:
                good.append(bytes(p)[: self._size])
        self.stats.notifications += n
        if not good:
            return []
        rec = np.frombuffer(b"".join(good), self._dt)
        return merge_blocks(self._records(rec))


# --------------------------------------------------------------------------- encoder


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float = DEFAULT_RATE,
    *,
    mag: np.ndarray | None = None,
    quat: np.ndarray | None = None,
    mode: int | None = None,
    pad: bool = True,
) -> list[EncodedNotification]:
    """One notification per sample, as the DOT sends in a rate-quantities mode.

    Args:
        t: (N,) sensor-clock times, seconds; written as ``round(t × 1e6) mod 2^32`` µs.
        acc: (N, 3) m/s² (float32 on the wire); gyr: (N, 3) rad/s (sent in °/s).
        mag: (N, 3) in the decoder's mag unit (÷2^12 fixed point); selects mode 20.
        quat: (N, 4) w,x,y,z for mode 26 (default identity).
        mode: 20, 21 or 26 (default 20 with ``mag``, else 21).
        pad: pad to the characteristic length (40 medium / 63 long) with zeros.

    Returns:
        :class:`EncodedNotification` per sample, sent at the sample time, on channel 0 (medium) or 1
        (long payload).
    """
    del rate_hz
    mode = mode if mode is not None else (MODE_RATE_MAG if mag is not None else MODE_RATE)
    channel, size, maxlen = MODES[mode]
    t = np.asarray(t, np.float64).reshape(-1)
    rec = np.zeros(len(t), _dtype(mode))
    rec["ts"] = (np.rint(t * 1e6).astype(np.int64) % WRAP).astype(np.uint32)
    rec["acc"] = np.asarray(acc).reshape(-1, 3)
    rec["gyr"] = np.asarray(gyr).reshape(-1, 3) / DEG
    if mode == MODE_RATE_MAG:
        m = np.zeros((len(t), 3)) if mag is None else np.asarray(mag).reshape(-1, 3)
        rec["mag"] = np.clip(np.rint(m / MAG_FIXED_POINT), -32768, 32767)
    if mode == MODE_CUSTOM5:
        rec["quat"] = [1, 0, 0, 0] if quat is None else np.asarray(quat).reshape(-1, 4)
    raw = rec.tobytes()
    tail = bytes(maxlen - size) if pad else b""
    return [
        EncodedNotification(float(t[i]), channel, raw[i * size : (i + 1) * size] + tail)
        for i in range(len(t))
    ]


# --------------------------------------------------------------------------- commands


def measurement_command(start: bool, mode: int = MODE_RATE) -> bytes:
    """Control write: type 01 (measurement), action (01 start / 00 stop), payload mode."""
    return bytes([0x01, 0x01 if start else 0x00, mode])


def rate_command(rate_hz: float) -> bytes:
    """32-byte device-control write with visit index 0x10 (output rate) and the rate at
    bytes 24–25; other fields zero (derived from the spec layout)."""
    buf = bytearray(32)
    buf[0] = 0x10
    buf[24:26] = int(rate_hz).to_bytes(2, "little")
    return bytes(buf)


@dataclass(frozen=True)
class DotCommand:
    """Parsed write: kind "measurement" (start, mode) or "output_rate" (rate_hz) or "other"."""

    kind: str
    start: bool | None = None
    mode: int | None = None
    rate_hz: float | None = None


def parse_command(data: bytes) -> DotCommand | None:
    """Parse a Control (3 bytes) or Device-control (32 bytes) write; None if neither."""
    data = bytes(data)
    if len(data) == 3 and data[0] == 0x01 and data[1] in (0, 1):
        return DotCommand("measurement", start=data[1] == 1, mode=data[2])
    if len(data) == 32:
        if data[0] & 0x10:
            return DotCommand("output_rate", rate_hz=float(int.from_bytes(data[24:26], "little")))
        return DotCommand("other")
    return None


def recognise(adv: Advertisement) -> bool:
    """Name "Xsens DOT" / "Movella DOT", or Movella's company id 0x0886 in manufacturer data."""
    if adv.name and adv.name.strip() in ("Xsens DOT", "Movella DOT"):
        return True
    return COMPANY_ID in adv.manufacturer_data


def _mode(options: Mapping[str, Any]) -> int:
    if "mode" in options:
        return int(options["mode"])
    return MODE_RATE_MAG if options.get("mag") else MODE_RATE


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Set the output rate, then start the rate-quantities measurement.

    Options: ``mag`` (mode 20 instead of 21) or an explicit ``mode`` (20, 21, 26).
    """
    options = dict(options or {})
    rate = nearest_rate(RATES_HZ, rate_hz)
    return [
        GattWrite(DEVICE_CONTROL_UUID, rate_command(rate), True, 0.2),
        GattWrite(CONTROL_UUID, measurement_command(True, _mode(options)), True, 0.0),
    ]


def stop() -> list[GattWrite]:
    """Stop whichever rate-quantities mode is running (the stop names the mode; each is sent)."""
    return [GattWrite(CONTROL_UUID, measurement_command(False, m), True, 0.1) for m in MODES]


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    options = dict(options or {})
    rate = nearest_rate(RATES_HZ, rate_hz)
    cfg: dict[str, Any] = {"mode": _mode(options), "rate_hz": rate}
    if "mag_scale" in options:
        cfg["mag_scale"] = float(options["mag_scale"])
    return cfg


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="Movella DOT / Xsens DOT",
        service_uuid=SERVICE_UUID,
        notify_uuids=(MEDIUM_UUID, LONG_UUID),
        command_uuid=CONTROL_UUID,
        rates_hz=RATES_HZ,
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
    )
)
