"""The BLE edge: one asyncio loop in a thread of its own, behind a synchronous interface.

Everything asynchronous (bleak, bumble, the :class:`~.connection.ConnectionManager`, virtual
sensors on bumble's in-process radio) runs on the loop of a :class:`LinkThread`; the caller
(``imuhip.live``) only calls its plain methods, each bounded in time::

    with LinkThread(backend) as link:             # the thread and its loop
        link.power_on(make_virtual_sensors)       # optional: peripherals on the link's loop
        link.connect(assignments, on_notification, on_event, settings=s, clock=c)
        missing = link.streaming(30.0).result()   # a concurrent.futures.Future
        ...                                       # read link.status, take the notifications
        link.disconnect()                         # stop sequences, disconnect
                                                  # (leaving the block: peripherals off, radios
                                                  # closed, loop ended, thread joined)

The notification and event sinks given to :meth:`LinkThread.connect` are called on the link's
thread, straight from the BLE callbacks (the receive time stamps are taken there): they must
be cheap and thread-safe (append to a ``collections.deque``, as the live runner does).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from imuhip.errors import BluetoothTimeoutError
from imuhip.host_time import host_now
from imuhip.sources.ble.connection import (
    Assignment,
    ConnectionManager,
    EventSink,
    LinkStatus,
    ManagerSettings,
    NotificationSink,
    SensorNotFoundError,
)
from imuhip.sources.ble.scan import Found, scan

if TYPE_CHECKING:
    from imuhip.sources.ble.bumble_backend import BleBackend

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Longest wait for a short step on the link's loop (building, starting or reading), s.
CALL_TIMEOUT_S = 30.0
#: Longest wait for the link's thread to start its loop, s.
START_TIMEOUT_S = 10.0
#: Longest time :meth:`LinkThread.stop` spends ending peripherals and radios, s.
SHUTDOWN_TIMEOUT_S = 10.0


class Peripheral(Protocol):
    """Something on the air for the session's length (a virtual sensor): started and stopped
    on the link's loop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LinkThread:
    """The BLE side of a session: a thread running an asyncio loop (see the module docstring).

    Args:
        backend: None for the OS stack, or a bumble backend from
            :func:`~imuhip.sources.ble.bumble_backend.ble_backend`.
        name: the thread's name.
    """

    def __init__(self, backend: BleBackend | None = None, *, name: str = "imuhip-ble") -> None:
        self.backend = backend
        self.name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None
        self._ready = threading.Event()
        self._manager: ConnectionManager | None = None
        self._peripherals: list[Peripheral] = []
        self._disconnected = False

    # -- the thread
    def start(self, timeout: float = START_TIMEOUT_S) -> LinkThread:
        """Start the thread and its loop (returns once the loop runs).

        Raises:
            BluetoothTimeoutError: the loop did not start within ``timeout`` seconds.
        """
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._loop is None:
            raise BluetoothTimeoutError(f"the Bluetooth thread did not start within {timeout:g} s")
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException:
            logger.exception("the Bluetooth thread failed")
        finally:
            self._loop = None
            self._ready.set()

    async def _serve(self) -> None:
        self._closing = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._closing.wait()
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                await self._shutdown()
        except TimeoutError:
            logger.warning("the Bluetooth side did not shut down within %g s", SHUTDOWN_TIMEOUT_S)

    async def _shutdown(self) -> None:
        if self._manager is not None and not self._disconnected:
            await self._manager.stop()
        for p in reversed(self._peripherals):
            try:
                await p.stop()
            except Exception:
                logger.exception("a peripheral failed to stop")
        self._peripherals.clear()
        if "imuhip.sources.ble.bumble_backend" in sys.modules:
            from imuhip.sources.ble.bumble_backend import close_radios

            await close_radios()

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT_S + 5.0) -> None:
        """Disconnect (if still connected), stop the peripherals, close bumble's radios, end
        the loop and join the thread; returns within about ``timeout`` seconds whatever the
        BLE side does (a thread that does not end is logged and left: it is a daemon)."""
        thread, loop, closing = self._thread, self._loop, self._closing
        if thread is None:
            return
        if loop is not None and closing is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended already
                loop.call_soon_threadsafe(closing.set)
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("the Bluetooth thread did not end within %g s", timeout)
        self._thread = None

    def __enter__(self) -> LinkThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- running things on the loop
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the link's loop; its future (``result(timeout)``) in this thread."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the Bluetooth thread is not running (call start() first)")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float, what: str = "") -> T:
        """Run ``coro`` on the link's loop and wait for its result (its exception is raised
        here).

        Raises:
            BluetoothTimeoutError: no result within ``timeout`` seconds (``coro`` is cancelled).
        """
        fut = self.submit(coro)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            step = what or getattr(coro, "__name__", "a Bluetooth step")
            raise BluetoothTimeoutError(f"{step} did not finish within {timeout:g} s") from None

    def call(self, fn: Callable[[], T], timeout: float = CALL_TIMEOUT_S) -> T:
        """``fn()`` called on the link's thread, inside its running loop (what needs the loop:
        building a virtual sensor, reading its clock); returns its result."""

        async def called() -> T:
            return fn()

        return self.run(called(), timeout, getattr(fn, "__name__", "a call"))

    # -- the session
    def power_on(
        self, make: Callable[[], Sequence[Peripheral]], timeout: float = CALL_TIMEOUT_S
    ) -> list[Peripheral]:
        """Build peripherals with ``make()`` on the link's loop and start them; they are
        stopped by :meth:`stop`. Returns them."""

        async def powered() -> list[Peripheral]:
            made = list(make())
            for p in made:
                await p.start()
                self._peripherals.append(p)
            return made

        return self.run(powered(), timeout, "powering the virtual sensors on")

    def scan(self, timeout_s: float, *, only_recognised: bool = False) -> list[Found]:
        """What advertises during ``timeout_s`` seconds (see :func:`~.scan.scan`)."""
        return self.run(
            scan(timeout_s, self.backend, only_recognised=only_recognised),
            timeout_s + CALL_TIMEOUT_S,
            "the scan",
        )

    def connect(
        self,
        assignments: Sequence[Assignment],
        on_notification: NotificationSink,
        on_event: EventSink | None = None,
        *,
        settings: ManagerSettings | None = None,
        clock: Callable[[], float] = host_now,
    ) -> None:
        """Start connecting and streaming every assigned sensor (each reconnects by itself).
        The sinks are called on the link's thread (see the module docstring).

        Raises:
            BluetoothUnavailableError: the OS stack is known to be unusable.
        """

        async def started() -> None:
            self._manager = ConnectionManager(
                assignments, on_notification, on_event, backend=self.backend,
                settings=settings, clock=clock,
            )  # fmt: skip
            await self._manager.start()

        self.run(started(), CALL_TIMEOUT_S, "starting the connections")

    def streaming(self, timeout_s: float) -> concurrent.futures.Future[list[str]]:
        """A future of the roles that did not stream within ``timeout_s`` seconds (done as
        soon as all do; raises BluetoothUnavailableError when there is no stack)."""
        return self.submit(self._connected().wait_streaming(timeout_s))

    def _connected(self) -> ConnectionManager:
        if self._manager is None:
            raise RuntimeError("no sensors connected (call connect() first)")
        return self._manager

    @property
    def status(self) -> dict[str, LinkStatus]:
        """role -> a copy of its link's counters now (taken field by field from this thread:
        counters may be a notification apart)."""
        if self._manager is None:
            return {}
        return {r: dataclasses.replace(s) for r, s in self._manager.status.items()}

    def not_found(self, missing: Sequence[str]) -> SensorNotFoundError:
        """The error naming sensors that never streamed, and what to check."""
        return self._connected().not_found(missing)

    def disconnect(self) -> None:
        """Stop streaming (profile stop sequences), disconnect and end the sensors' tasks;
        bounded by the settings' stop timeout. Everything received has been delivered to the
        sinks when it returns."""
        m = self._manager
        if m is None or self._disconnected:
            return
        timeout = 2 * (m.settings.stop_timeout_s * 2 + 1) + 5.0
        self.run(m.stop(), timeout, "disconnecting the sensors")
        self._disconnected = True  # (after a timeout, stop() tries again, bounded)


__all__ = ["LinkThread", "Peripheral"]
