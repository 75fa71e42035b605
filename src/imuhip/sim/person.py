"""A simulated person who does what they are asked, when they are asked (``imuhip train
--demo``).

The person wears a thigh and a shin sensor on one leg (the one-leg layout, fixed pelvis). They
do the calibration protocol as the simulator's scripts do (:func:`imuhip.sim.scripts.make_script`
with the "rest" content, so the guidance's fixed schedule matches it), then lie or sit still
at rest until asked for something: an isometric push against the band (:meth:`push`), a
number of reps (:meth:`swing`) or a passive stretch with overpressure at its end
(:meth:`stretch`). Each request is carried out from the time it is asked for (a reaction time
later is the caller's choice), or when the person is done with the previous one.

The sensors' samples are made on demand (:meth:`samples`), up to the next multiple of
:data:`BLOCK_S` of script time past what is asked for (blocks of that length as virtual
sensors stream), with the simulator's kinematics, muscle-effort tremor and sensor error model
(:mod:`imuhip.sim.sensor_model`): a movement asked for after a block was made starts after
it (the past is not rewritten). Times are seconds of script time (0 = the protocol's start);
angles degrees of hip rotation, internal positive, from the start pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imuhip import quaternion as Q
from imuhip.samples import ImuSamples
from imuhip.sim.kinematics import Anthropometry, pose, segments, sensor_positions
from imuhip.sim.scripts import (
    EffortWindow,
    HoldTruth,
    RepTruth,
    Script,
    ScriptOptions,
    StretchTruth,
    make_script,
)
from imuhip.sim.sensor_model import (
    EffortModel,
    ImuErrorModel,
    draw_errors,
    effort_vibration,
    measure,
    random_mount,
)
from imuhip.sim.simulate import motion_of

ROLES = ("thigh", "shin")
#: Script time made at once per sensor, seconds (the tremor is band-limited per block).
BLOCK_S = 1.0
#: Relative effort of a push against the band, and of the other foot's overpressure.
PUSH_EFFORT = 1.0
OVERPRESSURE_EFFORT = 0.15


@dataclass
class _Clock:
    """One sensor's sample clock: sample ``k`` at ``t0 + k * period`` (its own crystal)."""

    t0: float
    period: float
    made: int = 0  # samples made so far
    parts: list[ImuSamples] = field(default_factory=list)


