"""Simulate a two-sensor (thigh + shin) session with ground truth.

    script (joint tracks) -> segment orientations and sensor positions (kinematics)
    -> true body rate and specific force per sensor -> errors, quantisation, clock (sensor model)
    -> samples on the session's time base (and, through a vendor encoder, notifications)

Times: the session's time base is the simulated host's monotonic clock in seconds, starting at
0 with the calibration protocol. Each sensor samples on its own crystal (``clock_ppm`` fast or
slow) with a random phase, so the two sensors' samples are not simultaneous.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from imuhip import __version__
from imuhip import quaternion as Q
from imuhip.calibration_protocol import BOTH_LEGS_STEP_SIDE, PHASE_EVENT, body_steps
from imuhip.files.session_file import write_session
from imuhip.fusion.gyro_scale import CONFIG_KEY as GYRO_SCALE_KEY
from imuhip.fusion.gyro_scale import estimate_gyro_scale
from imuhip.layout import PELVIS, TRUNK
from imuhip.samples import ImuSamples
from imuhip.session import Event, Notifications, SensorInfo, SessionHeader
from imuhip.sim.body import (
    LAYOUTS,
    SACRUM_SITE,
    STERNUM_SITE,
    LegMotion,
    TrunkPelvis,
    leading_leg,
    other_leg,
    other_side,
    pelvis_angles,
    sim_layout,
    trunk_lean,
    trunk_pelvis,
)
from imuhip.sim.kinematics import (
    Anthropometry,
    Pose,
    hip_angles,
    pose,
    segments,
    sensor_positions,
)
from imuhip.sim.scripts import NEW_OPTION_FIELDS, Script, ScriptOptions, make_script
from imuhip.sim.sensor_model import (
    EffortModel,
    G,
    ImuErrorModel,
    SensorErrors,
    draw_errors,
    effort_vibration,
    measure,
    random_mount,
)
from imuhip.sim.table_turns import table_turns
from imuhip.sim.transport import LinkModel, encode, sampling_rate

ROLES = ("thigh", "shin")


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    Attributes:
        exercise: "prone", "seated" or "supine".
        side: "left" or "right".
        content: one of :data:`imuhip.sim.scripts.CONTENTS` (see ``make_script``).
        duration_s: session length, seconds (at least the protocol plus a little).
        rate_hz: nominal sensor output rate.
        seed: random seed; the same config and seed give the same session.
        mount_cone_deg: sensors strapped within this angle of a neat placement; None = any
            way up (uniformly random orientation on the segment).
        errors: sensor imperfections.
        with_mag: simulate magnetometers.
        script: motion script options.
        body: segment lengths and sensor sites.
        marks: write the calibration phase marks live guidance would write.
        pelvis: add a third sensor on the sacrum (the pelvis stays fixed in the start pose,
            so it sees only gravity and its own errors).
        profile: "samples" (decoded samples) or a vendor profile whose notifications the
            session then holds (see :data:`imuhip.sim.transport.SIM_PROFILES`).
        link: BLE link timing and losses for vendor profiles.
        table_calibration: calibrate each sensor's gyro scale on a simulated table first
            (:mod:`imuhip.sim.table_turns`, same sensor errors, its own random stream) and put
            the estimate in the header, as ``imuhip record`` does with a saved calibration.
        effort: what muscular effort (isometric holds, overpressure) adds to the sensors'
            signals; ``EffortModel.loose_strap()`` for loosely strapped sensors.
        layout: which legs carry sensors, one of :data:`imuhip.sim.body.LAYOUTS`: "one-leg"
            (thigh + shin on ``side``, plain roles), "both-legs" (four sensors, sided roles,
            header side "both"), "shin-only" (the shin on ``side``), "both-shins"; shin-only
            layouts need the prone exercise. In two-leg layouts ``side`` is the leading leg.
        trunk: add a sensor on the sternum.
        asymmetry_deg: the right hip's excursion minus the left's in every rep, classic hold
            and stretch (two-leg layouts), degrees.
        effort_ratio: the right leg's isometric effort over the left's (two-leg layouts).
        leg_lag_s: (min, max) mean lag of the following leg behind the leading one, seconds.
        pelvic_lift_deg: pelvic roll at each rep's or stretch's peak (one hip rising from the
            floor, in the direction that adds to the leading leg's apparent rotation).
        pelvic_rotation_deg: pelvic turn about the vertical at each peak, degrees.
        trunk_lean_deg: trunk lateral flexion towards the leading side at each peak, degrees.
    """

    exercise: str = "prone"
    side: str = "left"
    content: str = "mixed"
    duration_s: float = 120.0
    rate_hz: float = 100.0
    seed: int = 0
    mount_cone_deg: float | None = 25.0
    errors: ImuErrorModel = field(default_factory=ImuErrorModel)
    with_mag: bool = False
    script: ScriptOptions = field(default_factory=ScriptOptions)
    body: Anthropometry = field(default_factory=Anthropometry)
    marks: bool = False
    pelvis: bool = False
    profile: str = "samples"
    link: LinkModel = field(default_factory=LinkModel)
    table_calibration: bool = False
    effort: EffortModel = field(default_factory=EffortModel)
    layout: str = "one-leg"
    trunk: bool = False
    asymmetry_deg: float = 0.0
    effort_ratio: float = 1.0
    leg_lag_s: tuple[float, float] = (0.05, 0.25)
    pelvic_lift_deg: float = 0.0
    pelvic_rotation_deg: float = 0.0
    trunk_lean_deg: float = 0.0


