"""Best-of-N timing shared by the bench scripts (``from _timing import best_of``: the scripts
run as ``python bench/NAME.py``, so this folder is on the import path)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(
    fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The least time one call of ``fn()`` took in ``repeat`` calls, in seconds of ``clock``
    (``time.perf_counter``: wall time; ``time.process_time``: this process's CPU time)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best
