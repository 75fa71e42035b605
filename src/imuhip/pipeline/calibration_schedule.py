"""When a leg's calibration is decided: guidance marks in time order, a retry window around
complete marks, and a regular search of the data when there are no usable marks.

The schedule only says *when* and *what kind* of decision is due, at times fixed by the data
(mark times, a search every ``every_s`` of data), so the result does not depend on how the
input is cut. The leg chain (:mod:`imuhip.pipeline.leg`) carries the decisions out.

Times are seconds on the session time base.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass
from enum import Enum

from imuhip.calibration_protocol import PHASES

#: Seconds of still data after the ``still_end`` mark that the calibration uses.
MIN_STILL_END_S = 1.5
#: How long (s) after a complete set of marks is ready the data are searched for the phases
#: the person did, before the marks' own phases are taken.
MARKS_RETRY_S = 10.0
#: Guidance marks that stop coming leave the search to the data after this long (s).
MARKS_PATIENCE_S = 30.0


class DecisionKind(Enum):
    """What is due: apply the next guidance mark, calibrate the marked attempt, or search."""

    MARK = "mark"
    MARKS_READY = "marks_ready"
    SEARCH = "search"


@dataclass(frozen=True)
class Decision:
    """A decision due at time ``t`` (s): for MARK, ``phase`` is the mark's phase."""

    kind: DecisionKind
    t: float
    phase: str = ""


class CalibrationSchedule:
    """Pending guidance marks and the current attempt's marks; the next decision due.

    Args:
        every_s: how often (data time) the data are searched when there are no usable marks.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._pending: list[tuple[float, int, str]] = []
        self._seq = 0
        self.marks: dict[str, float] = {}
        self.marks_seen = False
        self.mark_tries = 0  # data searches around the current attempt's marks so far
        self._next_search_t = math.nan

    def add_mark(self, t: float, phase: str) -> None:
        """A guidance mark (a calibration phase began at ``t``), in any order."""
        self._seq += 1
        insort(self._pending, (float(t), self._seq, phase))

    def next_decision(self, t0: float, end: float, *, failed: bool) -> Decision | None:
        """The first decision due by data time ``end`` (None: none yet). ``t0`` is the first
        buffered time (starts the search clock); ``failed``: the last attempt was refused
        (only marks are applied until a new attempt begins)."""
        if math.isnan(self._next_search_t):
            self._next_search_t = t0 + self.every_s
        mark = self._pending[0][0] if self._pending else math.inf
        ready = search = math.inf
        if not failed:
            ready = self.ready_at() or math.inf
            if ready == math.inf:
                search = self._next_search_time()
        d = min(mark, ready, search)
        if d > end:
            return None
        if d == ready:
            return Decision(DecisionKind.MARKS_READY, ready)
        if d == mark:
            t, _, phase = self._pending.pop(0)
            return Decision(DecisionKind.MARK, t, phase)
        self._next_search_t = search + self.every_s
        return Decision(DecisionKind.SEARCH, search)

    def pending_marks(self) -> list[tuple[float, str]]:
        """Take every pending mark, in time order (the session ended)."""
        out = [(t, p) for t, _, p in self._pending]
        self._pending.clear()
        return out

    def apply_mark(self, t: float, phase: str) -> bool:
        """Record a mark in the current attempt; True when it begins a new attempt."""
        new = phase == PHASES[0]
        if new:
            self.marks = {}
        self.marks[phase] = t
        self.mark_tries = 0
        self.marks_seen = True
        return new

    def ready_at(self) -> float | None:
        """When the current attempt's marks can be calibrated (None: incomplete)."""
        if not all(p in self.marks for p in PHASES):
            return None
        return self.marks["still_end"] + MIN_STILL_END_S + self.mark_tries * self.every_s

    def waited_s(self) -> float:
        """Data time spent retrying the current attempt's marks."""
        return self.mark_tries * self.every_s

    def calibrated(self) -> None:
        """The calibration was decided: no further marks matter."""
        self.marks = {}
        self._pending.clear()

    def _next_search_time(self) -> float:
        """Every ``every_s``, but not while guidance marks are coming (up to
        ``MARKS_PATIENCE_S`` after the latest)."""
        if self.marks_seen and self.marks:
            latest = max(self.marks.values())
            while self._next_search_t < latest + MARKS_PATIENCE_S:
                self._next_search_t += self.every_s
        return self._next_search_t