#: SimConfig fields added with the layouts and their defaults (left out of a session's header
#: while at them, so one-leg sessions stay byte-identical).
LAYOUT_FIELDS: dict[str, object] = {
    "layout": "one-leg",
    "trunk": False,
    "asymmetry_deg": 0.0,
    "effort_ratio": 1.0,
    "leg_lag_s": (0.05, 0.25),
    "pelvic_lift_deg": 0.0,
    "pelvic_rotation_deg": 0.0,
    "trunk_lean_deg": 0.0,
}


@dataclass(frozen=True)
class LegTruth:
    """One leg's truth in a session made with a layout (``SimConfig.layout``) or a moving
    pelvis or trunk (``docs/simulator.md`` defines the angles).

    Attributes:
        side: "left" or "right".
        hip_rotation_deg: (N,) hip internal rotation relative to the pelvis (ISB order), the
            angle the product should report.
        hip_flexion_deg, hip_adduction_deg, knee_flexion_deg: (N,) as in :class:`Truth`.
        apparent_rotation_deg: (N,) the knee's apparent rotation relative to the floor: the
            femur's ISB rotation relative to the pelvis as it lay in the start pose (what a
            system that ignores the pelvis measures).
        events: this leg's ``reps``, ``holds``, ``stretches``, ``rests`` and ``efforts``
            (plain data as in ``Truth.events``); each rep and stretch also carries
            ``apparent_peak_deg`` (the apparent rotation's extreme in its direction) and the
            extreme values (largest magnitude, signed) of pelvis obliquity, pelvis rotation and
            trunk lean during it: ``pelvis_obliquity_max_deg``, ``pelvis_rotation_max_deg``,
            ``trunk_lean_max_deg``.
    """

    side: str
    hip_rotation_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_adduction_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    apparent_rotation_deg: np.ndarray
    events: dict


#: LegTruth's arrays, in the order they are saved.
LEG_ARRAYS: tuple[str, ...] = (
    "hip_rotation_deg",
    "hip_flexion_deg",
    "hip_adduction_deg",
    "knee_flexion_deg",
    "apparent_rotation_deg",
)
#: Truth's pelvis and trunk arrays (None in one-leg sessions with a fixed pelvis).
BODY_ARRAYS: tuple[str, ...] = ("pelvis_obliquity_deg", "pelvis_rotation_deg", "trunk_lean_deg")


