"""Movesense over the GATT SensorData Protocol (GSP): profile ``"movesense"``.

Subscribe with ``[01, ref, "/Meas/IMU6/<rate>"]`` on 34800001; data arrive on 34800002 as
``[02, ref, value…]`` (first ≤150 value bytes) and, for longer values, ``[03, ref, rest…]``.
Value: uint32 ms timestamp of the first sample, then one array per sensor, each N × float32
x,y,z (IMU6: acc m/s², gyro °/s; IMU9 adds mag µT; IMU6m = acc + mag), arrays consecutive.
N follows from the reassembled length. ``[01, ref, …]`` notifications are command results.

Times: sensor clock, t_i = timestamp + i × 1000 / rate ms (unwrapped across the 2^32 ms
rollover), seconds. Loss: a first-sample timestamp later than expected from the previous
notification by more than half a sample period counts ``round(gap / period)`` lost samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import DEG, EncodedNotification, block, config_rate, merge_blocks
from imuhip.decode.base import Decoder
from imuhip.decode.profile import (
    Advertisement,
    GattWrite,
    SensorProfile,
    nearest_rate,
    register_profile,
)
from imuhip.samples import ChannelBlock

PROFILE = "movesense"
SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

CMD_HELLO, CMD_SUBSCRIBE, CMD_UNSUBSCRIBE = 0, 1, 2
RESULT, DATA, DATA_PART2 = 1, 2, 3
PART_LIMIT = 150
DEFAULT_REF = 99
DEFAULT_RATE = 104.0
RATES_HZ = (13.0, 26.0, 52.0, 104.0, 208.0)
#: resource -> arrays in the value, in order
RESOURCES: dict[str, tuple[str, ...]] = {
    "IMU6": ("acc", "gyr"),
    "IMU9": ("acc", "gyr", "mag"),
    "IMU6m": ("acc", "mag"),
}
WRAP_MS = 1 << 32
#: Largest plausible raw value per array (1.25 × the widest ranges, ±16 g and ±2000 °/s), in the
#: notification's units (m/s², °/s); a value beyond it drops the notification ("out_of_range").
#: Magnetometer values are only checked for being finite.
RAW_LIMITS = {"acc": 1.25 * 16 * 9.80665, "gyr": 1.25 * 2000.0}
_SCALE = {"acc": 1.0, "gyr": DEG, "mag": 1.0}


def resource_path(resource: str, rate_hz: float) -> str:
    """E.g. ``/Meas/IMU6/104``."""
    return f"/Meas/{resource}/{round(rate_hz)}"


@register
class MovesenseDecoder(Decoder):
    """Decoder of GSP data notifications for one IMU subscription.

    Config: ``resource`` ("IMU6", "IMU9", "IMU6m"; default IMU6), ``rate_hz`` (default 104),
    ``reference`` (subscription reference byte, default 99).

    Extra state: :attr:`results` — command results ``(reference, payload bytes)`` seen.
    """

    profile = PROFILE
    notify_uuids = (DATA_UUID,)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        res = self.config.get("resource", "IMU6")
        self.arrays = (
            RESOURCES.get(res, RESOURCES["IMU6"]) if isinstance(res, str) else ("acc", "gyr")
        )
        try:
            ref = int(self.config.get("reference", DEFAULT_REF))
        except (TypeError, ValueError, OverflowError):
            ref = DEFAULT_REF
        self._period_ms = 1000.0 / config_rate(self.config, DEFAULT_RATE, PROFILE)
        self.reference = ref
        self.results: list[tuple[int, bytes]] = []
        self._pending: bytes | None = None
        self._next_ms: float | None = None  # expected unwrapped first-sample time
        self._last_ms: int | None = None  # last unwrapped timestamp

    def reset(self) -> None:
        self._pending = None
        self._next_ms = None
        self._last_ms = None

    def _valid_size(self, n: int) -> bool:
        per = 12 * len(self.arrays)
        return n > 4 and (n - 4) % per == 0

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        self.stats.notifications += 1
        data = bytes(data)
        if channel != 0:
            self.stats.drop("unknown_channel")
            return []
        if len(data) < 2 or data[0] not in (RESULT, DATA, DATA_PART2):
            self.stats.drop("bad_header")
            return []
        kind, ref, body = data[0], data[1], data[2:]
        if kind == RESULT:
            self.results.append((ref, body))
            return []
        if ref != self.reference:
            self.stats.drop("unknown_reference")
            return []
        if kind == DATA_PART2:
            if self._pending is None:
                self.stats.drop("orphan_part2")
                return []
            value, self._pending = self._pending + body, None
        else:
            if self._pending is not None:
                self.stats.drop("missing_part2")
                self._pending = None
            if len(body) == PART_LIMIT and not self._valid_size(len(body)):
                self._pending = body
                return []
            value = body
        if not self._valid_size(len(value)):
            self.stats.drop("bad_length")
            return []
        return self._decode(value)

    def _decode(self, value: bytes) -> list[ChannelBlock]:
        n = (len(value) - 4) // (12 * len(self.arrays))
        with np.errstate(invalid="ignore"):  # signalling NaNs: dropped just below
            raw = np.frombuffer(value, "<f4", offset=4).astype(np.float64)
        arr = raw.reshape(len(self.arrays), n, 3)
        if not np.isfinite(arr).all():
            self.stats.drop("non_finite")
            return []
        for i, k in enumerate(self.arrays):  # floats: beyond the sensor's range is not data
            limit = RAW_LIMITS.get(k)
            if limit is not None and n and float(np.abs(arr[i]).max()) > limit:
                self.stats.drop("out_of_range")
                return []
        ts = int.from_bytes(value[:4], "little")
        if self._last_ms is None:
            t0 = ts
        else:
            base = self._last_ms - self._last_ms % WRAP_MS
            t0 = base + ts
            if t0 < self._last_ms - WRAP_MS // 2:
                t0 += WRAP_MS
        if self._next_ms is not None:
            gap = (t0 - self._next_ms) / self._period_ms
            if gap > 0.5:
                self.stats.lost_samples += round(gap)
        self._last_ms = t0
        self._next_ms = t0 + n * self._period_ms
        t = (t0 + np.arange(n) * self._period_ms) * 1e-3
        self.stats.samples += n * len(self.arrays)
        return [block(k, t, arr[i] * _SCALE[k], True) for i, k in enumerate(self.arrays)]  # type: ignore[arg-type]

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Same as sequential :meth:`feed`, one block per kind."""
        return merge_blocks(super().decode_many(t_host, payloads, channels))


