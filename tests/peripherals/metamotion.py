"""An MbientLab MetaMotion (MetaWear firmware) streaming raw acc and gyro, written from
protocols.md section 5.

- Service ``326a9000-…``; command ``326a9001-…`` written without response (with response
  accepted too); notify ``326a9006-…``. Every message is ``[module, register, payload…]``.
- Only reads are answered: a module-info read ``[id, 80]`` gives ``[id, 80, implementation,
  revision]`` (accelerometer 1 / gyro 0 on a BMI160 board, 4 / 1 on a BMI270 one;
  magnetometer BMM150 0); a module this board lacks answers ``[id, 80]``. Configuration,
  subscribe, interrupt and power writes are not answered.
- Accelerometer (0x03) and gyro (0x13): ``03 conf range`` sets the output data rate
  (``conf & 0x0F``: 100 × 2^(code − 8) Hz) and range; a sensor streams once its data (or
  packed data) register is subscribed (``01``), its data interrupt enabled (``02 01 00``) and
  it is powered (``01 01``, or ``01 02`` on a BMI270 accelerometer), and notifications are on:
  one sample per notification (``03 04`` / ``13 05`` on a BMI160, ``03 04`` / ``13 04`` on a
  BMI270) or three (``03 1C`` / ``13 07``; BMI270 ``03 05`` / ``13 05``), int16 x, y, z.
  Powering off, disabling the interrupt or unsubscribing stops it; so does a disconnection
  (the host sets everything up again on every connection).
- Before any configuration both run at ``--saved-rate`` (100 Hz by default).

Test data: each sample's three int16 words are the sample counter and the process number
(x = k & 0x7FFF, y = k >> 15, z = run), for acc and gyro alike; acc and gyro count separately.
The report's ``sent`` lists accelerometer samples, ``gyr_sent`` gyro samples.

Run: ``python -m tests.peripherals.metamotion --transport tcp-client:127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from bumble.core import UUID
from bumble.gatt import Characteristic, CharacteristicValue, Service

from tests.peripherals.base import Peripheral, Report, common_args

SERVICE = UUID("326a9000-85cb-9195-d9dd-464cfbbae75a")
COMMAND = UUID("326a9001-85cb-9195-d9dd-464cfbbae75a")
NOTIFY = UUID("326a9006-85cb-9195-d9dd-464cfbbae75a")
ACC, GYR, MAG = 0x03, 0x13, 0x15
#: chip -> module -> (single-sample data register, packed data register)
REGISTERS = {
    "bmi160": {ACC: (0x04, 0x1C), GYR: (0x05, 0x07)},
    "bmi270": {ACC: (0x04, 0x05), GYR: (0x04, 0x05)},
}
#: chip -> module -> module-info implementation byte
IMPLEMENTATION = {"bmi160": {ACC: 1, GYR: 0, MAG: 0}, "bmi270": {ACC: 4, GYR: 1, MAG: 0}}


@dataclass
class MetaReport(Report):
    """:class:`Report` plus the gyro's sample ranges (``sent`` holds the accelerometer's)."""

    gyr_sent: list[list[int]] = field(default_factory=list)

    def mark_gyr(self, first: int, last: int) -> None:
        if self.gyr_sent and self.gyr_sent[-1][1] == first - 1:
            self.gyr_sent[-1][1] = last
        else:
            self.gyr_sent.append([first, last])


@dataclass
class Imu:
    """One of the two sensors."""

    rate: float
    subscribed: int | None = None  # data register subscribed
    interrupt: bool = False
    power: bool = False
    k: int = 0
    t_next: float | None = None

    def running(self) -> bool:
        return self.subscribed is not None and self.interrupt and self.power


def words(k: int, run: int) -> bytes:
    return struct.pack("<hhh", k & 0x7FFF, k >> 15, run)


def samples(session: Any, role: str, module: int) -> list[tuple[float, int, int]]:
    """(receive time, run, k) of every ``module`` sample (0x03 acc, 0x13 gyro) recorded for
    ``role``: data notifications are 8 bytes (one sample) or 20 (three)."""
    n = session.notifications[role]
    out = []
    for t, p in zip(n.t, n.payloads(), strict=True):
        if len(p) in (8, 20) and p[0] == module and p[1] != 0x80:
            for i in range(2, len(p), 6):
                x, y, run = struct.unpack_from("<hhh", p, i)
                out.append((float(t), run, (x & 0x7FFF) | (y << 15)))
    return out


class MetaMotion(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.report = MetaReport(run=args.run)
        self.chip = args.chip
        self.imus = {m: Imu(float(args.saved_rate)) for m in (ACC, GYR)}
        self.notify_char = Characteristic(NOTIFY, Characteristic.Properties.NOTIFY, "READABLE", b"")
        self.notify_char.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.command = Characteristic(
            COMMAND,
            Characteristic.Properties.WRITE_WITHOUT_RESPONSE | Characteristic.Properties.WRITE,
            "WRITEABLE",
            CharacteristicValue(write=self._on_command),
        )
        self.notify_on = False

    def service(self) -> Service:
        return Service(SERVICE, [self.command, self.notify_char])

    def service_uuid(self) -> UUID:
        return SERVICE

    def data_characteristic(self) -> Characteristic:
        return self.notify_char

    def garbage(self) -> bytes:
        """A module id no board has (0xEE) and a register that is no read reply."""
        return bytes([0xEE, self.rng.randint(0, 0x7F)]) + self.rng.randbytes(
            self.rng.randint(0, 18)
        )

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.notify_on = notify
        self.subscribed(notify)

    def _reply(self, payload: bytes) -> None:
        conn, dev = self.connection, self.device
        if conn is not None and dev is not None and self.notify_on:
            self.spawn(dev.notify_subscriber(conn, self.notify_char, payload))

    def _on_command(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) < 2:
            return
        module, reg, payload = value[0], value[1], value[2:]
        if reg == 0x80:  # module info
            impl = IMPLEMENTATION[self.chip].get(module)
            self._reply(bytes([module, 0x80]) + (b"" if impl is None else bytes([impl, 1])))
            return
        imu = self.imus.get(module)
        if imu is None:
            return
        was = imu.running()
        single, packed = REGISTERS[self.chip][module]
        if reg == 0x03 and len(payload) == 2 and 1 <= payload[0] & 0x0F <= 13:
            imu.rate = 100.0 * 2.0 ** ((payload[0] & 0x0F) - 8)
        elif reg == 0x01 and len(payload) == 1:
            imu.power = payload[0] in (1, 2)
        elif reg == 0x02 and payload in (b"\x01\x00", b"\x00\x01"):
            imu.interrupt = payload[0] == 1
        elif reg in (single, packed) and len(payload) == 1:
            if payload[0] == 1:
                imu.subscribed = reg
            elif imu.subscribed == reg:
                imu.subscribed = None
        if imu.running() and not was:
            imu.t_next = time.monotonic()
        elif not imu.running():
            imu.t_next = None

    def on_disconnected(self) -> None:
        for imu in self.imus.values():
            imu.subscribed, imu.interrupt, imu.power, imu.t_next = None, False, False, None
        self.notify_on = False

    def skip(self, now: float) -> None:
        for imu in self.imus.values():
            if imu.t_next is not None:  # samples taken while stalled are never sent
                while imu.t_next <= now:
                    imu.k += 1
                    imu.t_next += 1.0 / (imu.rate * self.args.speed)

    async def step(self, now: float) -> None:
        if not self.notify_on:
            return
        for module, imu in self.imus.items():
            if imu.t_next is None or imu.subscribed is None:
                continue
            single, _ = REGISTERS[self.chip][module]
            n = 1 if imu.subscribed == single else 3
            period = 1.0 / (imu.rate * self.args.speed)
            # a pack goes out when its last sample has been taken
            while imu.t_next is not None and imu.t_next + (n - 1) * period <= now:
                ks = range(imu.k, imu.k + n)
                body = b"".join(words(k, self.args.run) for k in ks)
                await self.notify(bytes([module, imu.subscribed or 0]) + body)
                if module == ACC:
                    self.report.mark_sent(ks[0], ks[-1], imu.rate)
                else:
                    assert isinstance(self.report, MetaReport)
                    self.report.mark_gyr(ks[0], ks[-1])
                imu.k += n
                if imu.t_next is None:  # the link went while notifying
                    break
                imu.t_next += n * period


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal MetaMotion (MetaWear) test peripheral")
    common_args(ap, "MetaWear", "D0:F6:00:00:00:01")
    ap.add_argument("--chip", choices=sorted(REGISTERS), default="bmi160")
    ap.add_argument("--saved-rate", type=float, default=100.0, help="ODR before any config")
    asyncio.run(MetaMotion(ap.parse_args()).run())


if __name__ == "__main__":
    main()
