"""The coach: a pure state machine that turns a running session into timed prompts.

:class:`Coach` is given the sets of a session (:func:`imuhip.training.program.plan`) and, at
each step, the session time, the pipeline's :class:`~imuhip.pipeline.LiveState` and the
:class:`~imuhip.analysis.events.AnalysisEvent` s since the last step. It returns the prompts to
say and show and the session events to record (``program``, ``prompt``, ``set_start``,
``set_end``, ``rest_start``; see ``docs/session-format.md``). It reads no clock: the same
inputs give the same prompts at the same times.

Schedule (times in seconds on the session time base):

- before the calibration is done: one "calibrate first" prompt; the program starts when the
  pipeline is ready, with "first: …" and the first set :data:`LEAD_IN_S` later;
- a hold or stretch set: the cue ("push") at its start; once the detector reports the hold's
  (or a stretch's: the detector tells a passive stretch from a hold, either times the set)
  start ``h`` (from the signal, not the prompt; a hold begun up to :data:`HOLD_EARLY_S`
  before the cue counts), the countdown at ``h + T - k`` for
  ``k = countdown_s … 1`` and "relax" at ``h + T``; the set ends when the hold ends (at the
  latest :data:`RELAX_GRACE_S` after "relax"), or :data:`NO_HOLD_S` after ``T`` without a
  hold; a reminder if no hold has started :data:`REMINDER_S` after the cue;
- a set of reps: the cue ("swing"), each counted rep's number, "short of range" when a rep's
  peak misses the range target or an excursion is too small to count, "relax" at the rep
  target; the set also ends :data:`REP_IDLE_S` after the last rep (:data:`REP_START_S`
  after the cue while no rep has come);
- a compensation the pelvis or trunk sensor flags during a set (a ``compensation`` event after
  its rep or stretch): "keep your hip down" (the pelvis rose or turned) or "don't lean" (the
  trunk bent sideways), at most once every :data:`COMPENSATION_GAP_S`;
- after a set: how it went against its target and last time, then "rest N seconds", and
  "next: …" :data:`NEXT_LEAD_S` before the rest ends (at its start if the rest is shorter);
- after the last set: a summary line per exercise and side, and "done".

A prompt that comes due between two steps is given at the first step after it, stamped with
its due time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from imuhip.analysis.events import AnalysisEvent, EventKind, Hold, PartialRep, Rep, Stretch
from imuhip.pipeline import LiveState, Status
from imuhip.session import Event
from imuhip.training.program import LastTime, PlannedSet, Program, SetKind

#: Seconds from the calibration's end (or the "first: …" prompt) to the first set.
LEAD_IN_S = 5.0
#: Seconds without a hold after a hold set's cue before it is repeated as a reminder.
REMINDER_S = 8.0
#: Seconds after "relax" to wait for the detector to see the hold end.
RELAX_GRACE_S = 5.0
#: Seconds beyond the hold's length after which a hold set with no hold ends.
NO_HOLD_S = 20.0
#: Seconds without a counted rep after which a set of reps ends.
REP_IDLE_S = 15.0
#: Seconds from a set of reps' cue to wait for its first rep (getting into position).
REP_START_S = 30.0
#: Seconds before the end of a rest at which the next set is announced.
NEXT_LEAD_S = 10.0
#: Seconds before a hold set's cue from which a hold starting counts for the set (a person
#: may start as the cue begins; the analysis's ``sets`` use the same rule).
HOLD_EARLY_S = 2.0

#: Seconds from one compensation cue to the next one at the earliest (a person hearing the cue
#: after every rep would stop listening).
COMPENSATION_GAP_S = 10.0
#: What is said for each compensation flag (:meth:`Compensation.flags`), in this order of
#: precedence when several are flagged at once.
COMPENSATION_CUES: dict[str, str] = {
    "pelvis_obliquity_deg": "keep your hip down",
    "pelvis_rotation_deg": "keep your pelvis still",
    "trunk_lateral_flexion_deg": "don't lean",
}

#: Detector events that start and end what a timed set times: a hold or a stretch
#: (overpressure_started, the push further within a stretch, changes nothing).
_TIMED_STARTS = (EventKind.HOLD_STARTED, EventKind.STRETCH_STARTED)
_TIMED_ENDS = (EventKind.HOLD_ENDED, EventKind.STRETCH_ENDED)

#: Session event kinds the coach writes (also in :data:`imuhip.session.EVENT_KINDS`).
PROGRAM_EVENT = "program"
PROMPT_EVENT = "prompt"
SET_START_EVENT = "set_start"
SET_END_EVENT = "set_end"
REST_START_EVENT = "rest_start"


class PromptKind(StrEnum):
    """What a prompt is for (the sound sink gives each kind its own tone)."""

    WAIT = "wait"  # waiting for the calibration
    NEXT = "next"  # what comes next
    SET_START = "set_start"  # the set's cue: push, swing, stretch
    REMINDER = "reminder"  # the cue again: no hold seen yet
    COUNTDOWN = "countdown"  # 3, 2, 1 at a hold's end
    RELAX = "relax"  # the hold's time is up, or the reps are done
    REP = "rep"  # a rep was counted
    SHORT_OF_RANGE = "short_of_range"  # a rep missed its range, or was too small to count
    COMPENSATION = "compensation"  # the pelvis or trunk moved with the leg: keep it still
    RESULT = "result"  # how the set went
    REST = "rest"  # rest N seconds
    SUMMARY = "summary"  # end of the session: one per exercise and side
    DONE = "done"  # the program is over


class Priority(IntEnum):
    """How much a prompt matters when the sound is behind: INFO may be skipped."""

    INFO = 0
    NORMAL = 1
    URGENT = 2


@dataclass(frozen=True)
class Prompt:
    """One thing to say and show: at ``t`` (seconds, session time base)."""

    t: float
    text: str
    kind: PromptKind
    priority: Priority = Priority.NORMAL

    def event(self) -> Event:
        """The ``prompt`` session event recording it."""
        return Event(
            self.t,
            PROMPT_EVENT,
            None,
            {"text": self.text, "kind": str(self.kind), "priority": int(self.priority)},
        )


@dataclass(frozen=True)
class SetResult:
    """How a set went.

    Attributes:
        set: the planned set.
        start_s, end_s: its window (cue to end), seconds.
        holds: holds that ended in it; reps: reps counted in it; short: reps or excursions
            that missed the range target or were too small to count.
        last: last time's figures (None: no earlier session).
        stretches: stretches that ended in it (a timed set counts them as holds: their
            duration and mean angle).
    """

    set: PlannedSet
    start_s: float
    end_s: float
    holds: tuple[Hold, ...] = ()
    reps: tuple[Rep, ...] = ()
    short: int = 0
    last: LastTime | None = None
    open_hold_s: float | None = None
    stretches: tuple[Stretch, ...] = ()

    @property
    def hold_s(self) -> float | None:
        """The longest hold or stretch, seconds (one still going at the set's end counts as
        far as it went: ``open_hold_s``)."""
        durations = [h.duration_s for h in (*self.holds, *self.stretches)]
        if self.open_hold_s is not None:
            durations.append(self.open_hold_s)
        return max(durations, default=None)

    @property
    def best_peak_deg(self) -> float | None:
        """The largest rep peak (reps) or hold or stretch mean angle (timed sets), degrees."""
        peaks = [r.peak_deg for r in self.reps]
        peaks += [h.mean_deg for h in (*self.holds, *self.stretches)]
        return max(peaks, default=None)

    @property
    def met(self) -> bool:
        """Every target of the set reached."""
        p = self.set
        if p.kind.timed:
            ok = self.hold_s is not None and (p.hold_s is None or self.hold_s >= p.hold_s - 0.5)
        else:
            ok = bool(self.reps) and (p.reps is None or len(self.reps) >= p.reps)
        if p.range_deg is not None:
            ok = ok and self.best_peak_deg is not None and self.best_peak_deg >= p.range_deg
        return ok

    def as_dict(self) -> dict[str, Any]:
        best = self.best_peak_deg
        return {
            **self.set.as_dict(),
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "hold_s": None if self.hold_s is None else round(self.hold_s, 2),
            "reps": len(self.reps),
            "short_of_range": self.short,
            "best_deg": None if best is None else round(best, 2),
            "met": self.met,
        }

    def sentence(self) -> str:
        """``held 18 seconds, 2 short of 20; last time 17`` (the result prompt)."""
        p = self.set
        if p.kind.timed:
            if self.hold_s is None:
                text = "no hold found"
            else:
                text = f"held {self.hold_s:.0f} seconds"
                if p.hold_s is not None:
                    gap = p.hold_s - self.hold_s
                    short = f", {gap:.0f} short of {p.hold_s:g}"
                    text += ", target reached" if gap <= 0.5 else short
            if self.last is not None and self.last.longest_hold_s is not None:
                text += f"; last time {self.last.longest_hold_s:.0f}"
        else:
            n = len(self.reps)
            text = f"{n} reps" + (f" of {p.reps}" if p.reps is not None else "")
            best = self.best_peak_deg
            if best is not None:
                text += f", best {best:.0f} degrees"
                if p.range_deg is not None:
                    text += " , range reached" if best >= p.range_deg else f" of {p.range_deg:g}"
            if self.last is not None and self.last.best_range_deg is not None:
                text += f"; last time {self.last.best_range_deg:.0f} degrees"
        return text.replace(" ,", ",")


@dataclass(frozen=True)
class CoachStep:
    """What one :meth:`Coach.update` gives: prompts to say/show, events to record."""

    prompts: tuple[Prompt, ...] = ()
    events: tuple[Event, ...] = ()


class _Phase(StrEnum):
    WAITING = "waiting"
    LEAD_IN = "lead_in"
    SET = "set"
    REST = "rest"
    DONE = "done"


@dataclass
class _Timer:
    due: float
    seq: int
    action: Callable[[float], None] = field(compare=False)


class Coach:
    """Runs the sets ``plan`` of ``program`` over a session (see the module docstring).

    ``last`` gives last time's figures for the result prompts; ``countdown_s`` the seconds
    counted down at the end of a hold (default: the program's)."""

    def __init__(
        self,
        program: Program,
        plan: Sequence[PlannedSet],
        *,
        last: LastTime | None = None,
        countdown_s: int | None = None,
    ) -> None:
        self.program = program
        self.plan = tuple(plan)
        self.last = last
        self.countdown_s = program.countdown_s if countdown_s is None else countdown_s
        self.results: list[SetResult] = []
        self.phase = _Phase.WAITING
        self._started = False
        self._waited = False
        self._timers: list[_Timer] = []
        self._seq = 0
        self._i = -1  # index of the current (or last) set
        self._set_start = 0.0
        self._hold_start: float | None = None
        self._hold_over = False  # the hold ended without a Hold (settled at a new rest)
        self._open_hold: float | None = None  # start of a hold under way, seconds
        self._holds: list[Hold] = []
        self._stretches: list[Stretch] = []
        self._reps: list[Rep] = []
        self._short = 0
        self._last_compensation: float | None = None  # time of the last compensation cue
        self._prompts: list[Prompt] = []
        self._events: list[Event] = []
        self.prompts: list[Prompt] = []  # every prompt so far

    # ------------------------------------------------------------------ public

    @property
    def done(self) -> bool:
        return self.phase is _Phase.DONE

    @property
    def current(self) -> PlannedSet | None:
        """The set under way or coming next (None when done)."""
        if self.done or not self.plan:
            return None
        return self.plan[max(self._i, 0)]

    def update(self, t: float, state: LiveState, events: Sequence[AnalysisEvent] = ()) -> CoachStep:
        """Advance to session time ``t`` with the pipeline's ``state`` and the analysis
        ``events`` since the last call."""
        if not self._started:
            self._started = True
            data = {"program": self.program.as_dict(), "sets": [p.as_dict() for p in self.plan]}
            self._events.append(Event(t, PROGRAM_EVENT, None, data))
        if self.phase is _Phase.WAITING:
            if state.status == Status.READY:
                self._begin(t)
            elif not self._waited:
                self._waited = True
                self._say(t, "calibrate first: follow the calibration steps", PromptKind.WAIT,
                          Priority.INFO)  # fmt: skip
        for e in events:
            self._fire_due(e.t if e.t < t else t)
            self._track_hold(e)
            self._on_event(t, e)
        self._fire_due(t)
        step = CoachStep(tuple(self._prompts), tuple(self._events))
        self.prompts.extend(self._prompts)
        self._prompts, self._events = [], []
        return step

    def finish(self, t: float) -> CoachStep:
        """The session ends at ``t``: a set under way ends there; the summary follows."""
        if self.phase is _Phase.SET:
            self._end_set(t, last=True)
        if self.phase is not _Phase.DONE and self._started and self.phase is not _Phase.WAITING:
            self._timers.clear()
            self._finish_program(t, complete=False)
        step = CoachStep(tuple(self._prompts), tuple(self._events))
        self.prompts.extend(self._prompts)
        self._prompts, self._events = [], []
        return step

    # ------------------------------------------------------------------ machinery

    def _say(self, t: float, text: str, kind: PromptKind, prio: Priority = Priority.NORMAL) -> None:
        p = Prompt(t, text, kind, prio)
        self._prompts.append(p)
        self._events.append(p.event())

    def _at(self, due: float, action: Callable[[float], None]) -> None:
        self._seq += 1
        self._timers.append(_Timer(due, self._seq, action))

    def _fire_due(self, t: float) -> None:
        while True:
            due = [x for x in self._timers if x.due <= t + 1e-9]
            if not due:
                return
            first = min(due, key=lambda x: (x.due, x.seq))
            self._timers.remove(first)
            first.action(first.due)

    def _clear_set_timers(self) -> None:
        self._timers.clear()

    # ------------------------------------------------------------------ program flow

    def _begin(self, t: float) -> None:
        if not self.plan:
            self.phase = _Phase.DONE
            self._say(t, "nothing in the program for this leg and pose", PromptKind.DONE,
                      Priority.URGENT)  # fmt: skip
            return
        self.phase = _Phase.LEAD_IN
        self._say(t, f"first: {self.plan[0].describe()}", PromptKind.NEXT)
        self._at(t + LEAD_IN_S, lambda due: self._start_set(due, 0))

    def _start_set(self, t: float, i: int) -> None:
        self._i = i
        p = self.plan[i]
        self.phase = _Phase.SET
        self._set_start = t
        self._hold_start = None
        self._hold_over = False
        self._holds, self._stretches, self._reps, self._short = [], [], [], 0
        self._events.append(Event(t, SET_START_EVENT, None, p.as_dict()))
        self._say(t, p.cue, PromptKind.SET_START, Priority.URGENT)
        if p.kind.timed:
            target = p.hold_s or 0.0
            self._at(t + REMINDER_S, self._remind)
            self._at(t + target + NO_HOLD_S, self._end_set)
            if self._open_hold is not None:  # begun as the cue came: it counts
                self._on_hold_event(t, AnalysisEvent(EventKind.HOLD_STARTED, self._open_hold), p)
        else:
            self._at(t + REP_START_S, self._end_set)

    def _track_hold(self, e: AnalysisEvent) -> None:
        """The hold or stretch under way, whatever the phase (one begun just before a cue
        counts)."""
        if e.kind in _TIMED_STARTS:
            self._open_hold = e.t
        elif e.kind in (*_TIMED_ENDS, EventKind.PARTIAL_REP):
            self._open_hold = None

    def _remind(self, t: float) -> None:
        if self.phase is _Phase.SET and self._hold_start is None:
            self._say(t, f"{self.plan[self._i].cue}: no hold yet", PromptKind.REMINDER)

    def _on_event(self, t: float, e: AnalysisEvent) -> None:
        if self.phase is not _Phase.SET:
            return
        if e.kind == EventKind.COMPENSATION:
            self._on_compensation(t, e)
            return
        p = self.plan[self._i]
        if p.kind.timed:
            self._on_hold_event(t, e, p)
        else:
            self._on_rep_event(t, e, p)

    def _on_compensation(self, t: float, e: AnalysisEvent) -> None:
        """The cue for the flags of a rep's or stretch's compensation (rate-limited)."""
        comp = getattr(e.item, "compensation", None)
        flags = comp.flags() if comp is not None else ()
        cue = next((text for name, text in COMPENSATION_CUES.items() if name in flags), None)
        last = self._last_compensation
        if cue is None or (last is not None and t - last < COMPENSATION_GAP_S - 1e-9):
            return
        self._last_compensation = t
        self._say(t, cue, PromptKind.COMPENSATION)

    def _on_hold_event(self, t: float, e: AnalysisEvent, p: PlannedSet) -> None:
        if (
            e.kind in _TIMED_STARTS
            and self._hold_start is None
            and e.t >= self._set_start - HOLD_EARLY_S
        ):
            self._hold_start = h = e.t
            target = p.hold_s or 0.0
            self._clear_set_timers()
            for k in range(self.countdown_s, 0, -1):
                due = h + target - k
                if due >= t - 1e-9 and k < target:
                    self._at(due, lambda d, k=k: self._say(d, str(k), PromptKind.COUNTDOWN,
                                                           Priority.URGENT))  # fmt: skip
            relax = max(h + target, t)
            self._at(relax, lambda d: self._say(d, "relax", PromptKind.RELAX, Priority.URGENT))
            self._at(relax + RELAX_GRACE_S, self._end_set)
        elif e.kind in _TIMED_ENDS and self._hold_start is not None:
            if isinstance(e.item, Hold):
                self._holds.append(e.item)
            elif isinstance(e.item, Stretch):
                self._stretches.append(e.item)
            else:
                return
            self._clear_set_timers()
            self._end_set(t)
        elif e.kind == "partial_rep" and self._hold_start is not None:
            self._hold_over = True
            self._clear_set_timers()  # the plateau was the leg settling at a new rest
            self._end_set(t)

    def _on_rep_event(self, t: float, e: AnalysisEvent, p: PlannedSet) -> None:
        if e.kind == "rep_counted" and isinstance(e.item, Rep):
            self._reps.append(e.item)
            n = len(self._reps)
            if p.range_deg is not None and e.item.peak_deg < p.range_deg:
                self._short += 1
                self._say(t, f"{n}, short of range", PromptKind.SHORT_OF_RANGE)
            else:
                self._say(t, str(n), PromptKind.REP)
            self._clear_set_timers()
            if p.reps is not None and n >= p.reps:
                self._say(t, "relax", PromptKind.RELAX, Priority.URGENT)
                self._end_set(t)
            else:
                self._at(t + REP_IDLE_S, self._end_set)
        elif (
            e.kind == "partial_rep"
            and isinstance(e.item, PartialRep)
            and e.item.reason == "below threshold"
        ):
            self._short += 1
            self._say(t, "short of range", PromptKind.SHORT_OF_RANGE)

    def _end_set(self, t: float, *, last: bool = False) -> None:
        if self.phase is not _Phase.SET:
            return
        self._clear_set_timers()
        p = self.plan[self._i]
        ended = self._holds or self._stretches or self._hold_over
        still = self._hold_start is not None and not ended
        r = SetResult(
            p, self._set_start, t, tuple(self._holds), tuple(self._reps), self._short, self.last,
            open_hold_s=t - self._hold_start if still and self._hold_start is not None else None,
            stretches=tuple(self._stretches),
        )  # fmt: skip
        self.results.append(r)
        self._events.append(Event(t, SET_END_EVENT, None, r.as_dict()))
        self._say(t, r.sentence(), PromptKind.RESULT, Priority.INFO)
        nxt = self._i + 1
        if last:
            self.phase = _Phase.REST
            return
        if nxt >= len(self.plan):
            self._finish_program(t, complete=True)
            return
        rest = p.rest_after_s
        self.phase = _Phase.REST
        if rest > 0:
            self._events.append(Event(t, REST_START_EVENT, None,
                                      {"duration_s": rest, "after_set": self._i}))  # fmt: skip
            self._say(t, f"rest {rest:g} seconds", PromptKind.REST)
        announce = t + rest - NEXT_LEAD_S if rest > NEXT_LEAD_S else t
        text = f"next: {self.plan[nxt].describe()}"
        self._at(announce, lambda d: self._say(d, text, PromptKind.NEXT))
        self._at(t + rest, lambda d: self._start_set(d, nxt))

    def _finish_program(self, t: float, *, complete: bool) -> None:
        self.phase = _Phase.DONE
        for line in summary_lines(self.results):
            self._say(t, line, PromptKind.SUMMARY, Priority.INFO)
        self._say(t, "done" if complete else "stopped before the end of the program",
                  PromptKind.DONE, Priority.URGENT)  # fmt: skip


def summary_lines(results: Sequence[SetResult]) -> list[str]:
    """One line per exercise and side: sets done, targets met, best figure against target."""
    groups: dict[tuple[int, str], list[SetResult]] = {}
    for r in results:
        groups.setdefault((r.set.exercise, r.set.side), []).append(r)
    lines = []
    for (_, side), rs in groups.items():
        p = rs[0].set
        met = sum(r.met for r in rs)
        if p.kind is SetKind.REPS:
            reps = sum(len(r.reps) for r in rs)
            best = max((r.best_peak_deg for r in rs if r.best_peak_deg is not None), default=None)
            fig = f"{reps} reps" + ("" if best is None else f", best {best:.0f} degrees")
        else:
            longest = max((r.hold_s for r in rs if r.hold_s is not None), default=None)
            fig = "no hold" if longest is None else f"longest hold {longest:.0f} seconds"
        sets = f"{len(rs)} set" + ("s" if len(rs) != 1 else "")
        lines.append(f"{p.name}, {side} leg: {sets}, {met} on target, {fig}")
    return lines
