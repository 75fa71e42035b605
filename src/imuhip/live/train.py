"""What ``imuhip train`` does: a training program's coach over a session, with sound.

The coach (:class:`imuhip.training.coach.Coach`) runs beside the session pipeline: after each
step of the pipeline it gets the live state and the analysis events, and its prompts go to the
sound sink (:mod:`imuhip.sinks.sound`), to the view (a line each, the latest large) and, as
session events, to the file. Three sources:

- ``--replay FILE``: a recording through the session pipeline (causal aligner, as live), paced
  by ``speed``; with ``-o OUT`` the recording is written again with the coach's events, so
  ``analyze --json OUT`` lists the sets.
- ``--demo``: virtual sensors on a simulated person who does what the coach asks, when it
  asks (:class:`imuhip.live.demo.PersonRig`): the calibration on the guidance's fixed
  schedule, then at each set's cue (:func:`demo_action`, :data:`REACTION_S` later) a push
  against the band for the asked-for time (plus :data:`HOLD_MARGIN_S`: they count for
  themselves), the asked-for reps (past the range target), or the stretch with overpressure
  at its end; they stay at rest in the rests.
- live sensors (the saved pairing, as ``imuhip live``).

One session is one leg in one start pose: the coach runs the program's sets for the session's
side and pose (:func:`imuhip.training.program.plan`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from imuhip.analysis.events import AnalysisEvent
from imuhip.errors import ImuhipError, ProgramError
from imuhip.exercises import POSES
from imuhip.pipeline import LiveState
from imuhip.session import Event
from imuhip.sinks.sound import SoundMode, SoundSink, make_sound
from imuhip.training.coach import Coach, CoachStep, Priority, Prompt, PromptKind
from imuhip.training.program import (
    LastTime,
    PlannedSet,
    Program,
    SetKind,
    default_program,
    load_program,
    plan,
)


def _print(text: str = "", out: TextIO | None = None) -> None:
    print(text, file=out or sys.stdout, flush=True)


def program_for(path: str | None) -> Program:
    """The program in ``path``, or the default program."""
    return default_program() if path is None else load_program(path)


def last_time_in(folder: str | None, side: str, pose: str, exclude: Sequence[Path] = ()):
    """Last time's figures from the sessions under ``folder`` (``imuhip history``'s analysis,
    cached), None without a folder or a matching session."""
    if folder is None:
        return None
    from imuhip.sinks.history import default_cache_path, last_time, scan

    root = Path(folder)
    if not root.is_dir():
        raise ImuhipError(f"--history {folder}: not a folder")
    rows = scan(root, jobs=1, cache=default_cache_path()).rows
    names = []
    for p in exclude:
        try:
            names.append(p.resolve().relative_to(root.resolve()).as_posix())
        except ValueError:
            continue
    return last_time(rows, side, pose, exclude=names)


def session_plan(program: Program, side: str, pose: str, last: LastTime | None):
    """The sets for ``side`` and ``pose``; a clear error when the program has none."""
    sets = plan(program, side, pose, last)
    if not sets:
        have = ", ".join(program.poses())
        raise ProgramError(
            f"the program {program.name!r} has no exercise for the {side} leg in the {pose} "
            f"pose (its poses: {have}); choose one with --exercise"
        )
    return sets


@dataclass
class Trainer:
    """The coach, its sound and what the view shows, stepped with the pipeline.

    ``note`` receives one line per prompt; :attr:`prompt` is the latest cue to show large;
    :attr:`events` every session event the coach made (also given back by :meth:`step`)."""

    coach: Coach
    sound: SoundSink
    note: Callable[[str], None]
    origin: float = 0.0
    prompt: str = ""
    events: list[Event] = field(default_factory=list)

    def step(self, t: float, state: LiveState, evs: Sequence[AnalysisEvent]) -> list[Event]:
        """Advance the coach to session time ``t``; returns the events to record."""
        return self._take(self.coach.update(t, state, evs))

    def finish(self, t: float) -> list[Event]:
        """The session ends at ``t``; returns the last events to record."""
        return self._take(self.coach.finish(t))

    def _take(self, step: CoachStep) -> list[Event]:
        for p in step.prompts:
            self.sound.say(p)
            self.note(f"{p.t - self.origin:7.1f} s  » {p.text}")
            if p.priority >= Priority.NORMAL:
                self.prompt = p.text
        self.events.extend(step.events)
        return list(step.events)


def make_trainer(
    program: Program,
    side: str,
    pose: str,
    *,
    sound: SoundMode | str,
    note: Callable[[str], None],
    last: LastTime | None = None,
) -> Trainer:
    """The trainer for one session (see :class:`Trainer`)."""
    if pose not in POSES:
        raise ImuhipError(
            f"the session's exercise is {pose!r}, not a start pose ({', '.join(POSES)}): "
            "the program's exercises are chosen by pose"
        )
    coach = Coach(program, session_plan(program, side, pose, last), last=last)
    return Trainer(coach, make_sound(sound, notice=lambda text: note(f"sound: {text}")), note)


def result_lines(trainer: Trainer) -> list[str]:
    """The sets against their targets, one line each."""
    lines = []
    for r in trainer.coach.results:
        s = r.set
        mark = "✓" if r.met else "✗"
        lines.append(f"  {mark} {s.name}, {s.side}, set {s.number}/{s.of}: {r.sentence()}")
    return lines


# --------------------------------------------------------------------------- replay


def train_replay_command(
    session_path: str,
    program: Program,
    *,
    sound: SoundMode | str = SoundMode.NONE,
    speed: float | None = 1.0,
    output: Path | None = None,
    overwrite: bool = False,
    history: str | None = None,
    plain: bool | None = None,
    out: TextIO | None = None,
) -> int:
    """Run ``program``'s coach over the recording ``session_path`` through the session
    pipeline (paced by ``speed``, None: as fast as possible); with ``output`` write the
    recording again with the coach's events."""
    from imuhip.files.session_file import write_session
    from imuhip.live.replay import replay
    from imuhip.pipeline import make_pipeline
    from imuhip.session import input_time, session_inputs
    from imuhip.sinks.file_warnings import read_session_noting
    from imuhip.sinks.live_view import PlainView, SensorLine, Snapshot, make_view

    if output is not None and output.exists() and not overwrite:
        raise ImuhipError(f"{output} exists; use -f to overwrite it")
    session = read_session_noting(session_path)
    side, pose = session.header.side, session.header.exercise
    items = session_inputs(session)
    if not items:
        raise ImuhipError(f"{session_path} holds no data")
    last = last_time_in(history, side, pose, exclude=[Path(session_path)])
    view = PlainView(out) if plain else make_view(plain)
    trainer = make_trainer(program, side, pose, sound=sound, note=view.note, last=last)
    pipe = make_pipeline(session.header, aligner="causal")
    t0 = input_time(items[0])
    trainer.origin = view.origin = t0
    total_s = max(input_time(items[-1]) - t0, 1e-3)
    title = (
        f"imuhip train — {program.name}, replay of {Path(session_path).name} ({side} leg, {pose})"
    )
    recorded: list[Event] = []

    def on_step(t: float, evs: list[AnalysisEvent], _events: list[Event]) -> None:
        view.analysis(evs)
        recorded.extend(fed_back(pipe, trainer.step(t, pipe.state, evs)))
        cur = trainer.coach.current
        lines = tuple(
            SensorLine(r, "file", h.rate_hz, h.dropped, h.lost_samples)
            for r, h in pipe.state.sensors.items()
        )
        view.update(
            Snapshot(
                title, t - t0, pipe.state, lines, None, duration_s=total_s,
                hold_target_s=cur.hold_s if cur is not None and cur.kind.timed else None,
                prompt=trainer.prompt,
            )
        )  # fmt: skip

    view.start(title)
    try:
        replay(items, pipe, speed=speed, on_step=on_step)
        n = len(pipe.events)
        pipe.finish()
        t_end = t0 + total_s
        final = pipe.events[n:]
        view.analysis(final)
        recorded.extend(trainer.step(t_end, pipe.state, final))
        recorded.extend(trainer.finish(t_end))
    finally:
        view.close()
        trainer.sound.close()
    _print_sets(program, trainer, side, pose, out)
    if output is not None:
        events = sorted([*session.events, *recorded], key=lambda e: e.t)
        write_session(
            output, session.header, session.samples, session.notifications, events,
            overwrite=overwrite,
        )  # fmt: skip
        _print(f"wrote {output} with the program's sets: imuhip analyze --json {output}", out)
    return 0


