"""The pelvis and the trunk: obliquity, pelvic rotation, trunk lean, and the hip angle relative
to the pelvis (maths on synthetic rotations; simulated sessions, SIMULATED)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.errors import CalibrationError
from imuhip.joint.pelvis import (
    UP,
    find_step,
    hip_correction_scale,
    obliquity_deg,
    pelvic_rotation_deg,
    rotation_about_deg,
    signed_extreme,
    step_axes,
    step_from_data,
    trunk_lateral_flexion_deg,
)

RATE = 100.0


def _random_q(rng: np.random.Generator) -> np.ndarray:
    return Q.normalize(rng.normal(size=4))


def _bumps(t: np.ndarray, amp_deg: float, start: float = 1.0) -> np.ndarray:
    """Two smooth excursions to ``amp_deg`` and back (1.6 s each), radians."""
    x = np.zeros_like(t)
    for k in range(2):
        s = (t - start - 2.0 * k) / 1.6
        inside = (s > 0) & (s < 1)
        x[inside] = np.sin(np.pi * s[inside]) ** 2
    return np.radians(amp_deg) * x


def _rolled(rng, t, theta_about_axis, axis_world, q_start):
    """Orientations (sensor -> world) rotated by ``theta`` about world ``axis_world`` from
    ``q_start``, and their body rates in the sensor frame."""
    q = Q.multiply(Q.from_axis_angle(axis_world, theta_about_axis), q_start[None])
    rate = np.gradient(theta_about_axis, t)[:, None] * axis_world[None]
    gyr = Q.rotate(Q.conjugate(q), rate)
    return q, gyr


@pytest.mark.parametrize("seed", range(6))
def test_obliquity_is_exact_for_a_roll_and_blind_to_tilt_and_turn(seed):
    rng = np.random.default_rng(seed)
    heading = rng.uniform(0, 2 * np.pi)
    a_w = np.array([np.cos(heading), np.sin(heading), 0.0])  # any horizontal roll axis
    q0 = Q.multiply(Q.from_axis_angle(UP, rng.uniform(0, 6.3)), _random_q(rng))
    t = np.arange(0, 6.0, 1 / RATE)
    q, gyr = _rolled(rng, t, _bumps(t, 8.0), a_w, q0)
    axes = step_axes(gyr[90:], q[0], RATE)
    np.testing.assert_allclose(Q.rotate(q0, axes.axis), a_w, atol=1e-3)
    assert abs(axes.lateral @ axes.up) < 1e-9
    # a later movement: roll by 7°, then a tilt about the lateral axis and a turn about up
    lat_w = Q.rotate(q0, axes.lateral)
    roll = Q.from_axis_angle(a_w, np.radians(7.0))
    tilt = Q.from_axis_angle(Q.rotate(roll, lat_w), np.radians(rng.uniform(-20, 20)))
    yaw = Q.from_axis_angle(UP, np.radians(rng.uniform(-40, 40)))
    q_late = Q.multiply(yaw, Q.multiply(tilt, Q.multiply(roll, q0)))[None]
    assert obliquity_deg(q_late, axes)[0] == pytest.approx(7.0, abs=1e-6)
    # the obliquity's sign: the lateral axis points to the side the step's first lift raised
    assert obliquity_deg(q[150:151], axes)[0] > 0
    # the turn: only the yaw shows (the roll moves the axis in a vertical plane)
    q_turn = Q.multiply(yaw, Q.multiply(roll, q0))[None]
    turn = np.degrees(2 * np.arctan2(yaw[3], yaw[0]))
    assert pelvic_rotation_deg(q_turn, axes, 1.0)[0] == pytest.approx(turn, abs=1e-6)
    assert pelvic_rotation_deg(q_turn, axes, -1.0)[0] == pytest.approx(-turn, abs=1e-6)


def test_rotation_about_an_axis_is_its_twist():
    rng = np.random.default_rng(3)
    q0 = _random_q(rng)
    axis = np.array([0.0, 0.6, 0.8])
    q = Q.multiply(q0[None], Q.from_axis_angle(axis, np.radians([12.0, -5.0])))
    np.testing.assert_allclose(rotation_about_deg(q, q0, axis), [12.0, -5.0], atol=1e-9)


def test_trunk_lean_relative_to_the_pelvis_takes_the_pelvis_roll_out():
    # a trunk whose step axis is horizontal (seated): the pelvis rolling its working side up
    # by 6° tilts the trunk 6° away; a lean of 10° towards the working side on top of it
    # is 4° in the world and 10° relative to the pelvis
    rng = np.random.default_rng(5)
    q0 = _random_q(rng)
    q0 = Q.multiply(Q.from_axis_angle(UP, 0.3), q0)
    a_w = np.array([1.0, 0.0, 0.0])
    t = np.arange(0, 6.0, 1 / RATE)
    q, gyr = _rolled(rng, t, _bumps(t, 10.0), a_w, q0)
    trunk = step_axes(gyr[90:], q[0], RATE)
    q_late = Q.multiply(Q.from_axis_angle(a_w, np.radians(10.0 - 6.0)), q0)[None]
    lean = trunk_lateral_flexion_deg(q_late, trunk, np.array([6.0]))
    assert lean[0] == pytest.approx(10.0, abs=1e-6)
    # a vertical step axis (lying): the pelvis's turn is taken out, its obliquity is not
    q_v, g_v = _rolled(rng, t, _bumps(t, 10.0), UP, q0)
    lying = step_axes(g_v[90:], q_v[0], RATE)
    q_late = Q.multiply(Q.from_axis_angle(UP, np.radians(9.0)), q0)[None]
    lean = trunk_lateral_flexion_deg(q_late, lying, np.array([5.0]), np.array([3.0]))
    assert lean[0] == pytest.approx(6.0, abs=1e-6)


def test_a_step_is_found_after_the_still_pose_with_and_without_a_mark():
    rng = np.random.default_rng(1)
    q0 = _random_q(rng)
    t = np.arange(0, 9.0, 1 / RATE)
    q, gyr = _rolled(rng, t, _bumps(t, 6.0, start=3.0), np.array([0.0, 1.0, 0.0]), q0)
    ref, a, b = find_step(gyr, RATE, after=50)
    assert t[a] == pytest.approx(3.0, abs=0.3) and t[b] == pytest.approx(6.6, abs=0.3)
    assert ref < a
    found = step_from_data(gyr, q, t, RATE, after=50)
    marked = step_from_data(gyr, q, t, RATE, mark=(2.5, 9.0))
    assert found is not None and marked is not None
    np.testing.assert_allclose(found.axis, marked.axis)
    assert found.range_deg == pytest.approx(6.0, abs=0.2)
    # not complete yet (no still pose after the movement): nothing
    assert step_from_data(gyr[:500], q[:500], t[:500], RATE, after=50) is None


def test_a_step_that_barely_moved_is_refused_with_advice():
    t = np.arange(0, 6.0, 1 / RATE)
    q, gyr = _rolled(None, t, _bumps(t, 1.0), np.array([1.0, 0.0, 0.0]), np.array([1.0, 0, 0, 0]))
    with pytest.raises(CalibrationError, match="lift the hip"):
        step_axes(gyr[90:], q[0], RATE)


def test_hip_correction_scale_is_the_femur_horizontal_share_signed_by_pose():
    level = np.array([0.3, 0.95, 0.0])
    raised = np.array([np.cos(np.radians(45)), 0.0, np.sin(np.radians(45))])
    assert hip_correction_scale(level, "seated") == pytest.approx(1.0)
    assert hip_correction_scale(raised, "supine") == pytest.approx(np.sqrt(0.5))
    assert hip_correction_scale(level, "prone") == pytest.approx(-1.0)
    assert hip_correction_scale(None, "seated") == 1.0


def test_signed_extreme():
    assert signed_extreme(np.array([1.0, -3.0, 2.0, np.nan])) == -3.0
    assert signed_extreme(np.array([np.nan])) is None


def test_guidance_prompts_the_pelvis_and_trunk_steps_only_with_those_sensors():
    from imuhip.calibration_protocol import PHASE_EVENT, STEPS
    from imuhip.live.guidance import Guidance, protocol_steps

    assert protocol_steps(("thigh", "shin")) == STEPS
    steps = protocol_steps(("thigh", "shin", "pelvis", "trunk"))
    assert [s.phase for s in steps[len(STEPS) :]] == ["pelvis_lift", "trunk_lean"]
    assert [s.phase for s in protocol_steps(("shin", "trunk"))[len(STEPS) :]] == ["trunk_lean"]
    marks = []
    g = Guidance(marks.append, steps=steps)
    g.start(0.0)
    now = 0.0
    while not g.done and now < 120:
        now += 0.1
        status = g.update(now, 5.0)
        if status.phase == "pelvis_lift":
            assert "Lift the hip" in status.prompt
    assert g.done
    phases = [e.data["phase"] for e in marks if e.kind == PHASE_EVENT]
    assert phases == [*(s.phase for s in STEPS), "pelvis_lift", "trunk_lean"]
    # a scripted schedule without the body steps runs them after the last scheduled step
    marks.clear()
    g = Guidance(marks.append, steps=steps, schedule={"still_start": 0, "bends": 4,
                                                      "rocks": 13, "still_end": 20})  # fmt: skip
    g.start(0.0)
    g.update(60.0, None)
    times = {e.data["phase"]: e.t for e in marks}
    assert times["pelvis_lift"] == 23.0 and times["trunk_lean"] == 31.0


# ---------------------------------------------------------------------- simulated sessions
# (SIMULATED: the simulator's pelvis and trunk, imuhip.sim.body.TrunkPelvis)

LIFT_DEG = 10.0


@functools.cache
def _session(exercise: str, side: str, pelvis: bool, trunk: bool = False, marks: bool = False,
             lift: float = LIFT_DEG, lean: float = 0.0, seed: int = 5):  # fmt: skip
    import tempfile
    from pathlib import Path

    from imuhip.files.session_file import read_session
    from imuhip.sim.simulate import SimConfig, simulate, write_simulation

    cfg = SimConfig(
        duration_s=60.0, seed=seed, exercise=exercise, side=side, content="reps", pelvis=pelvis,
        trunk=trunk, pelvic_lift_deg=lift, trunk_lean_deg=lean, marks=marks,
    )  # fmt: skip
    sim = simulate(cfg)
    path = Path(tempfile.mkdtemp()) / "s.imuhip"
    write_simulation(sim, path)
    return sim, read_session(path)


def _analysed(session):
    from imuhip.pipeline.analyze import make_pipeline, session_inputs

    pipe = make_pipeline(session.header, None, "offline", saved=True)
    pipe.feed_all(session_inputs(session, as_arrived=False))
    pipe.finish()
    return pipe, pipe.analysis()


def _rmse(res, truth_t, truth_deg):
    k = np.isfinite(res.hip_rotation_deg)
    ref = np.interp(res.grid.t[k], truth_t, truth_deg)
    return float(np.sqrt(np.mean((res.hip_rotation_deg[k] - ref) ** 2)))


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_to_floor_with_a_pelvic_lift_gives_the_hip_angle_relative_to_the_pelvis(side):
    from imuhip.analysis.events import EventKind

    sim, session = _session("seated", side, True, trunk=True, lean=6.0)
    pipe, res = _analysed(session)
    leg = sim.truth.leg(side)
    assert res.hip_reference == "pelvis sensor"
    assert _rmse(res, sim.truth.t, leg.hip_rotation_deg) < 1.5
    # without the correction the angle would be the apparent one, the lift's worth larger
    assert _rmse(res, sim.truth.t, leg.apparent_rotation_deg) > 2.0
    reps = res.exercise.reps
    truth = leg.events["reps"]
    assert len(reps) == len(truth) >= 3
    for r, q in zip(reps, truth, strict=True):
        assert r.peak_deg == pytest.approx(q["peak_deg"], abs=1.5)
        assert q["apparent_peak_deg"] - q["peak_deg"] > 0.8 * LIFT_DEG  # what it corrects
        c = r.compensation
        assert c.pelvis_obliquity_deg == pytest.approx(q["pelvis_obliquity_max_deg"], abs=2.0)
        assert c.trunk_lateral_flexion_deg == pytest.approx(q["trunk_lean_max_deg"], abs=2.0)
        assert c.flags() == ("pelvis_obliquity_deg",)
        assert r.as_dict()["compensation"]["flagged"] == ["pelvis_obliquity_deg"]
    flagged = [e for e in pipe.events if e.kind == EventKind.COMPENSATION]
    assert len(flagged) == len(reps)
    assert all(e.item.compensation.pelvis_obliquity_deg > 5.0 for e in flagged)
    # the live view's cue
    from imuhip.sinks.live_view import event_text

    cue = event_text(flagged[0])
    assert "the hip lifted" in cue and "keep it on the floor" in cue


def test_without_a_pelvis_sensor_the_angle_is_the_apparent_one_and_says_so():
    from imuhip.sinks.analysis_text import analysis_document

    sim, session = _session("seated", "right", False)
    _, res = _analysed(session)
    leg = sim.truth.leg("right")
    assert res.hip_reference == "start pose"
    assert res.pelvis_obliquity_deg is None
    assert _rmse(res, sim.truth.t, leg.apparent_rotation_deg) < 1.5
    for r, q in zip(res.exercise.reps, leg.events["reps"], strict=True):
        assert r.peak_deg - q["peak_deg"] > 0.7 * LIFT_DEG  # larger than the truth by the lift
        assert r.compensation is None and "compensation" not in r.as_dict()
    doc = analysis_document(session, res)
    assert doc["hip_reference"] == "start pose"


def test_prone_lift_of_the_other_hip_is_corrected_with_the_pose_sign():
    sim, session = _session("prone", "left", True)
    _, res = _analysed(session)
    leg = sim.truth.leg("left")
    assert res.hip_reference == "pelvis sensor"
    assert _rmse(res, sim.truth.t, leg.hip_rotation_deg) < 1.5
    for r, q in zip(res.exercise.reps, leg.events["reps"], strict=True):
        assert r.peak_deg == pytest.approx(q["peak_deg"], abs=1.5)
        assert r.compensation.pelvis_obliquity_deg == pytest.approx(-LIFT_DEG, abs=2.0)
        assert r.compensation.trunk_lateral_flexion_deg is None


def test_marks_and_any_chunking_give_the_same_analysis():
    from imuhip.pipeline.analyze import make_pipeline, session_inputs

    sim, session = _session("seated", "right", True, marks=True)
    assert [e.data["phase"] for e in sim.events][-1] == "pelvis_lift"
    _, whole = _analysed(session)
    pipe = make_pipeline(session.header, None, "offline", saved=True)
    items = session_inputs(session, as_arrived=False)
    for k in range(0, len(items), 7):
        pipe.feed_all(items[k : k + 7])
    pipe.finish()
    pieces = pipe.analysis()
    np.testing.assert_array_equal(pieces.hip_rotation_deg, whole.hip_rotation_deg)
    assert pieces.exercise.reps == whole.exercise.reps
    assert whole.hip_reference == "pelvis sensor"
    _, unmarked = _analysed(_session("seated", "right", True)[1])
    # the detector starts after the marked step or the one found in the data: within 0.01°
    for a, b in zip(unmarked.exercise.reps, whole.exercise.reps, strict=True):
        assert a.compensation.pelvis_obliquity_deg == pytest.approx(
            b.compensation.pelvis_obliquity_deg, abs=0.01
        )
        assert a.peak_deg == pytest.approx(b.peak_deg, abs=0.01)


def test_a_pelvis_sensor_without_its_step_leaves_the_apparent_angle_and_says_why():
    # a classic one-leg session with a still sacrum sensor: no pelvis step is ever done
    sim, session = _session("seated", "right", True, lift=0.0)
    _, res = _analysed(session)
    assert res.hip_reference == "start pose"
    assert any("pelvis sensor could not be used" in w for w in res.warnings)
    assert len(res.exercise.reps) == len(sim.truth.events["reps"])
    assert _rmse(res, sim.truth.t, sim.truth.hip_rotation_deg) < 1.5


def test_both_legs_lift_the_right_hip_and_each_leg_gets_its_own_sign():
    import tempfile
    from pathlib import Path

    from imuhip.files.session_file import read_session
    from imuhip.live.guidance import protocol_steps
    from imuhip.pipeline.analyze import analyze_session
    from imuhip.sim.simulate import SimConfig, simulate, write_simulation

    roles = ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis")
    assert "your right side" in protocol_steps(roles)[-1].prompt
    cfg = SimConfig(duration_s=60.0, seed=5, exercise="seated", side="left", layout="both-legs",
                    content="reps", pelvis=True, pelvic_lift_deg=LIFT_DEG)  # fmt: skip
    sim = simulate(cfg)
    path = Path(tempfile.mkdtemp()) / "b.imuhip"
    write_simulation(sim, path)
    res = analyze_session(read_session(path))
    for leg in res.legs:
        truth = sim.truth.leg(leg.side)
        assert leg.hip_reference == "pelvis sensor"
        assert _rmse(leg, sim.truth.t, truth.hip_rotation_deg) < 1.5
        # the leading (left) leg's hip rises in its reps: positive for it, negative for the right
        sign = 1.0 if leg.side == "left" else -1.0
        for r in leg.exercise.reps:
            assert r.compensation.pelvis_obliquity_deg == pytest.approx(sign * LIFT_DEG, abs=2.0)


def test_stretches_get_their_compensation_and_a_flag_event():
    from imuhip.analysis.events import AnalysisEvent, EventKind, Stretch

    _, session = _session("seated", "right", True, trunk=True, lean=6.0)
    pipe, res = _analysed(session)
    rep = res.exercise.reps[0]
    stretch = Stretch(rep.start_s, rep.end_s, 20.0, rep.peak_deg, 1.0)
    events = pipe.body.annotate(
        [AnalysisEvent(EventKind.STRETCH_ENDED, rep.end_s, stretch)], "right"
    )
    assert [e.kind for e in events] == [EventKind.STRETCH_ENDED, EventKind.COMPENSATION]
    assert events[0].item.compensation == rep.compensation
    assert events[0].item.as_dict()["compensation"]["pelvis_obliquity_deg"] == pytest.approx(
        rep.compensation.pelvis_obliquity_deg, abs=1e-3
    )
    # the other leg sees the same lift as its own hip dropping
    other = pipe.body.compensation("left", rep.start_s, rep.end_s)
    assert other.pelvis_obliquity_deg == pytest.approx(-rep.compensation.pelvis_obliquity_deg)


@pytest.mark.parametrize("exercise", ["seated", "supine", "prone"])
def test_the_correction_scale_matches_the_simulated_gain_of_the_apparent_angle(exercise):
    # (apparent − true) per degree of obliquity in the simulator's kinematics, against the
    # rule's scale from the femur's start direction as the calibration measured it
    sim, session = _session(exercise, "right", True)
    leg = sim.truth.leg("right")
    obl = sim.truth.pelvis_obliquity_deg
    lifted = np.abs(obl) > 3.0
    gain = np.median((leg.apparent_rotation_deg - leg.hip_rotation_deg)[lifted] / obl[lifted])
    _, res = _analysed(session)
    scale = hip_correction_scale(res.calibration.femur_start, exercise)
    assert scale == pytest.approx(gain, abs=0.05)


def test_a_silent_pelvis_sensor_does_not_hold_the_leg_up_for_long():
    # the sacrum sensor never sends (live, causal): the leg's angles go on uncorrected once the
    # leg has GIVE_UP_S of data after its calibration, not only at the session's end
    from imuhip.pipeline.analyze import make_pipeline, session_inputs
    from imuhip.pipeline.compensation import GIVE_UP_S

    # live guidance marked the pelvis step: its knee movement is not taken for reps
    sim, session = _session("seated", "right", True, marks=True)
    items = session_inputs(session, as_arrived=True)
    items = [i for i in items if getattr(i, "role", "") != "pelvis"]
    pipe = make_pipeline(session.header, None, "causal", saved=True, angle_feed=True)
    fed = 0
    while fed < len(items) and (pipe.body is None or not pipe.body.gave_up):
        pipe.feed_all(items[fed : fed + 50])
        fed += 50
    assert pipe.body.gave_up and fed < len(items)  # before the end of the session
    cal_end = pipe.legs[0].calibration.end_s
    mark = max(e.t for e in sim.events if e.data["phase"] == "pelvis_lift")
    start = max(cal_end, mark)  # the step is looked for from its mark
    assert pipe.legs[0].state.t - start == pytest.approx(GIVE_UP_S, abs=1.0)
    assert len(pipe.new_angles().t) > 0  # released
    pipe.feed_all(items[fed:])
    pipe.finish()
    res = pipe.analysis()
    assert res.hip_reference == "start pose"
    assert any("pelvis sensor could not be used" in w for w in res.warnings)
    assert len(res.exercise.reps) == len(sim.truth.events["reps"])


def test_the_pelvis_step_is_searched_every_quarter_second_of_data_not_every_step(monkeypatch):
    """Live (causal, a step every few notifications) the pelvis step is looked for once per
    ``SEARCH_EVERY_S`` of new data: before, every step of the pipeline concatenated and
    searched everything kept (59 s against 18.5 s without the pelvis for a 10-min replay)."""
    from pathlib import Path

    import imuhip.pipeline.compensation as comp
    from imuhip.files.session_file import read_session
    from imuhip.pipeline import make_pipeline
    from imuhip.session import session_inputs

    path = Path(__file__).parents[1] / "recordings" / "seated-left-pelvis-reps-simulated.imuhip"
    from imuhip.session import Notifications, Session

    whole = read_session(path)
    first = {}  # the first 45 s: the leg calibration, then the pelvis step
    for role, n in whole.notifications.items():
        k = n.t < n.t[0] + 45.0
        p = [x for x, keep in zip(n.payloads(), k, strict=True) if keep]
        first[role] = Notifications.from_list(n.t[k], p, n.channel[k])
    session = Session(whole.header, whole.samples, first, whole.events, whole.report)
    calls = []
    real = comp.find_step

    def counted(gyr, *a, **kw):
        calls.append(len(gyr))
        return real(gyr, *a, **kw)

    monkeypatch.setattr(comp, "find_step", counted)
    pipe = make_pipeline(session.header, aligner="causal")
    steps = 0
    for i, item in enumerate(session_inputs(session, as_arrived=True)):
        pipe.feed(item)
        if i % 20 == 0:
            pipe.advance()
            steps += 1
    pipe.finish()
    assert pipe.body is not None and pipe.body.hip_reference == comp.PELVIS_REFERENCE
    found = pipe.body.pelvis.axes.end_s - pipe.legs[0].calibration.end_s
    assert 0 < len(calls) <= found / comp.SEARCH_EVERY_S + 4, (len(calls), steps)
