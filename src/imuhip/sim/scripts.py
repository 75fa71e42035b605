"""Motion scripts: the calibration protocol, reps, holds, stretches, and their ground truth.

A script is a set of :class:`~imuhip.sim.tracks.Track` objects, one per joint degree of freedom
(degrees), built step by step with randomised but physiological timing and amplitudes, the
windows of muscular effort (which the simulator turns into tremor in the sensors, see
:class:`imuhip.sim.sensor_model.EffortModel`), and the truth that the product should find in it
(reps, holds, stretches, rests, calibration phases as performed). ``docs/simulator.md``
describes every content kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from imuhip import calibration_protocol as protocol
from imuhip.sim.kinematics import JointAngles, Pose
from imuhip.sim.tracks import Oscillation, Track

Content = Literal[
    "reps",
    "holds",
    "mixed",
    "rest",
    "isometric",
    "dwell-reps",
    "slow-reps",
    "small-reps",
    "external-reps",
    "stretch",
    "everyday",
]
#: The content kinds of the first simulator (their sessions stay bit-identical for a seed).
CLASSIC_CONTENTS: tuple[str, ...] = ("reps", "holds", "mixed", "rest")
#: Exercises as people really do them (issue 19): see :func:`make_script`.
EVERYDAY_CONTENTS: tuple[str, ...] = (
    "isometric",
    "dwell-reps",
    "slow-reps",
    "small-reps",
    "external-reps",
    "stretch",
    "everyday",
)
CONTENTS: tuple[str, ...] = CLASSIC_CONTENTS + EVERYDAY_CONTENTS

Direction = Literal["internal", "external"]

#: A rep's dwell is the time its hip angle stays within this of its peak, degrees.
DWELL_BAND_DEG = 2.0


@dataclass(frozen=True)
class RepTruth:
    """One true AROM repetition (seconds, degrees of hip internal rotation).

    Attributes:
        start_s, peak_s, end_s: leaves the rest, furthest point, back at the rest.
        peak_deg: hip angle at the peak (negative for a rep into external rotation).
        rest_deg: the rest angle it starts from and returns to.
        dwell_s: time within ``DWELL_BAND_DEG`` of the peak.
        direction: "internal" (peak above the rest) or "external" (below).
        peak_rate_dps: largest hip angular rate during the rep, °/s.
    """

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    rest_deg: float
    dwell_s: float = 0.0
    direction: Direction = "internal"
    peak_rate_dps: float = 0.0


@dataclass(frozen=True)
class HoldTruth:
    """One true hold (seconds, degrees).

    Classic holds (content "holds"/"mixed"): the leg moves 4–10° into the hold, arrives at
    ``start_s`` and starts back at ``end_s``; their tremor is drawn into the joint angles and
    ``effort`` is 0. Isometric holds (``isometric``): the leg pushes against a resistance and
    moves 0–2°; ``start_s``/``end_s`` are the start and end of the muscular effort (its ramps
    last ``EFFORT_RAMP_S``) and ``effort`` is its level (1 = the EffortModel's amplitudes).

    Attributes:
        start_s, end_s: hold edges.
        mean_deg: mean true hip angle over the hold.
        isometric: a no-movement hold found only from its effort.
        effort: relative tremor level of the contraction.
        range_deg: max − min of the true hip angle over the hold.
    """

    start_s: float
    end_s: float
    mean_deg: float
    isometric: bool = False
    effort: float = 0.0
    range_deg: float = 0.0


@dataclass(frozen=True)
class StretchTruth:
    """One passive stretch (seconds, degrees): a slow drop to end range, held relaxed, with an
    optional overpressure phase at its end (the other foot or a hand pushing further).

    Attributes:
        start_s: the leg leaves the rest.
        end_range_s: it arrives at end range (the held part starts).
        end_s: it starts back (the held part ends).
        returned_s: it is back at the rest.
        mean_deg, max_deg: mean and largest true hip angle over the held part.
        time_at_end_range_s: time of the held part within ``DWELL_BAND_DEG`` of ``max_deg``.
        overpressure_start_s: the overpressure starts pushing (None: no overpressure).
        overpressure_gain_deg: the angle it adds (None: no overpressure).
        effort: relative tremor level transmitted from the pushing leg during overpressure
            (0 without overpressure; the stretched leg itself is relaxed).
    """

    start_s: float
    end_range_s: float
    end_s: float
    returned_s: float
    mean_deg: float
    max_deg: float
    time_at_end_range_s: float
    overpressure_start_s: float | None = None
    overpressure_gain_deg: float | None = None
    effort: float = 0.0


@dataclass(frozen=True)
class RestTruth:
    """A stretch of time after the calibration when the leg is at rest and relaxed (seconds,
    degrees): between the session's events, of at least ``MIN_REST_S``."""

    start_s: float
    end_s: float
    mean_deg: float


@dataclass(frozen=True)
class PhaseTruth:
    """A calibration phase as the person performed it (seconds from the session start).

    Attributes:
        phase: protocol phase name.
        start_s, end_s: when the person did it: for movement phases the first movement's start
            and the last one's end, for still phases the stillness between them.
        mark_s: when the guidance marked the phase (its prompt).
    """

    phase: str
    start_s: float
    end_s: float
    mark_s: float


@dataclass(frozen=True)
class EffortWindow:
    """Muscular effort over ``[start_s, end_s]`` at relative ``level`` (1 = the EffortModel's
    amplitudes), switched on and off over ``EFFORT_RAMP_S``."""

    start_s: float
    end_s: float
    level: float


#: Rise and fall of a contraction's tremor, seconds.
EFFORT_RAMP_S = 0.2
#: Shortest rest listed in the truth, seconds.
MIN_REST_S = 0.5


@dataclass(frozen=True)
class ScriptOptions:
    """Knobs of the script generator (defaults: a typical cooperative user).

    Attributes:
        soft_tissue: share of the femur's axial rotation the thigh's skin follows (0..1);
            None draws one in [0.4, 0.75].
        rest_drift_deg: SD of the rest angle's change between movements (a settling leg).
        rest_range_deg: the rest angle stays within ± this of ``rest_start_deg``, degrees.
        rest_start_deg: where the leg settles after the calibration, degrees from the start
            pose (a user who relaxes into a new rest).
        slow_rep_prob: probability that a rep rises over 4–5 s instead of 0.8–2.5 s.
        no_pause_prob: probability that a rep starts right after the previous one ends.
        holds: number of holds in "holds" content (None: as many as fit; "mixed" uses 2).
        hold_s: (min, max) hold duration.
        knee_play_deg: largest axial rotation of the tibia at the knee during a rep, degrees
            (each rep draws one in ±this; the shin sensor reads it as hip rotation).
        failed_attempt: a first calibration attempt in which the leg stays still through the
            knee-bend step (a refused calibration), then the whole protocol again.
        pace: the person's tempo against live guidance's prompts (1.3: each step takes 30 %
            longer than prompted, 0.7: 30 % shorter). None: the guidance waits for the person
            and marks each phase when it starts (the classic sessions). With a pace the marks
            are written at the prompts' fixed times, and the person reacts to each prompt,
            moves at their own pace and runs late (or finishes early and waits).
        dwell_s: (min, max) pause at end range of "dwell-reps".
        slow_rep_s: (min, max) duration of each way of a slow "slow-reps" rep.
        crawl_dps: (min, max) peak hip angular rate of a crawling "slow-reps" rep, °/s.
        crawl_deg: (min, max) amplitude of a crawling rep, degrees.
        small_rep_deg: (min, max) amplitude of "small-reps", degrees.
        external_rep_deg: (min, max) amplitude of "external-reps" (into external rotation,
            negative angles), degrees.
        isometric_shift_deg: (min, max) movement of the leg during an isometric hold, degrees.
        effort_level: (min, max) relative effort of an isometric hold.
        stretch_hold_s: (min, max) time a stretch is held at end range, seconds.
        stretch_extra_deg: (min, max) end range beyond the pose's largest AROM peak, degrees.
        overpressure_s: (min, max) duration of the overpressure at a stretch's end, seconds.
        overpressure_deg: (min, max) angle the overpressure adds, degrees.
        overpressure_effort: relative tremor level transmitted by the pushing leg.
    """

    soft_tissue: float | None = None
    rest_drift_deg: float = 0.3
    rest_range_deg: float = 2.5
    rest_start_deg: float = 0.0
    slow_rep_prob: float = 0.1
    no_pause_prob: float = 0.1
    holds: int | None = None
    hold_s: tuple[float, float] = (5.0, 30.0)
    knee_play_deg: float = 2.0
    failed_attempt: bool = False
    pace: float | None = None
    dwell_s: tuple[float, float] = (2.0, 3.0)
    slow_rep_s: tuple[float, float] = (4.5, 5.5)
    crawl_dps: tuple[float, float] = (1.2, 2.0)
    crawl_deg: tuple[float, float] = (6.0, 12.0)
    small_rep_deg: tuple[float, float] = (6.0, 10.0)
    external_rep_deg: tuple[float, float] = (15.0, 30.0)
    isometric_shift_deg: tuple[float, float] = (0.0, 1.5)
    effort_level: tuple[float, float] = (0.8, 1.2)
    stretch_hold_s: tuple[float, float] = (40.0, 60.0)
    stretch_extra_deg: tuple[float, float] = (0.0, 5.0)
    overpressure_s: tuple[float, float] = (10.0, 20.0)
    overpressure_deg: tuple[float, float] = (4.0, 8.0)
    overpressure_effort: float = 0.15


#: ScriptOptions fields added after the classic kinds (left out of a session's header when at
#: their defaults, so classic sessions stay byte-identical).
NEW_OPTION_FIELDS: tuple[str, ...] = (
    "pace", "dwell_s", "slow_rep_s", "crawl_dps", "crawl_deg", "small_rep_deg",
    "external_rep_deg", "isometric_shift_deg", "effort_level", "stretch_hold_s",
    "stretch_extra_deg", "overpressure_s", "overpressure_deg", "overpressure_effort",
)  # fmt: skip


@dataclass
class Script:
    """Joint tracks (degrees) of one session and its ground truth.

    Attributes:
        exercise: pose name.
        side: "left" or "right".
        tracks: ``JointAngles`` field name -> Track in degrees (hip_flexion, hip_adduction,
            hip_rotation, knee_flexion, knee_rotation, knee_varus, thigh_skin_rotation).
        phase_starts: calibration phase -> time the guidance would announce it, seconds.
        failed_phase_starts: the same for a refused first attempt (None without one).
        calibration_end_s: end of the protocol's final still step.
        reps, holds, stretches, rests: the truth.
        duration_s: session length.
        soft_tissue: share of axial rotation followed by the thigh skin.
        performed: the calibration phases as the person did them.
        efforts: windows of muscular effort (tremor in the sensors).
        pace: ScriptOptions.pace.
        body_steps: the pelvis and trunk steps after the calibration (layouts with those
            sensors): phase -> (start_s, end_s), the guidance's mark and the step's end.
    """

    exercise: str
    side: str
    tracks: dict[str, Track]
    phase_starts: dict[str, float]
    calibration_end_s: float
    reps: list[RepTruth] = field(default_factory=list)
    holds: list[HoldTruth] = field(default_factory=list)
    duration_s: float = 0.0
    soft_tissue: float = 1.0
    failed_phase_starts: dict[str, float] | None = None
    stretches: list[StretchTruth] = field(default_factory=list)
    rests: list[RestTruth] = field(default_factory=list)
    performed: list[PhaseTruth] = field(default_factory=list)
    efforts: list[EffortWindow] = field(default_factory=list)
    pace: float | None = None
    body_steps: dict[str, tuple[float, float]] = field(default_factory=dict)

    def guidance_schedule(self) -> dict[str, float]:
        """Phase -> time (s) a scripted guidance prompts it: the calibration's phases, then the
        pelvis and trunk steps (layouts with those sensors)."""
        return {**self.phase_starts, **{k: v[0] for k, v in self.body_steps.items()}}

    def body_steps_lists(self) -> dict[str, list[float]]:
        """``body_steps`` as plain JSON data."""
        return {k: list(v) for k, v in self.body_steps.items()}

    def effort_envelope(self, t: np.ndarray) -> np.ndarray:
        """Relative effort (0 = relaxed) at times ``t`` (seconds): the sum of the windows."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        for w in self.efforts:
            up = np.clip((t - w.start_s) / EFFORT_RAMP_S, 0.0, 1.0)
            down = np.clip((w.end_s - t) / EFFORT_RAMP_S, 0.0, 1.0)
            out += w.level * np.sin(0.5 * np.pi * np.minimum(up, down)) ** 2
        return out

    def angles(self, t: np.ndarray) -> JointAngles:
        """Joint angles in radians at times ``t`` (seconds)."""
        return JointAngles(**{k: np.radians(tr(t)) for k, tr in self.tracks.items()})

    def truth_events(self) -> dict:
        """Reps, holds and calibration end as plain JSON-serialisable data."""
        return {
            "calibration_end_s": self.calibration_end_s,
            "phase_starts": dict(self.phase_starts),
            "failed_phase_starts": self.failed_phase_starts,
            "reps": [asdict(r) for r in self.reps],
            "holds": [asdict(h) for h in self.holds],
            "soft_tissue": self.soft_tissue,
            "stretches": [asdict(x) for x in self.stretches],
            "rests": [asdict(r) for r in self.rests],
            "calibration_performed": [asdict(ph) for ph in self.performed],
            "efforts": [asdict(w) for w in self.efforts],
            "pace": self.pace,
            **({"body_steps": self.body_steps_lists()} if self.body_steps else {}),
        }


class _Builder:
    """Keeps all tracks in step: each movement appends keyframes to every track."""

    def __init__(self, p: Pose, rng: np.random.Generator, soft: float) -> None:
        self.p = p
        self.rng = rng
        self.soft = soft
        self.rest = 0.0
        self.flex0 = p.hip_flexion_deg
        self.knee0 = p.knee_flexion_deg
        self.tr = {
            "hip_flexion": Track([0.0], [self.flex0]),
            "hip_adduction": Track(),
            "hip_rotation": Track(),
            "knee_flexion": Track([0.0], [self.knee0]),
            "knee_rotation": Track(),
            "knee_varus": Track(),
            "thigh_skin_rotation": Track(),
        }

    @property
    def now(self) -> float:
        return self.tr["hip_rotation"].end_s

    def move(
        self,
        duration: float,
        rot: float | None = None,
        knee: float | None = None,
        add: float | None = None,
        flex: float | None = None,
        knee_rot: float = 0.0,
        cruise: float = 0.0,
    ) -> None:
        """Move every DOF to its new value over ``duration`` (None = stay); ``cruise``: at
        constant speed between short ramps (Track.move)."""
        tr = self.tr
        rot = tr["hip_rotation"].value if rot is None else rot
        knee = tr["knee_flexion"].value if knee is None else knee
        add = tr["hip_adduction"].value if add is None else add
        flex = tr["hip_flexion"].value if flex is None else flex
        tr["hip_rotation"].move(rot, duration, cruise)
        tr["thigh_skin_rotation"].move(self.soft * rot, duration, cruise)
        tr["knee_flexion"].move(knee, duration, cruise)
        tr["hip_adduction"].move(add, duration, cruise)
        tr["hip_flexion"].move(flex, duration, cruise)
        tr["knee_rotation"].move(knee_rot, duration, cruise)
        tr["knee_varus"].move(0.1 * knee_rot, duration, cruise)

    def hold(self, duration: float) -> None:
        for tr in self.tr.values():
            tr.hold(duration)

    def coupled_add(self, rot: float) -> float:
        """Adduction that comes with ``rot`` of internal rotation (degrees)."""
        return self.p.adduction_per_rotation * (rot - self.rest) + self.rng.normal(0, 0.3)


def _calibration(b: _Builder, skip_bends: bool = False) -> dict[str, float]:
    """The protocol from ``b.now`` on; ``skip_bends``: the leg stays still through the bends
    step (for as long as they would take). Returns phase -> start time, seconds."""
    u = b.rng.uniform
    marks = {"still_start": b.now}
    b.hold(u(3.5, 5.0))
    marks["bends"] = b.now
    b.hold(u(0.3, 0.8))  # reaction time after the prompt
    for _ in range(protocol.step("bends").repetitions):
        bend = u(25.0, 40.0)
        d = u(0.8, 1.3)
        if skip_bends:
            b.hold(2 * d + 0.5)
            continue
        b.move(d, knee=b.knee0 + bend, flex=b.flex0 + b.p.knee_bend_coupling * bend)
        b.hold(u(0.1, 0.3))
        b.move(d, knee=b.knee0, flex=b.flex0)
        b.hold(u(0.3, 0.8))
    marks["rocks"] = b.now
    b.hold(u(0.3, 0.8))
    for _ in range(protocol.step("rocks").repetitions):
        amp = u(4.0, 8.0)
        d = u(0.4, 0.7)
        b.move(d, rot=amp, add=b.coupled_add(amp))
        b.move(2 * d, rot=-amp, add=b.coupled_add(-amp))
        b.move(d, rot=0.0, add=0.0)
        b.hold(u(0.2, 0.5))
    marks["still_end"] = b.now
    b.hold(u(2.5, 4.0))
    return marks


def _marked_phases(marks: dict[str, float], end_s: float) -> list[PhaseTruth]:
    """Phases of a protocol whose marks the guidance wrote as each step started."""
    times = [marks[ph] for ph in protocol.PHASES] + [end_s]
    return [
        PhaseTruth(ph, times[i], times[i + 1], marks[ph]) for i, ph in enumerate(protocol.PHASES)
    ]


def _paced_calibration(b: _Builder, pace: float) -> tuple[dict[str, float], list[PhaseTruth]]:
    """The protocol done by a person ``pace`` times slower than the guidance's prompts, which
    are marked at their fixed times. Returns (phase -> mark time, phases as performed)."""
    u = b.rng.uniform
    prompts: dict[str, float] = {}
    t = b.now
    for st in protocol.STEPS:
        prompts[st.phase] = t
        t += st.duration_s
    guidance_end = t

    def step(phase: str, late_from: float, moves: list[tuple[float, dict]]) -> tuple[float, float]:
        """React to ``phase``'s prompt (or carry on after ``late_from``), then make ``moves``
        (natural durations, scaled to ``pace`` × the prompted time); returns start, end."""
        react = pace * u(0.3, 0.8)
        b.hold(max(prompts[phase] + react, late_from + 0.5 * react) - b.now)
        start = b.now
        budget = pace * protocol.step(phase).duration_s * u(0.95, 1.05) - react
        scale = budget / sum(d for d, _ in moves)
        for d, kw in moves:
            if kw:
                b.move(d * scale, **kw)
            else:
                b.hold(d * scale)
        return start, b.now

    bends = []
    for _ in range(protocol.step("bends").repetitions):
        bend, d = u(25.0, 40.0), u(0.8, 1.3)
        knee_up = {"knee": b.knee0 + bend, "flex": b.flex0 + b.p.knee_bend_coupling * bend}
        bends += [(d, knee_up), (u(0.1, 0.3), {}), (d, {"knee": b.knee0, "flex": b.flex0})]
        bends.append((u(0.3, 0.8), {}))
    bends.pop()  # the pause after the last bend is the wait for the next prompt
    rocks = []
    for _ in range(protocol.step("rocks").repetitions):
        amp, d = u(4.0, 8.0), u(0.4, 0.7)
        rocks += [
            (d, {"rot": amp, "add": b.coupled_add(amp)}),
            (2 * d, {"rot": -amp, "add": b.coupled_add(-amp)}),
            (d, {"rot": 0.0, "add": 0.0}),
            (u(0.2, 0.5), {}),
        ]
    rocks.pop()
    b0 = b.now
    bends_start, bends_end = step("bends", b0, bends)
    rocks_start, rocks_end = step("rocks", bends_end, rocks)
    b.hold(max(rocks_end + pace * u(2.5, 4.0), guidance_end + 0.5) - b.now)
    performed = [
        PhaseTruth("still_start", b0, bends_start, prompts["still_start"]),
        PhaseTruth("bends", bends_start, bends_end, prompts["bends"]),
        PhaseTruth("rocks", rocks_start, rocks_end, prompts["rocks"]),
        PhaseTruth("still_end", rocks_end, b.now, prompts["still_end"]),
    ]
    return prompts, performed


def _rep(b: _Builder, peak: float, opts: ScriptOptions) -> RepTruth:
    u, rng = b.rng.uniform, b.rng
    start = b.now
    rise = u(4.0, 5.0) if rng.random() < opts.slow_rep_prob else u(0.8, 2.5)
    wobble = u(-3.0, 3.0)
    play = opts.knee_play_deg
    b.move(rise, rot=peak, add=b.coupled_add(peak), knee=b.knee0 + wobble, knee_rot=u(-play, play))
    top = u(0.0, 0.4)
    if top > 0.05:
        b.hold(top)
    b.move(u(0.8, 2.5), rot=b.rest, add=b.coupled_add(b.rest), knee=b.knee0, knee_rot=0.0)
    return _rep_truth(b, start, b.now)


def _rep_truth(b: _Builder, start: float, end: float) -> RepTruth:
    """The truth of the rep the builder just made over ``[start, end]``."""
    t = np.linspace(start, end, max(2, int((end - start) * 1000)))
    r = b.tr["hip_rotation"](t)
    external = float(np.mean(r)) < b.rest
    k = int(np.argmin(r)) if external else int(np.argmax(r))
    dwell = float(np.count_nonzero(np.abs(r - r[k]) <= DWELL_BAND_DEG) * (t[1] - t[0]))
    rate = float(np.max(np.abs(np.gradient(r, t))))
    direction: Direction = "external" if external else "internal"
    return RepTruth(start, float(t[k]), end, float(r[k]), b.rest, dwell, direction, rate)


def _rep_to(
    b: _Builder,
    opts: ScriptOptions,
    peak: float,
    rise: float,
    back: float,
    dwell: float = 0.0,
    cruise: float = 0.0,
) -> RepTruth:
    """A rep out to ``peak`` over ``rise`` seconds, ``dwell`` seconds there (sagging by up to
    0.8° towards the rest), and back over ``back`` seconds."""
    u = b.rng.uniform
    start = b.now
    play = opts.knee_play_deg
    b.move(
        rise,
        rot=peak,
        add=b.coupled_add(peak),
        knee=b.knee0 + u(-3.0, 3.0),
        knee_rot=u(-play, play),
        cruise=cruise,
    )
    if dwell > 0:
        b.move(dwell, rot=peak - np.sign(peak - b.rest) * u(0.0, 0.8))
    b.move(back, rot=b.rest, add=b.coupled_add(b.rest), knee=b.knee0, knee_rot=0.0, cruise=cruise)
    return _rep_truth(b, start, b.now)


#: Ramp share of a crawling rep's constant-speed moves (Track.move ``cruise``).
CRAWL_RAMP = 0.25


def _crawl(b: _Builder, opts: ScriptOptions) -> RepTruth:
    """A rep at a crawl: out and back at a constant peak rate drawn from ``crawl_dps``."""
    u = b.rng.uniform
    amp = u(*opts.crawl_deg)
    rate = u(*opts.crawl_dps)
    each_way = amp / (rate * (1.0 - CRAWL_RAMP))
    return _rep_to(b, opts, b.rest + amp, each_way, each_way, cruise=CRAWL_RAMP)


def _hold(b: _Builder, opts: ScriptOptions) -> HoldTruth:
    u = b.rng.uniform
    into = b.rest + u(4.0, 10.0)
    b.move(u(0.6, 1.2), rot=into, add=b.coupled_add(into))
    start = b.now
    length = u(*opts.hold_s)
    creep = u(-1.0, 1.0)
    for name, amp_deg in (("hip_rotation", u(0.05, 0.15)), ("knee_flexion", u(0.05, 0.1))):
        b.tr[name].oscillate(
            Oscillation(start, start + length, u(8.0, 12.0), amp_deg, u(0, 2 * np.pi), 0.3)
        )
    b.move(length, rot=into + creep)
    end = b.now
    b.move(u(0.6, 1.2), rot=b.rest, add=b.coupled_add(b.rest))
    t = np.linspace(start, end, max(2, int((end - start) * 100)))
    return HoldTruth(start, end, float(np.mean(b.tr["hip_rotation"](t))))


def _mean_range(b: _Builder, start: float, end: float) -> tuple[float, float]:
    t = np.linspace(start, end, max(2, int((end - start) * 100)))
    r = b.tr["hip_rotation"](t)
    return float(np.mean(r)), float(np.ptp(r))


def _isometric(b: _Builder, opts: ScriptOptions, script: Script) -> HoldTruth:
    """A push against a resistance that does not give: effort with 0–2° of movement."""
    u = b.rng.uniform
    start = b.now
    length = u(*opts.hold_s)
    level = u(*opts.effort_level)
    shift = u(*opts.isometric_shift_deg)  # the resistance gives a little as the push builds
    ramp = min(1.0, length / 4)
    b.move(ramp, rot=b.rest + shift)
    b.move(length - 2 * ramp, rot=b.rest + shift + u(-0.2, 0.2))
    b.move(ramp, rot=b.rest)
    end = b.now
    script.efforts.append(EffortWindow(start, end, level))
    mean, rng_deg = _mean_range(b, start, end)
    return HoldTruth(start, end, mean, isometric=True, effort=level, range_deg=rng_deg)


def _stretch(b: _Builder, opts: ScriptOptions, script: Script, overpressure: bool) -> StretchTruth:
    """A passive stretch: a slow drop to end range, held relaxed (gravity doing the work, the
    tissue giving 0.3–1° more), with ``overpressure`` a further push over its last part."""
    u = b.rng.uniform
    start = b.now
    end_range = b.rest + b.p.rep_peak_deg[1] + u(*opts.stretch_extra_deg)
    b.move(u(4.0, 8.0), rot=end_range, add=b.coupled_add(end_range))
    arrived = b.now
    hold = u(*opts.stretch_hold_s)
    held = end_range + u(0.3, 1.0)
    op_start = gain = None
    effort = 0.0
    if overpressure:
        op = u(*opts.overpressure_s)
        b.move(hold - op, rot=held)
        op_start = b.now
        rise = u(1.5, 3.0)
        pushed = held + u(*opts.overpressure_deg)
        b.move(rise, rot=pushed)
        b.move(op - rise, rot=pushed + u(-0.2, 0.2))
        effort = opts.overpressure_effort
        script.efforts.append(EffortWindow(op_start, b.now, effort))
        r = b.tr["hip_rotation"](np.array([op_start, b.now]))
        gain = float(r[1] - r[0])
    else:
        b.move(hold, rot=held)
    end = b.now
    b.move(u(3.0, 5.0), rot=b.rest, add=b.coupled_add(b.rest))
    t = np.linspace(arrived, end, max(2, int((end - arrived) * 100)))
    r = b.tr["hip_rotation"](t)
    at_end = float(np.count_nonzero(r >= r.max() - DWELL_BAND_DEG) * (t[1] - t[0]))
    return StretchTruth(
        start, arrived, end, b.now, float(np.mean(r)), float(r.max()), at_end, op_start, gain,
        effort,
    )  # fmt: skip


def _settle(b: _Builder, opts: ScriptOptions, pause: float) -> None:
    """Pause at rest while the rest angle drifts a little (a leg settling)."""
    lo, hi = opts.rest_start_deg - opts.rest_range_deg, opts.rest_start_deg + opts.rest_range_deg
    b.rest = float(np.clip(b.rest + b.rng.normal(0, opts.rest_drift_deg), lo, hi))
    b.move(max(pause, 0.3), rot=b.rest, add=b.coupled_add(b.rest))


#: The blocks each everyday content kind cycles through (see make_script).
_CYCLES: dict[str, tuple[str, ...]] = {
    "isometric": ("isometric",),
    "dwell-reps": ("dwell",),
    "slow-reps": ("slow", "crawl"),
    "small-reps": ("small",),
    "external-reps": ("external",),
    "stretch": ("stretch+overpressure", "stretch"),
    "everyday": (
        "isometric", "dwell", "slow", "crawl", "small", "external", "stretch+overpressure",
        "small", "isometric", "external", "stretch", "dwell",
    ),
}  # fmt: skip


def _block_max_s(block: str, opts: ScriptOptions) -> float:
    """Longest time a block can take (movement only, no following rest), seconds."""
    if block == "isometric":
        return opts.hold_s[1]
    if block == "dwell":
        return 5.0 + opts.dwell_s[1]
    if block == "slow":
        return 2 * opts.slow_rep_s[1]
    if block == "crawl":
        return 2 * opts.crawl_deg[1] / (opts.crawl_dps[0] * (1.0 - CRAWL_RAMP))
    if block.startswith("stretch"):
        return 13.0 + opts.stretch_hold_s[1]
    return 5.0  # small, external


def _everyday_block(b: _Builder, block: str, opts: ScriptOptions, script: Script) -> None:
    """Make one block of an everyday content kind and add its truth to ``script``."""
    u, p = b.rng.uniform, b.p
    if block == "isometric":
        script.holds.append(_isometric(b, opts, script))
    elif block.startswith("stretch"):
        script.stretches.append(_stretch(b, opts, script, block == "stretch+overpressure"))
    elif block == "crawl":
        script.reps.append(_crawl(b, opts))
    elif block == "slow":
        peak = b.rest + u(*p.rep_peak_deg)
        script.reps.append(_rep_to(b, opts, peak, u(*opts.slow_rep_s), u(*opts.slow_rep_s)))
    elif block == "dwell":
        peak = b.rest + u(*p.rep_peak_deg)
        rise, dwell = u(0.8, 2.5), u(*opts.dwell_s)
        script.reps.append(_rep_to(b, opts, peak, rise, u(0.8, 2.5), dwell=dwell))
    elif block == "small":
        peak = b.rest + u(*opts.small_rep_deg)
        script.reps.append(_rep_to(b, opts, peak, u(0.8, 2.5), u(0.8, 2.5)))
    elif block == "external":
        peak = b.rest - u(*opts.external_rep_deg)
        script.reps.append(_rep_to(b, opts, peak, u(0.8, 2.5), u(0.8, 2.5)))
    else:
        raise ValueError(f"unknown block {block!r}")


def _rests(script: Script, busy: list[tuple[float, float]]) -> list[RestTruth]:
    """The rests after the calibration: the gaps of at least MIN_REST_S between events."""
    out = []
    edges = [script.calibration_end_s]
    for a, z in sorted(busy):
        edges += [a, z]
    edges.append(script.duration_s)
    rot = script.tracks["hip_rotation"]
    for a, z in zip(edges[0::2], edges[1::2], strict=True):
        if z - a >= MIN_REST_S:
            t = np.linspace(a, z, max(2, int((z - a) * 100)))
            out.append(RestTruth(float(a), float(z), float(np.mean(rot(t)))))
    return out


def make_script(
    p: Pose,
    side: str,
    content: str,
    duration_s: float,
    rng: np.random.Generator,
    opts: ScriptOptions | None = None,
    body_steps: tuple[str, ...] = (),
) -> Script:
    """A session: the calibration protocol, then ``content`` until ``duration_s``.

    ``body_steps`` (phase names of :data:`imuhip.calibration_protocol.BODY_PHASES`): after the
    calibration the leg holds still through each of those steps (the guidance's time for it;
    the pelvis or trunk moves, :class:`imuhip.sim.body.TrunkPelvis`); no random draw is
    taken, so the rest of the script is the same, later by their length (and the session
    longer by it).

    Classic content: "reps" (AROM repetitions with the pose's peak range), "holds" (holds
    4–10° into rotation with tremor drawn into the joint angles), "mixed" (two holds, then
    reps), "rest" (the leg stays at rest).

    Everyday content (exercises as people really do them), each block followed by a rest:
    "isometric" (pushes against a resistance: 0–2° of movement, the effort's tremor in the
    sensors), "dwell-reps" (2–3 s pause at end range), "slow-reps" (alternately ~5 s each way
    and a crawl at ≤ 2°/s), "small-reps" (6–10°), "external-reps" (into external rotation,
    negative), "stretch" (passive end-range holds of 40–60 s, alternately with and without
    overpressure at the end), "everyday" (all of these in one session).

    ``opts.pace`` (any content) makes the calibration a person slower or faster than the
    prompts. The session ends with at least 3 s of rest.
    """
    if content not in CONTENTS:
        raise ValueError(f"unknown content {content!r}; choose one of {', '.join(CONTENTS)}")
    opts = opts or ScriptOptions()
    if opts.pace is not None and not 0.3 <= opts.pace <= 3.0:
        raise ValueError(f"pace must be within 0.3..3 (1 = as prompted), not {opts.pace!r}")
    soft = opts.soft_tissue if opts.soft_tissue is not None else float(rng.uniform(0.4, 0.75))
    b = _Builder(p, rng, soft)
    failed = None
    if opts.failed_attempt:
        failed = _calibration(b, skip_bends=True)
        b.hold(rng.uniform(2.0, 4.0))  # the refusal is shown; the guidance starts again
    if opts.pace is None:
        marks = _calibration(b)
        performed = _marked_phases(marks, b.now)
    else:
        marks, performed = _paced_calibration(b, opts.pace)
    cal_end = b.now
    script = Script(p.name, side, b.tr, marks, cal_end, soft_tissue=soft, pace=opts.pace)
    for phase in body_steps:
        start = b.now
        b.hold(protocol.step_of(phase).duration_s)
        script.body_steps[phase] = (start, b.now)
        duration_s += b.now - start  # the content keeps its length
    script.failed_phase_starts = failed
    script.performed = performed
    b.rest = opts.rest_start_deg
    _settle(b, opts, rng.uniform(2.0, 4.0))
    end_by = duration_s - 3.0
    busy = _content(b, script, content, opts, rng, end_by)
    for tr in b.tr.values():
        tr.wait_until(max(duration_s, b.now + 3.0))
    skin = b.tr["thigh_skin_rotation"]
    skin.oscillate(Oscillation(0.0, skin.end_s, rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.6)))
    script.duration_s = skin.end_s
    script.rests = _rests(script, busy)
    return script


def _content(
    b: _Builder,
    script: Script,
    content: str,
    opts: ScriptOptions,
    rng: np.random.Generator,
    end_by: float,
) -> list[tuple[float, float]]:
    """Append ``content``'s holds, reps or everyday blocks to ``script`` until ``end_by`` (s);
    the (start, end) of each movement, for the rests between them."""
    p = b.p
    busy: list[tuple[float, float]] = []
    n_holds = {"holds": opts.holds if opts.holds is not None else 10**6, "mixed": 2}.get(content, 0)
    while n_holds > 0 and b.now + opts.hold_s[1] + 10.0 < end_by:
        start = b.now
        script.holds.append(_hold(b, opts))
        busy.append((start, b.now))
        _settle(b, opts, rng.uniform(3.0, 8.0))
        n_holds -= 1
    if content in ("reps", "mixed"):
        while b.now + 2 * 5.0 + 3.0 < end_by:
            script.reps.append(_rep(b, b.rest + rng.uniform(*p.rep_peak_deg), opts))
            busy.append((script.reps[-1].start_s, b.now))
            if rng.random() >= opts.no_pause_prob:
                _settle(b, opts, rng.uniform(0.6, 3.0))
    cycle = _CYCLES.get(content, ())
    k = 0
    while cycle and b.now + _block_max_s(cycle[k % len(cycle)], opts) + 10.0 < end_by:
        start = b.now
        block = cycle[k % len(cycle)]
        _everyday_block(b, block, opts, script)
        busy.append((start, b.now))
        long_rest = block == "isometric" or block.startswith("stretch")
        _settle(b, opts, rng.uniform(5.0, 10.0) if long_rest else rng.uniform(2.0, 5.0))
        k += 1
    return busy
