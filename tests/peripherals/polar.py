"""A Polar Verity Sense streaming ACC and GYRO over PMD, written from protocols.md section 3.

- Service ``fb005c80-…``; control point (CP) ``fb005c81-…`` read / write / indicate, data
  ``fb005c82-…`` notify. A CP read gives the feature bytes ``0F 24 02`` (ACC, GYRO, SDK mode).
- CP requests are answered by an indication ``F0 op type status more=0 params``: start
  ``02 T`` + settings TLVs (status 12, invalid state, until notifications on the data
  characteristic are on; 6 if already running) answers with a FACTOR TLV (type 5, float32:
  range / 32768 per count); stop ``03 T``; SDK mode ``02 09`` / ``03 09``; get settings
  ``01 T`` lists the rates. A disconnection stops the measurements.
- Data: delta-compressed frames (frame type 0x80: 3 channels, 16-bit reference sample, then
  one block ``width count packed-deltas``, bits least-significant first), ACC and GYRO in
  separate frames, each stamped with its last sample's time (uint64 ns since 2000-01-01 on the
  sensor's clock). Samples per frame: ``--samples-per-frame``, fewer when the MTU is small.

Test data: the sensor clock is the host's UTC clock (so it runs on across a restart, as a
device clock does); sample ``k`` of a measurement is stamped ``origin + k / rate``, and the
report gives ``origin_ns``, so the test identifies every sample from its time.

Run: ``python -m tests.peripherals.polar --transport tcp-client:127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time

from bumble.core import UUID
from bumble.gatt import Characteristic, CharacteristicValue, Service

from tests.peripherals.base import Peripheral, common_args

SERVICE = UUID("fb005c80-02e7-f387-1cad-8acd2d8df0c8")
CP = UUID("fb005c81-02e7-f387-1cad-8acd2d8df0c8")
DATA = UUID("fb005c82-02e7-f387-1cad-8acd2d8df0c8")
ACC, GYRO, SDK_MODE = 2, 5, 9
RATES = (26, 52, 104, 208, 416)
#: TLV value sizes by setting type (sample rate, resolution, range, range milli, channels,
#: factor, security)
SIZES = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}
HEADER = 10  # type, timestamp, frame type
#: Unix time of 2000-01-01T00:00:00Z, ns (the PMD epoch)
EPOCH_2000_NS = 946_684_800 * 10**9


def parse_tlvs(data: bytes) -> dict[int, list[int]] | None:
    out: dict[int, list[int]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data) or data[i] not in SIZES:
            return None
        kind, count, size = data[i], data[i + 1], SIZES[data[i]]
        i += 2
        if i + count * size > len(data):
            return None
        out[kind] = [
            int.from_bytes(data[i + j * size : i + (j + 1) * size], "little") for j in range(count)
        ]
        i += count * size
    return out


def delta_frame(meas: int, ts_ns: int, samples: list[tuple[int, int, int]]) -> bytes:
    """A delta-compressed frame (type 0x80) of int16 3-channel ``samples``."""
    ref = samples[0]
    body = struct.pack("<hhh", *ref)
    deltas = [samples[i][c] - samples[i - 1][c] for i in range(1, len(samples)) for c in range(3)]
    if deltas:
        width = max(2, max(max(d, -d - 1).bit_length() + 1 for d in deltas))
        bits, n = 0, 0
        for d in deltas:
            bits |= (d & ((1 << width) - 1)) << n
            n += width
        body += bytes([width, len(samples) - 1]) + bits.to_bytes((n + 7) // 8, "little")
    return bytes([meas]) + struct.pack("<Q", ts_ns) + b"\x80" + body


class Polar(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.running: dict[int, float] = {}  # measurement -> factor
        self.rate = 52.0
        self.sdk = False
        self.k = 0
        self.t0: float | None = None
        self._k0 = 0
        self.origin_ns: int | None = None
        self.cp = Characteristic(
            CP,
            Characteristic.Properties.READ
            | Characteristic.Properties.WRITE
            | Characteristic.Properties.INDICATE,
            "READABLE,WRITEABLE",
            CharacteristicValue(read=lambda _c: bytes([0x0F, 0x24, 0x02]), write=self._on_cp),
        )
        self.data = Characteristic(DATA, Characteristic.Properties.NOTIFY, "READABLE", b"")
        self.data.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.data_on = False

    def service(self) -> Service:
        return Service(SERVICE, [self.cp, self.data])

    def service_uuid(self) -> UUID:
        return SERVICE

    def data_characteristic(self) -> Characteristic:
        return self.data

    def garbage(self) -> bytes:
        return b"\xee" + self.rng.randbytes(self.rng.randint(2, 30))

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.data_on = notify
        self.subscribed(notify)
        if not notify:
            self.running.clear()

    def _answer(self, op: int, meas: int, status: int, params: bytes = b"") -> None:
        conn, dev = self.connection, self.device
        if conn is not None and dev is not None:
            reply = bytes([0xF0, op, meas, status, 0]) + params
            self.spawn(dev.indicate_subscriber(conn, self.cp, reply))

    def _on_cp(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) < 2:
            self._answer(value[0] if value else 0, 0, 4)
            return
        op, meas = value[0], value[1] & 0x3F
        if op == 0x01 and meas in (ACC, GYRO):
            rates = b"".join(struct.pack("<H", r) for r in RATES if self.sdk or r == 52)
            self._answer(op, meas, 0, bytes([0, len(rates) // 2]) + rates)
        elif op == 0x02 and meas == SDK_MODE:
            self.sdk = True
            self._answer(op, meas, 0)
        elif op == 0x03 and meas == SDK_MODE:
            self.sdk = False
            self._answer(op, meas, 0)
        elif op == 0x02 and meas in (ACC, GYRO):
            tlv = parse_tlvs(value[2:])
            rate = (tlv or {}).get(0, [52])[0]
            if tlv is None:
                self._answer(op, meas, 4)
            elif not self.data_on:
                self._answer(op, meas, 12)
            elif meas in self.running:
                self._answer(op, meas, 6)
            elif rate not in RATES or (rate != 52 and not self.sdk):
                self._answer(op, meas, 8)
            else:
                full = tlv.get(2, [8 if meas == ACC else 2000])[0]
                factor = full / 32768.0
                if not self.running:
                    self.rate, self.t0 = float(rate), None
                self.running[meas] = factor
                self._answer(op, meas, 0, bytes([5, 1]) + struct.pack("<f", factor))
        elif op == 0x03 and meas in (ACC, GYRO):
            self._answer(op, meas, 0 if self.running.pop(meas, None) is not None else 6)
        else:
            self._answer(op, meas, 1 if op not in (1, 2, 3, 4, 5, 6) else 2)

    def on_disconnected(self) -> None:
        self.running.clear()
        self.data_on = False
        self.sdk = False
        self.t0 = None

    def skip(self, now: float) -> None:
        if self.t0 is not None:  # the sensor keeps sampling; the samples are not sent
            self.k = self._due(now)

    def _due(self, now: float) -> int:
        assert self.t0 is not None
        return int((now - self.t0) * self.rate * self.args.speed) + self._k0

    def _sample(self, meas: int, k: int) -> tuple[int, int, int]:
        factor = self.running[meas]
        if meas == ACC:
            g = (0.3 * math.sin(0.05 * k), 0.2 * math.cos(0.04 * k), 1.0)
            return tuple(round(x / factor) for x in g)  # type: ignore[return-value]
        w = (60.0 * math.sin(0.03 * k), 20.0 * math.cos(0.06 * k), 4.0)
        return tuple(round(x / factor) for x in w)  # type: ignore[return-value]

    def _fits(self, n: int) -> bool:
        return HEADER + 6 + 2 + (16 * 3 * (n - 1) + 7) // 8 <= self.payload_max

    async def step(self, now: float) -> None:
        if not self.running or not self.data_on:
            return
        if self.t0 is None:  # sample clock of this measurement (on the sensor's UTC clock)
            self.t0, self._k0 = now, self.k
            if self.origin_ns is None:
                self.origin_ns = time.time_ns() - EPOCH_2000_NS
                self.report.origin_ns = self.origin_ns
        due = self._due(now)  # samples with a smaller index have been taken
        while True:
            n = max(1, self.args.samples_per_frame)
            while n > 1 and not self._fits(n):  # a smaller MTU: fewer samples per frame
                n -= 1
            if self.k + n > due:
                break
            ks = range(self.k, self.k + n)
            ts = self.origin_ns + round(ks[-1] * 1e9 / self.rate)
            for meas in (ACC, GYRO):
                if meas in self.running:
                    await self.notify(delta_frame(meas, ts, [self._sample(meas, k) for k in ks]))
            self.report.mark_sent(ks[0], ks[-1])
            self.k += n


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal Polar Verity Sense PMD test peripheral")
    common_args(ap, "Polar Sense 0A1B2C3D", "D0:B2:00:00:00:01")
    ap.add_argument("--samples-per-frame", type=int, default=10)
    asyncio.run(Polar(ap.parse_args()).run())


if __name__ == "__main__":
    main()
