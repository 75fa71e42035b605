"""Polar Verity Sense over PMD (Polar Measurement Data): profile ``"polar-pmd"``.

Channels (the decoder's ``notify_uuids``): 0 = PMD data (fb005c82), 1 = PMD control point
(fb005c81), whose responses are recorded too so that the conversion FACTOR sent in a start
response is applied identically live and at replay.

Data frame: measurement type (1 byte, & 0x3F; ACC 2, GYRO 5, MAG 6), uint64 LE timestamp in ns
since 2000-01-01 of the LAST sample, frame type (bit 7 = delta-compressed, bits 0–6 = type
number), samples. Supported frame types, with output units after this decoder:

====== ============ ==================================== ===================================
 meas   frame        encoding                             value
====== ============ ==================================== ===================================
 ACC    raw 0/1/2    3 × int8 / int16 / int24             mG → m/s²
 ACC    delta 0      3 ch, 16-bit reference                raw × factor g → m/s²
 ACC    delta 1      3 ch, 16-bit reference                raw × factor mG (factor 1 default)
 GYRO   delta 0      3 ch, 16-bit reference                raw × factor °/s → rad/s
 GYRO   delta 1      3 ch, 32-bit float bit patterns       float × factor °/s → rad/s
 MAG    delta 0      3 ch, 16-bit reference                raw × factor G → µT (×100)
 MAG    delta 1      4 ch (x, y, z, status), 16-bit       raw × factor / 1000 G → µT
====== ============ ==================================== ===================================

Factor: the FACTOR TLV of the last successful start response seen on channel 1 for that
measurement; else ``config[kind]["factor"]``; else (delta type 0 only) range / 2^(resolution-1)
from the configured settings; else 1. Unlike the vendor SDK, accelerations are not truncated to
whole mG.

Sample times (sensor clock, seconds since 2000-01-01): the last sample has the frame timestamp;
with a previous frame of the same (measurement, frame type) the frame interval is split evenly
(sample i at round(prev + (ts - prev) / n × (i + 1)) ns, rounding half to even as the Kotlin SDK),
otherwise samples are spaced by the configured rate back from the timestamp. A timestamp jump
larger than half a frame beyond the expected n samples counts ``round(gap)`` lost samples, and
then the frame is timed from the nominal rate (the SDK would spread the frame over the gap).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import (
    DEG,
    EncodedNotification,
    G,
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
from imuhip.errors import DecoderConfigError
from imuhip.samples import ChannelBlock

PROFILE = "polar-pmd"
SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CP_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Measurement type numbers.
ECG, PPG, ACC, PPI, GYRO, MAG, SKIN_TEMP, SDK_MODE = 0, 1, 2, 3, 5, 6, 7, 9
KIND_OF = {ACC: "acc", GYRO: "gyr", MAG: "mag"}
MEAS_OF = {"acc": ACC, "gyr": GYRO, "mag": MAG}

OP_GET_SETTINGS, OP_START, OP_STOP, OP_GET_SDK_SETTINGS = 0x01, 0x02, 0x03, 0x04
OP_GET_STATUS, OP_GET_SDK_STATUS = 0x05, 0x06
OP_NAMES = {
    1: "get_settings",
    2: "start",
    3: "stop",
    4: "get_sdk_settings",
    5: "get_status",
    6: "get_sdk_status",
}
RESPONSE_CODE = 0xF0
STOPPED_CODE = 0x01
STATUS_TEXT = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}

#: Settings TLV: type -> (name, value size in bytes).
SETTING_TYPES: dict[int, tuple[str, int]] = {
    0: ("sample_rate", 2),
    1: ("resolution", 2),
    2: ("range", 2),
    3: ("range_milli", 4),  # signed, as the vendor SDK reads it
    4: ("channels", 1),
    5: ("factor", 4),
    6: ("security", 16),
}
SETTING_CODES = {name: code for code, (name, _) in SETTING_TYPES.items()}
#: Settings whose values are signed integers (RANGE_MILLIUNIT: int32; the others are unsigned).
SIGNED_SETTINGS = frozenset({"range_milli"})

#: Unix time of the PMD epoch 2000-01-01T00:00:00Z, seconds.
PMD_EPOCH_UNIX_S = 946_684_800

ACC_RATES = (26.0, 52.0, 104.0, 208.0, 416.0)
MAG_RATES = (10.0, 20.0, 50.0, 100.0)
DEFAULT_RATE = 52.0
#: Default settings per kind (Verity Sense online-streaming defaults).
DEFAULTS: dict[str, dict[str, float]] = {
    "acc": {"rate_hz": 52.0, "resolution": 16, "range": 8, "channels": 3},
    "gyr": {"rate_hz": 52.0, "resolution": 16, "range": 2000, "channels": 3},
    "mag": {"rate_hz": 50.0, "resolution": 16, "range": 50, "channels": 3},
}
#: Payload bytes per notification with the default Polar MTU of 232 (232 - 3 ATT header bytes).
DEFAULT_MAX_FRAME_BYTES = 229
HEADER_LEN = 10


# --------------------------------------------------------------------------- settings TLVs


def encode_settings(settings: Mapping[str, Any]) -> bytes:
    """Settings TLVs (count 1 each) for ``{"sample_rate": 52, "resolution": 16, ...}``."""
    out = bytearray()
    for name, value in settings.items():
        code = SETTING_CODES[name]
        size = SETTING_TYPES[code][1]
        out += bytes([code, 1])
        if name == "factor":
            out += struct.pack("<f", float(value))
        elif name == "security":
            out += bytes(value)[:16].ljust(16, b"\x00")
        else:
            out += int(value).to_bytes(size, "little", signed=name in SIGNED_SETTINGS)
    return bytes(out)


def encode_setting_values(values: Mapping[str, Sequence[Any]]) -> bytes:
    """Settings TLVs with several values each (as in get-settings responses), for
    ``{"sample_rate": [26, 52, 104], "resolution": [16], ...}``."""
    out = bytearray()
    for name, vals in values.items():
        vals = list(vals)
        if not 0 < len(vals) < 256:
            raise ValueError(f"{name}: a setting TLV carries 1 to 255 values")
        tlvs = [encode_settings({name: v}) for v in vals]
        out += tlvs[0][:1] + bytes([len(vals)]) + b"".join(t[2:] for t in tlvs)
    return bytes(out)


def parse_settings(data: bytes) -> dict[str, list[Any]] | None:
    """Parse settings TLVs into ``name -> [values]``; None if malformed."""
    out: dict[str, list[Any]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data) or data[i] not in SETTING_TYPES:
            return None
        name, size = SETTING_TYPES[data[i]]
        count = data[i + 1]
        i += 2
        if i + size * count > len(data):
            return None
        vals: list[Any] = []
        for _ in range(count):
            raw = data[i : i + size]
            if name == "factor":
                vals.append(struct.unpack("<f", raw)[0])
            elif name == "security":
                vals.append(bytes(raw))
            else:
                vals.append(int.from_bytes(raw, "little", signed=name in SIGNED_SETTINGS))
            i += size
        out[name] = vals
    return out


# --------------------------------------------------------------------------- delta frames


def _sign_extend(v: np.ndarray, width: int) -> np.ndarray:
    if width == 0:
        return np.zeros_like(v)
    sign = np.int64(1) << (width - 1)
    return (v ^ sign) - sign


def decode_delta(payload: bytes, channels: int, ref_bytes: int) -> np.ndarray | None:
    """Samples (n, channels) int64 of a delta-compressed frame body, or None if malformed.

    The first sample is the reference; each block (bit width, count, packed deltas, LSB
    first) adds ``count`` samples. Values are not wrapped (callers wrap 32-bit patterns).
    """
    need = channels * ref_bytes
    if len(payload) < need or channels <= 0:
        return None
    ref = np.array(
        [
            int.from_bytes(payload[k * ref_bytes : (k + 1) * ref_bytes], "little", signed=True)
            for k in range(channels)
        ],
        np.int64,
    )
    parts = [ref.reshape(1, channels)]
    pos = need
    n = len(payload)
    while pos < n:
        if pos + 2 > n:
            return None
        width, count = payload[pos], payload[pos + 1]
        pos += 2
        if width > 32:
            return None
        nbits = width * count * channels
        nbytes = (nbits + 7) // 8
        if pos + nbytes > n:
            return None
        if count:
            if width:
                raw = np.frombuffer(payload, np.uint8, nbytes, pos)
                bits = np.unpackbits(raw, bitorder="little")[:nbits].astype(np.int64)
                vals = bits.reshape(-1, width) @ (np.int64(1) << np.arange(width, dtype=np.int64))
                deltas = _sign_extend(vals, width).reshape(count, channels)
            else:
                deltas = np.zeros((count, channels), np.int64)
            parts.append(deltas)
        pos += nbytes
    return np.cumsum(np.concatenate(parts), axis=0)


def _bits_needed(d: np.ndarray) -> np.ndarray:
    """Signed bit width needed for each integer in ``d`` (at least 1)."""
    mag = np.where(d >= 0, d, -d - 1).astype(np.float64)
    return np.frexp(mag)[1].astype(np.int64) + 1


def encode_delta(samples: np.ndarray, ref_bytes: int, block_size: int | None = None) -> bytes:
    """Delta-compressed body for integer ``samples`` (n, channels): reference sample, then
    blocks of at most ``block_size`` (≤ 255) deltas, each with the smallest bit width that
    holds all of its deltas."""
    s = np.asarray(samples, np.int64)
    n, ch = s.shape
    out = bytearray()
    for k in range(ch):
        out += int(s[0, k]).to_bytes(ref_bytes, "little", signed=True)
    deltas = np.diff(s, axis=0)
    if ref_bytes == 4:  # 32-bit patterns: the decoder adds modulo 2^32
        deltas = ((deltas + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    bs = min(255, block_size or 255)
    for a in range(0, n - 1, bs):
        d = deltas[a : a + bs]
        width = int(_bits_needed(d).max())
        out += bytes([width, len(d)])
        vals = d.reshape(-1) & ((np.int64(1) << width) - 1)
        bits = ((vals[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8)
        out += np.packbits(bits.reshape(-1), bitorder="little").tobytes()
    return bytes(out)


# --------------------------------------------------------------------------- frame formats


@dataclass(frozen=True)
class _Format:
    kind: str
    compressed: bool
    channels: int  # channels in the frame (MAG type 1 has a 4th status channel)
    width: int  # bytes per raw value / reference value
    is_float: bool = False


_FORMATS: dict[tuple[int, int], _Format] = {
    (ACC, 0x00): _Format("acc", False, 3, 1),
    (ACC, 0x01): _Format("acc", False, 3, 2),
    (ACC, 0x02): _Format("acc", False, 3, 3),
    (ACC, 0x80): _Format("acc", True, 3, 2),
    (ACC, 0x81): _Format("acc", True, 3, 2),
    (GYRO, 0x80): _Format("gyr", True, 3, 2),
    (GYRO, 0x81): _Format("gyr", True, 3, 4, is_float=True),
    (MAG, 0x80): _Format("mag", True, 3, 2),
    (MAG, 0x81): _Format("mag", True, 4, 2),
}


def _default_factor(meas: int, frame_type: int, settings: Mapping[str, Any]) -> float:
    """Factor used when no start response and no configured factor is known."""
    if frame_type == 0x80:
        return float(settings.get("range", 1)) / float(
            1 << (int(settings.get("resolution", 16)) - 1)
        )
    return 1.0


def _check_factor_settings(kind: str, settings: Mapping[str, Any]) -> None:
    """DecoderConfigError unless the configured factor, range and resolution of ``kind`` are
    usable numbers (they are read on every frame, where nothing may raise)."""
    config_number(settings, "factor", 1.0, PROFILE, (-1e9, 1e9), label=f"{kind}.factor")
    config_number(settings, "range", 1, PROFILE, (-1e9, 1e9), label=f"{kind}.range")
    bits = config_number(settings, "resolution", 16, PROFILE, (1, 64), label=f"{kind}.resolution")
    if bits != int(bits):
        raise DecoderConfigError(
            f"{PROFILE} decoder: setting {kind}.resolution={bits!r} is not a whole number of bits"
        )


def _si_scale(meas: int, frame_type: int) -> float:
    """Multiplier from (raw × factor) to SI units."""
    if meas == ACC:
        return G if frame_type == 0x80 else G / 1000.0
    if meas == GYRO:
        return DEG
    return 100.0 if frame_type == 0x80 else 0.1  # Gauss -> µT; mG -> µT


# --------------------------------------------------------------------------- decoder


@register
class PolarPmdDecoder(Decoder):
    """Decoder of PMD data frames (channel 0) and control-point responses (channel 1).

    Config: ``{"acc": {"rate_hz", "resolution", "range", "channels"[, "factor"]}, "gyr": {...},
    "mag": {...}}`` (any part optional; Verity Sense defaults otherwise).

    Extra state: :attr:`factors` (measurement type -> factor from start responses),
    :attr:`cp_errors` (failed command responses), :attr:`stopped_by_device` (count of
    "measurement stopped" notifications).
    """

    profile = PROFILE
    notify_uuids = (DATA_UUID, CP_UUID)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        config_rate(self.config, DEFAULT_RATE, PROFILE)  # not used, but checked like the rest
        self._settings: dict[int, dict[str, Any]] = {}
        self._rates: dict[int, float] = {}
        for kind, meas in MEAS_OF.items():
            s = dict(DEFAULTS[kind])
            part = self.config.get(kind)
            if isinstance(part, Mapping):
                s.update({k: v for k, v in part.items() if v is not None})  # None: not set
            self._settings[meas] = s
            self._rates[meas] = config_rate(s, DEFAULT_RATE, PROFILE, label=f"{kind}.rate_hz")
            _check_factor_settings(kind, s)
        self.factors: dict[int, float] = {}
        self.cp_errors: list[tuple[int, int, int]] = []
        self.stopped_by_device = 0
        self._prev_ts: dict[tuple[int, int], int] = {}
        self._cp_pending: bytes | None = None

    def reset(self) -> None:
        self._prev_ts.clear()
        self._cp_pending = None

    def factor(self, meas: int, frame_type: int) -> float:
        """The conversion factor applied to frames of ``meas`` (see module doc)."""
        if meas in self.factors:
            return self.factors[meas]
        s = self._settings.get(meas, {})
        if "factor" in s:
            return float(s["factor"])
        return _default_factor(meas, frame_type, s)

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        """Decode one notification (channel 0 data frame, channel 1 control-point response)."""
        self.stats.notifications += 1
        data = bytes(data)
        if channel == 1:
            self._control_point(data)
            return []
        if channel != 0:
            self.stats.drop("unknown_channel")
            return []
        if len(data) < HEADER_LEN:
            self.stats.drop("short_frame")
            return []
        meas = data[0] & 0x3F
        ts = int.from_bytes(data[1:9], "little")
        ftype = data[9]
        fmt = _FORMATS.get((meas, ftype))
        if fmt is None:
            if meas in KIND_OF:
                self.stats.drop("unsupported_frame_type")
            else:
                self.stats.drop("unsupported_measurement")
            return []
        body = data[HEADER_LEN:]
        raw = self._samples(fmt, body)
        if raw is None or len(raw) == 0:
            self.stats.drop("bad_length" if not fmt.compressed else "bad_delta_frame")
            return []
        values = self._to_si(meas, ftype, fmt, raw)
        t = self._times(meas, ftype, ts, len(values))
        self.stats.samples += len(values)
        return [block(fmt.kind, t, values, True)]  # type: ignore[arg-type]

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Same as sequential :meth:`feed` (frames are decoded vectorised inside), one block per
        kind."""
        return merge_blocks(super().decode_many(t_host, payloads, channels))

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _samples(fmt: _Format, body: bytes) -> np.ndarray | None:
        if fmt.compressed:
            return decode_delta(body, fmt.channels, fmt.width)
        size = fmt.channels * fmt.width
        if len(body) == 0 or len(body) % size:
            return None
        b = np.frombuffer(body, np.uint8).reshape(-1, fmt.width)
        if fmt.width == 1:
            v = b[:, 0].view(np.int8).astype(np.int64)
        elif fmt.width == 2:
            v = np.frombuffer(body, "<i2").astype(np.int64)
        else:
            v = b[:, 0].astype(np.int64) | (b[:, 1].astype(np.int64) << 8)
            v |= b[:, 2].astype(np.int64) << 16
            v = _sign_extend(v, 24)
        return v.reshape(-1, fmt.channels)

    def _to_si(self, meas: int, ftype: int, fmt: _Format, raw: np.ndarray) -> np.ndarray:
        if fmt.is_float:
            vals = (raw & 0xFFFFFFFF).astype(np.uint32).view(np.float32).astype(np.float64)
            vals = np.nan_to_num(vals, nan=0.0, posinf=0.0, neginf=0.0)
        else:
            vals = raw.astype(np.float64)
        vals = vals[:, :3]
        if not fmt.compressed:  # raw ACC frames: mG
            return vals * (G / 1000.0)
        return vals * (self.factor(meas, ftype) * _si_scale(meas, ftype))

    def _rate(self, meas: int) -> float:
        return self._rates.get(meas, DEFAULT_RATE)

    def _times(self, meas: int, ftype: int, ts: int, n: int) -> np.ndarray:
        key = (meas, ftype)
        prev = self._prev_ts.get(key)
        self._prev_ts[key] = ts
        period = 1e9 / self._rate(meas)
        i = np.arange(n, dtype=np.float64)
        if prev is not None and ts > prev:
            gap = (ts - prev) / period - n
            if gap > 0.5 * n and round(gap) >= 1:
                self.stats.lost_samples += round(gap)
            else:
                step = (ts - prev) / n
                t_ns = prev + np.rint(step * (i + 1))
                return t_ns * 1e-9
        t_ns = ts - np.rint(period * (n - 1 - i))
        return t_ns * 1e-9

    def _control_point(self, data: bytes) -> None:
        if not data:
            self.stats.drop("bad_cp_response")
            return
        if data[0] == STOPPED_CODE:
            self.stopped_by_device += 1
            for m in data[1:]:
                self._forget(m & 0x3F)
            return
        if data[0] != RESPONSE_CODE or len(data) < 5:
            self.stats.drop("bad_cp_response")
            return
        more = data[4]
        if self._cp_pending is not None:
            data = self._cp_pending + data[5:]
            self._cp_pending = None
        if more != 0:  # more responses follow: collect their bytes from index 5
            self._cp_pending = data
            return
        op, meas, status = data[1], data[2] & 0x3F, data[3]
        if status != 0:
            self.cp_errors.append((op, meas, status))
            return
        if op in (OP_START, OP_STOP):
            self._forget(meas)
        if op == OP_START:
            settings = parse_settings(data[5:])
            if settings and settings.get("factor"):
                f = float(settings["factor"][0])
                if np.isfinite(f) and f != 0:
                    self.factors[meas] = f

    def _forget(self, meas: int) -> None:
        for key in [k for k in self._prev_ts if k[0] == meas]:
            del self._prev_ts[key]


