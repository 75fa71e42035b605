"""Scan for sensors and name their profile (for pairing and ``imuhip scan``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bleak import BleakScanner

from imuhip.decode.profile import Advertisement, SensorProfile, recognise
from imuhip.sources.ble.stack import check_os_stack, stack_failure

if TYPE_CHECKING:  # bumble is only needed when a bumble backend is passed
    from imuhip.sources.ble.bumble_backend import BleBackend


def scanner_backend(backend: BleBackend | None) -> Any:
    return None if backend is None else backend.scanner


def client_backend(backend: BleBackend | None) -> Any:
    return None if backend is None else backend.client


@dataclass(frozen=True)
class Found:
    """A device seen while scanning.

    Attributes:
        name: advertised name ("" when none).
        address: BLE address (platform UUID on macOS).
        rssi: signal strength of the last advertisement, dBm.
        profile: name of the recognised sensor profile, or None for other devices.
        service_uuids: advertised service UUIDs (lower-case 128-bit).
    """

    name: str
    address: str
    rssi: int
    profile: str | None
    service_uuids: tuple[str, ...] = ()

    @property
    def recognised(self) -> bool:
        return self.profile is not None


async def scan(
    timeout: float = 5.0, backend: BleBackend | None = None, *, only_recognised: bool = False
) -> list[Found]:
    """Everything advertising during ``timeout`` seconds, recognised sensors first, then by RSSI.

    ``backend`` is None for the OS stack, or from
    :func:`~imuhip.sources.ble.bumble_backend.ble_backend`.

    Raises:
        BluetoothUnavailableError: there is no Bluetooth stack to scan with (what is missing,
            what to try).
    """
    spec = "" if backend is None else backend.spec
    if backend is None:
        check_os_stack()
    try:
        seen = await BleakScanner.discover(
            timeout=timeout, return_adv=True, backend=scanner_backend(backend)
        )
    except Exception as exc:
        fatal = stack_failure(exc, spec)
        if fatal is None:
            raise
        raise fatal from exc
    out = []
    for device, adv in seen.values():
        info = Advertisement(
            name=adv.local_name or device.name,
            service_uuids=tuple(u.lower() for u in adv.service_uuids),
            manufacturer_data=dict(adv.manufacturer_data),
            address=device.address,
            rssi=adv.rssi,
        )
        prof: SensorProfile | None = recognise(info)
        if only_recognised and prof is None:
            continue
        out.append(
            Found(
                name=info.name or "",
                address=device.address,
                rssi=adv.rssi,
                profile=prof.name if prof else None,
                service_uuids=info.service_uuids,
            )
        )
    out.sort(key=lambda f: (f.profile is None, -f.rssi, f.address))
    return out


__all__ = ["Found", "scan"]