class VirtualPerson:
    """The person (see the module docstring); ``seed`` makes the same person and sensors."""

    def __init__(
        self,
        exercise: str,
        side: str,
        *,
        seed: int = 0,
        rate_hz: float = 100.0,
        errors: ImuErrorModel | None = None,
        effort: EffortModel | None = None,
        options: ScriptOptions | None = None,
        mount_cone_deg: float | None = 25.0,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.exercise = exercise
        self.side = side
        self.rate_hz = rate_hz
        self.pose = pose(exercise)
        self.body = Anthropometry()
        self.errors = errors or ImuErrorModel()
        self.effort = effort or EffortModel()
        #: the protocol, then what the person was asked to do (tracks, efforts and truth)
        self.script: Script = make_script(self.pose, side, "rest", 0.0, rng, options)
        for track in self.script.tracks.values():  # the rest goes on until they are asked
            if len(track.times) > 2 and track.values[-1] == track.values[-2]:
                track.times.pop()
                track.values.pop()
        self.rest_deg = self.script.tracks["hip_rotation"].value
        self._now = max(tr.end_s for tr in self.script.tracks.values())  # asked so far
        self._mounts = {r: random_mount(r, side, rng, mount_cone_deg) for r in ROLES}
        self._err = {}
        self._clocks = {}
        for r in ROLES:
            self._err[r] = draw_errors(self.errors, rng)
            period = 1.0 / (rate_hz * (1 + 1e-6 * self._err[r].clock_ppm))
            self._clocks[r] = _Clock(float(rng.uniform(0, 1.0 / rate_hz)), period)
        self._noise = {r: np.random.default_rng([seed, 21, k]) for k, r in enumerate(ROLES)}
        self._tremor = {r: np.random.default_rng([seed, 22, k]) for k, r in enumerate(ROLES)}
        self._rng = np.random.default_rng([seed, 23])
        self._made_s = 0.0  # script time up to which samples exist (the past)

    # ------------------------------------------------------------------ requests
    @property
    def calibration_end_s(self) -> float:
        """End of the protocol's final still step, seconds."""
        return self.script.calibration_end_s

    @property
    def busy_until_s(self) -> float:
        """When the person is done with what they were asked (and back at rest), seconds."""
        return self._now

    def push(self, at_s: float, seconds: float, level: float = PUSH_EFFORT) -> float:
        """Push against the band for ``seconds`` from ``at_s`` (or as soon as free): muscle
        effort at ``level`` with the leg moving under 1°. Returns when it ends."""
        start = self._start(at_s)
        u = self._rng.uniform
        shift = u(0.2, 0.8)
        ramp = min(1.0, seconds / 4)
        self._move(ramp, self.rest_deg + shift)
        self._move(seconds - 2 * ramp, self.rest_deg + shift + u(-0.2, 0.2))
        self._move(ramp, self.rest_deg)
        end = self._now
        self.script.efforts.append(EffortWindow(start, end, level))
        self.script.holds.append(HoldTruth(start, end, self.rest_deg + shift, True, level))
        self._pause(u(0.5, 1.0))
        return end

    def swing(self, at_s: float, count: int, peak_deg: float | None = None) -> float:
        """``count`` reps into internal rotation from ``at_s`` (or as soon as free), each to
        about ``peak_deg`` from rest (None: within the pose's usual range), with a short pause
        between them. Returns when the last is back at rest."""
        self._start(at_s)
        u = self._rng.uniform
        for _ in range(count):
            start = self._now
            amp = u(*self.pose.rep_peak_deg) if peak_deg is None else peak_deg + u(0.0, 3.0)
            rise = u(1.0, 1.8)
            self._move(rise, self.rest_deg + amp)
            self._move(u(0.1, 0.3), self.rest_deg + amp)
            self._move(u(1.0, 1.8), self.rest_deg)
            end = self._now
            self.script.reps.append(
                RepTruth(start, start + rise, end, self.rest_deg + amp, self.rest_deg)
            )
            self._pause(u(1.0, 1.6))
        return self._now

    def stretch(self, at_s: float, seconds: float, overpressure_s: float | None = None) -> float:
        """A passive stretch at end range held ``seconds`` from arriving there, the last
        ``overpressure_s`` of it (default: a third, at most 10 s) pushed further by the other
        foot. Returns when the leg is back at rest."""
        start = self._start(at_s)
        u = self._rng.uniform
        end_range = self.rest_deg + self.pose.rep_peak_deg[1] + u(1.0, 3.0)
        self._move(u(4.0, 6.0), end_range)
        arrived = self._now
        op = min(10.0, seconds / 3) if overpressure_s is None else overpressure_s
        op = float(np.clip(op, 0.0, seconds - 1.0))
        self._move(seconds - op, end_range + u(0.3, 0.8))
        op_start = gain = None
        if op >= 3.0:
            op_start = self._now
            gain = u(4.0, 7.0)
            pushed = self.script.tracks["hip_rotation"].value + gain
            self._move(2.0, pushed)
            self._move(op - 2.0, pushed + u(-0.2, 0.2))
            self.script.efforts.append(EffortWindow(op_start, self._now, OVERPRESSURE_EFFORT))
        elif op > 0:
            self._move(op, self.script.tracks["hip_rotation"].value)
        end = self._now
        self._move(u(3.0, 4.0), self.rest_deg)
        top = self.script.tracks["hip_rotation"](np.linspace(arrived, end, 200))
        self.script.stretches.append(
            StretchTruth(
                start, arrived, end, self._now, float(top.mean()), float(top.max()),
                end - arrived, op_start, gain,
                OVERPRESSURE_EFFORT if op_start is not None else 0.0,
            )
        )  # fmt: skip
        self._pause(u(0.5, 1.0))
        return self._now

    # ------------------------------------------------------------------ samples
    def samples(self, role: str, until_s: float) -> ImuSamples:
        """Every sample of ``role``'s sensor made so far, at least up to script time
        ``until_s`` (seconds): times on the script's time base, the sensor's errors included."""
        if until_s >= self._made_s:
            self._made_s = (np.floor(until_s / BLOCK_S) + 1.0) * BLOCK_S
            for r in ROLES:
                self._make(r, self._made_s)
        c = self._clocks[role]
        if len(c.parts) > 1:
            c.parts = [ImuSamples.concatenate(c.parts)]
        return c.parts[0]

    def _make(self, role: str, until_s: float) -> None:
        c = self._clocks[role]
        n = int(np.ceil((until_s - c.t0) / c.period))
        if n <= c.made:
            return
        t = c.t0 + c.period * np.arange(c.made, n)
        c.made = n
        for tr in self.script.tracks.values():  # the person stays put until asked
            tr.wait_until(until_s)

        def state(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            segs = segments(self.pose, self.side, self.script.angles(tt))
            seg = segs.thigh_skin if role == "thigh" else segs.shank
            pos = sensor_positions(segs, self.side, self.body)[ROLES.index(role)]
            return Q.multiply(seg, self._mounts[role]), pos

        q, gyr, acc = motion_of(state, t)
        envelope = self.script.effort_envelope(t)
        if np.any(envelope > 0):
            d_gyr, d_acc = effort_vibration(
                role, envelope, self.rate_hz, self.effort, self._tremor[role]
            )
            gyr, acc = gyr + d_gyr, acc + d_acc
        gyr_m, acc_m, _ = measure(t, gyr, acc, q, self.errors, self._err[role], self._noise[role],
                                  False)  # fmt: skip
        c.parts.append(ImuSamples(t, acc_m, gyr_m))

    # ------------------------------------------------------------------ movement
    def _start(self, at_s: float) -> float:
        """Where a requested movement starts: ``at_s``, once free and after what was made."""
        self._now = max(float(at_s), self._now, self._made_s)
        return self._now

    def _move(self, duration: float, rot: float) -> None:
        """Every joint to where a hip rotation of ``rot`` takes it, over ``duration`` s."""
        tr = self.script.tracks
        p = self.pose
        targets = {
            "hip_rotation": rot,
            "thigh_skin_rotation": self.script.soft_tissue * rot,
            "hip_adduction": p.adduction_per_rotation * (rot - self.rest_deg),
        }
        for name, track in tr.items():
            track.wait_until(self._now)
            track.move(targets.get(name, track.value), duration)
        self._now += duration

    def _pause(self, seconds: float) -> None:
        self._now += seconds