def fed_back(pipe: Any, events: list[Event]) -> list[Event]:
    """``events`` (the coach's), fed to the pipeline ``pipe`` as live does (the asked-for hold
    windows are the detector's prior) and returned."""
    for e in events:
        pipe.feed(e)
    return events


def _print_sets(
    program: Program, trainer: Trainer, side: str, pose: str, out: TextIO | None
) -> None:
    """How many of the program's sets were done, and each against its target."""
    _print("", out)
    _print(f"{program.name}: {len(trainer.coach.results)} of {len(trainer.coach.plan)} sets "
           f"({side} leg, {pose})", out)  # fmt: skip
    for line in result_lines(trainer):
        _print(line, out)


# --------------------------------------------------------------------------- demo and live


class PromptView:
    """A live view that also shows the trainer's latest cue (``Snapshot.prompt``)."""

    def __init__(self, inner: object, trainer: Trainer) -> None:
        self.inner = inner
        self.trainer = trainer

    @property
    def origin(self) -> float:
        return self.inner.origin  # type: ignore[attr-defined]

    @origin.setter
    def origin(self, value: float) -> None:
        self.inner.origin = value  # type: ignore[attr-defined]
        self.trainer.origin = value

    def start(self, title: str) -> None:
        self.inner.start(title)  # type: ignore[attr-defined]

    def note(self, text: str) -> None:
        self.inner.note(text)  # type: ignore[attr-defined]

    def analysis(self, events: list[AnalysisEvent]) -> None:
        self.inner.analysis(events)  # type: ignore[attr-defined]

    def update(self, snap: object) -> None:
        from dataclasses import replace

        cur = self.trainer.coach.current
        target = cur.hold_s if cur is not None and cur.kind.timed else None
        snap = replace(snap, prompt=self.trainer.prompt, hold_target_s=target)  # type: ignore[type-var]
        self.inner.update(snap)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]


