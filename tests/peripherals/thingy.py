"""A Nordic Thingy:52 (stock firmware) motion service, written from protocols.md section 6.

- Motion service ``ef680400-…``; configuration ``ef680401-…`` read / write (9 bytes:
  pedometer, temperature-compensation and magnetometer-compensation intervals in ms, motion
  processing frequency in Hz, all uint16 LE, then wake-on-motion uint8; defaults
  ``E8 03 F4 01 F4 01 0A 00 01``); raw data ``ef680406-…`` notify (18 bytes: acc int16 6Q10 g,
  gyro int16 11Q5 °/s, compass int16 12Q4 µT).
- Raw data stream from the moment their notifications are enabled (the first sample at once),
  at the configured motion processing frequency (10 Hz out of the box, 5-200 Hz accepted); a
  written configuration takes effect at once.

Test data: the compass words carry the sample counter (x = k & 0x7FFF, y = k >> 15) and the
process number (z).

Run: ``python -m tests.peripherals.thingy --transport tcp-client:127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time

from bumble.core import UUID
from bumble.gatt import Characteristic, CharacteristicValue, Service

from tests.peripherals.base import Peripheral, common_args, i16

SERVICE = UUID("ef680400-9b35-4933-9b10-52ffa9740042")
CONFIG = UUID("ef680401-9b35-4933-9b10-52ffa9740042")
RAW = UUID("ef680406-9b35-4933-9b10-52ffa9740042")
DEFAULT_CONFIG = bytes.fromhex("e803f401f4010a0001")


def sample(k: int, run: int) -> bytes:
    """The 18-byte raw notification of sample ``k``."""
    a = (0.1 * math.sin(0.05 * k), 0.2 * math.cos(0.02 * k), 1.0)  # g
    w = (30.0 * math.sin(0.03 * k), 5.0, -8.0 * math.cos(0.05 * k))  # °/s
    return (
        i16(x * 1024 for x in a)
        + i16(x * 32 for x in w)
        + struct.pack("<hhh", k & 0x7FFF, k >> 15, run)
    )


def counters(raw: bytes) -> tuple[int, int]:
    """(run, k) of a notification made by :func:`sample`."""
    x, y, z = struct.unpack_from("<hhh", raw, 12)
    return z, (x & 0x7FFF) | (y << 15)


class Thingy(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.config = bytearray(DEFAULT_CONFIG)
        self.k = 0
        self.t_next: float | None = None
        self.raw = Characteristic(RAW, Characteristic.Properties.NOTIFY, "READABLE", b"")
        self.raw.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.config_char = Characteristic(
            CONFIG,
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            "READABLE,WRITEABLE",
            CharacteristicValue(read=lambda _c: bytes(self.config), write=self._on_config),
        )

    @property
    def rate(self) -> float:
        return float(struct.unpack_from("<H", self.config, 6)[0])

    def service(self) -> Service:
        return Service(SERVICE, [self.config_char, self.raw])

    def service_uuid(self) -> UUID:
        return SERVICE

    def data_characteristic(self) -> Characteristic:
        return self.raw

    def garbage(self) -> bytes:
        return self.rng.randbytes(self.rng.choice((5, 11, 17, 19)))

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.subscribed(notify)
        self.t_next = time.monotonic() if notify else None
        if notify:  # the first sample goes out at once, at the rate in effect
            self.spawn(self.step(time.monotonic()))

    def _on_config(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        freq = struct.unpack_from("<H", value, 6)[0] if len(value) == 9 else 0
        if 5 <= freq <= 200:
            self.config[:] = value
            if self.t_next is not None:
                self.t_next = time.monotonic()

    def on_disconnected(self) -> None:
        self.t_next = None

    def skip(self, now: float) -> None:
        if self.t_next is not None:
            self.t_next = now

    async def step(self, now: float) -> None:
        if self.t_next is None:
            return
        period = 1.0 / (self.rate * self.args.speed)
        while self.t_next is not None and self.t_next <= now:
            await self.notify(sample(self.k, self.args.run))
            self.report.mark_sent(self.k, self.k, self.rate)
            self.k += 1
            self.t_next += period


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal Nordic Thingy:52 motion test peripheral")
    common_args(ap, "Thingy", "D0:C3:00:00:00:01")
    asyncio.run(Thingy(ap.parse_args()).run())


if __name__ == "__main__":
    main()
