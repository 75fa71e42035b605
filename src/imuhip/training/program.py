"""Training programs: exercises in order, each with sets of reps, holds or stretches, targets
and rests, read from a small TOML file (stdlib :mod:`tomllib`).

A program is plain data; :func:`plan` turns it into the sets one session runs. One session is
one leg in one start pose (the calibration is made for that pose), so a session runs the
program's exercises whose technique has the session's pose, for the session's side. Targets
given as ``{ beat_last = 5, first = 20 }`` are resolved from the last session of the same side
and pose (:class:`LastTime`, from ``imuhip history``'s figures).

Stretches are timed like holds: from the stretch (or a hold) the detector sees.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from imuhip.errors import ProgramError
from imuhip.exercises import TECHNIQUES

#: Longest hold, rest or stretch a program may ask for, seconds.
MAX_SECONDS = 3600.0
#: Most sets per exercise and reps per set.
MAX_COUNT = 100
#: Most exercises in a program.
MAX_EXERCISES = 50


class SetKind(StrEnum):
    """What a set asks for."""

    REPS = "reps"  # swing into internal rotation and back, counted
    HOLD = "hold"  # an isometric hold (e.g. against the band)
    STRETCH = "stretch"  # a stretch at the end of the range (timed as a hold)

    @property
    def timed(self) -> bool:
        """Holds and stretches are timed; reps are counted."""
        return self is not SetKind.REPS


class Measure(StrEnum):
    """What a target measures (and what :class:`LastTime` gives for it)."""

    HOLD_S = "hold_s"  # seconds of one hold
    REPS = "reps"  # reps in a set
    RANGE_DEG = "range_deg"  # peak rotation of a rep, degrees (internal positive)


#: Words said at a set's start, per technique and kind (a program's ``cue`` replaces them).
DEFAULT_CUES: dict[tuple[str, SetKind], str] = {
    ("knee-to-floor", SetKind.STRETCH): "knee to the floor, press with the other foot",
    ("knee-to-floor", SetKind.HOLD): "knee to the floor and hold",
    ("knee-to-floor", SetKind.REPS): "knee to the floor",
    ("knee-inward-tilts", SetKind.STRETCH): "let the knee fall inward",
    ("knee-inward-tilts", SetKind.HOLD): "knee inward and hold",
    ("knee-inward-tilts", SetKind.REPS): "tilt the knee inward",
    ("prone-active-ir", SetKind.HOLD): "push",
    ("prone-active-ir", SetKind.STRETCH): "feet apart and hold",
    ("prone-active-ir", SetKind.REPS): "swing",
}


@dataclass(frozen=True)
class Target:
    """A target figure: a fixed ``value``, or last time's figure plus ``beat_last`` (``first``
    when there is no earlier session; None then means no target)."""

    value: float | None = None
    beat_last: float | None = None
    first: float | None = None

    def resolve(self, last: float | None) -> float | None:
        """The number to aim for, given last time's figure (None: no earlier session)."""
        if self.beat_last is None:
            return self.value
        return self.first if last is None else last + self.beat_last

    def as_dict(self) -> dict[str, float]:
        if self.beat_last is None:
            return {} if self.value is None else {"value": self.value}
        d = {"beat_last": self.beat_last}
        return d if self.first is None else {**d, "first": self.first}


@dataclass(frozen=True)
class SetSpec:
    """The sets of one exercise.

    Attributes:
        kind: reps, hold or stretch.
        count: how many sets (per side).
        hold_s: hold or stretch length, seconds (timed kinds; required for them).
        reps: reps per set (reps; None: until the leg stops).
        range_deg: peak rotation each rep (reps) or the hold (timed) should reach, degrees.
        rest_s: rest between the sets, seconds.
    """

    kind: SetKind
    count: int
    hold_s: Target | None = None
    reps: Target | None = None
    range_deg: Target | None = None
    rest_s: float = 30.0


