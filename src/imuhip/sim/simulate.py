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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from imuhip import __version__
from imuhip import quaternion as Q
from imuhip.calibration_protocol import PHASE_EVENT
from imuhip.files.session_file import write_session
from imuhip.fusion.gyro_scale import CONFIG_KEY as GYRO_SCALE_KEY
from imuhip.fusion.gyro_scale import estimate_gyro_scale
from imuhip.samples import ImuSamples
from imuhip.session import Event, Notifications, SensorInfo, SessionHeader
from imuhip.sim.kinematics import Anthropometry, pose, segments, sensor_positions
from imuhip.sim.scripts import NEW_OPTION_FIELDS, Script, ScriptOptions, make_script
from imuhip.sim.sensor_model import (
    EffortModel,
    G,
    ImuErrorModel,
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
    """

    t: np.ndarray
    hip_rotation_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_adduction_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    events: dict
    mounts: dict[str, list[float]]
    config: dict

    def save(self, path: str | Path) -> None:
        """Write as ``.npz`` (arrays plus one JSON string; no pickle)."""
        meta = {"events": self.events, "mounts": self.mounts, "config": self.config}
        with open(path, "wb") as f:
            np.savez_compressed(
                f,
                t=self.t,
                hip_rotation_deg=self.hip_rotation_deg.astype(np.float32),
                hip_flexion_deg=self.hip_flexion_deg.astype(np.float32),
                hip_adduction_deg=self.hip_adduction_deg.astype(np.float32),
                knee_flexion_deg=self.knee_flexion_deg.astype(np.float32),
                meta=np.array(json.dumps(meta)),
            )

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a truth file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: np.asarray(z[k], dtype=float) for k in z.files if k != "meta"}
        return cls(**arrays, events=meta["events"], mounts=meta["mounts"], config=meta["config"])

    def hip_rotation_at(self, t: np.ndarray) -> np.ndarray:
        """True hip rotation (degrees) interpolated at times ``t``."""
        return np.interp(t, self.t, self.hip_rotation_deg)


@dataclass(frozen=True)
class Simulation:
    """A simulated session: header, per-role samples or notifications, events, truth.

    ``samples`` always holds the measured samples at their true sampling instants;
    ``notifications`` holds what the vendor profile sent (empty for the "samples" profile).
    """

    header: SessionHeader
    samples: dict[str, ImuSamples]
    notifications: dict[str, Notifications]
    events: list[Event]
    truth: Truth
    script: Script


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

    h_rot, h_pos = 1e-4, 2e-3
    q, p0 = state(t)
    q_minus, _ = state(t - h_rot)
    q_plus, _ = state(t + h_rot)
    gyr = Q.to_rotvec(Q.multiply(Q.conjugate(q_minus), q_plus)) / (2 * h_rot)
    _, p_minus = state(t - h_pos)
    _, p_plus = state(t + h_pos)
    acc_world = (p_plus - 2 * p0 + p_minus) / h_pos**2
    acc_world[:, 2] += G
    return q, gyr, Q.rotate(Q.conjugate(q), acc_world)


def simulate(cfg: SimConfig) -> Simulation:
    """Simulate one session (deterministic for a given config)."""
    rng = np.random.default_rng(cfg.seed)
    p = pose(cfg.exercise)
    if cfg.side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {cfg.side!r}")
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
        err = draw_errors(cfg.errors, rng)
        if cfg.table_calibration:
            table = table_turns(err, cfg.errors, np.random.default_rng([cfg.seed, 7, k]))
            scale = estimate_gyro_scale(table.t, table.gyr)
            gyro_cal[role] = {GYRO_SCALE_KEY: scale.as_config()}
        period = 1.0 / (rate * (1 + 1e-6 * err.clock_ppm))
        t0 = rng.uniform(0, 1.0 / rate)
        t = t0 + period * np.arange(int((script.duration_s - t0) / period))
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
    events = []
    if cfg.marks:
        attempts = [script.failed_phase_starts or {}, script.phase_starts]
        events = [
            Event(float(ts), PHASE_EVENT, None, {"phase": ph})
            for marks in attempts
            for ph, ts in marks.items()
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
        side=cfg.side,
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
    defaults = asdict(ScriptOptions())
    for name in NEW_OPTION_FIELDS:
        if d["script"][name] == defaults[name]:
            del d["script"][name]
    return json.loads(json.dumps(d))


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
