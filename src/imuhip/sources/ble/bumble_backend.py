"""A bleak backend over Google's bumble Bluetooth stack, plus an in-process virtual radio.

Project code keeps using plain bleak (``BleakScanner(backend=...)``, ``BleakClient(device,
backend=...)``); underneath, bumble runs the host stack and talks HCI to

- any bumble transport: ``bumble:usb:0``, ``bumble:hci-socket:0``, ``bumble:tcp-client:HOST:PORT``
  (e.g. virtual controllers exported by another process), ... ;
- ``bumble:virtual``: a virtual radio inside this process (a bumble ``LocalLink``) shared by the
  client and the virtual sensors of :mod:`imuhip.sources.ble.virtual_sensor`.

:func:`ble_backend` turns a spec string (or the ``IMUHIP_BLE`` environment variable) into the
classes bleak takes; ``None`` means the operating system's stack.

The virtual link delivers instantly and has no supervision timeout: a peer that vanishes is only
noticed because the virtual sensor injects the disconnection on the central side (see
:meth:`VirtualAir.drop_connections`). Every wait in the client is bounded and aborted by a
disconnection, so a dead link never hangs a caller for bumble's 30 s GATT timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData, PhysicalTransport
from bumble.core import TimeoutError as CoreTimeoutError
from bumble.device import (
    Advertisement,
    Connection,
    ConnectionParametersPreferences,
    Device,
    Peer,
)
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

#: Environment variable read by :func:`ble_backend` when no spec is given.
ENV_VAR = "IMUHIP_BLE"
PREFIX = "bumble:"
VIRTUAL = "virtual"

#: Address of the host (central) device on a bumble radio: random static (top bits 11).
CENTRAL_ADDRESS = "C0:1B:00:00:00:01"
#: ATT MTU requested after connecting, as OS stacks do.
REQUESTED_MTU = 247
#: Upper bound of one GATT operation (bumble's own timeout is 30 s).
DEFAULT_OP_TIMEOUT_S = 10.0
#: Upper bound of a polite disconnect before the link is dropped locally.
DISCONNECT_TIMEOUT_S = 2.0
#: Connection interval range asked for when connecting, ms (BLE allows 7.5 ms up; bumble's own
#: default is 15-30 ms, BlueZ's 30-50 ms). Sensors without timestamps get their sample times
#: from arrival times, which are only as good as the interval is short: at 30 ms the thigh and
#: shin can end up 10 ms apart (SIMULATED; README, time alignment).
PREFERRED_INTERVAL_MS = (7.5, 15.0)

_T = TypeVar("_T")

_PREFERENCES = {
    hci.Phy.LE_1M: ConnectionParametersPreferences(
        connection_interval_min=PREFERRED_INTERVAL_MS[0],
        connection_interval_max=PREFERRED_INTERVAL_MS[1],
    )
}


# --------------------------------------------------------------------------- backend selection


@dataclass(frozen=True)
class BleBackend:
    """The classes to pass as ``backend=`` to bleak, for one bumble transport.

    Attributes:
        spec: the full spec, e.g. ``"bumble:virtual"``.
        transport: the bumble transport name, e.g. ``"virtual"`` or ``"usb:0"``.
        scanner: pass as ``BleakScanner(backend=...)``.
        client: pass as ``BleakClient(device, backend=...)``.
    """

    spec: str
    transport: str
    scanner: type[BaseBleakScanner]
    client: type[BaseBleakClient]


_BACKENDS: dict[str, BleBackend] = {}


def ble_backend(spec: str | None = None) -> BleBackend | None:
    """The bleak backend for ``spec``; None means the operating system's Bluetooth stack.

    ``spec`` is ``"bumble:<transport>"`` (any bumble transport name, or ``virtual`` for the
    in-process virtual radio), ``"virtual[:options]"`` (the same radio; the live commands then
    start virtual sensors on it, :mod:`imuhip.live.rehearsal`), or ``"os"`` / empty for the OS
    stack. When ``spec`` is None the
    ``IMUHIP_BLE`` environment variable is used, and when that is unset too, the OS stack.

    Raises:
        ValueError: for a spec that is neither ``os`` nor ``bumble:<transport>``.
    """
    if spec is None:
        spec = os.environ.get(ENV_VAR, "")
    spec = spec.strip()
    if spec in ("", "os", "system"):
        return None
    if spec == VIRTUAL or spec.startswith(VIRTUAL + ":"):
        spec = PREFIX + VIRTUAL  # the live commands put their virtual sensors on it
    if not spec.startswith(PREFIX) or len(spec) == len(PREFIX):
        raise ValueError(
            f"unknown BLE backend {spec!r}: use 'os', 'virtual', 'bumble:virtual' or "
            "'bumble:<transport>' "
            "(a bumble transport name such as usb:0, hci-socket:0 or tcp-client:HOST:PORT)"
        )
    if spec not in _BACKENDS:
        transport = spec[len(PREFIX) :]
        suffix = "".join(c if c.isalnum() else "_" for c in transport)
        scanner = type(f"BumbleScanner_{suffix}", (BumbleScanner,), {"transport": transport})
        client = type(f"BumbleClient_{suffix}", (BumbleClient,), {"transport": transport})
        _BACKENDS[spec] = BleBackend(spec, transport, scanner, client)
    return _BACKENDS[spec]


def scanner_backend(backend: BleBackend | None) -> type[BaseBleakScanner] | None:
    """What to pass as ``BleakScanner(backend=...)``."""
    return None if backend is None else backend.scanner


def client_backend(backend: BleBackend | None) -> type[BaseBleakClient] | None:
    """What to pass as ``BleakClient(..., backend=...)``."""
    return None if backend is None else backend.client


# --------------------------------------------------------------------------- uuids, addresses


def uuid_str(uuid: UUID) -> str:
    """A bumble UUID in bleak's form: lower-case 128-bit text."""
    b = uuid.to_bytes(force_128=True)[::-1].hex()
    return f"{b[:8]}-{b[8:12]}-{b[12:16]}-{b[16:20]}-{b[20:]}"


