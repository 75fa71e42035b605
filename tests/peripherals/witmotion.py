"""A WitMotion BLE 5.0 IMU (BWT901BLECL5.0), written from protocols.md section 1.

- Service ``ffe5``; ``ffe4`` notify (data and register replies), ``ffe9`` write / write
  without response (commands ``FF AA reg lo hi``).
- Streams ``55 61`` frames (20 bytes: acc, gyro, angles as int16 LE) as soon as notifications
  on ``ffe4`` are enabled, at the saved rate: 10 Hz out of the box (``--saved-rate``).
- ``FF AA 03 code 00`` sets the rate (1/5/10/50/100/200 Hz = 03/05/06/08/09/0B); unlock and
  save are accepted; ``FF AA 27 reg 00`` is answered on ``ffe4`` with ``55 71``, the start
  register (uint16) and 8 int16 registers (register 03: the rate code in effect).
- Frames are a byte stream: ``--frames N`` per notification, cut to the payload the MTU
  allows (a frame may then be split across notifications).

Test data: the angle words carry the sample counter (roll = k & 0x7FFF, pitch = k >> 15) and
the process number (yaw), so the test can tell exactly which samples arrived; acc and gyro
are smooth functions of k.

Run: ``python -m tests.peripherals.witmotion --transport tcp-client:127.0.0.1:PORT``.
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

SERVICE = UUID("0000ffe5-0000-1000-8000-00805f9a34fb")
DATA = UUID("0000ffe4-0000-1000-8000-00805f9a34fb")
COMMAND = UUID("0000ffe9-0000-1000-8000-00805f9a34fb")
RATE_OF_CODE = {0x03: 1.0, 0x05: 5.0, 0x06: 10.0, 0x08: 50.0, 0x09: 100.0, 0x0B: 200.0}
CODE_OF_RATE = {v: k for k, v in RATE_OF_CODE.items()}
FRAME = 20


def frame(k: int, run: int) -> bytes:
    """The ``55 61`` frame of sample ``k``: ±16 g, ±2000 °/s, ±180° full scale."""
    a = (0.2 * math.sin(0.05 * k), 0.1 * math.cos(0.03 * k), 1.0)  # g
    w = (40.0 * math.sin(0.02 * k), 10.0 * math.cos(0.07 * k), 5.0)  # °/s
    acc = [x / 16.0 * 32768 for x in a]
    gyr = [x / 2000.0 * 32768 for x in w]
    return b"\x55\x61" + i16(acc) + i16(gyr) + struct.pack("<hhh", k & 0x7FFF, k >> 15, run)


def counters(frame20: bytes) -> tuple[int, int]:
    """(run, k) of a frame made by :func:`frame`."""
    roll, pitch, yaw = struct.unpack_from("<hhh", frame20, 14)
    return yaw, (roll & 0x7FFF) | (pitch << 15)


class WitMotion(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.rate = float(args.saved_rate)
        self.k = 0
        self.t_next: float | None = None
        self.out = bytearray()  # bytes due on the stream, not yet notified
        self._reply = False  # a register reply waits in ``out``
        self.data = Characteristic(DATA, Characteristic.Properties.NOTIFY, "READABLE", b"")
        self.data.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.command = Characteristic(
            COMMAND,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            "WRITEABLE",
            CharacteristicValue(write=self._on_command),
        )

    def service(self) -> Service:
        return Service(SERVICE, [self.data, self.command])

    def service_uuid(self) -> UUID:
        return UUID("ffe5")

    def data_characteristic(self) -> Characteristic:
        return self.data

    def garbage(self) -> bytes:
        n = self.rng.randint(3, 19)
        return bytes(b if b != 0x55 else 0x54 for b in self.rng.randbytes(n))

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.subscribed(notify)
        self.t_next = time.monotonic() if notify else None

    def _on_command(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) != 5 or value[:2] != b"\xff\xaa":
            return
        reg, word = value[2], value[3] | (value[4] << 8)
        if reg == 0x03 and word in RATE_OF_CODE:
            self.rate = RATE_OF_CODE[word]
            self.t_next = time.monotonic() if self.t_next is not None else None
        elif reg == 0x27:
            regs = [CODE_OF_RATE.get(self.rate, 0)] if word == 0x03 else []
            regs += [0] * (8 - len(regs))
            self.out += b"\x55\x71" + struct.pack("<H", word) + i16(regs)
            self._reply = True

    def skip(self, now: float) -> None:
        if self.t_next is not None:
            self.t_next = now

    def on_disconnected(self) -> None:
        self.t_next = None
        self.out.clear()

    async def step(self, now: float) -> None:
        if self.t_next is None:
            return
        period = 1.0 / (self.rate * self.args.speed)
        group = max(1, self.args.frames) * FRAME
        first = self.k
        while self.t_next <= now:
            self.out += frame(self.k, self.args.run)
            self.k += 1
            self.t_next += period
        if self.k > first:
            self.report.mark_sent(first, self.k - 1, self.rate)
        # a byte stream: notifications of a group of frames each, cut to the payload the MTU
        # allows; a register reply goes out at once with whatever precedes it
        while self.out and (len(self.out) >= group or self._reply):
            size = min(self.payload_max, group, len(self.out))
            chunk = bytes(self.out[:size])
            del self.out[:size]
            await self.notify(chunk)
        self._reply = False


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal WitMotion BLE 5.0 test peripheral")
    common_args(ap, "WT901BLE68", "D0:A1:00:00:00:01")
    ap.add_argument("--saved-rate", type=float, default=10.0, help="rate before any rate write")
    ap.add_argument("--frames", type=int, default=1, help="frames per notification")
    asyncio.run(WitMotion(ap.parse_args()).run())


if __name__ == "__main__":
    main()