@dataclass(frozen=True)
class ExerciseSpec:
    """One exercise of a program.

    Attributes:
        technique: a key of :data:`imuhip.exercises.TECHNIQUES`.
        sides: the sides it is done on ("left", "right" or both).
        sets: its sets.
        rest_after_s: rest after its last set, before the next exercise, seconds.
        cue: what is said at each set's start.
        name: how prompts name it.
    """

    technique: str
    sides: tuple[str, ...]
    sets: SetSpec
    rest_after_s: float
    cue: str
    name: str

    @property
    def pose(self) -> str:
        """The start pose of the technique (what a session's calibration is made in)."""
        return TECHNIQUES[self.technique]


@dataclass(frozen=True)
class Program:
    """A training program: ``exercises`` in order, ``countdown_s`` spoken seconds at a hold's
    end; ``source`` is the file it came from ("" for the default program)."""

    name: str
    exercises: tuple[ExerciseSpec, ...]
    countdown_s: int = 3
    source: str = ""

    def poses(self) -> tuple[str, ...]:
        """The start poses of its exercises, in the order they first come."""
        return tuple(dict.fromkeys(e.pose for e in self.exercises))

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the ``program`` session event's data)."""
        return {
            "name": self.name,
            "source": self.source,
            "countdown_s": self.countdown_s,
            "exercises": [
                {
                    "technique": e.technique,
                    "name": e.name,
                    "sides": list(e.sides),
                    "kind": str(e.sets.kind),
                    "count": e.sets.count,
                    "rest_s": e.sets.rest_s,
                    "rest_after_s": e.rest_after_s,
                    **{
                        m: t.as_dict()
                        for m, t in (
                            ("hold_s", e.sets.hold_s),
                            ("reps", e.sets.reps),
                            ("range_deg", e.sets.range_deg),
                        )
                        if t is not None
                    },
                }
                for e in self.exercises
            ],
        }


@dataclass(frozen=True)
class LastTime:
    """Figures of the last session of a side and pose (``imuhip history``'s row).

    Attributes:
        longest_hold_s: its longest hold, seconds (None: none).
        best_range_deg: its largest rep peak, degrees (None: no reps).
        reps: its rep count (None: unknown).
        file: the session file it came from; date: its ISO-8601 date.
    """

    longest_hold_s: float | None = None
    best_range_deg: float | None = None
    reps: int | None = None
    file: str = ""
    date: str = ""

    def figure(self, measure: Measure) -> float | None:
        return {
            Measure.HOLD_S: self.longest_hold_s,
            Measure.RANGE_DEG: self.best_range_deg,
            Measure.REPS: None if self.reps is None else float(self.reps),
        }[measure]


@dataclass(frozen=True)
class PlannedSet:
    """One set a session runs, with its targets resolved.

    Attributes:
        exercise: index of its exercise in the program (0-based).
        technique, name, side, kind, cue: of the exercise.
        number, of: the set's number (1-based) and the exercise's set count on this side.
        hold_s: hold/stretch length to reach, seconds (timed kinds).
        reps: reps to do (None: until the leg stops).
        range_deg: peak to reach, degrees (None: no range target).
        rest_after_s: rest after this set, seconds (0 after the session's last set).
        from_last: the measures whose target came from last time.
    """

    exercise: int
    technique: str
    name: str
    side: str
    kind: SetKind
    cue: str
    number: int
    of: int
    hold_s: float | None
    reps: int | None
    range_deg: float | None
    rest_after_s: float
    from_last: tuple[Measure, ...] = field(default=())

    def targets(self) -> dict[str, float | int]:
        """The resolved targets by measure name (only those set)."""
        d: dict[str, float | int] = {}
        if self.hold_s is not None:
            d[Measure.HOLD_S] = self.hold_s
        if self.reps is not None:
            d[Measure.REPS] = self.reps
        if self.range_deg is not None:
            d[Measure.RANGE_DEG] = self.range_deg
        return d

    def describe(self) -> str:
        """``set 2 of 3, hold 20 s`` (for "next: …")."""
        what = {SetKind.HOLD: "hold", SetKind.STRETCH: "stretch", SetKind.REPS: "reps"}[self.kind]
        if self.kind.timed and self.hold_s is not None:
            what = f"{what} {self.hold_s:g} seconds"
        elif self.reps is not None:
            what = f"{self.reps} reps"
        return f"{self.name}, {self.side} leg, set {self.number} of {self.of}, {what}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "technique": self.technique,
            "side": self.side,
            "kind": str(self.kind),
            "set": self.number,
            "of": self.of,
            "targets": {str(k): v for k, v in self.targets().items()},
            "from_last": [str(m) for m in self.from_last],
            "rest_after_s": self.rest_after_s,
        }


