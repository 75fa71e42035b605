"""Virtual BLE IMU sensors on bumble, for tests, demos and the simulator: no hardware needed.

A :class:`VirtualSensor` is a bumble peripheral on the in-process virtual radio
(:func:`~imuhip.sources.ble.bumble_backend.virtual_air`) that

- advertises like the real product (name, service UUIDs);
- exposes the product's GATT service and characteristics;
- honours configuration commands written by the client (rate, start/stop), as parsed by the
  vendor's :class:`Emulation`;
- notifies real vendor frames built from a motion source, paced in real time on the asyncio
  loop (or ``speed`` times faster);
- can vanish (stop advertising and lose its connections as if out of range) and come back.

What differs between sensor families lives in an :class:`Emulation`: the GATT layout, what a
write or a subscription does, and how samples become notification bytes. The vendor emulations
(WitMotion, Polar PMD) are thin glue over the encoders and command parsers of
:mod:`imuhip.decode`; no frame layout is written here.

Motion sources are callables ``t -> (acc, gyr)``: sample times in seconds on the sensor's clock
(``(n,)``) to accelerometer in m/s² and gyroscope in rad/s (``(n, 3)`` each, sensor frame).
:class:`BlockSource` adapts an iterator of ``(t, acc, gyr)`` blocks (e.g. from the simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from imuhip.decode.profile import SensorProfile
from imuhip.sources.ble.bumble_backend import VirtualAir, virtual_air

logger = logging.getLogger(__name__)

Motion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``t (n,) seconds -> (acc (n, 3) m/s², gyr (n, 3) rad/s)``."""

G = 9.80665
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


# --------------------------------------------------------------------------- motion sources


def synthetic_motion(
    rot_hz: float = 0.4, amp_deg: float = 35.0, axis: int = 2, phase: float = 0.0
) -> Motion:
    """A simple deterministic motion: the sensor rocks about one axis, gravity along +z.

    Angle ``a(t) = amp·sin(2π f t + phase)`` about ``axis``; the gyroscope shows ``a'(t)``
    and the accelerometer the gravity vector rotated into the sensor frame.
    """
    amp = math.radians(amp_deg)
    w = 2 * math.pi * rot_hz

    def motion(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, float)
        ang = amp * np.sin(w * t + phase)
        rate = amp * w * np.cos(w * t + phase)
        gyr = np.zeros((len(t), 3))
        gyr[:, axis] = rate
        acc = np.zeros((len(t), 3))
        if axis == 2:  # yaw: gravity unchanged
            acc[:, 2] = G
        elif axis == 0:  # roll about x: g moves between z and y
            acc[:, 1] = G * np.sin(ang)
            acc[:, 2] = G * np.cos(ang)
        else:  # pitch about y: g moves between z and -x
            acc[:, 0] = -G * np.sin(ang)
            acc[:, 2] = G * np.cos(ang)
        return acc, gyr

    return motion


class BlockSource:
    """Adapt an iterator of ``(t, acc, gyr)`` blocks (times increasing) to a motion callable.

    Values at the requested times are linearly interpolated; blocks are pulled as needed and
    old ones dropped. Times past the end of the iterator repeat the last sample.
    """

    def __init__(self, blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self._it: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]] = iter(blocks)
        self._t = np.empty(0)
        self._acc = np.empty((0, 3))
        self._gyr = np.empty((0, 3))
        self._done = False

    def _pull(self) -> bool:
        try:
            t, acc, gyr = next(self._it)
        except StopIteration:
            self._done = True
            return False
        self._t = np.concatenate([self._t, np.asarray(t, float)])
        self._acc = np.concatenate([self._acc, np.asarray(acc, float).reshape(-1, 3)])
        self._gyr = np.concatenate([self._gyr, np.asarray(gyr, float).reshape(-1, 3)])
        return True

    def __call__(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, float)
        if len(t) == 0:
            return np.empty((0, 3)), np.empty((0, 3))
        while not self._done and (len(self._t) == 0 or self._t[-1] < t[-1]):
            self._pull()
        if len(self._t) == 0:
            raise ValueError("the block source gave no samples")
        acc = np.column_stack([np.interp(t, self._t, self._acc[:, i]) for i in range(3)])
        gyr = np.column_stack([np.interp(t, self._t, self._gyr[:, i]) for i in range(3)])
        keep = max(0, int(np.searchsorted(self._t, t[-1])) - 1)
        if keep > 4096:
            self._t, self._acc, self._gyr = self._t[keep:], self._acc[keep:], self._gyr[keep:]
        return acc, gyr


# --------------------------------------------------------------------------- emulations


