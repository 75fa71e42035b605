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

The protocol has no checksum, so every notification is checked for plausibility before it
becomes a sample; a failing one is dropped and counted (``stats.reasons``):

- ``nonzero_padding``: a byte after the mode's sample is not zero (the spec zero-fills);
- ``non_finite`` / ``out_of_range``: a value not finite, or beyond what a ±16 g, ±2000 °/s
  sensor can report (|acc| ≤ ``ACC_LIMIT`` m/s², |gyro| ≤ ``GYR_LIMIT_DPS`` °/s);
- ``quaternion_norm``: mode 26's quaternion not of unit norm (± ``QUAT_NORM_TOL``);
- ``timestamp_step``: the sensor clock did not advance, or advanced by more than the host clock
  explains (``MAX_STEP_S``, or the host's step plus ``STEP_SLACK_S``) since the last accepted
  notification. A notification that fails only this check but is a plausible successor of the
  notification just before it (a garbage sample accepted first, a restarted sensor clock) is
  accepted and starts the time line afresh (no loss counted across it).
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
#: plausibility bounds (module docstring): 1.25 × the DOT's ±16 g and ±2000 °/s full scale
ACC_LIMIT = 1.25 * 16 * 9.80665
GYR_LIMIT_DPS = 1.25 * 2000.0
QUAT_NORM_TOL = 0.01
MAX_STEP_S = 2.0
STEP_SLACK_S = 2.0


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
        self._last: int | None = None  # last accepted unwrapped timestamp, µs
        self._last_host = 0.0  # its host time, s
        self._prev: tuple[int, float] | None = None  # raw µs, host s of the last candidate

    def reset(self) -> None:
        self._last = None
        self._prev = None

    def _check(self, data: bytes, channel: int) -> str | None:
        """Drop reason for a notification, or None if it holds a sample."""
        if channel != self._channel:
            return "unknown_channel" if channel not in (0, 1) else "unexpected_channel"
        if len(data) < self._size:
            return "short_payload"
        if len(data) > self._max:
            return "long_payload"
        if any(data[self._size :]):
            return "nonzero_padding"
        return None

    def _plausible(self, rec: np.ndarray) -> np.ndarray:
        """Mask of records whose values are finite and within the sensor's ranges (drops
        counted)."""
        finite = np.isfinite(rec["acc"]).all(axis=1) & np.isfinite(rec["gyr"]).all(axis=1)
        if self.mode == MODE_CUSTOM5:
            finite &= np.isfinite(rec["quat"]).all(axis=1)
        with np.errstate(invalid="ignore", over="ignore"):
            inside = (np.abs(rec["acc"]) <= ACC_LIMIT).all(axis=1)
            inside &= (np.abs(rec["gyr"]) <= GYR_LIMIT_DPS).all(axis=1)
            unit = np.ones(len(rec), bool)
            if self.mode == MODE_CUSTOM5:
                norm = np.sqrt((rec["quat"].astype(np.float64) ** 2).sum(axis=1))
                unit = np.abs(norm - 1.0) <= QUAT_NORM_TOL
        for reason, bad in (
            ("non_finite", ~finite),
            ("out_of_range", finite & ~inside),
            ("quaternion_norm", finite & inside & ~unit),
        ):
            for _ in range(int(bad.sum())):
                self.stats.drop(reason)
        return finite & inside & unit

    @staticmethod
    def _step_ok(step_us: int, host_step_s: float) -> bool:
        """A sensor-clock advance (µs, mod 2^32) is plausible for a host-clock advance (s)."""
        allowed = max(MAX_STEP_S, host_step_s + STEP_SLACK_S) * 1e6
        return 0 < step_us <= allowed

    def _times(self, ts: np.ndarray, t_host: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accepted mask and unwrapped µs timestamps of candidate records, in order (state
        advanced, losses and ``timestamp_step`` drops counted)."""
        keep = np.zeros(len(ts), bool)
        t_us = np.zeros(len(ts), np.int64)
        for i, (raw, host) in enumerate(zip(ts.tolist(), t_host.tolist(), strict=True)):
            prev, self._prev = self._prev, (raw, host)
            last = self._last
            if last is None:
                t_new = raw
            elif self._step_ok((raw - last) % WRAP, host - self._last_host):
                step = (raw - last) % WRAP
                t_new = last + step
                gap = step / self._period_us
                if gap > 1.5:
                    self.stats.lost_samples += int(np.rint(gap)) - 1
            elif prev is not None and self._step_ok((raw - prev[0]) % WRAP, host - prev[1]):
                d = raw - last % WRAP
                t_new = last + (d + WRAP if d < -(WRAP // 2) else d)
            else:
                self.stats.drop("timestamp_step")
                continue
            keep[i], t_us[i] = True, t_new
            self._last, self._last_host = t_new, host
        return keep, t_us[keep]

    def _records(self, rec: np.ndarray, t_host: np.ndarray) -> list[ChannelBlock]:
        """Blocks from a structured array of well-formed records received at ``t_host`` (s):
        implausible ones dropped and counted, state advanced."""
        ok = self._plausible(rec)
        rec, t_host = rec[ok], t_host[ok]
        if len(rec) == 0:
            return []
        keep, t_us = self._times(rec["ts"].astype(np.int64), t_host)
        rec = rec[keep]
        if len(rec) == 0:
            return []
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
        return self._records(np.frombuffer(data, self._dt, 1), np.array([float(t_host)]))

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Vectorised: all valid notifications are parsed as one structured array."""
        n = len(payloads)
        ch = np.zeros(n, np.int64) if channels is None else np.asarray(channels).astype(np.int64)
        good, hosts = [], []
        for i, p in enumerate(payloads):
            p = bytes(p)
            reason = self._check(p, int(ch[i]))
            if reason:
                self.stats.drop(reason)
            else:
                good.append(p[: self._size])
                hosts.append(float(t_host[i]))
        self.stats.notifications += n
        if not good:
            return []
        rec = np.frombuffer(b"".join(good), self._dt)
        return merge_blocks(self._records(rec, np.array(hosts)))


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