# ------------------------------------------------------------------------------ reading


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _number(v: Any, where: str, *, lo: float, hi: float, whole: bool = False) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if ok and whole:
        ok = float(v).is_integer()
    if not ok or not lo <= v <= hi:
        kind = "a whole number" if whole else "a number"
        raise ProgramError(f"{where} must be {kind} from {lo:g} to {hi:g}, got {v!r}")
    return float(v)


def _target(v: Any, where: str, *, lo: float, hi: float, whole: bool = False) -> Target:
    """A number, or ``{ beat_last = X, first = Y }``."""
    if isinstance(v, dict):
        unknown = set(v) - {"beat_last", "first"}
        if unknown:
            raise ProgramError(f"{where}: unknown key {sorted(unknown)[0]!r} (a target is a "
                               "number or { beat_last = X, first = Y })")  # fmt: skip
        if "beat_last" not in v:
            raise ProgramError(f"{where} needs beat_last (how much to beat last time by)")
        by = _number(v["beat_last"], f"{where}.beat_last", lo=-hi, hi=hi, whole=whole)
        first = None
        if "first" in v:
            first = _number(v["first"], f"{where}.first", lo=lo, hi=hi, whole=whole)
        return Target(beat_last=by, first=first)
    return Target(value=_number(v, where, lo=lo, hi=hi, whole=whole))


