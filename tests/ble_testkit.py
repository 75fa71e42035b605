"""A tiny sensor family for BLE tests: profile, decoder and emulation ("test-imu").

It has what real families have (a data characteristic, a command characteristic answered by
indications, rate/start/stop commands, frames with several samples and a sample counter) but
no vendor's layout, so the BLE layer is tested independently of the vendor decoders.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from imuhip.decode import get_decoder, register
from imuhip.decode import polar_pmd as pmd
from imuhip.decode._common import DEG, G
from imuhip.decode.base import Decoder
from imuhip.decode.profile import Advertisement, GattWrite, SensorProfile, register_profile
from imuhip.samples import ChannelBlock
from imuhip.sources.ble.virtual_sensor import CharSpec, Emulation, SensorState, VirtualSensor

SERVICE = "7e570001-1a2b-4c3d-8e9f-00000000beef"
DATA = "7e570002-1a2b-4c3d-8e9f-00000000beef"
CMD = "7e570003-1a2b-4c3d-8e9f-00000000beef"
RESP = "7e570004-1a2b-4c3d-8e9f-00000000beef"
INFO = "7e570005-1a2b-4c3d-8e9f-00000000beef"
RATES = (25.0, 50.0, 100.0, 200.0)
ACC_LSB = 16 * 9.80665 / 32768  # m/s² per count
GYR_LSB = np.deg2rad(2000 / 32768)  # rad/s per count
NAME_PREFIX = "TESTIMU"


def _start(rate: float, options: Mapping[str, Any]) -> list[GattWrite]:
    return [
        GattWrite(CMD, struct.pack("<BH", 0x01, int(rate))),
        GattWrite(CMD, b"\x02", response=False, delay_s=0.01),
    ]


def _check(reply: bytes) -> str | None:
    if len(reply) < 3 or reply[0] != 0xF0:
        return f"malformed response {reply.hex()}"
    return None if reply[2] == 0 else f"error status {reply[2]}"


PROFILE = register_profile(
    SensorProfile(
        name="test-imu",
        vendor="Test",
        service_uuid=SERVICE,
        notify_uuids=(DATA,),
        command_uuid=CMD,
        rates_hz=RATES,
        recognise=lambda adv: bool(adv.name and adv.name.startswith(NAME_PREFIX)),
        start=_start,
        stop=lambda: [GattWrite(CMD, b"\x03")],
        decoder_config=lambda rate, options: {"rate_hz": rate},
        response_uuid=RESP,
        check_response=_check,
    )
)


def encode_frame(seq: int, acc: np.ndarray, gyr: np.ndarray) -> bytes:
    a = np.clip(np.round(acc / ACC_LSB), -32768, 32767).astype("<i2")
    g = np.clip(np.round(gyr / GYR_LSB), -32768, 32767).astype("<i2")
    body = np.concatenate([a, g], axis=1).astype("<i2").tobytes()
    return struct.pack("<BHB", 0xA5, seq & 0xFFFF, len(acc)) + body


def parse_frame(data: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    _, seq, n = struct.unpack_from("<BHB", data)
    v = np.frombuffer(data, "<i2", n * 6, 4).reshape(n, 6).astype(float)
    return seq, v[:, :3] * ACC_LSB, v[:, 3:] * GYR_LSB


@register
class FakeImuDecoder(Decoder):
    profile = "test-imu"
    notify_uuids = (DATA,)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self._next_seq: int | None = None

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        self.stats.notifications += 1
        if len(data) < 4 or data[0] != 0xA5 or len(data) != 4 + 12 * data[3]:
            self.stats.drop("malformed")
            return []
        seq, acc, gyr = parse_frame(data)
        if self._next_seq is not None and seq != self._next_seq:
            self.stats.lost_samples += (seq - self._next_seq) & 0xFFFF
        self._next_seq = (seq + len(acc)) & 0xFFFF
        rate = float(self.config.get("rate_hz", 100.0))
        t = t_host - (len(acc) - 1 - np.arange(len(acc))) / rate
        self.stats.samples += 2 * len(acc)
        return [ChannelBlock("acc", t, acc, False), ChannelBlock("gyr", t, gyr, False)]


class FakeImuEmulation(Emulation):
    """Streams after a start command; answers every command on RESP (indications), like PMD."""

    profile = PROFILE
    name = "TESTIMU-0001"
    characteristics = (
        CharSpec(DATA, ("notify",)),
        CharSpec(CMD, ("write", "write-without-response")),
        CharSpec(RESP, ("indicate",)),
        CharSpec(INFO, ("read",), b"fw 1.2.3"),
    )
    default_rate_hz = 50.0

    def __init__(self, supported_rates: tuple[float, ...] = RATES) -> None:
        self.supported = supported_rates

    def initial_state(self) -> SensorState:
        s = super().initial_state()
        s.extra["seq"] = 0
        return s

    def batch(self, state: SensorState) -> int:
        return 2 if state.rate_hz >= 50 else 1

    def on_write(self, state: SensorState, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        if uuid != CMD or not data:
            return []
        op = data[0]
        if op == 0x01 and len(data) == 3:
            rate = float(struct.unpack_from("<H", data, 1)[0])
            if rate not in self.supported:
                return [(RESP, bytes([0xF0, 0x01, 8]))]
            state.rate_hz = rate
            return [(RESP, bytes([0xF0, 0x01, 0]))]
        if op == 0x02:
            state.streaming = DATA in state.subscribed
        elif op == 0x03:
            state.streaming = False
        else:
            return [(RESP, bytes([0xF0, op, 1]))]
        return [(RESP, bytes([0xF0, op, 0]))]

    def on_subscribe(self, state: SensorState, uuid: str, enabled: bool) -> None:
        if uuid == DATA and not enabled:
            state.streaming = False

    def encode(self, state, t, acc, gyr):
        seq = state.extra["seq"]
        state.extra["seq"] = (seq + len(t)) & 0xFFFF
        return [(DATA, encode_frame(seq, acc, gyr))]


# A variant answering commands on the data characteristic itself (as Movesense and MetaMotion
# do): the response characteristic is notify channel 0.
SHARED_PROFILE = register_profile(
    SensorProfile(
        name="test-imu-shared",
        vendor="Test",
        service_uuid=SERVICE,
        notify_uuids=(DATA,),
        command_uuid=CMD,
        rates_hz=RATES,
        recognise=lambda adv: False,
        start=_start,
        stop=lambda: [GattWrite(CMD, b"\x03")],
        decoder_config=lambda rate, options: {"rate_hz": rate},
        response_uuid=DATA,
        check_response=lambda r: _check(r) if r[:1] == b"\xf0" else None,
    )
)


@register
class FakeImuSharedDecoder(FakeImuDecoder):
    profile = "test-imu-shared"

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        if data[:1] == b"\xf0":  # a command response
            self.stats.notifications += 1
            return []
        return super().feed(data, t_host, channel)


class FakeImuSharedEmulation(FakeImuEmulation):
    profile = SHARED_PROFILE
    characteristics = (
        CharSpec(DATA, ("notify",)),
        CharSpec(CMD, ("write", "write-without-response")),
    )

    def on_write(self, state: SensorState, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        return [(DATA, r) for _, r in super().on_write(state, uuid, data)]


def run(coro: Any, timeout: float = 30.0) -> Any:
    """Run ``coro`` in a fresh event loop (a fresh virtual radio), bounded in time."""

    async def bounded() -> Any:
        from imuhip.sources.ble.bumble_backend import close_radios

        try:
            async with asyncio.timeout(timeout):
                return await coro
        finally:
            await close_radios()

    return asyncio.run(bounded())


def advertisement(name: str | None, uuids: tuple[str, ...] = ()) -> Advertisement:
    return Advertisement(name=name, service_uuids=uuids)


# --------------------------------------------------------------------------- Polar PMD checks


def decode_sensor_clock(notes, config, *, with_cp: bool = True):
    """acc, gyr blocks (sensor clock, seconds since 2000) of recorded PMD notifications."""
    dec = get_decoder(pmd.PROFILE, config)
    ch = notes.channel
    keep = np.ones(len(notes), bool) if with_cp else ch == 0
    payloads = [p for p, k in zip(notes.payloads(), keep, strict=True) if k]
    blocks = dec.decode_many(notes.t[keep], payloads, ch[keep])
    out = {}
    for kind in ("acc", "gyr"):
        sel = [b for b in blocks if b.kind == kind]
        out[kind] = (np.concatenate([b.t for b in sel]), np.concatenate([b.values for b in sel]))
    return out, dec


def match_sent(sensor: VirtualSensor, t_pmd: np.ndarray) -> np.ndarray:
    """Index into the sensor's sent samples of each decoded sample (PMD time, seconds)."""
    t_sent = sensor.sent_samples()[0]
    t_virtual = t_pmd - sensor.emulation.clock_origin_s
    idx = np.clip(np.searchsorted(t_sent, t_virtual - 1e-5), 0, len(t_sent) - 1)
    assert np.all(np.abs(t_sent[idx] - t_virtual) < 1e-5), "decoded a sample that was not sent"
    return idx