@dataclass(frozen=True)
class CharSpec:
    """One characteristic of the emulated GATT service.

    Attributes:
        uuid: lower-case 128-bit UUID.
        properties: any of "read", "write", "write-without-response", "notify", "indicate".
        value: value returned by reads (when "read" and the emulation does not override it).
    """

    uuid: str
    properties: tuple[str, ...]
    value: bytes = b""


@dataclass
class SensorState:
    """The emulated sensor's configuration, changed by commands.

    Attributes:
        rate_hz: output rate.
        streaming: whether samples are being notified.
        subscribed: characteristic UUIDs with notifications/indications enabled.
        extra: vendor-specific state (ranges, settings, ...).
    """

    rate_hz: float
    streaming: bool = False
    subscribed: set[str] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)


class Emulation:
    """How one sensor family behaves on the air; subclass per vendor.

    Class attributes to set: ``profile`` (the family's :class:`SensorProfile`), ``name``
    (advertised name), ``characteristics`` (the data service's characteristics),
    ``default_rate_hz`` and ``samples_per_notification`` (a callable of the state, or an int).
    """

    profile: SensorProfile
    name: str = "IMU"
    characteristics: tuple[CharSpec, ...] = ()
    default_rate_hz: float = 100.0
    samples_per_notification: int = 1

    def initial_state(self) -> SensorState:
        return SensorState(rate_hz=self.default_rate_hz)

    def batch(self, state: SensorState) -> int:
        """Samples per notification at the current state."""
        return self.samples_per_notification

    def on_subscribe(self, state: SensorState, uuid: str, enabled: bool) -> None:
        """Notifications on ``uuid`` were enabled or disabled by the client."""

    def on_write(self, state: SensorState, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """A client wrote ``data`` to ``uuid``; returns responses ``(char uuid, bytes)``."""
        return []

    def on_read(self, state: SensorState, uuid: str) -> bytes | None:
        """Value of a read of ``uuid``, or None for the characteristic's static value."""
        return None

    def on_disconnect(self, state: SensorState) -> None:
        """The (last) client went away: stop streaming, keep the configuration."""
        state.streaming = False
        state.subscribed.clear()

    def encode(
        self, state: SensorState, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> list[tuple[str, bytes]]:
        """Notifications ``(char uuid, bytes)`` carrying samples at sensor times ``t``."""
        raise NotImplementedError


# --------------------------------------------------------------------------- the sensor


def _props(names: Iterable[str]) -> Characteristic.Properties:
    table = {
        "read": Characteristic.Properties.READ,
        "write": Characteristic.Properties.WRITE,
        "write-without-response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
        "notify": Characteristic.Properties.NOTIFY,
        "indicate": Characteristic.Properties.INDICATE,
    }
    p = Characteristic.Properties(0)
    for n in names:
        p |= table[n]
    return p


def _ad_uuid(uuid: str) -> tuple[int, bytes]:
    """AD type and bytes advertising ``uuid`` (16-bit form only on the true base UUID)."""
    u = uuid.lower()
    if u.startswith("0000") and u.endswith(_BASE_UUID_TAIL):
        return AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(u[4:8]))
    return AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(u))


@dataclass
class SensorStats:
    """What a virtual sensor did (for tests and benchmarks)."""

    notifications: int = 0
    samples_sent: int = 0
    samples_unsent: int = 0
    connections: int = 0
    writes: list[tuple[str, bytes]] = field(default_factory=list)


