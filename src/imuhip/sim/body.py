"""The simulated body beyond one leg: both legs, a pelvis and a trunk that move with the legs.

A session's *leading* leg (``SimConfig.side``) follows the motion script as a one-leg session
does. In a both-legs session the other leg does the same exercise at the same time with a
chosen asymmetry (:func:`other_leg`): its excursions from the rest differ by a fixed number of
degrees, its isometric efforts by a ratio, and it runs a little behind in time (a smooth,
slowly wandering lag). The pelvis can roll (one hip rising from the floor) and turn about the
vertical, and the trunk lean sideways, in proportion to how far the leading leg is into each
rep or stretch (:class:`TrunkPelvis`).

Frames are those of :mod:`imuhip.sim.kinematics` (world ENU; anatomical X anterior, Y superior,
Z to the right). The hip joint centre of the leading leg is the world origin at the start; the
pelvis centre lies ``HALF_HIP_WIDTH_M`` towards the other hip. ``docs/simulator.md`` defines
every truth angle.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, replace

import numpy as np

from imuhip import quaternion as Q
from imuhip.calibration_protocol import PELVIS_STEP, TRUNK_STEP
from imuhip.joint.geometry import UP, signed_angle_about, unit
from imuhip.layout import PELVIS, TRUNK, Layout, Leg, sided_role
from imuhip.layout import Segment as LayoutSegment
from imuhip.sim.kinematics import SIDE_SIGN, JointAngles, Pose, X, hip_angles, segments
from imuhip.sim.scripts import (
    DWELL_BAND_DEG,
    MIN_REST_S,
    EffortWindow,
    HoldTruth,
    RepTruth,
    RestTruth,
    Script,
    StretchTruth,
)

#: Layout names of ``SimConfig.layout`` / ``imuhip simulate --layout``.
LAYOUTS: tuple[str, ...] = ("one-leg", "both-legs", "shin-only", "both-shins")

#: Half the distance between the hip joint centres, metres.
HALF_HIP_WIDTH_M = 0.09
#: How far the pelvis step lifts the working side's hip (pelvic obliquity), degrees.
STEP_LIFT_DEG = 6.0
#: How far the trunk step leans the trunk towards the working side, degrees.
STEP_LEAN_DEG = 10.0
#: Sacrum sensor site relative to the leading hip joint centre, pelvis frame, metres (as the
#: one-leg simulator always had it).
SACRUM_SITE = np.array([-0.1, 0.05, 0.0])
#: Sternum sensor site relative to the pelvis centre, trunk frame, metres.
STERNUM_SITE = np.array([0.12, 0.40, 0.0])


def other_side(side: str) -> str:
    """ "left" <-> "right"."""
    return "right" if side == "left" else "left"


def sim_layout(name: str, side: str, pelvis: bool, trunk: bool) -> Layout:
    """The :class:`~imuhip.layout.Layout` of layout ``name`` (one of :data:`LAYOUTS`) whose
    one-leg layouts instrument ``side``: one-leg layouts use the plain ``thigh``/``shin``
    roles, both-leg layouts the sided ones."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)}")
    shin_only = name in ("shin-only", "both-shins")
    if name in ("one-leg", "shin-only"):
        legs: tuple[Leg, ...] = (Leg(side, None if shin_only else "thigh", "shin"),)
    else:
        legs = tuple(
            Leg(
                s,
                None if shin_only else sided_role(s, LayoutSegment.THIGH),
                sided_role(s, LayoutSegment.SHIN),
            )
            for s in ("left", "right")
        )
    return Layout(legs, PELVIS if pelvis else None, TRUNK if trunk else None)