def address_str(address: hci.Address) -> str:
    """A bumble address as bleak shows it: ``AA:BB:CC:DD:EE:FF`` without type suffix."""
    return address.to_string(with_type_qualifier=False).upper()


_UUID_LISTS = {
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}
_SERVICE_DATA = {
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID: 2,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID: 4,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID: 16,
}


@dataclass
class _AdFields:
    name: str | None = None
    uuids: tuple[str, ...] = ()
    manufacturer: dict[int, bytes] | None = None
    service_data: dict[str, bytes] | None = None
    tx_power: int | None = None


def parse_ad(data: AdvertisingData) -> _AdFields:
    """The fields bleak reports, from bumble's AD structures (duplicates merged)."""
    f = _AdFields(manufacturer={}, service_data={})
    uuids: list[str] = []
    short_name = None
    for ad_type, value in data.ad_structures:
        if ad_type == AdvertisingData.Type.COMPLETE_LOCAL_NAME:
            f.name = value.decode("utf-8", "replace")
        elif ad_type == AdvertisingData.Type.SHORTENED_LOCAL_NAME:
            short_name = value.decode("utf-8", "replace")
        elif ad_type in _UUID_LISTS:
            size = _UUID_LISTS[ad_type]
            for i in range(0, len(value) - size + 1, size):
                u = uuid_str(UUID.from_bytes(value[i : i + size]))
                if u not in uuids:
                    uuids.append(u)
        elif ad_type == AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA and len(value) >= 2:
            f.manufacturer[int.from_bytes(value[:2], "little")] = bytes(value[2:])  # type: ignore[index]
        elif ad_type in _SERVICE_DATA and len(value) >= _SERVICE_DATA[ad_type]:
            size = _SERVICE_DATA[ad_type]
            f.service_data[uuid_str(UUID.from_bytes(value[:size]))] = bytes(value[size:])  # type: ignore[index]
        elif ad_type == AdvertisingData.Type.TX_POWER_LEVEL and len(value) == 1:
            f.tx_power = int.from_bytes(value, "little", signed=True)
    f.name = f.name or short_name
    f.uuids = tuple(uuids)
    return f