class VirtualSensor:
    """A virtual sensor on the in-process virtual radio.

    Args:
        emulation: the sensor family's behaviour.
        motion: ``t -> (acc m/s², gyr rad/s)`` on the sensor clock (see :func:`synthetic_motion`).
        address: BLE address; a fresh one when None.
        name: advertised name; the emulation's default when None.
        speed: sensor time runs this many times faster than the loop clock (tests).
        adv_interval_ms: advertising interval (real products use 100-1000 ms).
        supervision_timeout_s: when the sensor vanishes, how long the central takes to notice.
        clock_drift_ppm: the sensor's clock error relative to the host.
        keep_sent: keep every notified sample in :attr:`sent` (tests).

    Use ``async with VirtualSensor(...) as s`` inside the loop that runs the client.
    """

    def __init__(
        self,
        emulation: Emulation,
        motion: Motion | None = None,
        *,
        address: str | None = None,
        name: str | None = None,
        speed: float = 1.0,
        adv_interval_ms: float = 20.0,
        supervision_timeout_s: float = 0.05,
        clock_drift_ppm: float = 0.0,
        keep_sent: bool = True,
        air: VirtualAir | None = None,
    ) -> None:
        self.emulation = emulation
        self.motion = motion or synthetic_motion()
        self.air = air or virtual_air()
        self.address = (address or self.air.new_address()).upper()
        self.name = name or emulation.name
        self.speed = float(speed)
        self.adv_interval_ms = adv_interval_ms
        self.supervision_timeout_s = supervision_timeout_s
        self.clock_scale = 1.0 + clock_drift_ppm * 1e-6
        self.keep_sent = keep_sent
        self.state = emulation.initial_state()
        self.stats = SensorStats()
        self.sent: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.vanished = False
        self._controller, host = self.air.attach(f"sensor-{self.address}", self.address)
        self.device = Device(name=self.name, address=hci.Address(self.address), host=host)
        self._chars: dict[str, Characteristic] = {}
        self._connections: set[Connection] = set()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._wake = asyncio.Event()
        self._running = False
        self._t0 = 0.0
        self._next_k = 0
        self._rate_base_t = 0.0
        self._rate_now = self.state.rate_hz
        self._build_gatt()

    # -- setup
    def _build_gatt(self) -> None:
        chars = []
        for spec in self.emulation.characteristics:
            uuid = spec.uuid.lower()
            value: Any
            if {"write", "write-without-response", "read"} & set(spec.properties):
                value = CharacteristicValue(
                    read=(lambda conn, u=uuid, v=spec.value: self._on_read(u, v)),
                    write=(lambda conn, data, u=uuid: self._on_write(u, bytes(data))),
                )
            else:
                value = spec.value
            perms = Characteristic.READABLE | Characteristic.WRITEABLE
            c = Characteristic(uuid, _props(spec.properties), perms, value)
            self._chars[uuid] = c
            chars.append(c)
        self.device.add_service(Service(self.emulation.profile.service_uuid, chars))
        self.device.on("connection", self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)

    def advertising_data(self) -> tuple[bytes, bytes]:
        """(advertising data, scan response): flags and service UUID, then the name.

        The name goes into the advertising PDU when it fits the 31-byte legacy limit, else
        into the scan response, as real products do.
        """
        ad_type, uuid_bytes = _ad_uuid(self.emulation.profile.service_uuid)
        base = [(AdvertisingData.FLAGS, bytes([0x06])), (ad_type, uuid_bytes)]
        name = (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())
        adv = bytes(AdvertisingData([*base, name]))
        if len(adv) <= 31:
            return adv, b""
        return bytes(AdvertisingData(base)), bytes(AdvertisingData([name]))

    async def start(self) -> None:
        """Power on, advertise and start the sample clock."""
        await self.device.power_on()
        self._running = True
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        self._rate_base_t = 0.0
        self._next_k = 0
        self._rate_now = self.state.rate_hz
        await self._advertise()
        self._task = asyncio.create_task(self._run(), name=f"virtual-sensor-{self.address}")

    async def stop(self) -> None:
        """Stop streaming, drop connections, power off."""
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        self.air.drop_connections(
            self._controller, hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR
        )
        self.air.detach(self._controller)

    async def __aenter__(self) -> VirtualSensor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _advertise(self) -> None:
        if self.vanished or not self._running:
            return
        adv, scan_rsp = self.advertising_data()
        # bumble's virtual controller never sends the scan response (it echoes the advertising
        # data instead) and accepts over-long data: append the scan response so scanners get it
        adv += scan_rsp
        interval = self.adv_interval_ms
        await self.device.start_advertising(
            advertising_data=adv,
            scan_response_data=b"",
            advertising_interval_min=interval,
            advertising_interval_max=interval,
        )

    # -- vanishing
    async def vanish(self, duration_s: float | None = None) -> None:
        """Go out of range: stop advertising, lose every connection (link supervision timeout).

        With ``duration_s``, come back by itself after that many seconds (loop time).
        """
        self.vanished = True
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        self.air.drop_connections(
            self._controller, hci.HCI_CONNECTION_TIMEOUT_ERROR, self.supervision_timeout_s
        )
        if duration_s is not None:
            asyncio.get_running_loop().call_later(duration_s, lambda: self._spawn(self.reappear()))

    async def reappear(self) -> None:
        """Come back into range and advertise again."""
        if not self.vanished:
            return
        self.vanished = False
        await self._advertise()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- GATT events
    def _on_connection(self, connection: Connection) -> None:
        if self.vanished:  # raced with vanish(): this link cannot live
            asyncio.get_running_loop().call_soon(
                self.air.drop_connections, self._controller, hci.HCI_CONNECTION_TIMEOUT_ERROR
            )
            return
        self.stats.connections += 1
        self._connections.add(connection)
        connection.on("disconnection", lambda reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            self.emulation.on_disconnect(self.state)
            self._wake.set()
        if self._running and not self.vanished:
            self._spawn(self._advertise())

    def _on_subscription(
        self, connection: Connection, characteristic: Characteristic, notify: bool, indicate: bool
    ) -> None:
        uuid = _uuid_of(characteristic)
        enabled = bool(notify or indicate)
        if enabled:
            self.state.subscribed.add(uuid)
        else:
            self.state.subscribed.discard(uuid)
        was = self.state.streaming
        self.emulation.on_subscribe(self.state, uuid, enabled)
        self._after_state_change(was)

    def _on_read(self, uuid: str, static: bytes) -> bytes:
        value = self.emulation.on_read(self.state, uuid)
        return static if value is None else value

    def _on_write(self, uuid: str, data: bytes) -> None:
        self.stats.writes.append((uuid, data))
        was = self.state.streaming
        responses = self.emulation.on_write(self.state, uuid, data)
        self._after_state_change(was)
        for ruuid, payload in responses:
            self._spawn(self._send(ruuid, payload, indicate_too=True))

    def _after_state_change(self, was_streaming: bool) -> None:
        if self.state.rate_hz != self._rate_now:  # a new rate starts from the current time
            now = self.sensor_now()
            self._rate_base_t = now
            self._next_k = 0
            self._rate_now = self.state.rate_hz
        if self.state.streaming and not was_streaming:  # start from now: no backlog
            self._rate_base_t = self.sensor_now()
            self._next_k = 0
        self._wake.set()

    async def _send(self, uuid: str, payload: bytes, indicate_too: bool = False) -> None:
        c = self._chars[uuid]
        try:
            await self.device.notify_subscribers(c, payload)
            if indicate_too:
                await self.device.indicate_subscribers(c, payload)
        except Exception as exc:  # a link dropping mid-send is normal here
            logger.debug("%s: send failed: %s", self.address, exc)

    async def notify(self, uuid: str, payload: bytes) -> None:
        """Send ``payload`` on ``uuid`` to its subscribers (notification or indication), as
        the firmware does on its own, e.g. an emulation's unsolicited status message."""
        await self._send(uuid.lower(), bytes(payload), indicate_too=True)

    # -- the sample clock
    def sensor_now(self) -> float:
        """The sensor's own clock now, s (the event loop's time, sped up and skewed)."""
        loop_t = asyncio.get_running_loop().time() - self._t0
        return loop_t * self.speed * self.clock_scale

    def _sample_time(self, k: int) -> float:
        return self._rate_base_t + k / self._rate_now

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running:
            now = self.sensor_now()
            batch = max(1, self.emulation.batch(self.state))
            # samples due up to now, in whole notifications
            k_end = math.floor((now - self._rate_base_t) * self._rate_now + 1e-9) + 1
            n_due = k_end - self._next_k
            n_send = (n_due // batch) * batch
            if n_send > 0:
                ks = np.arange(self._next_k, self._next_k + n_send)
                self._next_k += n_send
                t = self._rate_base_t + ks / self._rate_now
                live = self.state.streaming and bool(self._connections) and not self.vanished
                if live:
                    await self._emit(t, batch)
                else:
                    self.stats.samples_unsent += n_send
                continue
            # sleep until the next notification is due (or a state change)
            t_next = self._sample_time(self._next_k + batch - 1)
            delay = (t_next - now) / (self.speed * self.clock_scale)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, delay))
            _ = loop

    async def _emit(self, t: np.ndarray, batch: int) -> None:
        acc, gyr = self.motion(t)
        for a in range(0, len(t), batch):
            tb, ab, gb = t[a : a + batch], acc[a : a + batch], gyr[a : a + batch]
            frames = self.emulation.encode(self.state, tb, ab, gb)
            for uuid, payload in frames:
                await self._send(uuid, payload)
                self.stats.notifications += 1
            self.stats.samples_sent += len(tb)
            if self.keep_sent:
                self.sent.append((tb, ab, gb))

    def loop_time(self, t_sensor: np.ndarray | float) -> np.ndarray:
        """Event-loop time (``time.monotonic`` on asyncio's default loop) at which the sensor's
        clock showed ``t_sensor`` (sample times of :attr:`sent`): the truth for host-time
        mapping tests (on :data:`~imuhip.host_time.host_now`'s base except on Windows
        before Python 3.13)."""
        return self._t0 + np.asarray(t_sensor, float) / (self.speed * self.clock_scale)

    def sent_samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every sample notified so far: (t sensor clock, acc m/s², gyr rad/s)."""
        if not self.sent:
            return np.empty(0), np.empty((0, 3)), np.empty((0, 3))
        return (
            np.concatenate([s[0] for s in self.sent]),
            np.concatenate([s[1] for s in self.sent]),
            np.concatenate([s[2] for s in self.sent]),
        )


def _uuid_of(characteristic: Characteristic) -> str:
    from imuhip.sources.ble.bumble_backend import uuid_str

    return uuid_str(characteristic.uuid)


__all__ = [
    "BlockSource",
    "CharSpec",
    "Emulation",
    "Motion",
    "SensorState",
    "SensorStats",
    "VirtualSensor",
    "synthetic_motion",
]