@dataclass(frozen=True)
class LegLag:
    """How far the following leg runs behind the leading one: ``lag(t) = mean_s + wander_s ·
    sin(2π t / period_s + phase)`` seconds (its movement at session time t is the leading leg's
    at ``t − lag(t)``)."""

    mean_s: float
    wander_s: float
    period_s: float
    phase: float

    def lag(self, t: np.ndarray) -> np.ndarray:
        """The lag at session times ``t``, seconds."""
        return self.mean_s + self.wander_s * np.sin(2 * np.pi * t / self.period_s + self.phase)

    def script_time(self, t: np.ndarray) -> np.ndarray:
        """Script (leading-leg) time of the following leg's session times ``t``."""
        t = np.asarray(t, dtype=float)
        return t - self.lag(t)

    def session_time(self, tau: float) -> float:
        """The session time at which the following leg reaches script time ``tau``."""
        t = float(tau)
        for _ in range(30):  # a contraction: |d lag/dt| < 0.1
            t = float(tau + self.lag(np.array(t)))
        return t


@dataclass(frozen=True)
class LegMotion:
    """One leg's movement and truth on the session time base.

    Attributes:
        side: "left" or "right".
        script: the leg's joint tracks (for a following leg: the leading script's, rescaled).
        lag: None for the leading leg; the following leg's lag otherwise.
        reps, holds, stretches, rests, efforts: the leg's truth (session times).
    """

    side: str
    script: Script
    lag: LegLag | None
    reps: tuple[RepTruth, ...]
    holds: tuple[HoldTruth, ...]
    stretches: tuple[StretchTruth, ...]
    rests: tuple[RestTruth, ...]
    efforts: tuple[EffortWindow, ...]

    def angles(self, t: np.ndarray) -> JointAngles:
        """Joint angles (radians) at session times ``t``."""
        t = np.asarray(t, dtype=float)
        return self.script.angles(t if self.lag is None else self.lag.script_time(t))

    def hip_rotation_deg(self, t: np.ndarray) -> np.ndarray:
        """True hip rotation (degrees, relative to the pelvis) at session times ``t``."""
        t = np.asarray(t, dtype=float)
        tau = t if self.lag is None else self.lag.script_time(t)
        return self.script.tracks["hip_rotation"](tau)

    def effort_envelope(self, t: np.ndarray) -> np.ndarray:
        """Relative effort of this leg's muscles at session times ``t``."""
        return replace_efforts(self.script, self.efforts).effort_envelope(t)

    def truth_events(self) -> dict:
        """This leg's reps, holds, stretches, rests and efforts as plain data."""
        return {
            "reps": [asdict(r) for r in self.reps],
            "holds": [asdict(h) for h in self.holds],
            "stretches": [asdict(x) for x in self.stretches],
            "rests": [asdict(r) for r in self.rests],
            "efforts": [asdict(w) for w in self.efforts],
        }


def replace_efforts(script: Script, efforts: tuple[EffortWindow, ...]) -> Script:
    """A shallow copy of ``script`` with other effort windows (for evaluating an envelope)."""
    return replace(script, efforts=list(efforts))


def leading_leg(script: Script, side: str) -> LegMotion:
    """The leg that follows ``script`` itself."""
    return LegMotion(
        side,
        script,
        None,
        tuple(script.reps),
        tuple(script.holds),
        tuple(script.stretches),
        tuple(script.rests),
        tuple(script.efforts),
    )


def _hold_window(track_times: list[float], h: HoldTruth) -> tuple[float, float]:
    """The keyframes before a classic hold's arrival and after its start back."""
    tk = np.asarray(track_times)
    a = tk[np.searchsorted(tk, h.start_s) - 1]
    z = tk[min(np.searchsorted(tk, h.end_s, side="right"), len(tk) - 1)]
    return float(a), float(z)


