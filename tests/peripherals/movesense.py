"""A Movesense sensor running the GATT SensorData Protocol (GSP), written from protocols.md
section 4.

- Service ``34802252-…``; command ``34800001-…`` write, data and results ``34800002-…``
  notify. Commands are ``[command, reference, data]``: HELLO ``00 ref`` (answered ``01 ref
  "Hello"``), SUBSCRIBE ``01 ref path`` (path ``/Meas/<IMU6|IMU9|IMU6m>/<rate>``; no answer:
  data simply start), UNSUBSCRIBE ``02 ref``. At most 4 subscriptions: a fifth is answered
  ``01 ref 01 FB`` (status 507, high byte first). A reference 0 or a path this sensor does
  not serve is answered with status 400 / 404 (an assumption: the notes document only 507).
  A disconnection drops every subscription.
- Data: ``02 ref`` + the first ≤150 bytes of the value, ``03 ref`` + the rest; value = uint32
  ms timestamp of its first sample, then one array per sensor of N × float32 x,y,z (acc m/s²,
  gyro °/s, mag µT), arrays consecutive. N = round(rate / 13) (8 at 104 Hz, as the vendor
  client assumes), fewer when a notification would not fit the MTU (then in one DATA
  notification, no split).
- The sensor clock (ms) is the system's monotonic clock times ``--speed``, so it runs on across
  a restart of the process, as a device's clock runs on while it is out of range; samples of a
  subscription are ``1000 / rate`` ms apart on it.

Test data: acc carries the sample counter and the process number in its low mantissa bits
(:mod:`tests.peripherals.tags`); the signals are smooth functions of k.

Run: ``python -m tests.peripherals.movesense --transport tcp-client:127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import struct
import time
from dataclasses import dataclass
from typing import Any

from bumble.core import UUID
from bumble.gatt import Characteristic, CharacteristicValue, Service

from tests.peripherals.base import Peripheral, common_args
from tests.peripherals.tags import read_tag, tagged_f32

SERVICE = UUID("34802252-7185-4d5d-b431-630e7050e8f0")
COMMAND = UUID("34800001-7185-4d5d-b431-630e7050e8f0")
DATA = UUID("34800002-7185-4d5d-b431-630e7050e8f0")
RESULT, DATA_PART1, DATA_PART2 = 1, 2, 3
PART = 150
ARRAYS = {"IMU6": ("acc", "gyr"), "IMU9": ("acc", "gyr", "mag"), "IMU6m": ("acc", "mag")}
RATES = (13, 26, 52, 104, 208, 416)
MAX_SUBSCRIPTIONS = 4


@dataclass
class Subscription:
    reference: int
    resource: str
    rate: float
    t0: float  # monotonic time of its sample k0
    k0: int
    next_k: int  # first sample not yet notified


def value_of(sub: Subscription, ks: range, speed: float, run: int) -> bytes:
    """The serialized value of samples ``ks`` of ``sub``."""
    ts_ms = round(speed * sub.t0 * 1000.0 + (ks[0] - sub.k0) * 1000.0 / sub.rate) % (1 << 32)
    out = struct.pack("<I", ts_ms)
    for kind in ARRAYS[sub.resource]:
        for k in ks:
            if kind == "acc":
                a = (0.8 * math.sin(0.05 * k), 0.5 * math.cos(0.03 * k), 9.81)
                out += tagged_f32(a, k, run)
            elif kind == "gyr":
                out += struct.pack("<fff", 50.0 * math.sin(0.02 * k), 5.0, -10.0 * math.cos(k / 9))
            else:
                out += struct.pack("<fff", 20.0, -5.0, 40.0 + math.sin(0.01 * k))
    return out


def values(session: Any, role: str) -> list[tuple[float, int, bytes]]:
    """(receive time, reference, value) of every data value recorded for ``role``, a DATA
    notification joined with the DATA_PART2 that follows it when its part is 150 bytes long
    (read from the raw notifications as the notes describe, not with imuhip's decoder)."""
    n = session.notifications[role]
    out = []
    pending: tuple[int, bytes] | None = None
    for t, p in zip(n.t, n.payloads(), strict=True):
        if len(p) < 2:
            continue
        if p[0] == DATA_PART1:
            pending = None
            if len(p) == 2 + PART:
                pending = (p[1], p[2:])
            else:
                out.append((float(t), p[1], p[2:]))
        elif p[0] == DATA_PART2 and pending is not None and pending[0] == p[1]:
            out.append((float(t), p[1], pending[1] + p[2:]))
            pending = None
    return out


def samples(session: Any, role: str, arrays: int = 2) -> list[tuple[float, int, int]]:
    """(receive time, run, k) of every sample recorded for ``role``."""
    out = []
    for t, _ref, v in values(session, role):
        n = (len(v) - 4) // (12 * arrays)
        for i in range(n):
            run, k = read_tag(v[4 + 12 * i : 16 + 12 * i])
            out.append((t, run, k))
    return out


class Movesense(Peripheral):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.subs: dict[int, Subscription] = {}
        self.data = Characteristic(DATA, Characteristic.Properties.NOTIFY, "READABLE", b"")
        self.data.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        self.command = Characteristic(
            COMMAND,
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            "WRITEABLE",
            CharacteristicValue(write=self._on_command),
        )
        self.data_on = False
        self._k_after = 0  # the counter continues across subscriptions of one process

    def service(self) -> Service:
        return Service(SERVICE, [self.command, self.data])

    def service_uuid(self) -> UUID:
        return SERVICE

    def data_characteristic(self) -> Characteristic:
        return self.data

    def garbage(self) -> bytes:
        """A first byte that is no GSP notification kind (4: DATA_PART3, unused here)."""
        return bytes([self.rng.randint(4, 255)]) + self.rng.randbytes(self.rng.randint(1, 40))

    def _on_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self.data_on = notify
        self.subscribed(notify)

    def _result(self, reference: int, body: bytes) -> None:
        conn, dev = self.connection, self.device
        if conn is not None and dev is not None and self.data_on:
            self.spawn(dev.notify_subscriber(conn, self.data, bytes([RESULT, reference]) + body))

    def _on_command(self, _connection: object, value: bytes) -> None:
        value = bytes(value)
        if len(value) < 2:
            return
        cmd, ref, rest = value[0], value[1], value[2:]
        if cmd == 0:
            self._result(ref, b"Hello")
        elif cmd == 1:
            parts = rest.decode("ascii", "replace").strip("/").split("/")
            if ref == 0:
                self._result(ref, (400).to_bytes(2, "big"))
                return
            if len(self.subs) >= MAX_SUBSCRIPTIONS and ref not in self.subs:
                self._result(ref, (507).to_bytes(2, "big"))
                return
            ok = len(parts) == 3 and parts[0] == "Meas" and parts[1] in ARRAYS
            if not ok or not parts[2].isdigit() or int(parts[2]) not in RATES:
                self._result(ref, (404).to_bytes(2, "big"))
                return
            now = time.monotonic()
            k = max((s.next_k for s in self.subs.values()), default=self._k_after)
            self.subs[ref] = Subscription(ref, parts[1], float(parts[2]), now, k, k)
        elif cmd == 2:
            self.subs.pop(ref, None)

    def on_disconnected(self) -> None:
        for s in self.subs.values():
            self._k_after = max(self._k_after, s.next_k)
        self.subs.clear()
        self.data_on = False

    def _due(self, sub: Subscription, now: float) -> int:
        """Samples of ``sub`` with an index below this have been taken."""
        return sub.k0 + int((now - sub.t0) * sub.rate * self.args.speed) + 1

    def skip(self, now: float) -> None:
        for s in self.subs.values():  # the sensor keeps sampling; nothing is sent
            s.next_k = self._due(s, now)

    def _per_notification(self, sub: Subscription) -> int:
        n = max(1, self.args.samples or round(sub.rate / 13))
        per = 12 * len(ARRAYS[sub.resource])
        if self.payload_max >= 2 + PART:  # a split value fits: DATA + DATA_PART2
            while n > 1 and 4 + n * per - PART + 2 > self.payload_max:
                n -= 1
        else:  # one DATA notification per value
            while n > 1 and 2 + 4 + n * per > min(self.payload_max, 2 + PART):
                n -= 1
        return n

    async def step(self, now: float) -> None:
        if not self.data_on:
            return
        for sub in list(self.subs.values()):
            due = self._due(sub, now)
            while True:
                n = self._per_notification(sub)
                if sub.next_k + n > due or self.subs.get(sub.reference) is not sub:
                    break
                ks = range(sub.next_k, sub.next_k + n)
                value = value_of(sub, ks, self.args.speed, self.args.run)
                await self.notify(bytes([DATA_PART1, sub.reference]) + value[:PART])
                if len(value) > PART:
                    await self.notify(bytes([DATA_PART2, sub.reference]) + value[PART:])
                self.report.mark_sent(ks[0], ks[-1], sub.rate)
                sub.next_k += n
            self._k_after = max(self._k_after, sub.next_k)


def main() -> None:
    ap = argparse.ArgumentParser(description="minimal Movesense GSP test peripheral")
    common_args(ap, "Movesense 2345678901", "D0:D4:00:00:00:01")
    ap.add_argument("--samples", type=int, default=0, help="samples per value (0: rate / 13)")
    asyncio.run(Movesense(ap.parse_args()).run())


if __name__ == "__main__":
    main()