@dataclass(frozen=True)
class Truth:
    """What really happened, for tests and benchmarks.

    Attributes:
        t: (N,) uniform grid at the nominal rate, seconds (session time base).
        hip_rotation_deg, hip_flexion_deg, hip_adduction_deg, knee_flexion_deg: (N,) true
            joint angles (ISB order; internal rotation and adduction positive).
        events: calibration end, phase marks and phases as performed, reps, holds,
            stretches, rests and effort windows (see Script.truth_events, docs/simulator.md).
        mounts: role -> quaternion sensor frame -> anatomical segment frame.
        config: the SimConfig as plain data.
        legs: side -> that leg's truth; None for a classic one-leg session (one leg, fixed
            pelvis, no trunk), whose leg is the arrays above (:meth:`leg` gives it either way).
            The arrays and events above are the leading leg's (``config["side"]``).
        pelvis_obliquity_deg, pelvis_rotation_deg: (N,) pelvis obliquity and rotation relative
            to the floor, positive with the leading side's hip higher / turned (see
            docs/simulator.md); None in classic sessions.
        trunk_lean_deg: (N,) trunk lateral flexion relative to the pelvis, towards the leading
            side positive; None in classic sessions.
    """

    t: np.ndarray
    hip_rotation_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_adduction_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    events: dict
    mounts: dict[str, list[float]]
    config: dict
    legs: dict[str, LegTruth] | None = None
    pelvis_obliquity_deg: np.ndarray | None = None
    pelvis_rotation_deg: np.ndarray | None = None
    trunk_lean_deg: np.ndarray | None = None

    def save(self, path: str | Path) -> None:
        """Write as ``.npz`` (arrays plus one JSON string; no pickle). Legs are stored as
        ``<side>_<array>`` arrays and their events under the JSON's ``legs``."""
        meta: dict = {"events": self.events, "mounts": self.mounts, "config": self.config}
        extra: dict[str, np.ndarray] = {}
        if self.legs is not None:
            meta["legs"] = {side: leg.events for side, leg in self.legs.items()}
            for side, leg in self.legs.items():
                for name in LEG_ARRAYS:
                    extra[f"{side}_{name}"] = getattr(leg, name).astype(np.float32)
        for name in BODY_ARRAYS:
            if getattr(self, name) is not None:
                extra[name] = getattr(self, name).astype(np.float32)
        with open(path, "wb") as f:
            np.savez_compressed(
                f,
                t=self.t,
                hip_rotation_deg=self.hip_rotation_deg.astype(np.float32),
                hip_flexion_deg=self.hip_flexion_deg.astype(np.float32),
                hip_adduction_deg=self.hip_adduction_deg.astype(np.float32),
                knee_flexion_deg=self.knee_flexion_deg.astype(np.float32),
                meta=np.array(json.dumps(meta)),
                **extra,
            )

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a truth file written by :meth:`save` (files written before the layouts load
        with ``legs`` and the pelvis and trunk arrays None)."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: np.asarray(z[k], dtype=float) for k in z.files if k != "meta"}
        legs = None
        if "legs" in meta:
            legs = {
                side: LegTruth(
                    side, *(arrays.pop(f"{side}_{name}") for name in LEG_ARRAYS), events=ev
                )
                for side, ev in meta["legs"].items()
            }
        return cls(
            **arrays, events=meta["events"], mounts=meta["mounts"], config=meta["config"],
            legs=legs,
        )  # fmt: skip

    def leg(self, side: str | None = None) -> LegTruth:
        """The truth of the leg on ``side`` (None: the leading leg). A classic one-leg
        session's leg is built from the top-level arrays (its apparent rotation is the hip's:
        the pelvis is fixed)."""
        lead = self.config.get("side", "left")
        side = lead if side is None else side
        if self.legs is not None:
            if side not in self.legs:
                raise KeyError(f"no {side} leg in this truth (legs: {', '.join(self.legs)})")
            return self.legs[side]
        if side != lead:
            raise KeyError(f"no {side} leg in this truth (a one-leg session of the {lead} leg)")
        ev = {k: self.events.get(k, []) for k in ("reps", "holds", "stretches", "rests", "efforts")}
        return LegTruth(
            side, self.hip_rotation_deg, self.hip_flexion_deg, self.hip_adduction_deg,
            self.knee_flexion_deg, self.hip_rotation_deg, ev,
        )  # fmt: skip

    def hip_rotation_at(self, t: np.ndarray) -> np.ndarray:
        """True hip rotation (degrees) interpolated at times ``t``."""
        return np.interp(t, self.t, self.hip_rotation_deg)


@dataclass(frozen=True)
class Simulation:
    """A simulated session: header, per-role samples or notifications, events, truth.

    ``samples`` always holds the measured samples at their true sampling instants;
    ``notifications`` holds what the vendor profile sent (empty for the "samples" profile);
    ``body`` the moving legs, pelvis and trunk of a session made with a layout (None for a
    classic one-leg session, whose leg is ``script``).
    """

    header: SessionHeader
    samples: dict[str, ImuSamples]
    notifications: dict[str, Notifications]
    events: list[Event]
    truth: Truth
    script: Script
    body: Body | None = None