def other_leg(
    script: Script,
    side: str,
    asymmetry_deg: float,
    effort_ratio: float,
    lag_s: tuple[float, float],
    rng: np.random.Generator,
) -> LegMotion:
    """The leg on ``side`` doing the leading leg's ``script`` with an asymmetry.

    Every rep's, classic hold's and stretch's excursion from its rest (peak, mean and largest
    angle respectively) is larger by ``asymmetry_deg`` on the right leg than on the left one
    (negative: the right hip rotates less; an excursion never shrinks below 10 % of the
    leading leg's); isometric efforts are ``effort_ratio`` times as strong on the right.
    ``side`` is the following leg; it runs ``lag_s`` (min, max; drawn once from ``rng``)
    seconds late on average, wandering by up to a third of that over 15–30 s.
    """
    s_other = 1.0 if side == "right" else -1.0
    extra = s_other * asymmetry_deg  # this leg's excursion minus the leading leg's
    ratio = effort_ratio if side == "right" else 1.0 / effort_ratio
    mean = float(rng.uniform(*lag_s))
    lag = LegLag(mean, mean / 3.0, float(rng.uniform(15.0, 30.0)), float(rng.uniform(0, 2 * np.pi)))
    tracks = copy.deepcopy(script.tracks)
    rot, add, skin = tracks["hip_rotation"], tracks["hip_adduction"], tracks["thigh_skin_rotation"]
    lead_rot = script.tracks["hip_rotation"]
    windows: list[tuple[float, float, float]] = []  # (a, z, excursion)
    for r in script.reps:
        windows.append((r.start_s, r.end_s, r.peak_deg - r.rest_deg))
    for h in script.holds:
        if not h.isometric:
            a, z = _hold_window(lead_rot.times, h)
            windows.append((a, z, h.mean_deg - float(lead_rot(np.array(a)))))
    for x in script.stretches:
        windows.append((x.start_s, x.returned_s, x.max_deg - float(lead_rot(np.array(x.start_s)))))
    tk = np.asarray(lead_rot.times)
    soft = script.soft_tissue
    for a, z, exc in windows:
        if abs(exc) < 1e-9:
            continue
        gain = max(0.1, (abs(exc) + extra) / abs(exc))
        ks = np.flatnonzero((tk >= a - 1e-9) & (tk <= z + 1e-9))
        rest_rot, rest_add = rot.values[ks[0]], add.values[ks[0]]
        for k in ks:
            rot.values[k] = rest_rot + (lead_rot.values[k] - rest_rot) * gain
            add.values[k] = rest_add + (script.tracks["hip_adduction"].values[k] - rest_add) * gain
            skin.values[k] = soft * rot.values[k]
    isometric = {(h.start_s, h.end_s) for h in script.holds if h.isometric}
    efforts = tuple(
        EffortWindow(
            lag.session_time(w.start_s),
            lag.session_time(w.end_s),
            w.level * (ratio if (w.start_s, w.end_s) in isometric else 1.0),
        )
        for w in script.efforts
    )
    moved = replace(script, side=side, tracks=tracks)
    f = LegMotion(side, moved, lag, (), (), (), (), efforts)
    return replace(
        f,
        reps=tuple(_rep_truth(f, r) for r in script.reps),
        holds=tuple(_hold_truth(f, h, ratio) for h in script.holds),
        stretches=tuple(_stretch_truth(f, x) for x in script.stretches),
        rests=tuple(_rest_truth(f, r) for r in script.rests if _rest_ok(f, r)),
    )


def _grid(a: float, z: float, per_s: int) -> np.ndarray:
    return np.linspace(a, z, max(2, int((z - a) * per_s)))


def _rep_truth(f: LegMotion, r: RepTruth) -> RepTruth:
    assert f.lag is not None
    a, z = f.lag.session_time(r.start_s), f.lag.session_time(r.end_s)
    t = _grid(a, z, 1000)
    x = f.hip_rotation_deg(t)
    external = r.direction == "external"
    k = int(np.argmin(x)) if external else int(np.argmax(x))
    dwell = float(np.count_nonzero(np.abs(x - x[k]) <= DWELL_BAND_DEG) * (t[1] - t[0]))
    rate = float(np.max(np.abs(np.gradient(x, t))))
    return RepTruth(a, float(t[k]), z, float(x[k]), r.rest_deg, dwell, r.direction, rate)