def _table(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ProgramError(f"{where} must be a table, got {v!r}")
    return v


def _check_keys(d: dict[str, Any], allowed: set[str], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise ProgramError(f"{_where(where, k)}: unknown field (allowed: "
                               f"{', '.join(sorted(allowed))})")  # fmt: skip


_EXERCISE_KEYS = {"technique", "side", "sets", "rest_after_s", "cue", "name"}
_SETS_KEYS = {"kind", "count", "hold_s", "reps", "range_deg", "rest_s"}


def _sets(d: dict[str, Any], where: str) -> SetSpec:
    _check_keys(d, _SETS_KEYS, where)
    if "kind" not in d:
        raise ProgramError(f"{where}.kind is missing: reps, hold or stretch")
    try:
        kind = SetKind(d["kind"])
    except ValueError:
        raise ProgramError(
            f"{where}.kind must be reps, hold or stretch, got {d['kind']!r}"
        ) from None
    count = int(_number(d.get("count", 1), f"{where}.count", lo=1, hi=MAX_COUNT, whole=True))
    hold = reps = None
    if "hold_s" in d:
        if not kind.timed:
            raise ProgramError(f"{where}.hold_s: a set of reps has no hold length (use reps)")
        hold = _target(d["hold_s"], f"{where}.hold_s", lo=1, hi=MAX_SECONDS)
        if hold.beat_last is not None and hold.first is None:
            raise ProgramError(f"{where}.hold_s needs first = S: the hold's length when there is "
                               "no earlier session")  # fmt: skip
    elif kind.timed:
        raise ProgramError(f"{where}.hold_s is missing: how many seconds each {kind} lasts")
    if "reps" in d:
        if kind.timed:
            raise ProgramError(f"{where}.reps: a {kind} set is timed (use hold_s)")
        reps = _target(d["reps"], f"{where}.reps", lo=1, hi=MAX_COUNT, whole=True)
    range_deg = None
    if "range_deg" in d:
        range_deg = _target(d["range_deg"], f"{where}.range_deg", lo=0, hi=90)
    rest = _number(d.get("rest_s", 30.0), f"{where}.rest_s", lo=0, hi=MAX_SECONDS)
    return SetSpec(kind, count, hold, reps, range_deg, rest)


def _exercise(d: dict[str, Any], where: str) -> ExerciseSpec:
    _check_keys(d, _EXERCISE_KEYS, where)
    technique = d.get("technique")
    if technique not in TECHNIQUES:
        raise ProgramError(f"{where}.technique must be one of {', '.join(TECHNIQUES)}, "
                           f"got {technique!r}")  # fmt: skip
    side = d.get("side", "both")
    if side not in ("left", "right", "both"):
        raise ProgramError(f"{where}.side must be left, right or both, got {side!r}")
    sides = ("left", "right") if side == "both" else (side,)
    if "sets" not in d:
        raise ProgramError(f"{where}.sets is missing (a table: kind, count, hold_s or reps, …)")
    sets = _sets(_table(d["sets"], f"{where}.sets"), f"{where}.sets")
    rest_after = _number(d.get("rest_after_s", sets.rest_s), f"{where}.rest_after_s", lo=0,
                         hi=MAX_SECONDS)  # fmt: skip
    cue = d.get("cue", DEFAULT_CUES[(technique, sets.kind)])
    name = d.get("name", technique.replace("-", " "))
    for key, text in (("cue", cue), ("name", name)):
        if not isinstance(text, str) or not text.strip() or len(text) > 200:
            raise ProgramError(f"{where}.{key} must be a short text, got {text!r}")
    return ExerciseSpec(technique, sides, sets, rest_after, cue.strip(), name.strip())


def parse_program(text: str, source: str = "") -> Program:
    """The program in TOML ``text`` (``source`` names it in errors).

    Raises:
        ProgramError: a TOML syntax error (with its line and column) or a field that is
            missing or wrong (see :func:`program_from_dict`).
    """
    where = f"{source}: " if source else ""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError(f"{where}not a valid TOML program: {exc}") from None
    return program_from_dict(doc, source)


def program_from_dict(doc: dict[str, Any], source: str = "") -> Program:
    """The program in ``doc`` (a parsed TOML document: plain data).

    Raises:
        ProgramError: a field that is missing or wrong, named by its path, e.g.
            ``exercise[2].sets.hold_s`` (exercises are counted from 1), after ``source: ``.
    """
    where = f"{source}: " if source else ""
    try:
        if not isinstance(doc, dict):
            raise ProgramError(f"a program is a table of fields, got {doc!r}")
        _check_keys(doc, {"name", "countdown_s", "exercise"}, "")
        name = doc.get("name", Path(source).stem if source else "program")
        if not isinstance(name, str) or len(name) > 200:
            raise ProgramError(f"name must be a short text, got {name!r}")
        countdown = int(_number(doc.get("countdown_s", 3), "countdown_s", lo=0, hi=10,
                                whole=True))  # fmt: skip
        exercises = doc.get("exercise")
        if not isinstance(exercises, list) or not exercises:
            raise ProgramError("no exercises: add [[exercise]] tables (technique, side, sets)")
        if len(exercises) > MAX_EXERCISES:
            raise ProgramError(f"exercise: at most {MAX_EXERCISES} exercises")
        parsed = tuple(
            _exercise(_table(e, f"exercise[{i}]"), f"exercise[{i}]")
            for i, e in enumerate(exercises, start=1)
        )
    except ProgramError as exc:
        raise ProgramError(f"{where}{exc}") from None
    return Program(name, parsed, countdown, source)


def load_program(path: str | Path) -> Program:
    """The program in the TOML file ``path``.

    Raises:
        ProgramError: the file cannot be read or is not a valid program (see
            :func:`parse_program`).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(f"cannot read the program {p}: {exc}") from None
    return parse_program(text, str(p))


def default_program() -> Program:
    """The program that ships (:data:`DEFAULT_PROGRAM_TOML`)."""
    return parse_program(DEFAULT_PROGRAM_TOML)


def plan(
    program: Program, side: str, pose: str, last: LastTime | None = None
) -> tuple[PlannedSet, ...]:
    """The sets one session runs: the exercises of ``program`` done on ``side`` whose
    technique has the start pose ``pose``, in order, with targets from ``last`` where the
    program asks to beat last time. The last set has no rest after it."""
    out: list[PlannedSet] = []
    for i, ex in enumerate(program.exercises):
        if side not in ex.sides or ex.pose != pose:
            continue
        s = ex.sets
        resolved: dict[Measure, float | None] = {}
        from_last: list[Measure] = []
        for m, t in ((Measure.HOLD_S, s.hold_s), (Measure.REPS, s.reps),
                     (Measure.RANGE_DEG, s.range_deg)):  # fmt: skip
            if t is None:
                resolved[m] = None
                continue
            got = t.resolve(None if last is None else last.figure(m))
            if t.beat_last is not None and last is not None and last.figure(m) is not None:
                from_last.append(m)
            if got is not None and m is Measure.HOLD_S:
                got = float(math.floor(got + 0.5))  # whole seconds, to say aloud
            elif got is not None and m is Measure.RANGE_DEG:
                got = round(got, 1)
            resolved[m] = got
        reps = resolved[Measure.REPS]
        for n in range(1, s.count + 1):
            out.append(
                PlannedSet(
                    exercise=i,
                    technique=ex.technique,
                    name=ex.name,
                    side=side,
                    kind=s.kind,
                    cue=ex.cue,
                    number=n,
                    of=s.count,
                    hold_s=resolved[Measure.HOLD_S],
                    reps=None if reps is None else max(1, round(reps)),
                    range_deg=resolved[Measure.RANGE_DEG],
                    rest_after_s=s.rest_s if n < s.count else ex.rest_after_s,
                    from_last=tuple(from_last),
                )
            )
    if out:
        out[-1] = replace(out[-1], rest_after_s=0.0)
    return tuple(out)


#: The program that ships, following the source techniques: the knee-to-floor stretch with
#: overpressure from the other foot (seated), knee inward tilts (supine), isometric holds
#: against a band round the ankles lying face down, then the same movement without the band
#: (prone AROM).
DEFAULT_PROGRAM_TOML = """\
# imuhip default training program: hip internal rotation.
# One session is one leg in one start pose: `imuhip train --exercise POSE --side SIDE` runs the
# exercises below whose technique has that pose (seated, supine or prone).
name = "Hip internal rotation"
countdown_s = 3                  # seconds counted down at the end of each hold or stretch

[[exercise]]                     # 1. Knee-to-floor, seated: hold the stretch, overpressure
technique = "knee-to-floor"      # from the other foot at the end
side = "both"
rest_after_s = 30
[exercise.sets]
kind = "stretch"                 # timed as a hold
count = 2
hold_s = 30
rest_s = 20

[[exercise]]                     # 2. Knee inward tilts, supine: let gravity do the work
technique = "knee-inward-tilts"
side = "both"
[exercise.sets]
kind = "reps"
count = 2
reps = 10
rest_s = 30

[[exercise]]                     # 3a. Prone isometrics: push the feet apart against the band
technique = "prone-active-ir"
name = "prone isometric"
side = "both"
rest_after_s = 60                # time to take the band off
[exercise.sets]
kind = "hold"
count = 3
hold_s = { beat_last = 2, first = 10 }   # last session's longest hold + 2 s (10 s the first time)
rest_s = 45

[[exercise]]                     # 3b. Prone AROM: swing the feet apart, no band
technique = "prone-active-ir"
name = "prone swing"
side = "both"
[exercise.sets]
kind = "reps"
count = 2
reps = 8
range_deg = { beat_last = 0 }    # reach last session's best peak (no target the first time)
rest_s = 30
"""