# --------------------------------------------------------------------------- the virtual air


class CancellingController(Controller):
    """bumble's virtual controller, with LE Create Connection Cancel that really cancels.

    Upstream only acknowledges the cancel: the pending connection stays armed and completes
    later when the peer advertises again, which the host no longer expects (it asserts). A
    real controller drops the pending connection and reports it with status 0x02.
    """

    def on_hci_le_create_connection_cancel_command(self, command: Any) -> Any:
        pending = self.pending_le_connection
        self.pending_le_connection = None
        if pending is not None:
            event = hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
            asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualAir:
    """An in-process virtual radio: one bumble ``LocalLink`` per asyncio event loop.

    The central of ``bumble:virtual`` and every virtual sensor attach a controller to it.
    Build it inside the loop that uses it (bumble binds link and pipes to the running loop);
    :func:`virtual_air` does that and returns the same object for the same loop.
    """

    def __init__(self) -> None:
        self.link = LocalLink()
        self.loop = asyncio.get_running_loop()
        self._next = 1
        self.used: set[str] = set()

    def new_address(self) -> str:
        """A fresh random-static address unique on this link."""
        while True:
            n = self._next
            a = f"D0:5E:{(n >> 16) & 0xFF:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}:01"
            self._next += 1
            if a not in self.used:
                return a

    def attach(self, name: str, address: str) -> tuple[Controller, Host]:
        """A new controller on the link and a host talking to it (for a bumble ``Device``)."""
        address = address.upper()
        if address in self.used:
            raise ValueError(f"address {address} is already used on this virtual radio")
        self.used.add(address)
        controller = CancellingController(name, link=self.link, public_address=address)
        controller.random_address = hci.Address(address)
        host = Host(controller, AsyncPipeSink(controller))
        return controller, host

    def detach(self, controller: Controller) -> None:
        with contextlib.suppress(KeyError):
            self.link.remove_controller(controller)
        self.used.discard(address_str(controller.random_address))

    def drop_connections(
        self,
        controller: Controller,
        reason: int = hci.HCI_CONNECTION_TIMEOUT_ERROR,
        central_delay_s: float = 0.0,
    ) -> int:
        """Simulate link loss of every connection of ``controller`` (a vanished device).

        The device's own side learns it at once; the peer side after ``central_delay_s``
        (a real central notices after the supervision timeout). No LL terminate is sent.
        Returns the number of connections dropped.
        """
        conns = list(controller.le_connections.values())
        for conn in conns:
            own = conn.self_address
            peer_ctrl = self.link.find_le_controller(conn.peer_address)
            controller.on_le_disconnected(conn, reason)

            def drop_peer(peer_ctrl=peer_ctrl, own=own) -> None:
                if peer_ctrl is None:
                    return
                for pc in list(peer_ctrl.le_connections.values()):
                    if pc.peer_address.address_bytes == own.address_bytes:
                        peer_ctrl.on_le_disconnected(pc, reason)

            if central_delay_s > 0:
                self.loop.call_later(central_delay_s, drop_peer)
            else:
                drop_peer()
        return len(conns)


_AIRS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualAir] = (
    weakref.WeakKeyDictionary()
)