def _hold_truth(f: LegMotion, h: HoldTruth, ratio: float) -> HoldTruth:
    assert f.lag is not None
    a, z = f.lag.session_time(h.start_s), f.lag.session_time(h.end_s)
    x = f.hip_rotation_deg(_grid(a, z, 100))
    effort = h.effort * ratio if h.isometric else h.effort
    range_deg = float(np.ptp(x)) if h.isometric else h.range_deg
    return HoldTruth(a, z, float(np.mean(x)), h.isometric, effort, range_deg)


def _stretch_truth(f: LegMotion, s: StretchTruth) -> StretchTruth:
    assert f.lag is not None
    m = f.lag.session_time
    arrived, end = m(s.end_range_s), m(s.end_s)
    t = _grid(arrived, end, 100)
    x = f.hip_rotation_deg(t)
    at_end = float(np.count_nonzero(x >= x.max() - DWELL_BAND_DEG) * (t[1] - t[0]))
    op_start = gain = None
    if s.overpressure_start_s is not None:
        op_start = m(s.overpressure_start_s)
        ends = f.hip_rotation_deg(np.array([op_start, end]))
        gain = float(ends[1] - ends[0])
    return StretchTruth(
        m(s.start_s), arrived, end, m(s.returned_s), float(np.mean(x)), float(x.max()), at_end,
        op_start, gain, s.effort,
    )  # fmt: skip


def _rest_ok(f: LegMotion, r: RestTruth) -> bool:
    assert f.lag is not None
    return f.lag.session_time(r.end_s) - f.lag.session_time(r.start_s) >= MIN_REST_S


def _rest_truth(f: LegMotion, r: RestTruth) -> RestTruth:
    assert f.lag is not None
    a, z = f.lag.session_time(r.start_s), f.lag.session_time(r.end_s)
    return RestTruth(a, z, float(np.mean(f.hip_rotation_deg(_grid(a, z, 100)))))


