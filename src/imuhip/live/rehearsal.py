"""``--ble virtual``: rehearse ``scan``, ``pair``, ``record`` and ``live`` without hardware.

The spec ``virtual`` (``--ble`` or ``IMUHIP_BLE``; options ``virtual:seed=N,speed=X``) puts
two virtual WitMotion sensors on bumble's in-process radio for as long as the command runs:
the same peripherals ``imuhip demo`` uses (:mod:`imuhip.live.demo`), advertising the product's
name at addresses derived from the seed, so ``pair`` of the addresses ``scan`` lists followed by
``record --ble virtual`` finds them again in the next process. While scanning and pairing they
lie still; in ``record`` and ``live`` they play a simulated leg (the simulator's session for
the recording's side and pose, the calibration protocol first), and the guidance announces
each calibration step when the simulated person starts it, as in the demo.

``speed`` > 1 runs the sensors' clocks and the session clock that many times faster (as
``imuhip demo --speed``); the file is then an ordinary session on its own time base.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imuhip.errors import ImuhipError
from imuhip.live.demo import ROLES, ScriptedMotion, frames_per_notification
from imuhip.sources.ble.bumble_backend import ENV_VAR, VIRTUAL
from imuhip.sources.ble.edge import LinkThread

#: The profile the virtual sensors speak.
PROFILE = "witmotion-ble5"
#: The name a WitMotion BLE 5.0 sensor advertises (both sensors: tell them apart by address).
NAME = "WT901BLE68"
#: First three bytes of the virtual sensors' addresses (as on WitMotion's BLE modules).
ADDRESS_PREFIX = "D4:CA:6E"
#: Simulated session length when the command has no ``--duration`` (the leg then rests).
DEFAULT_SCRIPT_S = 120.0
#: The pose simulated when the exercise is unspecified.
DEFAULT_POSE = "prone"


@dataclass(frozen=True)
class Rehearsal:
    """A ``virtual`` BLE spec: which virtual sensors, and how fast they run.

    Attributes:
        seed: the addresses and the simulated leg follow from it.
        speed: time acceleration of the sensors and the session clock (1: real time).
    """

    seed: int = 0
    speed: float = 1.0

    @property
    def addresses(self) -> dict[str, str]:
        """role -> the virtual sensor's BLE address (the same for the same seed)."""
        rng = random.Random(f"imuhip-virtual-{self.seed}")
        out: dict[str, str] = {}
        for role in ROLES:
            while True:
                tail = ":".join(f"{rng.randrange(256):02X}" for _ in range(3))
                a = f"{ADDRESS_PREFIX}:{tail}"
                if a not in out.values():
                    out[role] = a
                    break
        return out

    def pair_hint(self, side: str = "left") -> str:
        """The ``imuhip pair`` command for these sensors."""
        a = self.addresses
        return f"imuhip pair --ble virtual --thigh {a['thigh']} --shin {a['shin']} --side {side}"


def rehearsal_for(spec: str | None) -> Rehearsal | None:
    """The rehearsal ``spec`` (else ``IMUHIP_BLE``) asks for, None for a real stack.

    Raises:
        ImuhipError: a ``virtual:...`` option that is not ``seed=N`` or ``speed=X``.
    """
    text = (os.environ.get(ENV_VAR, "") if spec is None else spec).strip()
    if text != VIRTUAL and not text.startswith(VIRTUAL + ":"):
        return None
    seed, speed = 0, 1.0
    for part in filter(None, text[len(VIRTUAL) + 1 :].split(",")):
        key, _, value = part.partition("=")
        try:
            if key.strip() == "seed":
                seed = int(value)
            elif key.strip() == "speed":
                speed = float(value)
                if not speed > 0:
                    raise ValueError
            else:
                raise ValueError
        except ValueError:
            raise ImuhipError(
                f"--ble {text}: options of 'virtual' are seed=N and speed=X (a positive number), "
                f"e.g. 'virtual:seed=1,speed=10'; got {part!r}"
            ) from None
    return Rehearsal(seed, speed)


