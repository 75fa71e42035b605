"""A Movella DOT streaming rate quantities, written from protocols.md section 2.

- Advertises "Movella DOT" (every DOT has the same name) with manufacturer data of company
  0x0886.
- Measurement service ``15172000-…``: control ``15172001-…`` read / write (3 bytes: type 01,
  action 01 start / 00 stop, payload mode), long ``15172002-…`` / medium ``15172003-…`` /
  short ``15172004-…`` payload notify. Configuration service ``15171000-…``: device info
  ``15171001-…`` read (34 bytes), device control ``15171002-…`` read / write (32 bytes;
  with visit bit 0x10 the output rate at bytes 24–25: 1, 4, 10, 12, 15, 20, 30 or 60 Hz; not
  changed while measuring). Before any rate write the rate is ``--saved-rate`` (60 Hz, the
  default, out of the box).
- Start: the modes served are 21 (rate quantities: ts, acc, gyro; medium), 20 (with mag;
  medium) and 26 (custom mode 5: ts, quat, acc, gyro; long). A start writes the mode; samples
  go out one per notification on its characteristic while its notifications are on, padded
  with zeros to the characteristic's length (40 / 63) when the MTU allows, else unpadded.
  A stop names the running mode; a stop of another mode is ignored. A disconnection stops the
  measurement.
- Timestamps: uint32 µs on the sensor clock, which is the system's monotonic clock times
  ``--speed`` (it runs on across a restart of the process, as a device's clock runs on while
  it is out of range); samples are ``1e6 / rate`` µs apart on it.

Test data: acc carries the sample counter and the process number in its low mantissa bits
(:mod:`tests.peripherals.tags`); the signals are smooth functions of k.

Run: ``python -m tests.peripherals.movella_dot --transport tcp-client:127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time
from typing import Any

from bumble.core import UUID, AdvertisingData
from bumble.gatt import Characteristic, CharacteristicValue, Service

from tests.peripherals.base import Peripheral, common_args
from tests.peripherals.tags import read_tag, tagged_f32


def uuid(short: int) -> UUID:
    return UUID(f"1517{short:04x}-4947-11e9-8646-d663bd873d93")


MEASUREMENT, CONFIGURATION = uuid(0x2000), uuid(0x1000)
COMPANY = 0x0886
RATES = (1, 4, 10, 12, 15, 20, 30, 60)
#: mode -> (payload characteristic short id, sample size, characteristic length)
MODES = {20: (0x2003, 34, 40), 21: (0x2003, 28, 40), 26: (0x2002, 44, 63)}


def sample(mode: int, ts_us: int, k: int, run: int) -> bytes:
    """One sample of ``mode`` (unpadded)."""
    a = (1.2 * math.sin(0.05 * k), -0.4 * math.cos(0.03 * k), 9.81)  # m/s²
    w = (45.0 * math.sin(0.02 * k), -6.0, 12.0 * math.cos(0.07 * k))  # °/s
    out = struct.pack("<I", ts_us % (1 << 32))
    if mode == 26:
        out += struct.pack("<ffff", 1.0, 0.0, 0.0, 0.0)
    out += tagged_f32(a, k, run) + struct.pack("<fff", *w)
    if mode == 20:
        out += struct.pack("<hhh", 800, -200, 1600)
    return out


def samples(session: Any, role: str) -> list[tuple[float, int, int, int]]:
    """(receive time, run, k, timestamp µs) of every sample recorded for ``role`` on the
    medium-payload channel (0; modes 20 and 21): notifications 28–40 bytes long."""
    n = session.notifications[role]
    out = []
    for t, p, c in zip(n.t, n.payloads(), n.channel, strict=True):
        if c == 0 and 28 <= len(p) <= 40:
            run, k = read_tag(p[4:16])
            out.append((float(t), run, k, struct.unpack_from("<I", p)[0]))
    return out


class MovellaDot(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.rate = float(args.saved_rate)
        self.mode: int | None = None
        self.k = 0
        self.k0 = 0
        self.t0: float | None = None
        self.on: set[int] = set()  # payload characteristics with notifications on
        self.payloads = {
            s: Characteristic(uuid(s), Characteristic.Properties.NOTIFY, "READABLE", b"")
            for s in (0x2002, 0x2003, 0x2004)
        }
        for s, ch in self.payloads.items():
            ch.on(Characteristic.EVENT_SUBSCRIPTION, self._subscription(s))
        rw = Characteristic.Properties.READ | Characteristic.Properties.WRITE
        self.control = Characteristic(
            uuid(0x2001),
            rw,
            "READABLE,WRITEABLE",
            CharacteristicValue(read=self._read_control, write=self._on_control),
        )
        self.device_control = Characteristic(
            uuid(0x1002),
            rw,
            "READABLE,WRITEABLE",
            CharacteristicValue(read=self._read_device_control, write=self._on_device_control),
        )
        self.device_info = Characteristic(
            uuid(0x1001), Characteristic.Properties.READ, "READABLE", bytes(34)
        )

    def service(self) -> Service:
        return Service(MEASUREMENT, [self.control, *self.payloads.values()])

    def services(self) -> list[Service]:
        return [self.service(), Service(CONFIGURATION, [self.device_info, self.device_control])]

    def service_uuid(self) -> UUID:
        return MEASUREMENT

    def advertising_data(self) -> bytes:
        return super().advertising_data() + bytes(
            AdvertisingData(
                [(AdvertisingData.MANUFACTURER_SPECIFIC_DATA, struct.pack("<H", COMPANY) + b"\0")]
            )
        )

    def data_characteristic(self) -> Characteristic:
        return self.payloads[MODES[self.mode or 21][0]]

    def garbage(self) -> bytes:
        """A length no rate-quantities sample has: 1–27 bytes or 41–60 (when it fits)."""
        n = self.rng.choice((self.rng.randint(1, 27), self.rng.randint(41, 60)))
        return self.rng.randbytes(n if n <= self.payload_max else self.rng.randint(1, 27))

    def _subscription(self, short: int) -> Any:
        def on(_bearer: object, notify: bool, _indicate: bool) -> None:
            if notify:
                self.on.add(short)
            else:
                self.on.discard(short)
            if self.mode is not None and short == MODES[self.mode][0]:
                self.subscribed(notify)

        return on

    def _read_control(self, _connection: object) -> bytes:
        return bytes([1, 1 if self.mode is not None else 0, self.mode or 0])

    def _on_control(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) != 3 or value[0] != 1:
            return
        if value[1] == 1 and value[2] in MODES and self.mode is None:
            self.mode = value[2]
            self.t0, self.k0 = time.monotonic(), self.k
            if MODES[self.mode][0] in self.on:
                self.subscribed(True)
        elif value[1] == 0 and value[2] == self.mode:
            self.mode, self.t0 = None, None
            self.subscribed(False)

    def _read_device_control(self, _connection: object) -> bytes:
        buf = bytearray(32)
        buf[24:26] = struct.pack("<H", int(self.rate))
        return bytes(buf)

    def _on_device_control(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) != 32 or not value[0] & 0x10 or self.mode is not None:
            return
        rate = struct.unpack_from("<H", value, 24)[0]
        if rate in RATES:
            self.rate = float(rate)

    def on_disconnected(self) -> None:
        self.mode, self.t0 = None, None
        self.on.clear()

    def _due(self, now: float) -> int:
        assert self.t0 is not None
        return self.k0 + int((now - self.t0) * self.rate * self.args.speed) + 1

    def skip(self, now: float) -> None:
        if self.t0 is not None:  # the sensor keeps sampling; the samples are not sent
            self.k = self._due(now)

    async def step(self, now: float) -> None:
        mode, t0 = self.mode, self.t0
        if mode is None or t0 is None or MODES[mode][0] not in self.on:
            return
        _, size, length = MODES[mode]
        due = self._due(now)
        first = self.k
        while self.k < due and self.mode == mode and self.connection is not None:
            ts = round(self.args.speed * t0 * 1e6 + (self.k - self.k0) * 1e6 / self.rate)
            data = sample(mode, ts, self.k, self.args.run)
            if length <= self.payload_max:
                data += bytes(length - size)
            await self.notify(data)
            self.k += 1
        if self.k > first:
            self.report.mark_sent(first, self.k - 1, self.rate)


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal Movella DOT test peripheral")
    common_args(ap, "Movella DOT", "D0:E5:00:00:00:01")
    ap.add_argument("--saved-rate", type=float, default=60.0, help="rate before any rate write")
    asyncio.run(MovellaDot(ap.parse_args()).run())


if __name__ == "__main__":
    main()