def check_samples_match(sensor: VirtualSensor, decoded: dict, factor: dict) -> None:
    """Decoded values are the sensor's samples within quantisation (the announced factor)."""
    _, acc_s, gyr_s = sensor.sent_samples()
    tol = {"acc": factor["acc"] * G * 0.51, "gyr": factor["gyr"] * DEG * 0.51}
    for kind, sent in (("acc", acc_s), ("gyr", gyr_s)):
        t, v = decoded[kind]
        assert np.all(np.diff(t) > 0)
        idx = match_sent(sensor, t)
        assert len(np.unique(idx)) == len(idx)
        np.testing.assert_allclose(v, sent[idx], atol=tol[kind], rtol=0)


def without_link_parameters(events: Any) -> list[Any]:
    """The events other than the per-connection notes: ``link_parameters`` (every profile) and
    ``config_applied`` (profiles with a configuration read-back, e.g. WitMotion)."""
    return [e for e in events if e.kind not in ("link_parameters", "config_applied")]


def left_out(events: Any, role: str) -> int:
    """Notifications of ``role`` left out before its configuration was read back (all
    connections)."""
    return sum(
        int(e.data["left_out"]) for e in events if e.kind == "config_applied" and e.sensor == role
    )


def link_parameter_roles(events: Any) -> list[str]:
    """Sorted sensor roles of the ``link_parameters`` events: one per connection."""
    return sorted(e.sensor for e in events if e.kind == "link_parameters")