#: Seconds the session goes on after the program's "done" (then it ends by itself).
END_AFTER_DONE_S = 3.0
#: Seconds the demo's simulated session gives the calibration protocol before the program.
CALIBRATION_ALLOWANCE_S = 35.0


def estimated_s(sets: Sequence[PlannedSet]) -> float:
    """Rough length of the sets with their rests, seconds (a rep ~5 s, a hold its time
    plus 10 s), from the calibration's end."""
    from imuhip.training.coach import LEAD_IN_S

    total = LEAD_IN_S
    for s in sets:
        total += (s.hold_s or 0.0) + 10.0 if s.kind.timed else 5.0 * (s.reps or 8) + 5.0
        total += s.rest_after_s
    return total


#: Seconds from a cue to the demo person's movement (hearing it and getting going).
REACTION_S = 0.8
#: Seconds the demo person holds or stretches beyond the asked-for time.
HOLD_MARGIN_S = 1.5
#: Degrees past a rep set's range target the demo person swings (at least).
RANGE_MARGIN_DEG = 2.0


def demo_action(prompt: Prompt, current: PlannedSet | None) -> Callable[[Any, float], Any] | None:
    """What the demo person does on ``prompt`` during the set ``current``: ``action(person,
    script_time)`` for a set's cue or a reminder (this only when they are not already
    busy), None for any other prompt."""
    if current is None or prompt.kind not in (PromptKind.SET_START, PromptKind.REMINDER):
        return None
    reminder = prompt.kind is PromptKind.REMINDER
    seconds = (current.hold_s or 10.0) + HOLD_MARGIN_S
    target = current.range_deg

    def act(person: Any, u: float) -> Any:
        if reminder and person.busy_until_s > u:
            return None
        at = u + REACTION_S
        if current.kind is SetKind.HOLD:
            return person.push(at, seconds)
        if current.kind is SetKind.STRETCH:
            return person.stretch(at, seconds)
        peak = None if target is None else target - person.rest_deg + RANGE_MARGIN_DEG
        return person.swing(at, current.reps or 8, peak)

    return act


