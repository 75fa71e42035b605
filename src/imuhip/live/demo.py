"""``imuhip demo``: the whole live path with no hardware.

Two virtual WitMotion sensors on bumble's in-process radio stream what the simulator says a
thigh and a shin sensor measure during a session (calibration protocol included); they are
found, connected and configured through bleak (bumble backend) and the WitMotion profile, and
the session runs through the same loop as ``imuhip live`` (recorder, live pipeline, view).

The simulated person of ``imuhip demo`` follows a script, not the prompts: the guidance
announces each calibration step when the script starts it (a fixed schedule), so the phase
marks in the file are where the movements are. ``imuhip train --demo`` uses a person who does
what the coach asks when it asks (:class:`PersonRig`, :class:`imuhip.sim.person.VirtualPerson`):
the calibration on the same fixed schedule, then a push, reps or a stretch at each cue.

Acceleration (``speed`` > 1): the sensors' sample clocks and the session clock both run
``speed`` times faster than real time, so the recording is an ordinary 100 Hz session on its
own time base. To keep the radio emulation's CPU load bounded, the sensors then pack several
WitMotion frames into each notification (as some firmware does), at most ~100 notifications
per second per sensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imuhip import __version__
from imuhip.samples import ImuSamples
from imuhip.session import SessionHeader
from imuhip.sim.person import VirtualPerson
from imuhip.sim.simulate import SimConfig, Simulation, simulate
from imuhip.sources.ble.connection import Assignment, ManagerSettings
from imuhip.sources.ble.edge import LinkThread

ROLES = ("thigh", "shin")
#: Most notifications per second per virtual sensor at any speed.
MAX_NOTIFY_HZ = 100.0
#: Largest WitMotion frames per notification (20 bytes each, within a 247-byte MTU).
MAX_FRAMES = 12


class ScriptedMotion:
    """Motion source of a virtual sensor replaying simulated samples.

    Sensor time ``t`` maps to script time ``t - offset``; before :meth:`begin` (and before the
    script's start) the sensor reports the script's first sample (the still start pose), after
    its end the last one.
    """

    def __init__(self, samples: ImuSamples) -> None:
        self.s = samples
        self.offset: float | None = None

    def begin(self, sensor_now: float) -> None:
        """The script starts at sensor time ``sensor_now``."""
        self.offset = sensor_now

    def __call__(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, float)
        u = np.full(len(t), -np.inf) if self.offset is None else t - self.offset
        s = self.s
        acc = np.stack([np.interp(u, s.t, s.acc[:, k]) for k in range(3)], axis=1)
        gyr = np.stack([np.interp(u, s.t, s.gyr[:, k]) for k in range(3)], axis=1)
        return acc, gyr


def frames_per_notification(speed: float, rate_hz: float) -> int:
    return int(min(MAX_FRAMES, max(1, math.ceil(speed * rate_hz / MAX_NOTIFY_HZ))))


def demo_settings(speed: float) -> ManagerSettings:
    """Connection timing on the accelerated session clock (stall detection is measured on it)."""
    return ManagerSettings(
        scan_timeout_s=5.0,
        connect_timeout_s=10.0,
        op_timeout_s=5.0,
        backoff_initial_s=0.2,
        backoff_max_s=2.0,
        stall_timeout_s=3.0 * max(1.0, speed),
        stop_timeout_s=3.0,
    )


@dataclass
class DemoRig:
    """The simulation and its virtual sensors (made by :func:`demo_rig`; the sensors exist
    once :meth:`power_on` put them on a link's radio)."""

    sim: Simulation
    motions: dict[str, ScriptedMotion]
    speed: float
    rate_hz: float
    sensors: dict[str, Any] = field(default_factory=dict)
    link: LinkThread | None = None

    def power_on(self, link: LinkThread) -> None:
        """Put the two virtual sensors on ``link``'s radio (they are stopped with it)."""
        link.power_on(self._build)
        self.link = link

    def _build(self) -> list[Any]:
        self.sensors.update(_virtual_sensors(self.roles, self.motions, self.speed, self.rate_hz))
        return list(self.sensors.values())

    def assignments(self) -> list[Assignment]:
        return [
            Assignment(r, self.sensors[r].address, "witmotion-ble5", self.rate_hz, name=f"demo {r}")
            for r in self.roles
        ]

    def header(self) -> SessionHeader:
        cfg = self.sim.truth.config
        return SessionHeader(
            side=self.sim.header.side,
            exercise=self.sim.header.exercise,
            sensors=tuple(a.sensor_info() for a in self.assignments()),
            imuhip_version=__version__,
            time_base="host-monotonic",
            extra={
                "simulated": True,
                "demo": {"speed": self.speed, "simulator": cfg},
            },
        )

    def begin(self, _t: float = 0.0) -> None:
        """Start the script now (called once both sensors stream)."""
        if self.link is not None:
            self.link.call(self._begin)

    @property
    def roles(self) -> tuple[str, ...]:
        """The simulated session's sensor roles (its layout's)."""
        return self.sim.header.roles

    def _begin(self) -> None:
        for r in self.roles:
            self.motions[r].begin(self.sensors[r].sensor_now())


def _virtual_sensors(
    roles: tuple[str, ...], motions: dict[str, Any], speed: float, rate_hz: float
) -> dict[str, Any]:
    """One virtual WitMotion sensor per role, playing ``motions[role]`` (on the link's loop)."""
    from imuhip.sources.ble.emulations import WitMotionEmulation
    from imuhip.sources.ble.virtual_sensor import VirtualSensor

    frames = frames_per_notification(speed, rate_hz)
    return {
        r: VirtualSensor(
            WitMotionEmulation(frames_per_notification=frames),
            motions[r],
            name=f"WT901BLE68 {r}",
            speed=speed,
            keep_sent=False,
        )
        for r in roles
    }


class PersonMotion:
    """Motion source of a virtual sensor worn by a :class:`~imuhip.sim.person.VirtualPerson`:
    sensor time ``t`` is script time ``t - offset`` (as :class:`ScriptedMotion`); before
    :meth:`begin` the sensor reports the still start pose. Called on the link's thread."""

    def __init__(self, person: VirtualPerson, role: str) -> None:
        self.person = person
        self.role = role
        self.offset: float | None = None

    def begin(self, sensor_now: float) -> None:
        self.offset = sensor_now

    def __call__(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t, float)
        u = np.full(len(t), -np.inf) if self.offset is None else t - self.offset
        s = self.person.samples(self.role, float(np.max(u, initial=0.0)))
        acc = np.stack([np.interp(u, s.t, s.acc[:, k]) for k in range(3)], axis=1)
        gyr = np.stack([np.interp(u, s.t, s.gyr[:, k]) for k in range(3)], axis=1)
        return acc, gyr


@dataclass
class PersonRig:
    """A :class:`~imuhip.sim.person.VirtualPerson` and the virtual sensors on their leg
    (thigh and shin); :meth:`ask` has them do something at a session time."""

    person: VirtualPerson
    speed: float
    rate_hz: float
    roles: tuple[str, ...] = ROLES
    motions: dict[str, PersonMotion] = field(default_factory=dict)
    sensors: dict[str, Any] = field(default_factory=dict)
    link: LinkThread | None = None
    begun_at: float | None = None  # session time at which the person's script started

    def __post_init__(self) -> None:
        self.motions = {r: PersonMotion(self.person, r) for r in self.roles}

    def power_on(self, link: LinkThread) -> None:
        """Put the virtual sensors on ``link``'s radio (they are stopped with it)."""
        link.power_on(self._build)
        self.link = link

    def _build(self) -> list[Any]:
        self.sensors.update(_virtual_sensors(self.roles, self.motions, self.speed, self.rate_hz))
        return list(self.sensors.values())

    def assignments(self) -> list[Assignment]:
        return [
            Assignment(r, self.sensors[r].address, "witmotion-ble5", self.rate_hz, name=f"demo {r}")
            for r in self.roles
        ]

    def header(self) -> SessionHeader:
        p = self.person
        return SessionHeader(
            side=p.side,
            exercise=p.exercise,
            sensors=tuple(a.sensor_info() for a in self.assignments()),
            imuhip_version=__version__,
            time_base="host-monotonic",
            extra={
                "simulated": True,
                "demo": {"speed": self.speed, "person": "follows the coach's cues"},
            },
        )

    def schedule(self) -> dict[str, float]:
        """The guidance's fixed schedule of the calibration steps (script time, seconds)."""
        return self.person.script.guidance_schedule()

    def begin(self, t: float) -> None:
        """Start the script now, at session time ``t`` (once the sensors stream)."""
        self.begun_at = t
        if self.link is not None:
            self.link.call(self._begin)

    def _begin(self) -> None:
        for r in self.roles:
            self.motions[r].begin(self.sensors[r].sensor_now())

    def ask(self, action: Callable[[VirtualPerson, float], object]) -> None:
        """Have the person do ``action(person, script_time)`` now: at the script time the
        sensors show as the cue is heard (the pipeline, and so the coach's clock, runs a
        little behind them), on the link's thread, where the sensors read the person."""
        if self.link is None or self.begun_at is None:
            return
        self.link.call(lambda: action(self.person, self._script_now()))

    def _script_now(self) -> float:
        r = self.roles[-1]
        offset = self.motions[r].offset
        return 0.0 if offset is None else self.sensors[r].sensor_now() - offset


def person_rig(
    exercise: str = "prone", side: str = "left", speed: float = 1.0, seed: int = 0,
    rate_hz: float = 100.0,
) -> PersonRig:  # fmt: skip
    """A person who follows the coach (:class:`~imuhip.sim.person.VirtualPerson`) and their
    virtual sensors, made by :meth:`PersonRig.power_on`."""
    return PersonRig(VirtualPerson(exercise, side, seed=seed, rate_hz=rate_hz), speed, rate_hz)


def demo_rig(
    exercise: str = "prone",
    side: str = "left",
    content: str = "mixed",
    duration_s: float = 90.0,
    speed: float = 1.0,
    seed: int = 0,
    rate_hz: float = 100.0,
    layout: str = "one-leg",
    pelvis: bool = False,
) -> DemoRig:
    """Simulate the session (``layout``: one leg, both legs, shin only... as
    :class:`~imuhip.sim.simulate.SimConfig`; ``pelvis``: a sacrum sensor, whose step the
    guidance then prompts); its virtual WitMotion sensors, one per role, are made by
    :meth:`DemoRig.power_on`."""
    sim = simulate(
        SimConfig(
            exercise=exercise,
            side=side,
            content=content,
            duration_s=duration_s,
            rate_hz=rate_hz,
            seed=seed,
            layout=layout,
            pelvis=pelvis,
            pelvic_lift_deg=6.0 if pelvis else 0.0,
        )
    )
    motions = {r: ScriptedMotion(sim.samples[r]) for r in sim.header.roles}
    return DemoRig(sim, motions, speed, rate_hz)