# --------------------------------------------------------------------------- encoder


def _to_raw(kind: str, frame_type: int, values: np.ndarray, factor: float) -> np.ndarray:
    """SI values -> integer frame values (int64, bit patterns for float gyro)."""
    v = np.asarray(values, np.float64).reshape(-1, 3)
    if kind == "acc":
        mg = v / G * 1000.0
        if frame_type in (0x00, 0x01, 0x02):
            bits = {0x00: 8, 0x01: 16, 0x02: 24}[frame_type]
            return _clip_round(mg, bits)
        unit = mg / 1000.0 if frame_type == 0x80 else mg
        return _clip_round(unit / factor, 16)
    if kind == "gyr":
        dps = v / DEG / factor
        if frame_type == 0x81:
            return dps.astype(np.float32).view(np.int32).astype(np.int64)
        return _clip_round(dps, 16)
    gauss = v / 100.0
    if frame_type == 0x81:
        raw = _clip_round(gauss * 1000.0 / factor, 16)
        return np.concatenate([raw, np.full((len(raw), 1), 3, np.int64)], axis=1)
    return _clip_round(gauss / factor, 16)


def _clip_round(v: np.ndarray, bits: int) -> np.ndarray:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.rint(np.nan_to_num(v)), lo, hi).astype(np.int64)


