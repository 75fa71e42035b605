"""Connection manager: keep every assigned sensor connected and streaming, record what arrives.

Plain bleak API only; the backend (``None`` = the OS stack, or a
:class:`~imuhip.sources.ble.bumble_backend.BleBackend`) is passed through, so the same code
drives real sensors and virtual ones.

Per sensor, one task loops: find the assigned address (nothing else), connect, subscribe,
ask the stack for a short connection interval where it lets a client
(:mod:`~imuhip.sources.ble.link_params`; a ``link_parameters`` event records what was asked and
the interval in use), run the profile's start sequence, then stream until the link drops, data
stalls or the manager stops. Each notification goes to the sink with its host receive time
(:data:`imuhip.host_time.host_now`, taken first thing in the callback). When a sensor
vanishes the others keep running; the sink gets a ``connection_lost`` event, the task
reconnects in the background (exponential backoff after failed connections; none while the
sensor is merely not found, as the search goes on) and, once streaming again, emits
``connection_restored``.

Searches are shared (:class:`SharedSearch`): one scan looks for every sensor that is away at
once and hands each its device as soon as it advertises, so a sensor that is back never waits
for the searches of the others still away. Scanning and connecting take turns under one lock
(OS stacks and bumble refuse a connection while another is pending); a sensor's configuration
(start sequence) runs outside it.

:func:`record` wires this to a :class:`~imuhip.files.session_file.SessionWriter`, which runs
on its own thread so disk stalls never delay BLE callbacks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

from imuhip.decode.profile import (
    ConfigReadback,
    GattWrite,
    ReadbackAnswer,
    SensorProfile,
    get_profile,
)
from imuhip.errors import BluetoothUnavailableError, ImuhipError, SensorAssignmentError
from imuhip.host_time import host_now
from imuhip.session import LINK_EVENT, Event, Notification, SensorInfo
from imuhip.sources.ble.link_params import LinkParameters, LinkRequest, request_short_interval
from imuhip.sources.ble.stack import check_os_stack, stack_failure

if TYPE_CHECKING:  # bumble is only needed when a bumble backend is passed
    from imuhip.sources.ble.bumble_backend import BleBackend


def scanner_backend(backend: BleBackend | None) -> Any:
    return None if backend is None else backend.scanner


def client_backend(backend: BleBackend | None) -> Any:
    return None if backend is None else backend.client


logger = logging.getLogger(__name__)

NotificationSink = Callable[[Notification], None]
"""``(role, channel, t_host, data)``: one notification, host receive time in seconds."""
EventSink = Callable[[Event], None]


class SensorNotFoundError(ImuhipError):
    """An assigned sensor could not be connected in time."""


class ProfileCommandError(ImuhipError):
    """A sensor refused a configuration command (the profile's response check failed)."""


@dataclass(frozen=True)
class Assignment:
    """One sensor to record.

    Attributes:
        role: the sensor's role (:data:`imuhip.layout.ROLES`: "thigh", "left_shin", "pelvis"...).
        address: BLE address (platform UUID on macOS) from pairing.
        profile: sensor profile name (see :mod:`imuhip.decode.profile`).
        rate_hz: requested output rate; the profile's nearest supported rate is used.
        options: profile options passed to ``start`` / ``decoder_config``.
        name: advertised name, if known (informational).
    """

    role: str
    address: str
    profile: str
    rate_hz: float = 100.0
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def sensor_profile(self) -> SensorProfile:
        return get_profile(self.profile)

    def sensor_info(self) -> SensorInfo:
        """The header entry of this sensor (rate and decoder config as the profile sets them)."""
        p = self.sensor_profile()
        rate = p.nearest_rate(self.rate_hz)
        return SensorInfo(
            role=self.role,
            profile=p.name,
            address=self.address,
            name=self.name,
            rate_hz=rate,
            config=p.decoder_config(rate, self.options),
        )


#: Session event kind marking when a sensor's configuration was read back as in effect (once
#: per connection, for profiles with a read-back; data: rate_hz, confirmed, detail, left_out).
CONFIG_EVENT = "config_applied"
#: Longest scan round of the shared search while holding the connect lock, s: between rounds
#: the connections of sensors found wait no longer than this.
SCAN_SLICE_S = 1.0
#: After the shared search finds a sensor it scans this long more (s) for others that came back
#: at the same time, then gives way to the connection.
FOUND_GRACE_S = 0.05
#: Read-back requests sent before a sensor that does not answer is recorded as it streams.
READBACK_TRIES = 3


def check_assignments(assignments: Sequence[Assignment]) -> None:
    """Refuse sensors that cannot be recorded together, before anything connects.

    Raises:
        SensorAssignmentError: a role given twice, or one address for two roles (addresses
            compare case-insensitively).
    """
    roles = [a.role for a in assignments]
    twice = sorted({r for r in roles if roles.count(r) > 1})
    if twice:
        raise SensorAssignmentError(f"each role may appear once; given twice: {', '.join(twice)}")
    by_address: dict[str, list[str]] = {}
    for a in assignments:
        by_address.setdefault(a.address.strip().upper(), []).append(a.role)
    for address, shared in by_address.items():
        if len(shared) > 1:
            raise SensorAssignmentError(
                f"the {' and '.join(shared)} sensors have the same address {address}: one "
                "sensor cannot take two roles. Give each role its own sensor (--thigh and "
                "--shin, or run 'imuhip pair' again)."
            )


class LinkState(enum.Enum):
    IDLE = "idle"
    SEARCHING = "searching"
    CONNECTING = "connecting"
    CONFIGURING = "configuring"
    STREAMING = "streaming"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass
class LinkStatus:
    """Live counters of one sensor link (read them on the event loop thread; other threads
    read the copies :attr:`~imuhip.sources.ble.edge.LinkThread.status` takes)."""

    role: str
    address: str
    state: LinkState = LinkState.IDLE
    notifications: int = 0
    connects: int = 0
    losses: int = 0
    attempts: int = 0
    last_rx: float | None = None
    last_error: str = ""
    connected_s: float = 0.0
    link: LinkParameters | None = None
    before_config: int = 0


@dataclass(frozen=True)
class ManagerSettings:
    """Timing of the connection manager.

    Attributes:
        scan_timeout_s: longest search for one sensor per attempt.
        connect_timeout_s: longest connect (including service discovery).
        op_timeout_s: longest single GATT operation and command response wait.
        backoff_initial_s: first pause after a failed attempt; doubled each failure.
        backoff_max_s: longest pause between attempts.
        stall_timeout_s: no notification for this long while streaming counts as a lost link
            (some stacks notice a vanished peer only after a long supervision timeout).
        stop_timeout_s: longest time spent stopping and disconnecting one sensor.
    """

    scan_timeout_s: float = 10.0
    connect_timeout_s: float = 15.0
    op_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    stall_timeout_s: float = 3.0
    stop_timeout_s: float = 3.0


class _LinkLostError(Exception):
    pass


class SensorLink:
    """Keeps one sensor connected and streaming; driven by :class:`ConnectionManager`."""

    def __init__(self, manager: ConnectionManager, assignment: Assignment) -> None:
        self.m = manager
        self.a = assignment
        self.profile = assignment.sensor_profile()
        self.rate = self.profile.nearest_rate(assignment.rate_hz)
        self.status = LinkStatus(assignment.role, assignment.address)
        self._streaming = asyncio.Event()
        self._lost_at: float | None = None
        self._attempts_since_loss = 0
        self._up = False  # whether the recording currently shows this sensor as connected
        self._ever_streamed = False
        self._configured = False  # the start sequence of the current connection is done
        self._trouble = ""  # why the sensor itself ended streaming, if it did
        # while the configuration is not read back as in effect: notifications are left out
        self._holding = False
        self._answers: asyncio.Queue[tuple[float, ReadbackAnswer]] | None = None
        self._readback: ConfigReadback | None = None
        self._held_from = 0  # status.before_config when this connection began holding
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"ble-{self.a.role}")

    async def join(self, timeout: float) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        except Exception:
            logger.exception("%s: link task failed", self.a.role)

    async def wait_streaming(self) -> None:
        """Return once this sensor has streamed (now or earlier)."""
        if not self._ever_streamed:
            await self._streaming.wait()

    # -- main loop
    async def _run(self) -> None:
        s = self.m.settings
        failures = 0
        while not self.m.stopping:
            streamed = not_found = False
            try:
                streamed = await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                not_found = isinstance(exc, SensorNotFoundError)
                self.status.last_error = f"{type(exc).__name__}: {exc}"
                logger.info("%s (%s): %s", self.a.role, self.a.address, self.status.last_error)
                fatal = None if self._ever_streamed else stack_failure(exc, self.m.spec)
                if fatal is not None:  # no stack to search with: retrying cannot help
                    self.m.fail(fatal)
                    break
            if self.m.stopping:
                break
            failures = 0 if streamed or not_found else failures + 1
            self.status.state = LinkState.LOST if self._lost_at is not None else LinkState.IDLE
            delay = (
                0.0
                if streamed or not_found  # not found: the shared search goes on at once
                else min(s.backoff_max_s, s.backoff_initial_s * 2 ** max(0, failures - 1))
            )
            if delay > 0:
                await self.m.sleep(delay)
        self.status.state = LinkState.STOPPED

    async def _session(self) -> bool:
        """One connection: returns True if it reached streaming (and then ended)."""
        s = self.m.settings
        lost = asyncio.Event()
        client: BleakClient | None = None
        link: LinkRequest | None = None
        self.status.attempts += 1
        self._attempts_since_loss += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + s.scan_timeout_s
        try:
            if self.m.stopping:
                return False
            self.status.state = LinkState.SEARCHING
            device = await self.m.search.find(self.a.address, max(0.05, deadline - loop.time()))
            if self.m.stopping:
                return False
            if device is None:
                raise SensorNotFoundError(f"{self.a.address} not found while scanning")
            client, link = await self._connect(device, lost)
            assert client is not None
            return await self._stream(client, lost, link)
        finally:
            self._streaming.clear()
            if client is not None:
                await self._close(client, lost)
            if link is not None:
                link.close()

    async def _connect(
        self, device: Any, lost: asyncio.Event
    ) -> tuple[BleakClient, LinkRequest | None]:
        """Connect to ``device``, ask for a short interval, run the start sequence."""
        s = self.m.settings
        self.status.state = LinkState.CONNECTING
        client = BleakClient(
            device,
            disconnected_callback=lambda _c: lost.set(),
            timeout=s.connect_timeout_s,
            backend=client_backend(self.m.backend),
        )
        link: LinkRequest | None = None
        try:
            async with self.m.connect_lock, asyncio.timeout(s.connect_timeout_s):
                await client.connect()  # one connection at a time, never while scanning
            link = request_short_interval(client)
            if self._ever_streamed:  # data may flow as soon as we subscribe: mark it now
                self._link_up()
            self.status.state = LinkState.CONFIGURING
            try:
                await self._configure(client, lost)
            except Exception as exc:
                self._link_down(f"configuration failed: {type(exc).__name__}: {exc}")
                raise
        except BaseException:
            await self._close(client, lost)
            if link is not None:
                link.close()
            raise
        return client, link

    async def _configure(self, client: BleakClient, lost: asyncio.Event) -> None:
        """Subscribe and run the start sequence (the other way round for ``configure_first``
        profiles), then read the configuration back where the profile can."""
        p = self.profile
        responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._configured = False
        self._trouble = ""
        # data may flow as soon as notifications are on: hold it until the read-back says the
        # configuration is in effect
        readback = p.readback(self.rate, self.a.options) if p.readback is not None else None
        self._answers = asyncio.Queue() if readback is not None else None
        self._readback = readback
        self._held_from = self.status.before_config
        self._holding = readback is not None
        if p.configure_first and p.response_uuid is None:
            # the sensor streams once notifications are on: configure it before
            await self._start_sequence(client, lost, responses)
            await self._subscribe(client, lost, responses)
        else:
            await self._subscribe(client, lost, responses)
            await self._start_sequence(client, lost, responses)
        if readback is not None:
            await self._confirm(client, readback, lost)
        self._configured = True

    async def _subscribe(
        self, client: BleakClient, lost: asyncio.Event, responses: asyncio.Queue[bytes]
    ) -> None:
        p = self.profile
        if p.response_uuid is not None:
            await self._bounded(
                client.start_notify(p.response_uuid, self._response_callback(responses, lost)),
                lost,
            )
        for ch, uuid in enumerate(p.notify_uuids):
            if uuid == p.response_uuid:
                continue
            await self._bounded(client.start_notify(uuid, self._callback(ch)), lost)

    async def _start_sequence(
        self, client: BleakClient, lost: asyncio.Event, responses: asyncio.Queue[bytes]
    ) -> None:
        s = self.m.settings
        p = self.profile
        for w in p.start(self.rate, self.a.options):
            while not responses.empty():  # a stale answer must not pass for this one's
                responses.get_nowait()
            await self._write(client, w, lost)
            if p.response_uuid is not None and w.char_uuid == p.command_uuid:
                try:
                    reply = await asyncio.wait_for(responses.get(), s.op_timeout_s)
                except TimeoutError:
                    raise ProfileCommandError(
                        f"{self.a.role}: no answer to command {w.data.hex()}"
                    ) from None
                err = p.check_response(reply) if p.check_response else None
                if err:
                    raise ProfileCommandError(f"{self.a.role}: command {w.data.hex()}: {err}")
            if w.delay_s > 0:
                await asyncio.sleep(w.delay_s)

    async def _confirm(
        self, client: BleakClient, readback: ConfigReadback, lost: asyncio.Event
    ) -> None:
        """Read the configuration back until the sensor says it is in effect. Notifications
        before the answer were sent under the sensor's old settings: they are left out and
        counted (``status.before_config``); the answer itself lets the notifications through
        and emits ``config_applied``, both in the notification callback, so nothing after it
        is held. A sensor that reports other settings is refused (ProfileCommandError: the
        link is dropped and tried again, nothing more is recorded); one that does not answer
        at all is recorded from then on, and the event says it was not confirmed."""
        assert self._answers is not None
        got: ReadbackAnswer | None = None
        for _ in range(READBACK_TRIES):
            while not self._answers.empty():
                self._answers.get_nowait()
            await self._write(client, readback.request, lost)
            try:
                _, got = await self._bounded(self._answers.get(), lost)
            except TimeoutError:
                got = None
                continue
            if got.applied:
                return
            await asyncio.sleep(0.1)  # the write may not have taken yet: read again
        if got is not None:
            raise ProfileCommandError(
                f"{self.a.role}: the sensor did not take the configuration ({self.rate:g} Hz): "
                f"it reads back {got.detail}. Switch it off and on, and connect again."
            )
        logger.warning("%s: no answer to the configuration read-back", self.a.role)
        self._release(self.m.clock(), None)

    def _release(self, t: float, answer: ReadbackAnswer | None) -> None:
        """Stop holding notifications back; emit ``config_applied`` (time ``t``)."""
        self._holding = False
        self.m.emit(
            Event(
                t,
                CONFIG_EVENT,
                self.a.role,
                {
                    "rate_hz": self.rate,
                    "confirmed": answer is not None,
                    "detail": answer.detail if answer is not None else "no answer to the read-back",
                    "left_out": self.status.before_config - self._held_from,
                },
            )
        )

    def _callback(self, channel: int) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        role = self.a.role
        clock = self.m.clock
        sink = self.m.on_notification
        status = self.status

        def on_notify(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            t = clock()
            status.notifications += 1
            status.last_rx = t
            if self._holding:  # the configuration is not yet read back as in effect
                rb = self._readback_answer(channel, bytes(data))
                if rb is None:
                    status.before_config += 1
                    return
                if rb.applied:  # data flow from here on, the event before the answer itself
                    self._release(t, rb)
                assert self._answers is not None
                self._answers.put_nowait((t, rb))
            try:
                sink(Notification(role, t, bytes(data), channel))
            except Exception:
                logger.exception("%s: notification sink failed", role)

        return on_notify

    def _readback_answer(self, channel: int, data: bytes) -> ReadbackAnswer | None:
        rb = self._readback
        return rb.answer(data) if rb is not None and channel == rb.channel else None

    def _response_callback(
        self, responses: asyncio.Queue[bytes], lost: asyncio.Event | None = None
    ) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        """Command responses go to ``responses``; when the response characteristic is also one
        of the profile's notify characteristics (Polar PMD: the control point is channel 1),
        every response is recorded on that channel too, start responses included, so a
        replay decodes exactly as live (e.g. with the conversion factor they announce). Where
        responses share the data characteristic (Movesense: channel 0), this is
        what records the data. Only answers to the start sequence are queued.

        Once streaming, a message the profile's check flags (e.g. Polar's "measurement
        stopped" sent by the sensor) ends the session through ``lost``: the link is dropped
        and reconnected, which restarts the stream, instead of waiting for the stall timeout.
        """
        p = self.profile
        record = None
        if p.response_uuid in p.notify_uuids:
            record = self._callback(p.notify_uuids.index(p.response_uuid))
        check = p.check_response

        def on_response(char: BleakGATTCharacteristic, data: bytearray) -> None:
            if record is not None:
                record(char, data)
            reply = bytes(data)
            if not self._configured:  # answers to the start sequence
                responses.put_nowait(reply)
            elif check is not None and lost is not None and not self.m.stopping:
                err = check(reply)
                if err:
                    logger.info("%s: %s", self.a.role, err)
                    self._trouble = self._trouble or err
                    lost.set()

        return on_response

    def _link_up(self) -> None:
        """The sensor is connected again: emit ``connection_restored`` after a loss."""
        if self._up:
            return
        self._up = True
        now = self.m.clock()
        if self._lost_at is not None:
            self.m.emit(
                Event(
                    now,
                    "connection_restored",
                    self.a.role,
                    {
                        "gap_s": round(now - self._lost_at, 6),
                        "attempts": self._attempts_since_loss,
                    },
                )
            )
            self._lost_at = None
        self._attempts_since_loss = 0

    def _link_down(self, reason: str) -> None:
        """The sensor's link is gone (not by our stop): emit ``connection_lost``."""
        if not self._up or self.m.stopping:
            return
        self._up = False
        self._lost_at = self.m.clock()
        self.status.losses += 1
        self.status.state = LinkState.LOST
        self.m.emit(
            Event(
                self._lost_at,
                "connection_lost",
                self.a.role,
                {
                    "reason": reason,
                    "last_notification_t": self.status.last_rx,
                },
            )
        )

    async def _stream(
        self, client: BleakClient, lost: asyncio.Event, link: LinkRequest | None = None
    ) -> bool:
        s = self.m.settings
        now = self.m.clock()
        self.status.state = LinkState.STREAMING
        self.status.connects += 1
        self.status.last_rx = max(self.status.last_rx or now, now)
        started = now
        self._link_up()
        if link is not None:  # read once configured: an interval update takes a few events
            self.status.link = link.parameters()
            self.m.emit(Event(now, LINK_EVENT, self.a.role, self.status.link.event_data()))
        self._ever_streamed = True
        self._streaming.set()
        reason = "stopped"
        try:
            while True:
                if self.m.stopping:
                    return True
                if lost.is_set() or not client.is_connected:
                    reason = self._trouble or "disconnected"
                    break
                idle = self.m.clock() - (self.status.last_rx or started)
                if idle > s.stall_timeout_s:
                    reason = f"no data for {idle:.1f} s"
                    break
                wait = min(s.stall_timeout_s - idle, 0.25) + 0.01
                await self.m.wait_any(lost, wait)
        finally:
            self.status.connected_s += self.m.clock() - started
        self._link_down(reason)
        return True

    async def _close(self, client: BleakClient, lost: asyncio.Event) -> None:
        s = self.m.settings
        if client.is_connected and not lost.is_set() and self.m.stopping:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(s.stop_timeout_s):
                    for w in self.profile.stop():
                        await self._write(client, w, lost)
                    for uuid in self.profile.notify_uuids:
                        await client.stop_notify(uuid)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), s.stop_timeout_s)

    async def _write(self, client: BleakClient, w: GattWrite, lost: asyncio.Event) -> None:
        await self._bounded(client.write_gatt_char(w.char_uuid, w.data, response=w.response), lost)

    async def _bounded(self, aw: Any, lost: asyncio.Event) -> Any:
        """Await ``aw`` for at most the op timeout; a lost link aborts it."""
        task = asyncio.ensure_future(aw)
        waiter = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, waiter},
                timeout=self.m.settings.op_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if lost.is_set():
            raise _LinkLostError("link lost during configuration")
        raise TimeoutError("GATT operation timed out")