@dataclass(frozen=True)
class TrunkPelvis:
    """Pelvis and trunk moving with the leading leg.

    The *drive* ``d(t)`` is, during each of the leading leg's reps and stretches, its hip
    angle's excursion from the rest as a share of that movement's largest one (0 at the rest,
    ±1 at the peak; negative for reps into external rotation), and 0 elsewhere. Then:

    - the pelvis rolls about the horizontal axis perpendicular to its hip line by
      ``lift_sign · σ · lift_deg · d`` (σ = +1 for a right leading leg, −1 for a left one;
      positive raises the leading side's hip), where ``lift_sign`` (+1 or −1) is the direction
      in which the roll adds to the leading leg's apparent internal rotation in this pose;
    - then turns about the world vertical by ``σ · rotation_deg · d`` (counter-clockwise seen
      from above for a right leading leg);
    - the trunk bends sideways relative to the pelvis, about the pelvis's anterior axis, by
      ``lean_deg · d`` towards the leading side.

    Attributes:
        pose: the exercise's start pose.
        side: the leading leg.
        lift_deg, rotation_deg, lean_deg: amplitudes at a movement's peak, degrees.
        lift_sign: +1 or −1 (see above).
        windows: (start_s, end_s, rest_deg, excursion_deg) of each driving movement.
        leading: the leading leg's hip rotation track (degrees, session time).
        steps: the protocol's pelvis and trunk steps (phase, start_s, end_s): in
            ``pelvis_lift`` the pelvis raises the working side's hip by ``STEP_LIFT_DEG``
            twice, in ``trunk_lean`` the trunk leans towards it by ``STEP_LEAN_DEG`` twice
            (relative to the pelvis), each then still.
        step_side: the side the steps lift and lean towards ("": the leading leg's; sessions of
            both legs: "right", :data:`imuhip.calibration_protocol.BOTH_LEGS_STEP_SIDE`).
    """

    pose: Pose
    side: str
    lift_deg: float
    rotation_deg: float
    lean_deg: float
    lift_sign: float
    windows: tuple[tuple[float, float, float, float], ...]
    leading: LegMotion
    steps: tuple[tuple[str, float, float], ...] = ()
    step_side: str = ""

    @property
    def moves(self) -> bool:
        """True when the pelvis moves at all (a fixed pelvis keeps the classic kinematics)."""
        lifts = any(ph == PELVIS_STEP.phase for ph, _, _ in self.steps)
        return self.lift_deg != 0.0 or self.rotation_deg != 0.0 or lifts

    def step_deg(self, phase: str, t: np.ndarray) -> np.ndarray:
        """The movement of the protocol step ``phase`` at times ``t``, degrees (0 outside it):
        two smooth excursions of 2.5 s, 0.5 s apart, 0.5 s after the step's start (2 s still
        at the end of the step's 8 s)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        amp = STEP_LIFT_DEG if phase == PELVIS_STEP.phase else STEP_LEAN_DEG
        for ph, a, _z in self.steps:
            if ph != phase:
                continue
            for k in range(2):
                u = (t - a - 0.5 - 3.0 * k) / 2.5
                inside = (u > 0) & (u < 1)
                out[inside] += amp * np.sin(np.pi * u[inside]) ** 2
        return out

    def drive(self, t: np.ndarray) -> np.ndarray:
        """The drive d(t) (see the class), dimensionless."""
        t = np.asarray(t, dtype=float)
        out = np.zeros_like(t)
        r = self.leading.hip_rotation_deg(t)
        for a, z, rest, exc in self.windows:
            inside = (t >= a) & (t <= z)
            if np.any(inside) and abs(exc) > 1e-9:
                share = np.clip((r[inside] - rest) / abs(exc), -1.0, 1.0)
                out[inside] = share
        return out

    def roll_axis(self) -> np.ndarray:
        """World axis about which a positive roll raises the pelvis's right (+Z) end."""
        lateral = Q.rotate(self.pose.pelvis, np.array([0.0, 0.0, 1.0]))
        return unit(np.cross(lateral, UP))

    def pelvis(self, t: np.ndarray) -> np.ndarray:
        """Pelvis orientation (anatomical frame -> world), (N, 4)."""
        d = self.drive(t)
        sigma = SIDE_SIGN[self.side]
        lift = self.lift_sign * sigma * self.lift_deg * d
        if self.steps:
            lift = lift + SIDE_SIGN[self.step_side or self.side] * self.step_deg(
                PELVIS_STEP.phase, t
            )
        roll = Q.from_axis_angle(self.roll_axis(), np.radians(lift))
        turn = Q.from_axis_angle(UP, np.radians(sigma * self.rotation_deg * d))
        return Q.multiply(Q.multiply(turn, roll), np.broadcast_to(self.pose.pelvis, (len(d), 4)))

    def trunk(self, t: np.ndarray) -> np.ndarray:
        """Trunk orientation (anatomical frame -> world), (N, 4)."""
        d = self.drive(t)
        deg = SIDE_SIGN[self.side] * self.lean_deg * d
        if self.steps:
            deg = deg + SIDE_SIGN[self.step_side or self.side] * self.step_deg(TRUNK_STEP.phase, t)
        lean = Q.from_axis_angle(X, np.radians(deg))
        return Q.multiply(self.pelvis(t), lean)

    def centre(self, t: np.ndarray) -> np.ndarray:
        """World position of the pelvis centre (the pivot of its movement), (N, 3), metres."""
        lateral = Q.rotate(self.pose.pelvis, np.array([0.0, 0.0, 1.0]))
        c = -SIDE_SIGN[self.side] * HALF_HIP_WIDTH_M * lateral
        return np.broadcast_to(c, (len(np.atleast_1d(t)), 3))

    def hip_centre(self, side: str, t: np.ndarray) -> np.ndarray:
        """World position of the hip joint centre on ``side``, (N, 3), metres."""
        q = self.pelvis(t)
        offset = np.array([0.0, 0.0, SIDE_SIGN[side] * HALF_HIP_WIDTH_M])
        return self.centre(t) + Q.rotate(q, offset)


