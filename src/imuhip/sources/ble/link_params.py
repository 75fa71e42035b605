"""Short BLE connection intervals: ask the host's stack for one where it lets a client, and
report the interval in use where the stack tells.

Sensors that send no timestamps (WitMotion, MetaMotion, Thingy:52) are timed from when their
notifications arrive, and notifications only arrive at connection events. With a 7.5-15 ms
interval the thigh and shin come out within about a millisecond of each other; at 30 ms and
more a sensor whose clock never drifts across the events keeps an unknown wait of up to one
sample period, and the two sensors can end up 10 ms apart (SIMULATED; README, time
alignment).

What each bleak backend allows a client (the peripheral can also ask; WitMotion's firmware is
not known to):

- **bumble** (imuhip's own backend, ``--ble bumble:...``): the connection request itself asks
  for :data:`~imuhip.sources.ble.bumble_backend.PREFERRED_INTERVAL_MS`; the interval in use is
  read from the connection.
- **Windows 11** (WinRT): ``BluetoothLEDevice.RequestPreferredConnectionParameters`` with the
  ``ThroughputOptimized`` preset. Windows applies it only while the returned request object
  stays open, so :class:`LinkRequest` holds it until :meth:`LinkRequest.close`. The interval in
  use comes from ``GetConnectionParameters`` (1.25 ms units). Windows 10 has neither call:
  nothing is asked and the interval is unknown.
- **BlueZ** (Linux) and **CoreBluetooth** (macOS): no call for a client. BlueZ's defaults are
  30-50 ms; ``firmware_notes/witmotion.md`` says how to set 7.5-15 ms system-wide.

Nothing here raises: a stack that refuses or lacks the call gives a :class:`LinkParameters`
that says so, and the recording goes on (the analysis warns from the arrival times when the
interval was long).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

#: One unit of the BLE connection interval, s.
INTERVAL_UNIT_S = 1.25e-3

_BLUEZ_HINT = (
    "BlueZ lets no client ask for an interval; its defaults are 30-50 ms "
    "(/etc/bluetooth/main.conf [LE] MinConnectionInterval=6, MaxConnectionInterval=12 sets "
    "7.5-15 ms; firmware_notes/witmotion.md)"
)
_MACOS_HINT = "macOS chooses the interval itself; no client can ask for one"


@dataclass(frozen=True)
class LinkParameters:
    """What was asked of the stack for one connection and what it reports.

    Attributes:
        stack: ``"bumble"``, ``"winrt"``, ``"bluez"``, ``"corebluetooth"`` or the backend's
            class name when it is none of these.
        requested: what was asked (e.g. ``"7.5-15 ms"``, ``"throughput-optimized"``), or None
            when nothing could be.
        interval_s: the connection interval in use as the stack reports it, s; None when it
            does not.
        detail: the request's outcome or why nothing was asked, for the log and the session.
    """

    stack: str
    requested: str | None
    interval_s: float | None
    detail: str

    def event_data(self) -> dict[str, Any]:
        """The ``link_parameters`` session event's data (interval in ms, rounded to 0.01)."""
        return {
            "stack": self.stack,
            "requested": self.requested,
            "interval_ms": None if self.interval_s is None else round(1e3 * self.interval_s, 2),
            "detail": self.detail,
        }


class LinkRequest:
    """A request for a short interval on one connection; :meth:`close` it at disconnect."""

    def __init__(
        self,
        stack: str,
        requested: str | None,
        detail: str,
        backend: Any = None,
        handle: Any = None,
    ) -> None:
        self.stack = stack
        self.requested = requested
        self.detail = detail
        self._backend = backend
        self._handle = handle

    def parameters(self) -> LinkParameters:
        """The request and the interval the stack reports now (read it once streaming: an
        interval update takes effect a few connection events after it is asked for)."""
        return LinkParameters(self.stack, self.requested, self._interval_s(), self.detail)

    def _interval_s(self) -> float | None:
        b = self._backend
        if b is None:
            return None
        try:
            if self.stack == "bumble":
                v = b.connection_interval_s
                return None if v is None else float(v)
            if self.stack == "winrt":
                get = getattr(b._requester, "get_connection_parameters", None)
                if get is None:
                    return None
                return int(get().connection_interval) * INTERVAL_UNIT_S
        except Exception as exc:  # the stack's own query failed: the interval stays unknown
            logger.debug("connection interval unavailable: %s", exc)
        return None

    def close(self) -> None:
        """Let the stack go back to its own choice (WinRT: close the request object)."""
        h, self._handle = self._handle, None
        if h is not None:
            try:
                h.close()
            except Exception as exc:
                logger.debug("closing the connection-parameter request: %s", exc)


def _stack(backend: Any) -> str:
    name = type(backend).__name__
    if name.startswith("BumbleClient"):
        return "bumble"
    return {
        "BleakClientWinRT": "winrt",
        "BleakClientBlueZDBus": "bluez",
        "BleakClientCoreBluetooth": "corebluetooth",
    }.get(name, name)


def request_short_interval(client: Any) -> LinkRequest:
    """Ask the stack under a connected bleak ``client`` for a short connection interval.

    Never raises (see the module docstring for what each stack allows).
    """
    backend = getattr(client, "_backend", None)
    stack = _stack(backend)
    if stack == "bumble":
        from imuhip.sources.ble.bumble_backend import PREFERRED_INTERVAL_MS

        lo, hi = PREFERRED_INTERVAL_MS
        return LinkRequest(stack, f"{lo:g}-{hi:g} ms", "asked when connecting", backend)
    if stack == "winrt":
        return _request_winrt(backend)
    if stack == "bluez":
        return LinkRequest(stack, None, _BLUEZ_HINT)
    if stack == "corebluetooth":
        return LinkRequest(stack, None, _MACOS_HINT)
    return LinkRequest(stack, None, "unknown bleak backend: nothing asked")


def _request_winrt(backend: Any) -> LinkRequest:
    device = getattr(backend, "_requester", None)  # bleak's WinRT BluetoothLEDevice
    ask = getattr(device, "request_preferred_connection_parameters", None)
    if ask is None:
        return LinkRequest(
            "winrt", None, "this Windows has no connection-parameter request (Windows 11 does)"
        )
    try:
        from winrt.windows.devices.bluetooth import BluetoothLEPreferredConnectionParameters

        handle = ask(BluetoothLEPreferredConnectionParameters.throughput_optimized)
    except Exception as exc:
        return LinkRequest("winrt", None, f"request failed: {type(exc).__name__}: {exc}", backend)
    status = getattr(handle, "status", None)
    detail = "status " + str(getattr(status, "name", status)).lower()
    return LinkRequest("winrt", "throughput-optimized", detail, backend, handle)
