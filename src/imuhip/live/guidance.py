"""Guided calibration: walk the user through :data:`imuhip.calibration_protocol.STEPS`.

A small state machine driven by the caller's clock (``update(now, still_s)`` a few times a
second). At the start of every step it emits a ``calibration_phase`` event (``data={"phase":
name}``, time = the step start), which the recorder writes to the session file and the live
pipeline calibrates from; the batch pipeline reads the same marks
(:func:`imuhip.joint.phases.phases_from_marks`).

Advancing:

- ``still_start``: only after the leg has been still (both sensors, as the live pipeline sees
  it) for the step's ``min_duration_s`` (3 s) within the step. Without stillness for
  ``still_timeout_s`` the guidance stops with a clear message (``abandoned``); the analysis
  then searches the recording for the protocol's movements instead.
- ``bends``, ``rocks``: after the step's ``duration_s``, once the movement is over (the leg
  still for ``MOVEMENT_DONE_STILL_S``), or at the latest after ``MOVEMENT_PATIENCE`` times the
  step's duration: a person slower than the prompt finishes before the next one. (The analysis
  takes the marks as a prior and finds the phases in the data around them.)
- ``still_end``: after ``duration_s`` once the leg has been still ``min_duration_s`` (or, if it
  never is, after ``still_timeout_s``, with a warning: the calibration may then be poor).

After a refused calibration the caller starts the protocol over with :meth:`Guidance.retry`
(new marks; the analysis takes the first attempt that works), up to ``max_attempts`` in all.

Layouts with a pelvis or trunk sensor add their steps after ``still_end``
(:func:`protocol_steps`): movement steps, advancing like ``bends`` and ``rocks``.

Without stillness information (``still_s=None``: no data yet) still steps advance on time.
A ``schedule`` (phase -> seconds after :meth:`Guidance.start`) replaces all of this with fixed
step starts: ``imuhip demo`` uses it so that the prompts follow the simulated person's script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from imuhip.calibration_protocol import PHASE_EVENT, STEPS, GuidanceStatus, Step, body_steps
from imuhip.session import Event

#: A movement step ends once the leg has been still this long (s) after its duration ...
MOVEMENT_DONE_STILL_S = 0.3
#: ... or after this many times its duration, still or not.
MOVEMENT_PATIENCE = 1.6


def protocol_steps(roles: tuple[str, ...]) -> tuple[Step, ...]:
    """The steps guided for a layout with sensor ``roles``: the leg calibration
    (:data:`~imuhip.calibration_protocol.STEPS`), then the pelvis step and the trunk step where
    the layout has those sensors (``pelvis_lift``, ``trunk_lean`` marks)."""
    return (*STEPS, *body_steps(roles))


class Guidance:
    """The calibration guidance state machine (see module docstring).

    Args:
        emit: receives the ``calibration_phase`` events.
        steps: the protocol.
        still_timeout_s: longest wait for stillness in a still step.
        schedule: fixed step starts (phase -> seconds after start), e.g. a scripted user.
        max_attempts: most times the protocol is guided (the first and the retries).
    """

    def __init__(
        self,
        emit: Callable[[Event], None],
        *,
        steps: tuple[Step, ...] = STEPS,
        still_timeout_s: float = 30.0,
        schedule: Mapping[str, float] | None = None,
        max_attempts: int = 3,
    ) -> None:
        self.emit = emit
        self.max_attempts = max_attempts
        self.attempts = 0
        self.steps = steps
        self.still_timeout_s = still_timeout_s
        self.schedule = dict(schedule) if schedule is not None else None
        self.index = -1
        self.t0 = 0.0
        self.step_start = 0.0
        self.abandoned = False
        self.warning = ""
        self.changed = False  # a step started or the guidance ended since the last update
        self._status: GuidanceStatus | None = None

    @property
    def done(self) -> bool:
        return self.index >= len(self.steps)

    def start(self, now: float) -> GuidanceStatus:
        """Begin the first step at ``now``."""
        self.t0 = now
        self.attempts = 1
        self._begin(0, now)
        return self.update(now, None)

    def retry(self, now: float, reason: str) -> bool:
        """The calibration from the finished protocol was refused (``reason``, the analysis's
        message): start the protocol over at ``now``, or, after ``max_attempts``, stop guiding
        with the reason. Returns whether it starts over."""
        if not self.done or self.abandoned:
            return False
        if self.attempts >= self.max_attempts:
            self.abandoned = True
            self.changed = True
            self.warning = (
                f"the calibration was refused {self.attempts} times ({reason}); check the straps "
                "and which sensor is on which segment, then start a new session"
            )
            return False
        self.attempts += 1
        self.warning = f"calibration refused: {reason}. Once more, please"
        self.schedule = None  # a scripted schedule covers the first attempt only
        self._begin(0, now)
        return True

    def abort(self, message: str) -> None:
        """Stop guiding (e.g. the session ends before the protocol does)."""
        if not self.done and not self.abandoned:
            self.abandoned = True
            self.warning = message
            self.changed = True

    def _begin(self, index: int, t: float) -> None:
        self.index = index
        self.step_start = t
        self.changed = True
        if index < len(self.steps):
            self.emit(Event(t, PHASE_EVENT, None, {"phase": self.steps[index].phase}))

    def update(self, now: float, still_s: float | None) -> GuidanceStatus:
        """Advance if the current step is complete; returns what to show."""
        if self.index < 0:
            raise RuntimeError("call start() first")
        if self.schedule is not None:
            self._scheduled(now)
        else:
            while not self.done and not self.abandoned and self._complete(now, still_s):
                self._begin(self.index + 1, now)
        self._status = self._describe(now, still_s)
        return self._status

    def _scheduled(self, now: float) -> None:
        assert self.schedule is not None
        while not self.done:
            nxt = self.index + 1
            if nxt < len(self.steps) and self.steps[nxt].phase in self.schedule:
                t_next = self.t0 + self.schedule[self.steps[nxt].phase]
            elif nxt < len(self.steps):  # unscheduled (a pelvis/trunk step): after the last
                t_next = self.step_start + self.steps[self.index].duration_s
            else:
                t_next = self.step_start + self.steps[-1].duration_s
            if now < t_next:
                return
            self._begin(nxt, t_next)

    def _complete(self, now: float, still_s: float | None) -> bool:
        s = self.steps[self.index]
        elapsed = now - self.step_start
        if s.repetitions:  # a movement step: its time, and the movement over
            if elapsed < s.duration_s:
                return False
            over = still_s is None or min(still_s, elapsed) >= MOVEMENT_DONE_STILL_S
            return over or elapsed >= MOVEMENT_PATIENCE * s.duration_s
        if still_s is None:
            return elapsed >= s.duration_s
        still = min(still_s, elapsed)
        first = self.index == 0
        if still >= s.min_duration_s and (first or elapsed >= s.duration_s):
            return True
        if elapsed >= self.still_timeout_s:
            if first:
                self.abandoned = True
                self.changed = True
                self.warning = (
                    f"the leg was never still for {s.min_duration_s:g} s in "
                    f"{self.still_timeout_s:g} s, so the guided calibration stopped. Check the "
                    "straps, then do the protocol anyway: hold still 3 s, bend the knee 3 times, "
                    "rock the leg 3 times, hold still; the analysis will look for it"
                )
                return False
            self.warning = "the leg was not still at the end of the calibration"
            return True
        return False

    def _describe(self, now: float, still_s: float | None) -> GuidanceStatus:
        n = len(self.steps)
        if self.abandoned:
            return GuidanceStatus(self.index, n, None, "Calibration guidance stopped", 0.0,
                                  self.warning, abandoned=True)  # fmt: skip
        if self.done:
            return GuidanceStatus(n, n, None, "Calibration done", 1.0, self.warning, done=True)
        s = self.steps[self.index]
        elapsed = now - self.step_start
        progress = min(1.0, elapsed / s.duration_s) if s.duration_s > 0 else 1.0
        detail = f"{max(0.0, s.duration_s - elapsed):.0f} s"
        if not s.repetitions and still_s is not None and self.schedule is None:
            still = min(still_s, elapsed)
            progress = min(1.0, still / s.min_duration_s)
            detail = (
                f"still {still:.1f} / {s.min_duration_s:.0f} s"
                if still > 0
                else "waiting for the leg to be still"
            )
        prompt = s.prompt
        if self.attempts > 1 and self.index == 0:  # why it starts over
            prompt = f"{s.prompt} (attempt {self.attempts} of {self.max_attempts})"
            detail = f"{self.warning}. {detail}"
        return GuidanceStatus(self.index, n, s.phase, prompt, progress, detail)

    @property
    def status(self) -> GuidanceStatus | None:
        return self._status