def virtual_air() -> VirtualAir:
    """The virtual radio of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    air = _AIRS.get(loop)
    if air is None:
        air = _AIRS[loop] = VirtualAir()
    return air


# --------------------------------------------------------------------------- one bumble host


class _Radio:
    """One bumble host device per (event loop, transport), shared by scanners and clients.

    Scanning is reference-counted; LE connection attempts are serialised (bumble refuses a
    second one while one is pending).
    """

    def __init__(self, transport_name: str) -> None:
        self.transport_name = transport_name
        self.device: Device | None = None
        self._transport: Any = None
        self._controller: Controller | None = None
        self.scanners: set[BumbleScanner] = set()
        self.connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self.seen: dict[str, hci.Address] = {}
        self._seen_event = asyncio.Event()

    async def open(self) -> None:
        if self.transport_name == VIRTUAL:
            air = virtual_air()
            self._controller, host = air.attach("imuhip-central", CENTRAL_ADDRESS)
            self.device = Device(name="imuhip", address=hci.Address(CENTRAL_ADDRESS), host=host)
        else:
            from bumble.transport import open_transport

            try:
                self._transport = await open_transport(self.transport_name)
            except Exception as exc:
                from imuhip.sources.ble.stack import unavailable

                raise unavailable(
                    f"bumble cannot open the transport '{self.transport_name}' "
                    f"({type(exc).__name__}: {exc})",
                    PREFIX + self.transport_name,
                ) from exc
            self.device = Device.with_hci(
                "imuhip",
                hci.Address(CENTRAL_ADDRESS),
                self._transport.source,
                self._transport.sink,
            )
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self.device.power_on()

    async def close(self) -> None:
        if self.device is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.device.power_off(), 2.0)
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
        if self._controller is not None:
            virtual_air().detach(self._controller)

    # -- scanning
    async def add_scanner(self, scanner: BumbleScanner) -> None:
        async with self._scan_lock:
            self.scanners.add(scanner)
            await self._update_scanning()

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        async with self._scan_lock:
            self.scanners.discard(scanner)
            await self._update_scanning()

    async def _update_scanning(self) -> None:
        assert self.device is not None
        want = bool(self.scanners)
        if want and not self.device.scanning:
            await self.device.start_scanning(
                active=any(s.active for s in self.scanners), filter_duplicates=False
            )
        elif not want and self.device.scanning:
            await self.device.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        key = address_str(adv.address)
        self.seen[key] = adv.address
        self._seen_event.set()
        for s in list(self.scanners):
            try:
                s._on_advertisement(adv)
            except Exception:  # a callback must not stop the radio
                logger.exception("scanner callback failed")

    async def resolve(self, address: str, timeout: float) -> hci.Address:
        """The typed bumble address for ``address``, scanning for it if not seen yet."""
        key = address.upper()
        if key in self.seen:
            return self.seen[key]
        probe = _ProbeScanner()
        await self.add_scanner(probe)  # type: ignore[arg-type]
        try:
            async with asyncio.timeout(timeout):
                while key not in self.seen:
                    self._seen_event.clear()
                    await self._seen_event.wait()
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                address, f"device with address {address} was not found"
            ) from None
        finally:
            await self.remove_scanner(probe)  # type: ignore[arg-type]
        return self.seen[key]


class _ProbeScanner:
    active = True

    def _on_advertisement(self, adv: Advertisement) -> None:
        pass


_RADIOS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Radio]] = (
    weakref.WeakKeyDictionary()
)
_RADIO_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def _get_radio(transport: str) -> _Radio:
    loop = asyncio.get_running_loop()
    lock = _RADIO_LOCKS.setdefault(loop, asyncio.Lock())
    async with lock:
        radios = _RADIOS.setdefault(loop, {})
        radio = radios.get(transport)
        if radio is None:
            radio = _Radio(transport)
            await radio.open()
            radios[transport] = radio
        return radio


async def close_radios() -> None:
    """Power off and forget the bumble hosts of the running loop (tests, program exit)."""
    loop = asyncio.get_running_loop()
    radios = _RADIOS.pop(loop, {})
    for r in radios.values():
        await r.close()


# --------------------------------------------------------------------------- scanner


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` of devices found by the bumble scanner."""

    address: hci.Address
    transport: str


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend over bumble (use :func:`ble_backend` to get a bound subclass)."""

    transport: ClassVar[str] = VIRTUAL

    def __init__(
        self,
        detection_callback: Any = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.active = scanning_mode != "passive"
        self._radio: _Radio | None = None
        self._merged: dict[str, _AdFields] = {}

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        self._radio = await _get_radio(self.transport)
        await self._radio.add_scanner(self)

    async def stop(self) -> None:
        if self._radio is not None:
            await self._radio.remove_scanner(self)

    def _on_advertisement(self, adv: Advertisement) -> None:
        key = address_str(adv.address)
        f = parse_ad(adv.data)
        old = self._merged.get(key)
        if old is not None:  # merge advertising data and scan response, as OS stacks do
            f.name = f.name or old.name
            f.uuids = tuple(dict.fromkeys(old.uuids + f.uuids))
            f.manufacturer = {**(old.manufacturer or {}), **(f.manufacturer or {})}
            f.service_data = {**(old.service_data or {}), **(f.service_data or {})}
            f.tx_power = f.tx_power if f.tx_power is not None else old.tx_power
        self._merged[key] = f
        if not self.is_allowed_uuid(list(f.uuids)):
            return
        rssi = adv.rssi if adv.rssi != Advertisement.RSSI_NOT_AVAILABLE else -127
        data = AdvertisementData(
            local_name=f.name,
            manufacturer_data=dict(f.manufacturer or {}),
            service_data=dict(f.service_data or {}),
            service_uuids=list(f.uuids),
            tx_power=f.tx_power,
            rssi=rssi,
            platform_data=(adv,),
        )
        device = self.create_or_update_device(
            key, key, f.name, BumbleDeviceDetails(adv.address, self.transport), data
        )
        self.call_detection_callbacks(device, data)


# --------------------------------------------------------------------------- client


class BumbleClient(BaseBleakClient):
    """bleak client backend over bumble (use :func:`ble_backend` to get a bound subclass)."""

    transport: ClassVar[str] = VIRTUAL

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self.address = self.address.upper()
        self._peer_address: hci.Address | None = None
        self._name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name
            details = address_or_ble_device.details
            if isinstance(details, BumbleDeviceDetails):
                self._peer_address = details.address
        self._radio: _Radio | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = 23
        self._lost: asyncio.Future[None] | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self.op_timeout_s = min(DEFAULT_OP_TIMEOUT_S, timeout)

    # -- properties
    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and self._lost is not None and not self._lost.done()

    @property
    def connection_interval_s(self) -> float | None:
        """The connection interval in use, s (None when not connected)."""
        conn = self._connection
        return None if conn is None else 1e-3 * float(conn.parameters.connection_interval)

    # -- connection
    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self.is_connected:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        loop = asyncio.get_running_loop()
        self._radio = await _get_radio(self.transport)
        deadline = loop.time() + timeout
        address = self._peer_address or await self._radio.resolve(self.address, timeout)
        async with self._radio.connect_lock:
            assert self._radio.device is not None
            left = max(0.05, deadline - loop.time())
            try:
                # bumble cancels the attempt itself on timeout; the outer bound is a backstop
                conn = await asyncio.wait_for(
                    self._radio.device.connect(
                        address,
                        transport=PhysicalTransport.LE,
                        connection_parameters_preferences=_PREFERENCES,
                        timeout=left,
                    ),
                    left + 2.0,
                )
            except (TimeoutError, CoreTimeoutError) as exc:
                raise TimeoutError(f"{self.address}: connection timed out") from exc
        self._connection = conn
        self._lost = loop.create_future()
        self._subscribers = {}
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(conn)
        try:
            try:
                self._mtu = await self._guard(self._peer.request_mtu(REQUESTED_MTU))
            except BleakError:
                raise
            except Exception as exc:  # peers may refuse an MTU exchange: keep 23
                logger.debug("MTU exchange failed: %s", exc)
            self.services = await self._guard(self._discover(), timeout)
        except BaseException:
            await self._drop_locally()
            raise
        if pair:
            logger.debug("pairing is not supported by the bumble backend; ignored")

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        peer = self._peer
        coll = BleakGATTServiceCollection()
        for sp in await peer.discover_services():
            service = BleakGATTService(sp, sp.handle, uuid_str(sp.uuid))
            coll.add_service(service)
            for cp in await peer.discover_characteristics(service=sp):
                props = _properties(cp.properties)
                char = BleakGATTCharacteristic(
                    cp, cp.handle - 1, uuid_str(cp.uuid), props, lambda: self._mtu - 3, service
                )
                coll.add_characteristic(char)
                for dp in await peer.discover_descriptors(characteristic=cp):
                    coll.add_descriptor(BleakGATTDescriptor(dp, dp.handle, uuid_str(dp.type), char))
        return coll

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s disconnected (reason 0x%02X)", self.address, reason)
        first = self._lost is not None and not self._lost.done()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._connection = None
        self._peer = None
        self.services = None
        if first and self._disconnected_callback is not None:
            cb = self._disconnected_callback
            asyncio.get_running_loop().call_soon(cb)

    async def _drop_locally(self) -> None:
        conn = self._connection
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.disconnect(), DISCONNECT_TIMEOUT_S)
        if self._connection is not None:  # no disconnection event came: forget the link
            self._on_disconnection(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def disconnect(self) -> None:
        if not self.is_connected:
            return
        await self._drop_locally()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not supported by the bumble backend")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not supported by the bumble backend")

    # -- bounded operations
    async def _guard(self, aw: Awaitable[_T], timeout: float | None = None) -> _T:
        """Await ``aw`` unless the link drops or ``timeout`` passes; ATT errors become bleak's."""
        if not self.is_connected:
            if asyncio.iscoroutine(aw):
                aw.close()
            raise BleakError("Not connected")
        assert self._lost is not None
        task = asyncio.ensure_future(aw)
        lost = self._lost
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=timeout or self.op_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except BaseException:
            task.cancel()
            raise
        if task in done:
            try:
                return task.result()
            except att.ATT_Error as exc:
                raise BleakGATTProtocolError(int(exc.error_code)) from exc
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if lost.done():
            raise BleakError(f"{self.address}: disconnected during a GATT operation")
        raise TimeoutError(f"{self.address}: GATT operation timed out")

    @staticmethod
    def _proxy(characteristic: BleakGATTCharacteristic) -> CharacteristicProxy:
        return characteristic.obj

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        return bytearray(await self._guard(self._proxy(characteristic).read_value()))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        proxy: DescriptorProxy = descriptor.obj
        return bytearray(await self._guard(proxy.read_value()))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        proxy = self._proxy(characteristic)
        await self._guard(proxy.write_value(bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        proxy: DescriptorProxy = descriptor.obj
        await self._guard(proxy.write_value(bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        proxy = self._proxy(characteristic)
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"characteristic {characteristic.uuid} cannot notify or indicate")

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        assert self._peer is not None
        old = self._subscribers.pop(characteristic.handle, None)
        if old is not None:
            with contextlib.suppress(Exception):
                await self._guard(self._peer.unsubscribe(proxy, old))
        self._subscribers[characteristic.handle] = subscriber
        await self._guard(
            self._peer.subscribe(
                proxy, subscriber, prefer_notify="notify" in characteristic.properties
            )
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        sub = self._subscribers.pop(characteristic.handle, None)
        if sub is None or self._peer is None:
            return
        await self._guard(self._peer.unsubscribe(self._proxy(characteristic), sub))


_PROPS = [
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
]


def _properties(p: int) -> list[Any]:
    return [name for flag, name in _PROPS if p & flag]


__all__ = [
    "ENV_VAR",
    "BleBackend",
    "BumbleClient",
    "BumbleDeviceDetails",
    "BumbleScanner",
    "VirtualAir",
    "address_str",
    "ble_backend",
    "client_backend",
    "close_radios",
    "scanner_backend",
    "uuid_str",
    "virtual_air",
]