def _raw_body(frame_type: int, raw: np.ndarray) -> bytes:
    width = {0x00: 1, 0x01: 2, 0x02: 3}[frame_type]
    b = (raw.reshape(-1)[:, None] >> (8 * np.arange(width, dtype=np.int64))) & 0xFF
    return b.astype(np.uint8).tobytes()


def encode_frames(
    kind: str,
    t: np.ndarray,
    values: np.ndarray,
    rate_hz: float,
    *,
    frame_type: int = 0x80,
    factor: float | None = None,
    settings: Mapping[str, Any] | None = None,
    samples_per_frame: int | None = None,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    block_size: int | None = None,
    clock_offset_s: float = 0.0,
) -> list[EncodedNotification]:
    """PMD data frames for one measurement.

    Args:
        kind: "acc" (m/s²), "gyr" (rad/s) or "mag" (µT).
        t: (N,) sample times on the sensor clock, seconds; the frame timestamp is the last
            sample's time in ns since the PMD epoch: ``round((t + clock_offset_s) × 1e9)``.
        values: (N, 3) samples in SI units.
        rate_hz: sampling rate (not written in frames; used only for documentation symmetry).
        frame_type: full frame-type byte, e.g. 0x80 (delta type 0), 0x81 (delta type 1), or for
            ACC only 0x00/0x01/0x02 (raw int8/int16/int24 mG). Raw GYRO/MAG frames are not
            documented and not produced.
        factor: conversion factor (what the start response announces); default as the decoder
            assumes without a start response (range / 2^(resolution-1) for delta type 0, else 1).
        settings: measurement settings (range, resolution) for the default factor.
        samples_per_frame: fixed number of samples per frame; by default as many as fit in
            ``max_frame_bytes`` (payload bytes per notification, MTU − 3).
        block_size: deltas per delta block (default: one block per frame).

    Returns:
        one :class:`EncodedNotification` (send time = time of the frame's last sample,
        channel 0) per frame, in time order.
    """
    del rate_hz
    meas = MEAS_OF[kind]
    fmt = _FORMATS.get((meas, frame_type))
    if fmt is None:
        raise ValueError(f"frame type {frame_type:#04x} is not supported for {kind}")
    s = dict(DEFAULTS[kind])
    s.update(settings or {})
    f = float(factor) if factor is not None else _default_factor(meas, frame_type, s)
    t = np.asarray(t, np.float64).reshape(-1)
    raw = _to_raw(kind, frame_type, values, f)
    if len(raw) != len(t):
        raise ValueError("t and values must have the same length")
    ts_ns = np.rint((t + clock_offset_s) * 1e9).astype(np.int64)
    out: list[EncodedNotification] = []
    i, n = 0, len(t)
    while i < n:
        k = _frame_len(fmt, raw[i:], samples_per_frame, max_frame_bytes)
        chunk = raw[i : i + k]
        if fmt.compressed:
            body = encode_delta(chunk, fmt.width, block_size)
        else:
            body = _raw_body(frame_type, chunk)
        head = bytes([meas]) + int(ts_ns[i + k - 1]).to_bytes(8, "little") + bytes([frame_type])
        out.append(EncodedNotification(float(t[i + k - 1]), 0, head + body))
        i += k
    return out


