"""The host clock live sessions are stamped on is the platform's finest monotonic clock, and
it is what the live path stamps with unless given another."""

import inspect
import sys
import time

import numpy as np

from imuhip.host_time import finest_monotonic, host_now
from imuhip.live.runner import run_session, scaled_clock, session_clock
from imuhip.sources.ble.connection import ConnectionManager
from imuhip.sources.ble.edge import LinkThread


def test_windows_before_3_13_uses_the_performance_counter():
    # time.monotonic ticks every 15.6 ms there: a connection event's notifications would
    # share one receive time
    assert finest_monotonic("win32", (3, 11)) is time.perf_counter
    assert finest_monotonic("win32", (3, 12)) is time.perf_counter
    assert finest_monotonic("win32", (3, 13)) is time.monotonic
    assert finest_monotonic("linux", (3, 11)) is time.monotonic
    assert finest_monotonic("darwin", (3, 12)) is time.monotonic
    assert host_now is finest_monotonic(sys.platform, sys.version_info[:2])


def test_the_live_path_stamps_on_the_host_clock_by_default():
    defaults = [
        inspect.signature(ConnectionManager).parameters["clock"].default,
        inspect.signature(LinkThread.connect).parameters["clock"].default,
        inspect.signature(run_session).parameters["clock"].default,
        inspect.signature(session_clock).parameters["base"].default,
        inspect.signature(scaled_clock).parameters["base"].default,
    ]
    assert all(d is host_now for d in defaults)


def test_the_host_clock_is_monotonic_and_fine():
    d = np.diff([host_now() for _ in range(1000)])
    assert np.all(d >= 0)
    assert np.any(d > 0) and d[d > 0].min() < 1e-3  # far finer than a connection interval
