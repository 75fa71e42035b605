"""Is there a Bluetooth stack to talk to? A missing one is named at once, with what to try,
instead of surfacing as a D-Bus traceback or as sensors "not found" after a long search."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from imuhip.errors import BluetoothUnavailableError

#: Where BlueZ's D-Bus system bus listens when ``DBUS_SYSTEM_BUS_ADDRESS`` is unset.
DEFAULT_SYSTEM_BUS_SOCKETS = ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket")

#: What to try instead, the end of a :class:`BluetoothUnavailableError` message about the OS
#: stack (about a bumble transport: only :data:`NO_HARDWARE`).
DONGLE = (
    "To drive a USB Bluetooth dongle directly (no system service needed), add '--ble bumble:usb:0'."
)
NO_HARDWARE = (
    "To rehearse without any hardware, add '--ble virtual' (virtual sensors and a simulated "
    "leg: scan, pair, then record or live), or run 'imuhip demo'."
)


def system_bus_socket(environ: dict[str, str] | None = None) -> str | None:
    """The D-Bus system bus socket path (from ``DBUS_SYSTEM_BUS_ADDRESS`` or the default), or
    None when the address is not a unix socket path (abstract sockets, TCP: cannot be checked)."""
    env = os.environ if environ is None else environ
    address = env.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    if not address:
        return next((p for p in DEFAULT_SYSTEM_BUS_SOCKETS if Path(p).exists()),
                    DEFAULT_SYSTEM_BUS_SOCKETS[0])  # fmt: skip
    for part in address.split(";")[0].split(":", 1)[-1].split(","):
        key, _, value = part.partition("=")
        if address.startswith("unix:") and key == "path":
            return value
    return None


def os_stack_problem(platform: str | None = None, environ: dict[str, str] | None = None) -> str:
    """Why the operating system's Bluetooth stack cannot be used, "" when nothing is known to be
    wrong (checked: on Linux, the D-Bus system bus BlueZ is reached through)."""
    if not (platform or sys.platform).startswith("linux"):
        return ""
    path = system_bus_socket(environ)
    if path is not None and not Path(path).exists():
        return (
            f"there is no D-Bus system bus ({path} does not exist), so BlueZ, Linux's Bluetooth "
            "service, cannot be reached (it is not installed or not running, e.g. in a container)"
        )
    return ""


def unavailable(reason: str, spec: str = "") -> BluetoothUnavailableError:
    """The error for a stack that cannot be used: ``reason``, what to check, what to try."""
    if spec.startswith("bumble:"):
        check = (
            f"Check that the transport '{spec[len('bumble:') :]}' exists and is free (a USB "
            "dongle plugged in and not claimed by the system's Bluetooth service, or the "
            "controller's address and port), or leave out --ble to use the system's Bluetooth."
        )
        instead = NO_HARDWARE
    else:
        check = (
            "On Linux, start the Bluetooth service ('sudo systemctl start bluetooth', with "
            "D-Bus running) and check 'bluetoothctl show' lists an adapter; elsewhere, switch "
            "Bluetooth on in the system settings."
        )
        instead = f"{DONGLE} {NO_HARDWARE}"
    return BluetoothUnavailableError(f"no Bluetooth stack to use: {reason}. {check} {instead}")


def check_os_stack(spec: str = "") -> None:
    """Raise :class:`BluetoothUnavailableError` when the OS stack is known to be unusable."""
    problem = os_stack_problem()
    if problem:
        raise unavailable(problem, spec)


def stack_failure(exc: BaseException, spec: str = "") -> BluetoothUnavailableError | None:
    """The :class:`BluetoothUnavailableError` an exception from the BLE library stands for (no
    D-Bus, no adapter, Bluetooth off, BlueZ not running), or None for other failures (a sensor
    not found, a lost link)."""
    if isinstance(exc, BluetoothUnavailableError):
        return exc
    if spec.startswith("bumble:"):
        return None  # bumble's transport failures are raised as BluetoothUnavailableError
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError | PermissionError):
        problem = os_stack_problem()
        return unavailable(problem or f"the system's Bluetooth service cannot be reached ({text})",
                           spec)  # fmt: skip
    markers = (
        "no bluetooth adapters", "bluetooth device is turned off", "adapter not found",
        "org.freedesktop.dbus.error.serviceunknown", "org.bluez.error.notready",
        "bluetooth is turned off", "bluetooth is unsupported", "bluetooth device is unauthorized",
    )  # fmt: skip
    if any(m in lowered for m in markers):
        return unavailable(f"the Bluetooth stack reports {text}", spec)
    return None