def _frame_len(fmt: _Format, raw: np.ndarray, fixed: int | None, max_bytes: int) -> int:
    n = len(raw)
    if fixed:
        return min(n, int(fixed))
    room = max_bytes - HEADER_LEN
    if not fmt.compressed:
        return max(1, min(n, room // (fmt.channels * fmt.width)))
    m = min(n, 256)  # reference + at most 255 deltas in one block
    if m == 1:
        return 1
    need = np.maximum.accumulate(_bits_needed(np.diff(raw[:m], axis=0)).max(axis=1))
    counts = np.arange(1, m)
    size = fmt.channels * fmt.width + 2 + (need * counts * fmt.channels + 7) // 8
    fits = np.flatnonzero(size <= room)
    return int(fits[-1]) + 2 if len(fits) else 1


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float = DEFAULT_RATE,
    *,
    mag: np.ndarray | None = None,
    t_mag: np.ndarray | None = None,
    compressed: bool = True,
    acc_frame_type: int | None = None,
    gyr_frame_type: int = 0x80,
    mag_frame_type: int = 0x80,
    factors: Mapping[str, float] | None = None,
    samples_per_frame: int | None = None,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    clock_offset_s: float = 0.0,
) -> list[EncodedNotification]:
    """All data notifications a Verity Sense streaming ACC + GYRO (+ MAG) would send.

    Args:
        t: (N,) sample times of ``acc`` and ``gyr`` (sensor clock, seconds).
        acc: (N, 3) m/s²; gyr: (N, 3) rad/s; mag: optional (M, 3) µT sampled at ``t_mag``.
        compressed: ACC as delta frames (type 0x80 by default) or raw int16 mG frames (0x01);
            ``acc_frame_type`` overrides. GYRO and MAG are always delta frames.
        factors: kind -> factor (as sent in the start responses); defaults as in
            :func:`encode_frames`.
        Other arguments: see :func:`encode_frames`.

    Returns:
        notifications on channel 0 ordered by send time (ACC before GYRO on ties).
    """
    factors = dict(factors or {})
    aft = acc_frame_type if acc_frame_type is not None else (0x80 if compressed else 0x01)
    common = {
        "samples_per_frame": samples_per_frame,
        "max_frame_bytes": max_frame_bytes,
        "clock_offset_s": clock_offset_s,
    }
    out = encode_frames("acc", t, acc, rate_hz, frame_type=aft, factor=factors.get("acc"), **common)
    out += encode_frames(
        "gyr", t, gyr, rate_hz, frame_type=gyr_frame_type, factor=factors.get("gyr"), **common
    )
    if mag is not None:
        tm = t if t_mag is None else t_mag
        out += encode_frames(
            "mag", tm, mag, 50.0, frame_type=mag_frame_type, factor=factors.get("mag"), **common
        )
    out.sort(key=lambda x: x.t)
    return out


# --------------------------------------------------------------------------- control point


def measurement_byte(meas: int, offline: bool = False) -> int:
    """``(recording type << 7) | measurement type``."""
    return (0x80 if offline else 0) | (meas & 0x3F)


def start_command(kind: str, settings: Mapping[str, Any]) -> bytes:
    """Start request ``02 T`` + settings TLVs (keys of :data:`SETTING_CODES`)."""
    return bytes([OP_START, MEAS_OF[kind]]) + encode_settings(settings)


def stop_command(meas: int) -> bytes:
    """Stop request ``03 T``."""
    return bytes([OP_STOP, meas])


def encode_cp_response(op: int, meas: int, status: int = 0, params: bytes = b"") -> bytes:
    """Control-point response ``F0 op T status more=0 params``."""
    return bytes([RESPONSE_CODE, op, meas, status, 0]) + bytes(params)


def encode_settings_response(
    kind: str, values: Mapping[str, Sequence[Any]], op: int = OP_GET_SETTINGS
) -> bytes:
    """Get-settings (or SDK-mode settings, ``op=OP_GET_SDK_SETTINGS``) response listing the
    selectable values of ``kind``'s settings."""
    return encode_cp_response(op, MEAS_OF[kind], 0, encode_setting_values(values))


def encode_start_response(kind: str, factor: float | None = None, status: int = 0) -> bytes:
    """Start response for ``kind``, carrying a FACTOR TLV when ``factor`` is given."""
    params = encode_settings({"factor": factor}) if factor is not None else b""
    return encode_cp_response(OP_START, MEAS_OF[kind], status, params)


def encode_stopped_notification(meas_types: Sequence[int]) -> bytes:
    """Device-initiated "online measurement stopped" control-point notification."""
    return bytes([STOPPED_CODE, *meas_types])


def feature_bytes(ppg: bool = True, acc: bool = True, gyr: bool = True, mag: bool = True) -> bytes:
    """Control-point read value advertising features (byte 0 0x0F, derived; byte 1 measurement
    bits; byte 2 0x02 = SDK mode)."""
    b1 = (0x02 if ppg else 0) | (0x04 if acc else 0) | (0x20 if gyr else 0) | (0x40 if mag else 0)
    return bytes([0x0F, b1, 0x02])


@dataclass(frozen=True)
class PmdCommand:
    """A parsed control-point write.

    Attributes:
        op: op code; name: "start", "stop", "get_settings", ... or "unknown".
        measurement: measurement type number (None for ops without one); kind: "acc", "gyr",
            "mag", "sdk_mode" or None.
        offline: recording type bit.
        settings: for "start", setting name -> list of values (e.g. {"sample_rate": [52]}).
        valid: False when the TLVs are malformed.
    """

    op: int
    name: str
    measurement: int | None = None
    kind: str | None = None
    offline: bool = False
    settings: dict[str, list[Any]] = field(default_factory=dict)
    valid: bool = True

    @property
    def rate_hz(self) -> float | None:
        """Requested sample rate of a start command, or None."""
        r = self.settings.get("sample_rate")
        return float(r[0]) if r else None


def parse_command(data: bytes) -> PmdCommand | None:
    """Parse a control-point write (None for empty data)."""
    data = bytes(data)
    if not data:
        return None
    op = data[0]
    name = OP_NAMES.get(op, "unknown")
    if len(data) < 2:
        return PmdCommand(op, name, valid=op in (OP_GET_STATUS, OP_GET_SDK_STATUS))
    meas = data[1] & 0x3F
    kind = KIND_OF.get(meas, "sdk_mode" if meas == SDK_MODE else None)
    settings: dict[str, list[Any]] = {}
    valid = True
    if op == OP_START and len(data) > 2:
        parsed = parse_settings(data[2:])
        valid = parsed is not None
        settings = parsed or {}
    return PmdCommand(op, name, meas, kind, bool(data[1] & 0x80), settings, valid)


def check_response(data: bytes) -> str | None:
    """Error text for a failed control-point response or a device-side stop; None otherwise.

    Failures of stop requests are ignored (stopping something that is not running is
    harmless)."""
    data = bytes(data)
    if data[:1] == bytes([STOPPED_CODE]):
        kinds = ", ".join(KIND_OF.get(m & 0x3F, str(m & 0x3F)) for m in data[1:]) or "all"
        return f"the sensor stopped streaming ({kinds}); restart the measurement"
    if len(data) < 4 or data[0] != RESPONSE_CODE or data[3] == 0 or data[1] == OP_STOP:
        return None
    op, meas, status = data[1], data[2] & 0x3F, data[3]
    what = KIND_OF.get(meas, "SDK mode" if meas == SDK_MODE else f"measurement {meas}")
    text = STATUS_TEXT.get(status, f"status {status}")
    hint = ""
    if status in (7, 8, 9, 11):
        hint = " (the sensor does not support these settings; try 52 Hz)"
    elif status == 13:
        hint = " (take the sensor off the charger)"
    return f"Polar {OP_NAMES.get(op, f'op {op}')} {what} failed: {text}{hint}"


# --------------------------------------------------------------------------- profile

_NAME_RE = re.compile(r"^Polar Sense\b")


def recognise(adv: Advertisement) -> bool:
    """Verity Sense advertises as "Polar Sense <id>" (H10/OH1 have no gyroscope)."""
    return bool(adv.name and _NAME_RE.match(adv.name))


def _settings_for(kind: str, rate_hz: float, options: Mapping[str, Any]) -> dict[str, Any]:
    s = dict(DEFAULTS[kind])
    if kind in ("acc", "gyr"):
        s["rate_hz"] = nearest_rate(ACC_RATES, rate_hz)
    else:
        s["rate_hz"] = nearest_rate(MAG_RATES, options.get("mag_rate_hz", 50))
    if kind == "acc" and "acc_range_g" in options:
        s["range"] = int(options["acc_range_g"])
    if kind == "gyr" and "gyr_range_dps" in options:
        s["range"] = int(options["gyr_range_dps"])
    return s


def _uses_sdk_mode(rate_hz: float, options: Mapping[str, Any]) -> bool:
    mode = options.get("sdk_mode", "auto")
    if mode == "auto":
        return nearest_rate(ACC_RATES, rate_hz) != DEFAULT_RATE
    return bool(mode)


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Start ACC and GYRO (and MAG with ``options["mag"]``) at ``rate_hz``.

    Options: ``sdk_mode`` (True/False/"auto": SDK mode for rates other than 52 Hz),
    ``acc_range_g`` (2/4/8/16, default 8), ``gyr_range_dps`` (250–2000, default 2000),
    ``mag`` (bool), ``mag_rate_hz`` (10/20/50/100, default 50). Each request waits 0.3 s for its
    response on the control point.
    """
    options = dict(options or {})
    steps = []
    if _uses_sdk_mode(rate_hz, options):
        steps.append(GattWrite(CP_UUID, bytes([OP_START, SDK_MODE]), True, 0.5))
    kinds = ["acc", "gyr"] + (["mag"] if options.get("mag") else [])
    for kind in kinds:
        s = _settings_for(kind, rate_hz, options)
        tlv = {
            "sample_rate": int(s["rate_hz"]),
            "resolution": int(s["resolution"]),
            "range": int(s["range"]),
            "channels": int(s["channels"]),
        }
        steps.append(GattWrite(CP_UUID, start_command(kind, tlv), True, 0.3))
    return steps


def stop() -> list[GattWrite]:
    """Stop MAG, GYRO, ACC and leave SDK mode (failures of these are harmless)."""
    return [GattWrite(CP_UUID, stop_command(m), True, 0.2) for m in (MAG, GYRO, ACC, SDK_MODE)]


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    options = dict(options or {})
    cfg: dict[str, Any] = {k: _settings_for(k, rate_hz, options) for k in ("acc", "gyr")}
    if options.get("mag"):
        cfg["mag"] = _settings_for("mag", rate_hz, options)
    cfg["sdk_mode"] = _uses_sdk_mode(rate_hz, options)
    return cfg


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="Polar Verity Sense (PMD)",
        service_uuid=SERVICE_UUID,
        notify_uuids=(DATA_UUID, CP_UUID),
        command_uuid=CP_UUID,
        rates_hz=ACC_RATES,
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
        response_uuid=CP_UUID,
        check_response=check_response,
    )
)