class SharedSearch:
    """One scan serving every link that looks for its sensor (see the module docstring).

    Scan rounds (each at most ``SCAN_SLICE_S``, under the manager's connect lock) run while
    any link is waiting; an advertisement of a wanted address hands that link its device at
    once, and the round ends ``FOUND_GRACE_S`` later so the connection can go ahead.
    """

    def __init__(self, manager: ConnectionManager) -> None:
        self.m = manager
        self._wanted: dict[str, asyncio.Future[Any]] = {}  # upper-case address -> its device
        self._task: asyncio.Task[None] | None = None

    async def find(self, address: str, timeout: float) -> Any | None:
        """The device advertising ``address`` (case-insensitive), or None after ``timeout``
        seconds or when the manager stops."""
        key = address.upper()
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._wanted[key] = fut
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._rounds(), name="ble-search")
        stop = asyncio.ensure_future(self.m.wait_stop(timeout))
        try:
            await asyncio.wait({fut, stop}, return_when=asyncio.FIRST_COMPLETED)
            return fut.result() if fut.done() and not fut.cancelled() else None
        finally:
            stop.cancel()
            if self._wanted.get(key) is fut:
                del self._wanted[key]
            if not fut.done():
                fut.cancel()

    def _pending(self) -> bool:
        return any(not f.done() for f in self._wanted.values())

    async def _rounds(self) -> None:
        while self._pending() and not self.m.stopping:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the links time out and report it
                logger.info("search failed: %s: %s", type(exc).__name__, exc)
                for f in self._wanted.values():
                    if not f.done():
                        f.set_exception(exc)

    async def _round(self) -> None:
        found = asyncio.Event()

        def on_advertisement(device: Any, _adv: Any) -> None:
            fut = self._wanted.get(str(device.address).upper())
            if fut is not None and not fut.done():
                fut.set_result(device)
                found.set()

        async with self.m.connect_lock:
            if not self._pending() or self.m.stopping:
                return
            scanner = BleakScanner(on_advertisement, backend=scanner_backend(self.m.backend))
            await scanner.start()
            try:
                loop = asyncio.get_running_loop()
                end = loop.time() + SCAN_SLICE_S
                while self._pending() and not self.m.stopping and loop.time() < end:
                    await self.m.wait_any(found, end - loop.time())
                    if found.is_set():
                        await self.m.wait_stop(FOUND_GRACE_S)
                        break
            finally:
                await scanner.stop()


