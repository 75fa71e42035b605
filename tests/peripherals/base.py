"""What every test peripheral shares: its HCI link to the hub, advertising, one connection at a
time, a paced loop, the injected faults and the report it prints when it ends.

Written with bumble's own APIs only (``Device``, ``gatt.Service``/``Characteristic``,
``Connection``); nothing here comes from imuhip, so the BLE path under test meets sensors it
was not written against.

Output (stdout, one JSON object per line): ``{"advertising": T}`` once advertising (T:
``time.monotonic()``, system-wide, so the test can compare), then at the end (SIGTERM or
``--life-s``) the report: ``{"report": {...}}`` with what was sent (see :class:`Report`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import struct
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Service
from bumble.transport import open_transport

#: Longest notification payload before the central asks for a larger MTU (23 - 3).
DEFAULT_PAYLOAD = 20


@dataclass
class Report:
    """What one peripheral process did.

    Attributes:
        run: the ``--run`` number (tells processes apart in the recorded data).
        sent: ``[first, last]`` sample-index ranges actually notified, in order.
        garbage: garbage notifications sent.
        connections: connections accepted.
        drops: disconnections the peripheral made itself (random disconnects).
        stalls: stalls served (time spent connected and subscribed without notifying).
        mtu: the MTU after the peripheral's own mid-session exchange, or None.
        payload_max: the largest payload in use at the end, bytes.
        origin_ns: sensor-clock time of sample 0 (sensors with timestamps), ns since 2000.
        rates: output rate (Hz, as text) -> samples sent at it.
    """

    run: int = 0
    sent: list[list[int]] = field(default_factory=list)
    garbage: int = 0
    connections: int = 0
    drops: int = 0
    stalls: int = 0
    mtu: int | None = None
    payload_max: int = DEFAULT_PAYLOAD
    origin_ns: int | None = None
    rates: dict[str, int] = field(default_factory=dict)

    def mark_sent(self, first: int, last: int, rate_hz: float | None = None) -> None:
        """Samples ``first..last`` (inclusive) went out (at ``rate_hz``, when given)."""
        if rate_hz is not None:
            key = f"{rate_hz:g}"
            self.rates[key] = self.rates.get(key, 0) + last - first + 1
        if self.sent and self.sent[-1][1] == first - 1:
            self.sent[-1][1] = last
        else:
            self.sent.append([first, last])


def common_args(ap: argparse.ArgumentParser, name: str, address: str) -> None:
    ap.add_argument("--transport", required=True, help="bumble transport, e.g. tcp-client:H:P")
    ap.add_argument("--address", default=address, help="random static address")
    ap.add_argument("--name", default=name, help="advertised name")
    ap.add_argument("--run", type=int, default=0, help="process number, put in the data")
    ap.add_argument("--speed", type=float, default=1.0, help="sample clock speed-up")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--garbage-every", type=int, default=0, help="garbage after every Nth")
    ap.add_argument("--stall-at", type=float, default=None, help="s of streaming, then stall")
    ap.add_argument("--stall-for", type=float, default=0.0)
    ap.add_argument("--mtu-at", type=float, default=None, help="s of streaming, then MTU exchange")
    ap.add_argument("--mtu-to", type=int, default=33)
    ap.add_argument("--drop-mean-s", type=float, default=None, help="random disconnects")
    ap.add_argument("--life-s", type=float, default=None, help="end after this long")


class Peripheral:
    """Base of one sensor: subclasses build the GATT service and produce data in :meth:`step`.

    ``streaming_s()`` is the time since data notifications were enabled on this connection
    (the fault schedule counts from it); :meth:`notify` cuts nothing (callers fit their
    payloads to ``payload_max``) and adds garbage as asked.
    """

    tick_s = 0.005

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed * 1000 + args.run)
        self.report = Report(run=args.run)
        self.device: Device | None = None
        self.connection: Connection | None = None
        self.subscribed_at: float | None = None
        self.first_streaming_at: float | None = None  # the stall is timed from here
        self.payload_max = DEFAULT_PAYLOAD
        self._data_notifications = 0
        self._stalled = False
        self._mtu_done = False
        self._next_drop: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- for subclasses
    def service(self) -> Service:
        raise NotImplementedError

    def services(self) -> list[Service]:
        """Every GATT service of the sensor (by default :meth:`service` alone)."""
        return [self.service()]

    def service_uuid(self) -> UUID:
        raise NotImplementedError

    def garbage(self) -> bytes:
        raise NotImplementedError

    def data_characteristic(self) -> Any:
        raise NotImplementedError

    async def step(self, now: float) -> None:
        """Send what is due at ``now`` (monotonic seconds)."""

    def on_disconnected(self) -> None:
        """The connection ended (the sensor's state for it is reset)."""

    def skip(self, now: float) -> None:
        """Stalled at ``now``: nothing is sampled or sent for this time."""

    # -- helpers
    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscribed(self, enabled: bool) -> None:
        self.subscribed_at = time.monotonic() if enabled else None
        if enabled and self.first_streaming_at is None:
            self.first_streaming_at = self.subscribed_at

    def streaming_s(self) -> float | None:
        return None if self.subscribed_at is None else time.monotonic() - self.subscribed_at

    def stalled(self) -> bool:
        """Inside the stall window (``--stall-at`` s after this process first streamed, for
        ``--stall-for`` s): connected and silent."""
        a = self.args
        s = None if self.first_streaming_at is None else time.monotonic() - self.first_streaming_at
        inside = (
            a.stall_at is not None and s is not None and a.stall_at <= s < a.stall_at + a.stall_for
        )
        if inside and not self._stalled:
            self.report.stalls += 1
        self._stalled = inside
        return inside

    async def notify(self, payload: bytes) -> None:
        """One data notification (plus a garbage one after every ``--garbage-every``th)."""
        conn, dev = self.connection, self.device
        if conn is None or dev is None:
            return
        await dev.notify_subscriber(conn, self.data_characteristic(), payload)
        self._data_notifications += 1
        n = self.args.garbage_every
        if n and self._data_notifications % n == 0:
            await dev.notify_subscriber(conn, self.data_characteristic(), self.garbage())
            self.report.garbage += 1

    async def _faults(self, now: float) -> None:
        a, conn = self.args, self.connection
        s = self.streaming_s()
        if conn is None or s is None:
            return
        if a.mtu_at is not None and not self._mtu_done and s >= a.mtu_at:
            self._mtu_done = True
            with contextlib.suppress(Exception):
                mtu = await asyncio.wait_for(conn.gatt_client.request_mtu(a.mtu_to), 2.0)
                self.report.mtu = mtu
                self.payload_max = self.report.payload_max = mtu - 3
        if a.drop_mean_s is not None:
            if self._next_drop is None:
                self._next_drop = now + self.rng.expovariate(1.0 / a.drop_mean_s)
            elif now >= self._next_drop:
                self._next_drop = None
                self.report.drops += 1
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.disconnect(), 2.0)

    # -- connection
    def _on_connection(self, conn: Connection) -> None:
        self.connection = conn
        self.report.connections += 1
        self.payload_max = DEFAULT_PAYLOAD
        self._mtu_done = False
        self._next_drop = None

        def on_mtu() -> None:
            if not self._mtu_done:
                self.payload_max = self.report.payload_max = conn.att_mtu - 3

        def on_disconnection(_reason: int) -> None:
            if self.connection is conn:
                self.connection = None
                self.subscribed_at = None
                self.on_disconnected()

        conn.on(conn.EVENT_CONNECTION_ATT_MTU_UPDATE, on_mtu)
        conn.on(conn.EVENT_DISCONNECTION, on_disconnection)

    def advertising_data(self) -> bytes:
        uuid = self.service_uuid()
        kind = (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            if len(uuid.to_bytes()) == 2
            else AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS
        )
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.args.name.encode()),
                    (kind, uuid.to_bytes()),
                ]
            )
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        transport = await open_transport(self.args.transport)
        try:
            dev = self.device = Device.with_hci(
                self.args.name, hci.Address(self.args.address), transport.source, transport.sink
            )
            for service in self.services():
                dev.add_service(service)
            dev.on(dev.EVENT_CONNECTION, self._on_connection)
            await dev.power_on()
            await dev.start_advertising(
                auto_restart=True,
                advertising_data=self.advertising_data(),
                advertising_interval_min=20,
                advertising_interval_max=20,
            )
            print(json.dumps({"advertising": time.monotonic()}), flush=True)
            end = None if self.args.life_s is None else time.monotonic() + self.args.life_s
            while not stop.is_set() and (end is None or time.monotonic() < end):
                now = time.monotonic()
                await self._faults(now)
                if self.connection is not None:
                    if self.stalled():
                        self.skip(now)
                    else:
                        await self.step(now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick_s)
        finally:
            print(json.dumps({"report": asdict(self.report)}), flush=True)
            # vanish: the socket closes with no LL terminate (the hub drops the link)
            with contextlib.suppress(Exception):
                await transport.close()


def i16(values: Any) -> bytes:
    """Little-endian int16 of each value (clipped)."""
    return b"".join(struct.pack("<h", max(-32768, min(32767, round(v)))) for v in values)