def train_session_command(
    program: Program,
    *,
    side: str,
    pose: str,
    path: Path,
    demo: bool,
    sound: SoundMode | str = SoundMode.SPEECH,
    speed: float = 1.0,
    duration_s: float | None = None,
    seed: int = 0,
    history: str | None = None,
    plain: bool | None = None,
    overwrite: bool = False,
    spec: str | None = None,
    assignments: Sequence[Any] = (),
    out: TextIO | None = None,
) -> int:
    """Run ``program`` live (``demo``: on virtual sensors and a simulated leg, at ``speed``;
    else on ``assignments``, the sensors, through ``spec``'s BLE backend), recording to
    ``path`` with the coach's events, then print the sets against their targets and the
    file's analysis with its sets."""
    from imuhip.sinks.live_view import PlainView, make_view

    if speed <= 0:
        raise ImuhipError("--speed must be positive")
    if not demo and not assignments:
        raise ImuhipError("no sensors: pair them with 'imuhip pair', or try --demo")
    if path.exists() and not overwrite:
        raise ImuhipError(f"{path} exists; use -f to overwrite it")
    last = last_time_in(history, side, pose, exclude=[path])
    inner = PlainView(out) if plain else make_view(plain)
    trainer = make_trainer(program, side, pose, sound=sound, note=inner.note, last=last)
    sets = trainer.coach.plan
    length = duration_s or CALIBRATION_ALLOWANCE_S + 1.25 * estimated_s(sets) + 30.0
    training = _Training(
        program, trainer, PromptView(inner, trainer), side, pose, path, overwrite,
        limit=length if demo or duration_s is not None else None,
    )  # fmt: skip
    try:
        if demo:
            result = training.run_demo(speed, seed)
        else:
            result = training.run_live(assignments, spec, speed)
    finally:
        trainer.sound.close()
    return _training_summary(result, program, trainer, side, pose, path, out)