class ConnectionManager:
    """Connect and stream several sensors at once, each independently.

    Args:
        assignments: the sensors (one per role).
        on_notification: called with every :class:`~imuhip.session.Notification` (role,
            receive time on ``clock``, payload, channel index).
        on_event: receives ``connection_lost`` / ``connection_restored`` events.
        backend: ``None`` for the OS stack, or a bumble backend from ``ble_backend(spec)``.
        settings: timing (timeouts, backoff, stall detection).
        clock: host clock for receive times (:data:`~imuhip.host_time.host_now`).

    Use ``async with ConnectionManager(...) as m: await m.wait_streaming(30); ...``.
    """

    def __init__(
        self,
        assignments: Sequence[Assignment],
        on_notification: NotificationSink,
        on_event: EventSink | None = None,
        backend: BleBackend | None = None,
        settings: ManagerSettings | None = None,
        clock: Callable[[], float] = host_now,
    ) -> None:
        check_assignments(assignments)
        self.assignments = tuple(assignments)
        self.on_notification = on_notification
        self.on_event = on_event
        self.backend = backend
        self.settings = settings or ManagerSettings()
        self.clock = clock
        self.stopping = False
        self.connect_lock = asyncio.Lock()
        self.search = SharedSearch(self)
        self._stop = asyncio.Event()
        self.links = {a.role: SensorLink(self, a) for a in self.assignments}
        #: why no sensor can be reached at all (no Bluetooth stack), once a link found out
        self.fatal: BluetoothUnavailableError | None = None
        self._fatal = asyncio.Event()

    @property
    def spec(self) -> str:
        """The ``--ble`` spec of the backend ("" for the OS stack)."""
        return "" if self.backend is None else self.backend.spec

    def fail(self, error: BluetoothUnavailableError) -> None:
        """Record that the Bluetooth stack is unusable: :meth:`wait_streaming` raises it."""
        if self.fatal is None:
            self.fatal = error
        self._fatal.set()

    @property
    def status(self) -> dict[str, LinkStatus]:
        return {r: link.status for r, link in self.links.items()}

    def emit(self, event: Event) -> None:
        logger.info("%s %s %s", event.kind, event.sensor, event.data)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                logger.exception("event sink failed")

    async def sleep(self, seconds: float) -> None:
        """Sleep, returning early when the manager stops."""
        await self.wait_stop(seconds)

    async def wait_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def wait_any(self, event: asyncio.Event, seconds: float) -> None:
        """Wait until ``event`` is set, the manager stops, or ``seconds`` pass."""
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def start(self) -> None:
        """Start every sensor's task.

        Raises:
            BluetoothUnavailableError: the OS stack is known to be unusable (no D-Bus on Linux).
        """
        if self.backend is None:
            check_os_stack()
        for link in self.links.values():
            link.start()

    async def wait_streaming(self, timeout: float) -> list[str]:
        """Wait until every sensor has streamed (or ``timeout``); returns the roles that never did.

        A sensor that streamed and dropped meanwhile counts as started: it is reconnecting.

        Raises:
            BluetoothUnavailableError: as soon as a sensor's task finds there is no Bluetooth
                stack to search with (rather than after ``timeout``).
        """
        streaming = asyncio.ensure_future(
            asyncio.gather(*(link.wait_streaming() for link in self.links.values()))
        )
        fatal = asyncio.ensure_future(self._fatal.wait())
        try:
            await asyncio.wait(
                {streaming, fatal}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for f in (streaming, fatal):
                f.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await f
        if self.fatal is not None:
            raise self.fatal
        return [r for r, link in self.links.items() if not link._ever_streamed]

    async def stop(self) -> None:
        """Stop streaming (profile stop sequence), disconnect, end the tasks."""
        self.stopping = True
        self._stop.set()
        timeout = self.settings.stop_timeout_s * 2 + 1
        await asyncio.gather(*(link.join(timeout) for link in self.links.values()))

    def not_found(self, missing: Sequence[str]) -> SensorNotFoundError:
        """The error for sensors (roles) that never started streaming, saying what to check."""
        detail = "; ".join(
            f"{r} ({self.links[r].a.address}): {self.links[r].status.last_error or 'not found'}"
            for r in missing
        )
        return SensorNotFoundError(
            f"could not start streaming from {detail}. Check the sensors are switched on, "
            "charged and in range, and not connected to another app."
        )

    async def __aenter__(self) -> ConnectionManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# --------------------------------------------------------------------------- recorder glue


class WriterThread:
    """Feed a :class:`~imuhip.files.session_file.SessionWriter` from a thread of its own.

    ``notification`` and ``event`` only append to a deque (no lock, no thread wake-up: cheap in
    BLE callbacks); every ``poll_interval_s`` the thread drains it in arrival order, writes and
    calls ``poll`` so data is flushed even when streams stall. Draining in batches keeps the
    GIL hand-overs to a few per second; waking the thread per notification made the loop
    thread wait for the GIL for milliseconds. The writer is not closed here: its owner closes
    it after :meth:`close`.

    The thread also flushes the writer on its own timer, every ``flush_interval_s`` of
    wall-clock time (``time.monotonic``, whatever clock the writer was given), so a killed
    program loses at most ``flush_interval_s + poll_interval_s`` plus the time of one write
    (0.45 s and a few ms by default: within the 0.5 s the session format promises).
    """

    def __init__(
        self, writer: Any, poll_interval_s: float = 0.05, flush_interval_s: float = 0.4
    ) -> None:
        self.writer = writer
        self._items: collections.deque[Notification | Event] = collections.deque()
        self._poll = poll_interval_s
        self._flush_every = flush_interval_s
        self._last_flush = time.monotonic()
        self._closing = threading.Event()
        self.error: BaseException | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._main, name="imuhip-writer", daemon=True)
        self._thread.start()

    def notification(self, n: Notification) -> None:
        self._items.append(n)

    def event(self, event: Event) -> None:
        self._items.append(event)

    def _drain(self) -> None:
        w = self.writer
        items = self._items
        while items:
            item = items.popleft()
            if self.error is not None:
                continue  # keep draining so memory stays bounded; the error is re-raised
            try:
                if isinstance(item, Notification):
                    w.add_notification(item.role, item.t, item.data, channel=item.channel)
                    self.written += 1
                else:
                    w.add_event(item)
            except BaseException as exc:
                self.error = exc
                logger.exception("session writer failed")
        if self.error is None:
            try:
                now = time.monotonic()
                if now - self._last_flush >= self._flush_every:
                    self._last_flush = now
                    w.flush()
                else:
                    w.poll()
            except BaseException as exc:
                self.error = exc
                logger.exception("session writer failed")

    def _main(self) -> None:
        while not self._closing.wait(self._poll):
            self._drain()
        self._drain()
        if self.error is None:
            try:
                self.writer.flush()
            except BaseException as exc:
                self.error = exc

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, flush, stop the thread; re-raises a writer error."""
        self._closing.set()
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error


@dataclass(frozen=True)
class RecordReport:
    """What :func:`record` did, per role."""

    duration_s: float
    status: dict[str, LinkStatus]
    notifications_written: int


async def record(
    assignments: Sequence[Assignment],
    writer: Any,
    duration_s: float,
    backend: BleBackend | None = None,
    *,
    settings: ManagerSettings | None = None,
    wait_connected_s: float = 30.0,
    stop_event: asyncio.Event | None = None,
    on_status: Callable[[dict[str, LinkStatus]], None] | None = None,
    status_interval_s: float = 0.5,
) -> RecordReport:
    """Record the assigned sensors into ``writer`` for ``duration_s`` seconds.

    Waits until every sensor streams (at most ``wait_connected_s``; raises
    :class:`SensorNotFoundError` naming the missing ones), then records for ``duration_s``
    (or until ``stop_event`` is set). Lost sensors are reconnected meanwhile and the gap is
    marked with ``connection_lost`` / ``connection_restored`` events. The writer stays open.
    """
    sink = WriterThread(writer)
    manager = ConnectionManager(
        assignments, sink.notification, sink.event, backend=backend, settings=settings
    )
    t_start = time.monotonic()
    try:
        await manager.start()
        missing = await manager.wait_streaming(wait_connected_s)
        if missing:
            raise manager.not_found(missing)
        t_start = time.monotonic()
        deadline = t_start + duration_s
        while (now := time.monotonic()) < deadline:
            if stop_event is not None and stop_event.is_set():
                break
            if on_status is not None:
                on_status(manager.status)
            await asyncio.sleep(min(status_interval_s, deadline - now))
    finally:
        await manager.stop()
        sink.close()
    return RecordReport(time.monotonic() - t_start, manager.status, sink.written)


__all__ = [
    "Assignment",
    "ConnectionManager",
    "LinkState",
    "LinkStatus",
    "ManagerSettings",
    "ProfileCommandError",
    "RecordReport",
    "SensorLink",
    "SensorNotFoundError",
    "WriterThread",
    "check_assignments",
    "record",
]
