"""The host clock live sessions are stamped on: receive times, marks and the session clock.

Float seconds on a monotonic clock with an undefined origin, the finest the platform has:
``time.monotonic``, except on Windows before Python 3.13, where ``time.monotonic`` ticks
every 15.6 ms (GetTickCount64) and would put a burst of notifications, or a whole connection
event's, on one receive time; there ``time.perf_counter`` (QueryPerformanceCounter, under
1 µs, system-wide), the clock Python 3.13 uses for both.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def finest_monotonic(platform: str, version: tuple[int, int]) -> Callable[[], float]:
    """The host clock for a ``sys.platform`` and a Python ``(major, minor)`` version."""
    if platform == "win32" and version < (3, 13):
        return time.perf_counter
    return time.monotonic


#: The host clock of this process (see the module docstring).
host_now: Callable[[], float] = finest_monotonic(sys.platform, sys.version_info[:2])