def trunk_pelvis(
    p: Pose,
    lead: LegMotion,
    lift_deg: float,
    rotation_deg: float,
    lean_deg: float,
    steps: tuple[tuple[str, float, float], ...] = (),
    step_side: str = "",
) -> TrunkPelvis:
    """The pelvis and trunk coupled to ``lead``'s reps and stretches (see :class:`TrunkPelvis`);
    the roll's direction is the one that adds to the leading leg's apparent internal
    rotation in pose ``p``."""
    track = lead.script.tracks["hip_rotation"]
    windows = [(r.start_s, r.end_s, r.rest_deg, r.peak_deg - r.rest_deg) for r in lead.reps]
    for x in lead.stretches:
        rest = float(track(np.array(x.start_s)))
        windows.append((x.start_s, x.returned_s, rest, x.max_deg - rest))
    probe = TrunkPelvis(p, lead.side, 1.0, 0.0, 0.0, 1.0, (), lead)
    # the apparent rotation of the leading femur at the start pose when the pelvis rolls +1°
    zero = JointAngles(*(np.zeros(1) for _ in range(7)))
    zero = replace(zero, knee_flexion=np.radians([p.knee_flexion_deg]),
                   hip_flexion=np.radians([p.hip_flexion_deg]))  # fmt: skip
    sigma = SIDE_SIGN[lead.side]
    rolled = Q.multiply(Q.from_axis_angle(probe.roll_axis(), np.radians(sigma * 1.0)), p.pelvis)[
        None
    ]
    femur = segments(p, lead.side, zero, rolled).femur
    apparent = hip_angles(p.pelvis, femur, lead.side)[2][0]
    sign = 1.0 if apparent > 0 else -1.0
    return TrunkPelvis(
        p, lead.side, lift_deg, rotation_deg, lean_deg, sign, tuple(windows), lead, steps,
        step_side,
    )  # fmt: skip


def pelvis_angles(q_pelvis: np.ndarray, p: Pose, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis obliquity and rotation (radians, each (N,)) relative to the floor, for a leading
    leg on ``side``: obliquity is the elevation of the pelvis's right (+Z) axis above the
    horizontal, times σ (positive: the leading side's hip higher); rotation is the turn of
    that axis's horizontal projection about the world vertical from the start pose, times σ."""
    sigma = SIDE_SIGN[side]
    lateral = Q.rotate(q_pelvis, np.array([0.0, 0.0, 1.0]))
    lateral0 = Q.rotate(p.pelvis, np.array([0.0, 0.0, 1.0]))
    obliquity = np.arcsin(np.clip(lateral[..., 2], -1.0, 1.0))
    turn = np.arctan2(lateral[..., 1], lateral[..., 0]) - np.arctan2(lateral0[1], lateral0[0])
    turn = (turn + np.pi) % (2 * np.pi) - np.pi
    return sigma * obliquity, sigma * turn


def trunk_lean(q_pelvis: np.ndarray, q_trunk: np.ndarray, side: str) -> np.ndarray:
    """Trunk lateral flexion relative to the pelvis (radians, (N,)): the angle about the
    pelvis's anterior (X) axis from its superior (Y) axis to the trunk's, positive towards the
    leading ``side``."""
    ax = Q.rotate(q_pelvis, np.array([1.0, 0.0, 0.0]))
    y0 = Q.rotate(q_pelvis, np.array([0.0, 1.0, 0.0]))
    y1 = Q.rotate(q_trunk, np.array([0.0, 1.0, 0.0]))
    return SIDE_SIGN[side] * signed_angle_about(ax, y0, y1)