class _Training:
    """A training session run on the BLE edge: the coach stepped with the pipeline, and the
    session ended by the program's end (or its time limit)."""

    def __init__(
        self,
        program: Program,
        trainer: Trainer,
        view: PromptView,
        side: str,
        pose: str,
        path: Path,
        overwrite: bool,
        *,
        limit: float | None,
    ) -> None:
        import threading

        self.program = program
        self.trainer = trainer
        self.view = view
        self.side = side
        self.pose = pose
        self.path = path
        self.overwrite = overwrite
        self.limit = limit
        self.stop = threading.Event()
        self.rig: Any = None
        self.started: list[float] = []
        self.done_at: list[float] = []
        self._prompted = 0  # the coach's prompts the demo person has heard
        self._cued = 0  # the sets whose cue they heard
        self.extra = {"training": {"program": program.name, "source": program.source}}

    def on_streaming(self, t: float) -> None:
        self.started.append(t)
        if self.rig is not None:
            self.rig.begin(t)

    def on_tick(self, now: float, state: LiveState, evs: list[AnalysisEvent]) -> list[Event]:
        """The coach's step; ends the session after the program's end or at the limit."""
        trainer = self.trainer
        events = trainer.step(now, state, evs)
        if self.rig is not None:  # the demo person hears the cues
            self._follow(trainer.coach)
        if trainer.coach.done:
            self.done_at.append(now)
            if now - self.done_at[0] >= END_AFTER_DONE_S:
                self.stop.set()  # the program is over: end the session
        elif self.limit is not None and self.started and now - self.started[0] >= self.limit:
            events += trainer.finish(now)  # time is up: close the set, recorded
            self.stop.set()
        return events

    def _follow(self, coach: Coach) -> None:
        """The demo person does what the prompts since the last call ask (each set's cue is
        matched to its set in order, a reminder to the set under way)."""
        heard = coach.prompts[self._prompted :]
        self._prompted = len(coach.prompts)
        for p in heard:
            current = coach.current
            if p.kind is PromptKind.SET_START:
                self._cued += 1
                current = coach.plan[min(self._cued, len(coach.plan)) - 1]
            action = demo_action(p, current)
            if action is not None:
                self.rig.ask(action)

    def run_demo(self, speed: float, seed: int) -> Any:
        """On virtual sensors worn by a simulated person who follows the cues, at ``speed``."""
        from imuhip.live.commands import backend_for
        from imuhip.live.demo import demo_settings, person_rig
        from imuhip.live.runner import scaled_clock, session_clock
        from imuhip.sources.ble.edge import LinkThread

        self.rig = person_rig(self.pose, self.side, speed, seed)
        with LinkThread(backend_for("bumble:virtual")) as link:
            self.rig.power_on(link)
            clock, origin = session_clock()
            header = self.rig.header()
            header = replace(header, extra={**header.extra, **self.extra,
                                            "time_origin_monotonic_s": origin})  # fmt: skip
            schedule = self.rig.schedule()
            return self._run(
                link, self.rig.assignments(), header, scaled_clock(speed, clock),
                demo_settings(speed), schedule, speed,
            )  # fmt: skip

    def run_live(self, assignments: Sequence[Any], spec: str | None, speed: float) -> Any:
        """On the sensors ``assignments``, through ``spec``'s BLE backend."""
        from imuhip.live.commands import backend_for, live_header
        from imuhip.live.runner import session_clock
        from imuhip.sources.ble.edge import LinkThread

        with LinkThread(backend_for(spec)) as link:
            clock, origin = session_clock()
            sensors = list(assignments)
            header = live_header(sensors, self.side, self.pose,
                                 {"time_origin_monotonic_s": origin, **self.extra})  # fmt: skip
            return self._run(link, sensors, header, clock, None, None, speed)

    def _run(
        self,
        link: Any,
        sensors: Sequence[Any],
        header: Any,
        clock: Callable[[], float],
        settings: Any,
        schedule: dict[str, float] | None,
        speed: float,
    ) -> Any:
        from imuhip.align.causal import CausalAligner
        from imuhip.align.host_clock import LOSS_WINDOW_S
        from imuhip.files.session_file import SessionWriter
        from imuhip.live.runner import RunOptions, run_session
        from imuhip.pipeline import SessionPipeline
        from imuhip.sinks.live_view import KeyReader

        opts = RunOptions(
            # a backstop: the session ends from on_tick, so the coach's end is recorded
            duration_s=None if self.limit is None else self.limit + 5.0,
            schedule=schedule,
            title=f"imuhip train — {self.program.name}, {self.side} leg, {self.pose}"
            + (" (demo: simulated leg)" if self.rig is not None else ""),
            recording=str(self.path),
            on_tick=self.on_tick,
        )
        loss_window = LOSS_WINDOW_S * max(1.0, speed)
        pipeline = SessionPipeline(header, aligner=CausalAligner(header, loss_window_s=loss_window))
        with (
            SessionWriter(self.path, header, overwrite=self.overwrite) as writer,
            KeyReader() as keys,
        ):
            return run_session(
                sensors, header, self.view, writer=writer, options=opts, settings=settings,
                clock=clock, keys=keys if keys.enabled else None, stop_event=self.stop,
                on_streaming=self.on_streaming, pipeline=pipeline, link=link,
            )  # fmt: skip


def _training_summary(
    result: Any,
    program: Program,
    trainer: Trainer,
    side: str,
    pose: str,
    path: Path,
    out: TextIO | None,
) -> int:
    """The session's summary, the sets against their targets, the file's analysis."""
    from imuhip.live.commands import print_result
    from imuhip.pipeline import analyze_session
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from imuhip.sinks.file_warnings import read_session_noting

    if not trainer.coach.done:  # ended by the user: said and shown, the file is closed
        trainer.finish(result.t_start + result.duration_s)
    shown = print_result(result, path, out)
    _print_sets(program, trainer, side, pose, out)
    session = read_session_noting(path)
    try:
        analysis = analyze_session(session)
    except ImuhipError as exc:
        _print(f"analysis of {path}: {exc}", out)
        return 0
    doc = analysis_document(session, analysis)
    doc["warnings"] = [w for w in doc["warnings"] if w not in shown]
    _print("", out)
    _print(analysis_text(path, doc), out)
    return 0
