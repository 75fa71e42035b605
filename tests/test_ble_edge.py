"""The BLE edge's synchronous interface (``sources/ble/edge.py``) and the live runner's plain
signal handling: bounded waits, joined threads, a clean first Ctrl-C/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from imuhip.errors import BluetoothTimeoutError
from imuhip.live.runner import StopSignals
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.edge import LinkThread


def test_the_link_runs_coroutines_on_its_own_thread_and_ends_joined():
    link = LinkThread(ble_backend("bumble:virtual")).start()
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        assert link.run(where(), 5.0) == "imuhip-ble"
        assert link.call(lambda: threading.current_thread().name) == "imuhip-ble"
        assert link.status == {}  # nothing connected yet
        with pytest.raises(ZeroDivisionError):  # the coroutine's error is raised here
            link.call(lambda: 1 / 0)
    finally:
        link.stop()
    assert "imuhip-ble" not in {t.name for t in threading.enumerate()}  # joined
    with pytest.raises(RuntimeError, match="not running"):
        link.call(lambda: None)


def test_a_step_that_does_not_finish_is_a_timeout_error_and_stop_still_returns():
    with LinkThread() as link:
        t0 = time.monotonic()
        with pytest.raises(BluetoothTimeoutError, match=r"did not finish within 0\.2 s"):
            link.run(asyncio.sleep(60), 0.2, "the wait")
        assert time.monotonic() - t0 < 5.0
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 5.0  # the cancelled step does not hold the stop


def test_virtual_sensors_powered_on_the_link_are_scanned_and_stopped_with_it():
    from imuhip.sources.ble.virtual_sensor import VirtualSensor
    from tests.ble_testkit import FakeImuEmulation

    calls: list[str] = []

    class Recorded:
        def __init__(self) -> None:
            self.sensor = VirtualSensor(FakeImuEmulation(), name="edge-test")

        async def start(self) -> None:
            calls.append("start")
            await self.sensor.start()

        async def stop(self) -> None:
            calls.append("stop")
            await self.sensor.stop()

    with LinkThread(ble_backend("bumble:virtual")) as link:
        (p,) = link.power_on(lambda: [Recorded()])
        found = link.scan(0.5)
        assert p.sensor.address in {f.address for f in found}
        assert calls == ["start"]
    assert calls == ["start", "stop"]  # stopped when the link ended


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals: main thread"
)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_first_stop_signal_sets_the_flag_and_puts_the_old_handler_back(sig):
    before = signal.getsignal(sig)
    stop = threading.Event()
    with StopSignals(stop) as signals:
        assert signal.getsignal(sig) != before
        os.kill(os.getpid(), sig)
        assert stop.wait(5.0)
        assert signals.hit
        assert signal.getsignal(sig) == before  # a second one interrupts as usual
    assert signal.getsignal(sig) == before


def test_stop_signals_install_nothing_off_the_main_thread():
    before = signal.getsignal(signal.SIGINT)
    got: list[object] = []

    def other() -> None:
        with StopSignals(threading.Event()):
            got.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert got == [before]