# --------------------------------------------------------------------------- encoder


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float = DEFAULT_RATE,
    *,
    mag: np.ndarray | None = None,
    reference: int = DEFAULT_REF,
    samples_per_notification: int | None = None,
) -> list[EncodedNotification]:
    """GSP data notifications for an IMU6 (or IMU9 with ``mag``) subscription.

    Args:
        t: (N,) sensor-clock times, s; each value's timestamp is its first sample's time in ms
            (rounded, modulo 2^32).
        acc: m/s²; gyr: rad/s (sent in °/s); mag: µT (selects IMU9).
        samples_per_notification: default 8 at 104 Hz (≈ rate / 13, at least 1), as the vendor
            client assumes.

    Returns:
        per value a DATA notification and, when the value exceeds 150 bytes, a DATA_PART2 one,
        sent at the time of the value's last sample, channel 0.
    """
    t = np.asarray(t, np.float64).reshape(-1)
    arrays = [
        np.asarray(acc, np.float32).reshape(-1, 3),
        (np.asarray(gyr) / DEG).astype(np.float32),
    ]
    if mag is not None:
        arrays.append(np.asarray(mag, np.float32).reshape(-1, 3))
    k = samples_per_notification or max(1, round(rate_hz / 13))
    out: list[EncodedNotification] = []
    for a in range(0, len(t), k):
        b = min(a + k, len(t))
        ts = round(float(t[a]) * 1000) % WRAP_MS
        value = ts.to_bytes(4, "little") + b"".join(x[a:b].tobytes() for x in arrays)
        out.append(
            EncodedNotification(float(t[b - 1]), 0, bytes([DATA, reference]) + value[:PART_LIMIT])
        )
        if len(value) > PART_LIMIT:
            out.append(
                EncodedNotification(
                    float(t[b - 1]), 0, bytes([DATA_PART2, reference]) + value[PART_LIMIT:]
                )
            )
    return out


