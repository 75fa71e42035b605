"""Motion scripts: the calibration protocol, AROM reps, isometric holds, and their ground truth.

A script is a set of :class:`~imuhip.sim.tracks.Track` objects, one per joint degree of freedom
(degrees), built step by step with randomised but physiological timing and amplitudes, and the
truth that the product should find in it (reps, holds, calibration end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from imuhip import calibration_protocol as protocol
from imuhip.sim.kinematics import JointAngles, Pose
from imuhip.sim.tracks import Oscillation, Track

Content = Literal["reps", "holds", "mixed", "rest"]
CONTENTS: tuple[str, ...] = ("reps", "holds", "mixed", "rest")


@dataclass(frozen=True)
class RepTruth:
    """One true AROM repetition (seconds, degrees of hip internal rotation)."""

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    rest_deg: float


@dataclass(frozen=True)
class HoldTruth:
    """One true isometric hold: the leg arrives at ``start_s`` and starts back at ``end_s``."""

    start_s: float
    end_s: float
    mean_deg: float


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
        reps, holds: the truth.
        duration_s: session length.
        soft_tissue: share of axial rotation followed by the thigh skin.
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
    ) -> None:
        """Move every DOF to its new value over ``duration`` (None = stay)."""
        tr = self.tr
        rot = tr["hip_rotation"].value if rot is None else rot
        knee = tr["knee_flexion"].value if knee is None else knee
        add = tr["hip_adduction"].value if add is None else add
        flex = tr["hip_flexion"].value if flex is None else flex
        tr["hip_rotation"].move(rot, duration)
        tr["thigh_skin_rotation"].move(self.soft * rot, duration)
        tr["knee_flexion"].move(knee, duration)
        tr["hip_adduction"].move(add, duration)
        tr["hip_flexion"].move(flex, duration)
        tr["knee_rotation"].move(knee_rot, duration)
        tr["knee_varus"].move(0.1 * knee_rot, duration)

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
    end = b.now
    t = np.linspace(start, end, max(2, int((end - start) * 1000)))
    r = b.tr["hip_rotation"](t)
    k = int(np.argmax(r))
    return RepTruth(start, float(t[k]), end, float(r[k]), b.rest)


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


def _settle(b: _Builder, opts: ScriptOptions, pause: float) -> None:
    """Pause at rest while the rest angle drifts a little (a leg settling)."""
    lo, hi = opts.rest_start_deg - opts.rest_range_deg, opts.rest_start_deg + opts.rest_range_deg
    b.rest = float(np.clip(b.rest + b.rng.normal(0, opts.rest_drift_deg), lo, hi))
    b.move(max(pause, 0.3), rot=b.rest, add=b.coupled_add(b.rest))


def make_script(
    p: Pose,
    side: str,
    content: str,
    duration_s: float,
    rng: np.random.Generator,
    opts: ScriptOptions | None = None,
) -> Script:
    """A session: the calibration protocol, then ``content`` until ``duration_s``.

    Content: "reps" (AROM repetitions with the pose's peak range), "holds" (isometric holds),
    "mixed" (two holds, then reps), "rest" (the leg stays at rest). The session ends with at
    least 3 s of rest.
    """
    if content not in CONTENTS:
        raise ValueError(f"unknown content {content!r}; choose one of {', '.join(CONTENTS)}")
    opts = opts or ScriptOptions()
    soft = opts.soft_tissue if opts.soft_tissue is not None else float(rng.uniform(0.4, 0.75))
    b = _Builder(p, rng, soft)
    failed = None
    if opts.failed_attempt:
        failed = _calibration(b, skip_bends=True)
        b.hold(rng.uniform(2.0, 4.0))  # the refusal is shown; the guidance starts again
    marks = _calibration(b)
    cal_end = b.now
    script = Script(p.name, side, b.tr, marks, cal_end, soft_tissue=soft)
    script.failed_phase_starts = failed
    b.rest = opts.rest_start_deg
    _settle(b, opts, rng.uniform(2.0, 4.0))
    end_by = duration_s - 3.0
    n_holds = {"holds": opts.holds if opts.holds is not None else 10**6, "mixed": 2}.get(content, 0)
    while n_holds > 0 and b.now + opts.hold_s[1] + 10.0 < end_by:
        script.holds.append(_hold(b, opts))
        _settle(b, opts, rng.uniform(3.0, 8.0))
        n_holds -= 1
    if content in ("reps", "mixed"):
        while b.now + 2 * 5.0 + 3.0 < end_by:
            script.reps.append(_rep(b, b.rest + rng.uniform(*p.rep_peak_deg), opts))
            if rng.random() >= opts.no_pause_prob:
                _settle(b, opts, rng.uniform(0.6, 3.0))
    for tr in b.tr.values():
        tr.wait_until(max(duration_s, b.now + 3.0))
    skin = b.tr["thigh_skin_rotation"]
    skin.oscillate(Oscillation(0.0, skin.end_s, rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.6)))
    script.duration_s = skin.end_s
    return script