def _still(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sensor lying flat and still: gravity on +z, no rotation."""
    acc = np.zeros((len(t), 3))
    acc[:, 2] = 9.80665
    return acc, np.zeros((len(t), 3))


@dataclass
class VirtualRig:
    """The virtual sensors of a :class:`Rehearsal` on a link's virtual radio.

    ``sim`` None: the sensors lie still (scan, pair); else they play ``sim`` (a
    :class:`~imuhip.sim.simulate.Simulation`) from :meth:`begin` on, by role as assigned.
    """

    rehearsal: Rehearsal
    sim: Any = None
    roles: dict[str, str] = field(default_factory=dict)  # role -> address
    rate_hz: float = 100.0
    sensors: dict[str, Any] = field(default_factory=dict)
    motions: dict[str, ScriptedMotion] = field(default_factory=dict)
    link: LinkThread | None = None

    def power_on(self, link: LinkThread) -> None:
        """Put the sensors on ``link``'s radio (they are stopped with it)."""
        link.power_on(self._build)
        self.link = link

    def _build(self) -> list[Any]:
        from imuhip.sources.ble.emulations import WitMotionEmulation
        from imuhip.sources.ble.virtual_sensor import VirtualSensor

        speed = self.rehearsal.speed
        frames = frames_per_notification(speed, self.rate_hz)
        by_address = {a: r for r, a in self.roles.items()}
        for role, address in self.rehearsal.addresses.items():
            played = by_address.get(address, role)
            motion: Any = _still
            if self.sim is not None:
                motion = self.motions[played] = ScriptedMotion(self.sim.samples[played])
            self.sensors[role] = VirtualSensor(
                WitMotionEmulation(frames_per_notification=frames), motion, address=address,
                name=NAME, speed=speed, keep_sent=False,
            )  # fmt: skip
        return list(self.sensors.values())

    def begin(self, _t: float = 0.0) -> None:
        """Start the simulated person's script now (once every sensor streams)."""
        if self.link is not None:
            self.link.call(self._begin)

    def _begin(self) -> None:
        for role, m in self.motions.items():
            address = self.roles[role]
            sensor = next(s for s in self.sensors.values() if s.address == address)
            m.begin(sensor.sensor_now())

    @property
    def schedule(self) -> dict[str, float] | None:
        """When the guidance announces each calibration step (session seconds after start)."""
        return None if self.sim is None else self.sim.script.guidance_schedule()

    def header_extra(self) -> dict[str, Any]:
        """What the session header says about the simulated leg."""
        if self.sim is None:
            return {}
        cfg = self.sim.truth.config
        virtual = {"seed": self.rehearsal.seed, "speed": self.rehearsal.speed, "simulator": cfg}
        return {"simulated": True, "virtual": virtual}


def scan_rig(rehearsal: Rehearsal | None) -> VirtualRig | None:
    """Still virtual sensors to scan for and pair (None without a rehearsal)."""
    return None if rehearsal is None else VirtualRig(rehearsal)


def session_rig(
    rehearsal: Rehearsal | None,
    assignments: Sequence[Any],
    side: str,
    pose: str,
    duration_s: float | None,
) -> VirtualRig | None:
    """Virtual sensors playing a simulated session for ``record``/``live`` (None without a
    rehearsal). ``assignments`` must name the rehearsal's sensors (as ``pair`` saved them).

    Raises:
        ImuhipError: an assigned sensor is not one of the virtual sensors, or not WitMotion.
    """
    from imuhip.sim.simulate import SimConfig, simulate

    if rehearsal is None:
        return None
    virtual = set(rehearsal.addresses.values())
    roles = {a.role: a.address.upper() for a in assignments}
    wrong = [f"{r} {a}" for r, a in roles.items() if a not in virtual or r not in ROLES]
    profiles = {a.profile for a in assignments}
    if wrong or profiles != {PROFILE} or set(roles) != set(ROLES):
        raise ImuhipError(
            "--ble virtual has a virtual thigh and shin sensor only "
            f"({', '.join(f'{r} {a}' for r, a in rehearsal.addresses.items())}, profile "
            f"{PROFILE}); {'not virtual: ' + ', '.join(wrong) if wrong else 'pair them'}. "
            f"Pair them first: {rehearsal.pair_hint(side)}"
        )
    rate = float(assignments[0].rate_hz)
    sim = simulate(
        SimConfig(
            exercise=pose if pose in ("prone", "seated", "supine") else DEFAULT_POSE,
            side=side,
            content="mixed",
            duration_s=duration_s or DEFAULT_SCRIPT_S,
            rate_hz=rate,
            seed=rehearsal.seed,
        )
    )
    return VirtualRig(rehearsal, sim, roles, rate)