# --------------------------------------------------------------------------- commands


def subscribe_command(path: str, reference: int = DEFAULT_REF) -> bytes:
    return bytes([CMD_SUBSCRIBE, reference]) + path.encode("ascii")


def unsubscribe_command(reference: int = DEFAULT_REF) -> bytes:
    return bytes([CMD_UNSUBSCRIBE, reference])


@dataclass(frozen=True)
class GspCommand:
    """Parsed command: name ("hello", "subscribe", "unsubscribe", "fetch_log", "unknown"),
    reference, path, and for /Meas/<resource>/<rate> paths the resource and rate."""

    name: str
    reference: int
    path: str | None = None
    resource: str | None = None
    rate_hz: float | None = None


def parse_command(data: bytes) -> GspCommand | None:
    data = bytes(data)
    if len(data) < 2:
        return None
    names = {0: "hello", 1: "subscribe", 2: "unsubscribe", 3: "fetch_log"}
    name = names.get(data[0], "unknown")
    if name != "subscribe":
        return GspCommand(name, data[1])
    path = data[2:].decode("ascii", "replace")
    parts = path.strip("/").split("/")
    resource = rate = None
    if len(parts) == 3 and parts[0] == "Meas":
        resource = parts[1]
        try:
            rate = float(parts[2])
        except ValueError:
            rate = None
    return GspCommand(name, data[1], path, resource, rate)


def encode_result(reference: int, status: int) -> bytes:
    """Command result ``01 ref`` + status, high byte first (as the 507 example)."""
    return bytes([RESULT, reference]) + status.to_bytes(2, "big")


def check_response(data: bytes) -> str | None:
    """Error text for a command result with an HTTP-style status ≥ 400, else None."""
    data = bytes(data)
    if len(data) != 4 or data[0] != RESULT:
        return None
    status = int.from_bytes(data[2:4], "big")
    if status < 400:
        return None
    hint = " (no free subscription slot: power-cycle the sensor)" if status == 507 else ""
    return f"Movesense command (reference {data[1]}) failed with status {status}{hint}"


def recognise(adv: Advertisement) -> bool:
    """Advertised name "Movesense <serial>"."""
    return (adv.name or "").startswith("Movesense")


def _resource(options: Mapping[str, Any]) -> str:
    if "resource" in options:
        return str(options["resource"])
    return "IMU9" if options.get("mag") else "IMU6"


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Subscribe to ``/Meas/IMU6/<rate>`` (IMU9 with option ``mag``) with reference 99."""
    options = dict(options or {})
    rate = nearest_rate(RATES_HZ, rate_hz)
    path = resource_path(_resource(options), rate)
    return [GattWrite(COMMAND_UUID, subscribe_command(path, DEFAULT_REF), True, 0.0)]


def stop() -> list[GattWrite]:
    return [GattWrite(COMMAND_UUID, unsubscribe_command(DEFAULT_REF), True, 0.0)]


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    options = dict(options or {})
    rate = nearest_rate(RATES_HZ, rate_hz)
    return {"resource": _resource(options), "rate_hz": rate, "reference": DEFAULT_REF}


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="Movesense (GATT SensorData Protocol)",
        service_uuid=SERVICE_UUID,
        notify_uuids=(DATA_UUID,),
        command_uuid=COMMAND_UUID,
        rates_hz=RATES_HZ,
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
        response_uuid=DATA_UUID,
        check_response=check_response,
    )
)