def _sensor_motion(
    script: Script, cfg: SimConfig, mounts: dict[str, np.ndarray], t: np.ndarray, role: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True orientation (sensor -> world), body rate (rad/s) and specific force (m/s²)."""
    p = pose(cfg.exercise)

    def state(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if role == "pelvis":  # fixed: the sacrum sits behind and above the hip joint
            pos = np.broadcast_to(Q.rotate(p.pelvis, np.array([-0.1, 0.05, 0.0])), (len(tt), 3))
            return np.broadcast_to(Q.multiply(p.pelvis, mounts[role]), (len(tt), 4)), pos
        segs = segments(p, cfg.side, script.angles(tt))
        seg = segs.thigh_skin if role == "thigh" else segs.shank
        pos = sensor_positions(segs, cfg.side, cfg.body)[ROLES.index(role)]
        return Q.multiply(seg, mounts[role]), pos

    return motion_of(state, t)


def _is_classic(cfg: SimConfig) -> bool:
    """One leg, fixed pelvis, no trunk: the simulator as it was before the layouts."""
    return (
        cfg.layout == "one-leg"
        and not cfg.trunk
        and cfg.pelvic_lift_deg == 0.0
        and cfg.pelvic_rotation_deg == 0.0
        and cfg.trunk_lean_deg == 0.0
    )


def _check(cfg: SimConfig) -> None:
    if cfg.side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {cfg.side!r}")
    if cfg.layout not in LAYOUTS:
        raise ValueError(f"unknown layout {cfg.layout!r}; choose one of {', '.join(LAYOUTS)}")
    if cfg.layout in ("shin-only", "both-shins") and cfg.exercise != "prone":
        raise ValueError(
            f"a shin-only layout needs the prone exercise (the thigh lying on the floor), not "
            f"{cfg.exercise!r}"
        )
    one_leg = cfg.layout in ("one-leg", "shin-only")
    if one_leg and (cfg.asymmetry_deg != 0.0 or cfg.effort_ratio != 1.0):
        raise ValueError(
            f"an asymmetry between the legs needs both legs (layout both-legs or both-shins), "
            f"not {cfg.layout!r}"
        )
    if not cfg.effort_ratio > 0:
        raise ValueError(f"effort_ratio must be positive, not {cfg.effort_ratio!r}")
    lo, hi = cfg.leg_lag_s
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"leg_lag_s must be (min, max) within 0..1 s, not {cfg.leg_lag_s!r}")


def simulate(cfg: SimConfig) -> Simulation:
    """Simulate one session (deterministic for a given config)."""
    _check(cfg)
    if not _is_classic(cfg):
        return _simulate_body(cfg)
    rng = np.random.default_rng(cfg.seed)
    p = pose(cfg.exercise)
    script = make_script(p, cfg.side, cfg.content, cfg.duration_s, rng, cfg.script)
    mounts = {r: random_mount(r, cfg.side, rng, cfg.mount_cone_deg) for r in ROLES}
    roles = ROLES
    if cfg.pelvis:  # drawn after the leg sensors so those stay the same with or without it
        roles = (*ROLES, "pelvis")
    samples: dict[str, ImuSamples] = {}
    gyro_cal: dict[str, dict] = {r: {} for r in roles}
    rate = sampling_rate(cfg.profile, cfg.rate_hz)
    for k, role in enumerate(roles):
        if role == "pelvis":
            mounts[role] = random_mount(role, cfg.side, rng, cfg.mount_cone_deg)
        err, t, gyro_cal[role] = _sensor_clock(cfg, rng, k, rate, script.duration_s)
        q, gyr, acc = _sensor_motion(script, cfg, mounts, t, role)
        if script.efforts:  # its own random stream: the other draws stay as they were
            envelope = script.effort_envelope(t)
            vib_rng = np.random.default_rng([cfg.seed, 11, k])
            d_gyr, d_acc = effort_vibration(role, envelope, rate, cfg.effort, vib_rng)
            gyr, acc = gyr + d_gyr, acc + d_acc
        gyr_m, acc_m, mag_m = measure(t, gyr, acc, q, cfg.errors, err, rng, cfg.with_mag)
        samples[role] = ImuSamples(t, acc_m, gyr_m, mag_m)

    tg = np.arange(int(script.duration_s * rate)) / rate
    a = script.angles(tg)
    truth = Truth(
        tg,
        np.degrees(a.hip_rotation),
        np.degrees(a.hip_flexion),
        np.degrees(a.hip_adduction),
        np.degrees(a.knee_flexion),
        script.truth_events(),
        {r: [float(v) for v in mounts[r]] for r in roles},
        _plain(cfg),
    )
    return _finish(cfg, roles, cfg.side, samples, gyro_cal, rate, rng, script, truth)


def _finish(
    cfg: SimConfig,
    roles: tuple[str, ...],
    side: str,
    samples: dict[str, ImuSamples],
    gyro_cal: dict[str, dict],
    rate: float,
    rng: np.random.Generator,
    script: Script,
    truth: Truth,
) -> Simulation:
    """Marks, vendor notifications and the header of a simulated session."""
    events = []
    if cfg.marks:
        attempts = [script.failed_phase_starts or {}, script.phase_starts]
        events = [
            Event(float(ts), PHASE_EVENT, None, {"phase": ph})
            for marks in attempts
            for ph, ts in marks.items()
        ]
        events += [
            Event(a, PHASE_EVENT, None, {"phase": ph}) for ph, (a, _) in script.body_steps.items()
        ]
    notes: dict[str, Notifications] = {}
    sensors = tuple(SensorInfo(r, rate_hz=rate, config=gyro_cal[r]) for r in roles)
    if cfg.profile != "samples":
        configs = {}
        for role in roles:
            notes[role], configs[role] = encode(cfg.profile, samples[role], rate, cfg.link, rng)
        sensors = tuple(
            SensorInfo(
                r,
                profile=cfg.profile,
                address=f"SIM:{i:02X}",
                name=f"simulated {r}",
                rate_hz=rate,
                config={**configs[r], **gyro_cal[r]},
            )
            for i, r in enumerate(roles)
        )
    header = SessionHeader(
        side=side,
        exercise=cfg.exercise,
        sensors=sensors,
        imuhip_version=__version__,
        time_base="simulated",
        extra={"simulated": True, "simulator": _plain(cfg)},
    )
    return Simulation(header, samples, notes, events, truth, script)


def _plain(cfg: SimConfig) -> dict:
    """The config as plain data; options added after the classic kinds are left out while at
    their defaults, so classic sessions keep byte-identical headers."""
    d = asdict(cfg)
    d["script"] = asdict(cfg.script)
    d["link"] = asdict(cfg.link)
    if cfg.effort == EffortModel():
        del d["effort"]
    for name, default in LAYOUT_FIELDS.items():
        if d[name] == default:
            del d[name]
    defaults = asdict(ScriptOptions())
    for name in NEW_OPTION_FIELDS:
        if d["script"][name] == defaults[name]:
            del d["script"][name]
    return json.loads(json.dumps(d))


def _role_segment(role: str, lead: str) -> tuple[str, str]:
    """(segment, side) of a sensor role; plain leg roles, pelvis and trunk are on ``lead``."""
    if "_" in role:
        side, segment = role.split("_")
        return segment, side
    return role, lead


@dataclass(frozen=True)
class Body:
    """Everything that moves in a session made with a layout: legs, pelvis, trunk."""

    pose: Pose
    anthropometry: Anthropometry
    legs: dict[str, LegMotion]
    trunk_pelvis: TrunkPelvis

    def state(self, segment: str, side: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orientation (anatomical frame -> world, (N, 4)) and sensor-site position (world,
        metres, (N, 3)) of ``segment`` ("thigh", "shin", "pelvis", "trunk") on ``side``."""
        tp = self.trunk_pelvis
        if segment == PELVIS:
            q = tp.pelvis(t)
            return q, tp.hip_centre(tp.side, t) + Q.rotate(q, SACRUM_SITE)
        if segment == TRUNK:
            q = tp.trunk(t)
            return q, tp.centre(t) + Q.rotate(q, STERNUM_SITE)
        segs = segments(self.pose, side, self.legs[side].angles(t), tp.pelvis(t))
        pos = sensor_positions(segs, side, self.anthropometry, tp.hip_centre(side, t))
        if segment == "thigh":
            return segs.thigh_skin, pos[0]
        return segs.shank, pos[1]

    def femur(self, side: str, t: np.ndarray) -> np.ndarray:
        """True femur orientation (anatomical frame -> world), (N, 4)."""
        return segments(
            self.pose, side, self.legs[side].angles(t), self.trunk_pelvis.pelvis(t)
        ).femur


def body_sensor_motion(
    body: Body, segment: str, side: str, mount: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True orientation (sensor -> world), body rate (rad/s) and specific force (m/s²) of the
    sensor on ``segment`` of ``side`` strapped with ``mount`` at times ``t``."""

    def state(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q, pos = body.state(segment, side, tt)
        return Q.multiply(q, mount), pos

    return motion_of(state, t)


def _extreme(x: np.ndarray) -> float:
    """The value of largest magnitude (signed)."""
    return float(x[int(np.argmax(np.abs(x)))]) if len(x) else 0.0


def _movement_maxima(
    ev: dict, tg: np.ndarray, apparent: np.ndarray, body_arrays: dict[str, np.ndarray]
) -> dict:
    """Add each rep's and stretch's apparent peak and pelvis/trunk extremes to ``ev``."""
    out = dict(ev)
    for kind, end_key in (("reps", "end_s"), ("stretches", "returned_s")):
        rows = []
        for row in ev[kind]:
            inside = (tg >= row["start_s"]) & (tg <= row[end_key])
            a = apparent[inside]
            external = row.get("direction") == "external"
            row = dict(row)
            row["apparent_peak_deg"] = float(a.min() if external else a.max()) if len(a) else 0.0
            for name, x in body_arrays.items():
                row[name.removesuffix("_deg") + "_max_deg"] = _extreme(x[inside])
            rows.append(row)
        out[kind] = rows
    return out


def _simulate_body(cfg: SimConfig) -> Simulation:
    """A session with a layout, or a moving pelvis or a trunk (see :mod:`imuhip.sim.body`)."""
    rng = np.random.default_rng(cfg.seed)
    p = pose(cfg.exercise)
    steps = tuple(s.phase for s in body_steps(("pelvis",) * cfg.pelvis + ("trunk",) * cfg.trunk))
    script = make_script(p, cfg.side, cfg.content, cfg.duration_s, rng, cfg.script, steps)
    layout = sim_layout(cfg.layout, cfg.side, cfg.pelvis, cfg.trunk)
    lead = leading_leg(script, cfg.side)
    legs = {cfg.side: lead}
    if len(layout.legs) == 2:
        o = other_side(cfg.side)
        own = np.random.default_rng([cfg.seed, 13])  # the leading leg stays as in one-leg
        legs[o] = other_leg(script, o, cfg.asymmetry_deg, cfg.effort_ratio, cfg.leg_lag_s, own)
    done = tuple((ph, a, z) for ph, (a, z) in script.body_steps.items())
    step_side = BOTH_LEGS_STEP_SIDE if len(layout.legs) == 2 else ""
    tp = trunk_pelvis(
        p, lead, cfg.pelvic_lift_deg, cfg.pelvic_rotation_deg, cfg.trunk_lean_deg, done,
        step_side,
    )  # fmt: skip
    body = Body(p, cfg.body, legs, tp)
    roles = layout.roles
    where = {r: _role_segment(r, cfg.side) for r in roles}
    mounts = {r: random_mount(*where[r], rng, cfg.mount_cone_deg) for r in roles}
    samples: dict[str, ImuSamples] = {}
    gyro_cal: dict[str, dict] = {r: {} for r in roles}
    rate = sampling_rate(cfg.profile, cfg.rate_hz)
    for k, role in enumerate(roles):
        segment, side = where[role]
        err, t, gyro_cal[role] = _sensor_clock(cfg, rng, k, rate, script.duration_s)
        q, gyr, acc = body_sensor_motion(body, segment, side, mounts[role], t)
        if segment in ("thigh", "shin") and legs[side].efforts:
            envelope = legs[side].effort_envelope(t)
            vib_rng = np.random.default_rng([cfg.seed, 11, k])
            d_gyr, d_acc = effort_vibration(segment, envelope, rate, cfg.effort, vib_rng)
            gyr, acc = gyr + d_gyr, acc + d_acc
        gyr_m, acc_m, mag_m = measure(t, gyr, acc, q, cfg.errors, err, rng, cfg.with_mag)
        samples[role] = ImuSamples(t, acc_m, gyr_m, mag_m)

    tg = np.arange(int(script.duration_s * rate)) / rate
    q_pelvis = tp.pelvis(tg)
    obliquity, turn = pelvis_angles(q_pelvis, p, cfg.side)
    body_arrays = {
        "pelvis_obliquity_deg": np.degrees(obliquity),
        "pelvis_rotation_deg": np.degrees(turn),
        "trunk_lean_deg": np.degrees(trunk_lean(q_pelvis, tp.trunk(tg), cfg.side)),
    }
    leg_truth = {}
    for side in ("left", "right"):
        if side not in legs:
            continue
        a = legs[side].angles(tg)
        apparent = np.degrees(hip_angles(p.pelvis, body.femur(side, tg), side)[2])
        ev = _movement_maxima(legs[side].truth_events(), tg, apparent, body_arrays)
        leg_truth[side] = LegTruth(
            side, np.degrees(a.hip_rotation), np.degrees(a.hip_flexion),
            np.degrees(a.hip_adduction), np.degrees(a.knee_flexion), apparent, ev,
        )  # fmt: skip
    lead_truth = leg_truth[cfg.side]
    events = script.truth_events()
    events.update({k: lead_truth.events[k] for k in ("reps", "stretches")})
    truth = Truth(
        tg,
        lead_truth.hip_rotation_deg,
        lead_truth.hip_flexion_deg,
        lead_truth.hip_adduction_deg,
        lead_truth.knee_flexion_deg,
        events,
        {r: [float(v) for v in mounts[r]] for r in roles},
        _plain(cfg),
        leg_truth,
        **body_arrays,
    )
    sim = _finish(cfg, roles, layout.side, samples, gyro_cal, rate, rng, script, truth)
    return replace(sim, body=body)


def write_simulation(sim: Simulation, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the session to ``path`` and its truth beside it (``<stem>.truth.npz``); returns
    the truth file's path."""
    path = Path(path)
    if sim.notifications:
        write_session(
            path,
            sim.header,
            notifications=sim.notifications,
            events=sim.events,
            overwrite=overwrite,
        )
    else:
        write_session(path, sim.header, samples=sim.samples, events=sim.events, overwrite=overwrite)
    truth_path = truth_path_for(path)
    sim.truth.save(truth_path)
    return truth_path


def truth_path_for(session_path: str | Path) -> Path:
    """Where the truth of a simulated session file lives."""
    p = Path(session_path)
    return p.with_name(p.stem + ".truth.npz")


def motion_of(
    state: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor's true orientation (N, 4), body rate (N, 3) rad/s in its frame and specific
    force (N, 3) m/s² in its frame at times ``t``, from ``state(t) -> (orientation, position)``
    (sensor to world ENU, metres) by central differences; ``state`` is called once, over all
    the difference times together (a short block costs one call, not five)."""
    h_rot, h_pos = 1e-4, 2e-3
    n = len(t)
    q_all, p_all = state(np.concatenate([t, t - h_rot, t + h_rot, t - h_pos, t + h_pos]))
    q, q_minus, q_plus = q_all[:n], q_all[n : 2 * n], q_all[2 * n : 3 * n]
    p0, p_minus, p_plus = p_all[:n], p_all[3 * n : 4 * n], p_all[4 * n :]
    gyr = Q.to_rotvec(Q.multiply(Q.conjugate(q_minus), q_plus)) / (2 * h_rot)
    acc_world = (p_plus - 2 * p0 + p_minus) / h_pos**2
    acc_world[:, 2] += G
    return q, gyr, Q.rotate(Q.conjugate(q), acc_world)


def _sensor_clock(
    cfg: SimConfig, rng: np.random.Generator, k: int, rate: float, duration_s: float
) -> tuple[SensorErrors, np.ndarray, dict]:
    """Sensor ``k``'s errors (drawn from ``rng``), its sample times (s: its own crystal and a
    random phase) and its header config (the table calibration's gyro scales, if asked; the
    table's own random stream, so the other draws stay as they were)."""
    err = draw_errors(cfg.errors, rng)
    config = {}
    if cfg.table_calibration:
        table = table_turns(err, cfg.errors, np.random.default_rng([cfg.seed, 7, k]))
        config = {GYRO_SCALE_KEY: estimate_gyro_scale(table.t, table.gyr).as_config()}
    period = 1.0 / (rate * (1 + 1e-6 * err.clock_ppm))
    t0 = rng.uniform(0, 1.0 / rate)
    return err, t0 + period * np.arange(int((duration_s - t0) / period)), config
