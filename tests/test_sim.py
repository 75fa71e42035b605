"""The simulator: kinematic identities, mirroring, truth consistency, determinism, outputs."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.decode import get_decoder
from imuhip.files.session_file import read_session
from imuhip.sim.kinematics import POSES, Anthropometry, JointAngles, segments, sensor_positions
from imuhip.sim.sensor_model import G, ImuErrorModel
from imuhip.sim.simulate import SimConfig, Truth, _sensor_motion, simulate, write_simulation
from imuhip.sim.transport import LinkModel

IDEAL = ImuErrorModel.ideal()


def _cfg(**kw) -> SimConfig:
    base = {"duration_s": 70.0, "seed": 11, "errors": IDEAL, "content": "mixed"}
    base.update(kw)
    return SimConfig(**base)


@pytest.mark.parametrize("exercise", sorted(POSES))
def test_accelerometer_reads_g_at_rest(exercise):
    sim = simulate(_cfg(exercise=exercise))
    shin = sim.samples["shin"]
    still = shin.t < 3.0  # the protocol starts with >= 3.5 s of stillness
    np.testing.assert_allclose(np.linalg.norm(shin.acc[still], axis=1), G, atol=1e-3)
    np.testing.assert_allclose(shin.gyr[still], 0.0, atol=1e-6)
    # the thigh's skin wobbles a little over the bone even at rest
    thigh = sim.samples["thigh"]
    still = thigh.t < 3.0
    np.testing.assert_allclose(np.linalg.norm(thigh.acc[still], axis=1), G, atol=0.05)
    assert np.abs(thigh.gyr[still]).max() < 0.05


@pytest.mark.parametrize("exercise", sorted(POSES))
def test_integrated_gyro_matches_true_orientation(exercise):
    cfg = _cfg(exercise=exercise, rate_hz=200.0, duration_s=40.0)
    sim = simulate(cfg)
    mounts = {r: np.asarray(sim.truth.mounts[r]) for r in ("thigh", "shin")}
    for role, s in sim.samples.items():
        q_true, _, _ = _sensor_motion(sim.script, cfg, mounts, s.t, role)
        q = q_true[0]
        dt = np.diff(s.t)
        mid = 0.5 * (s.gyr[1:] + s.gyr[:-1])  # trapezoidal rate over each step
        for k in range(len(dt)):
            q = Q.multiply(q, Q.from_rotvec(mid[k] * dt[k]))
        err = np.degrees(Q.angle(Q.multiply(Q.conjugate(q), q_true[-1])))
        assert err < 0.5, (role, err)


@pytest.mark.parametrize("exercise", sorted(POSES))
def test_left_and_right_legs_are_mirror_images(exercise):
    p = POSES[exercise]
    rng = np.random.default_rng(3)
    n = 50
    a = JointAngles(*(np.radians(rng.uniform(-30, 30, n)) for _ in range(7)))
    body = Anthropometry()
    pos = {s: sensor_positions(segments(p, s, a), s, body) for s in ("left", "right")}
    lateral = Q.rotate(p.pelvis, np.array([0.0, 0.0, 1.0]))  # pelvis Z, to the right
    mirror = np.eye(3) - 2 * np.outer(lateral, lateral)
    for k in range(2):
        np.testing.assert_allclose(pos["right"][k], pos["left"][k] @ mirror.T, atol=1e-12)


@pytest.mark.parametrize("side", ["left", "right"])
def test_internal_rotation_moves_the_prone_foot_outward(side):
    p = POSES["prone"]
    a0 = JointAngles(*(np.zeros(1) for _ in range(7)))
    a1 = dataclasses.replace(a0, hip_rotation=np.radians([20.0]))
    a1 = dataclasses.replace(a1, knee_flexion=np.radians([90.0]))
    a0 = dataclasses.replace(a0, knee_flexion=np.radians([90.0]))
    shin0 = sensor_positions(segments(p, side, a0), side, Anthropometry())[1]
    shin1 = sensor_positions(segments(p, side, a1), side, Anthropometry())[1]
    lateral = 1.0 if side == "right" else -1.0  # prone, head north: the right side is east
    assert lateral * (shin1[0, 0] - shin0[0, 0]) > 0.03


@pytest.mark.parametrize("content", ["reps", "holds", "mixed"])
def test_truth_is_consistent(content):
    sim = simulate(_cfg(content=content, duration_s=150.0, seed=4))
    ev, tr = sim.truth.events, sim.truth
    cal_end = ev["calibration_end_s"]
    phases = ev["phase_starts"]
    assert phases["still_start"] < phases["bends"] < phases["rocks"] < phases["still_end"]
    assert phases["still_end"] < cal_end
    items = [(r["start_s"], r["end_s"]) for r in ev["reps"]]
    items += [(h["start_s"], h["end_s"]) for h in ev["holds"]]
    items.sort()
    assert items and items[0][0] > cal_end
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(items))
    lo, hi = POSES["prone"].rep_peak_deg
    for r in ev["reps"]:
        assert r["start_s"] < r["peak_s"] < r["end_s"]
        assert lo - 3 < r["peak_deg"] < hi + 3
        window = (tr.t >= r["start_s"]) & (tr.t <= r["end_s"])
        assert abs(tr.hip_rotation_deg[window].max() - r["peak_deg"]) < 0.05
    for h in ev["holds"]:
        window = (tr.t >= h["start_s"]) & (tr.t <= h["end_s"])
        assert np.ptp(tr.hip_rotation_deg[window]) < 2.5  # still, with tremor and creep
        assert h["end_s"] - h["start_s"] >= 5.0
    assert {"reps": ev["reps"], "holds": ev["holds"]}[content if content != "mixed" else "reps"]


def test_same_seed_same_session_other_seed_other_session():
    a = simulate(SimConfig(duration_s=60.0, seed=5))
    b = simulate(SimConfig(duration_s=60.0, seed=5))
    c = simulate(SimConfig(duration_s=60.0, seed=6))
    np.testing.assert_array_equal(a.samples["shin"].gyr, b.samples["shin"].gyr)
    np.testing.assert_array_equal(a.truth.hip_rotation_deg, b.truth.hip_rotation_deg)
    assert a.truth.events == b.truth.events
    assert not np.array_equal(a.truth.hip_rotation_deg, c.truth.hip_rotation_deg)


def test_sensor_errors_follow_the_model():
    m = ImuErrorModel(gyro_bias_dps=0.0, gyro_bias_walk_dps=0.0, clock_ppm=0.0)
    sim = simulate(SimConfig(duration_s=60.0, seed=2, errors=m))
    s = sim.samples["shin"]
    still = s.t < 3.0
    noise = np.degrees(np.std(s.gyr[still], axis=0))
    assert np.all((0.5 * m.gyro_noise_dps < noise) & (noise < 1.5 * m.gyro_noise_dps))
    lsb = m.gyro_range_dps / 32768
    counts = np.degrees(s.gyr) / lsb
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)  # int16 quantisation
    period = np.median(np.diff(s.t))
    np.testing.assert_allclose(period, 1 / sim.header.sensors[0].rate_hz, rtol=1e-9)


def test_truth_file_round_trip(tmp_path):
    sim = simulate(_cfg(duration_s=40.0, content="rest"))
    path = tmp_path / "s.imuhip"
    truth_path = write_simulation(sim, path)
    assert truth_path.name == "s.truth.npz"
    back = Truth.load(truth_path)
    np.testing.assert_allclose(back.hip_rotation_deg, sim.truth.hip_rotation_deg, atol=1e-4)
    assert back.events == sim.truth.events
    assert back.mounts == sim.truth.mounts
    session = read_session(path)
    assert session.header.extra["simulated"] is True


def test_witmotion_notifications_decode_back_to_the_samples(tmp_path):
    sim = simulate(_cfg(duration_s=40.0, content="rest", profile="witmotion-ble5"))
    write_simulation(sim, tmp_path / "w.imuhip")
    session = read_session(tmp_path / "w.imuhip")
    for role, s in sim.samples.items():
        info = session.header.sensor(role)
        dec = get_decoder(info.profile, info.config)
        notes = session.notifications[role]
        blocks = dec.decode_many(notes.t, notes.payloads())
        acc = np.concatenate([b.values for b in blocks if b.kind == "acc"])
        gyr = np.concatenate([b.values for b in blocks if b.kind == "gyr"])
        assert len(acc) == len(s) and dec.stats.dropped == 0
        np.testing.assert_allclose(acc, s.acc, atol=16 * G / 32768)
        np.testing.assert_allclose(gyr, s.gyr, atol=np.radians(2000 / 32768))
        # received after sending, within a few connection intervals
        lag = notes.t - s.t
        assert lag.min() > 0 and np.median(lag) < 0.03


def test_link_losses_remove_notifications():
    link = LinkModel(loss_prob=0.01)
    sim = simulate(_cfg(duration_s=40.0, content="rest", profile="witmotion-ble5", link=link))
    for role, s in sim.samples.items():
        n = len(sim.notifications[role])
        assert 0.8 * len(s) < n < len(s)
        assert np.all(np.diff(sim.notifications[role].t) > 0)


def test_optional_pelvis_sensor_sees_a_still_pelvis_and_leaves_the_leg_unchanged():
    base = simulate(_cfg(duration_s=40.0, content="rest", errors=ImuErrorModel()))
    withp = simulate(_cfg(duration_s=40.0, content="rest", errors=ImuErrorModel(), pelvis=True))
    assert [s.role for s in withp.header.sensors] == ["thigh", "shin", "pelvis"]
    np.testing.assert_array_equal(base.samples["shin"].gyr, withp.samples["shin"].gyr)
    pelvis = withp.samples["pelvis"]
    assert np.abs(np.degrees(pelvis.gyr)).max() < 5.0  # bias and noise only
    np.testing.assert_allclose(np.linalg.norm(pelvis.acc, axis=1), G, atol=0.3)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hip_angles_undo_the_hip_composition(side):
    from imuhip.sim.kinematics import hip_angles

    rng = np.random.default_rng(8)
    n = 40
    a = JointAngles(*(np.radians(rng.uniform(-40, 40, n)) for _ in range(7)))
    pelvis = Q.normalize(rng.normal(size=(n, 4)))  # any pelvis orientation
    femur = segments(POSES["seated"], side, a, pelvis).femur
    flex, add, rot = hip_angles(pelvis, femur, side)
    np.testing.assert_allclose(flex, a.hip_flexion, atol=1e-9)
    np.testing.assert_allclose(add, a.hip_adduction, atol=1e-9)
    np.testing.assert_allclose(rot, a.hip_rotation, atol=1e-9)


def test_sensors_of_every_segment_measure_their_true_motion():
    """Both legs, a rolling and turning pelvis and a leaning trunk: each sensor's integrated
    gyro follows its true orientation and its accelerometer reads g when the body is still."""
    from imuhip.sim.simulate import body_sensor_motion

    cfg = _cfg(
        layout="both-legs", pelvis=True, trunk=True, pelvic_lift_deg=6.0,
        pelvic_rotation_deg=3.0, trunk_lean_deg=5.0, content="reps", duration_s=45.0,
    )  # fmt: skip
    sim = simulate(cfg)
    assert sim.body is not None
    for role, s in sim.samples.items():
        side, segment = role.split("_") if "_" in role else (cfg.side, role)
        mount = np.asarray(sim.truth.mounts[role])
        q_true, _, _ = body_sensor_motion(sim.body, segment, side, mount, s.t)
        dt = np.diff(s.t)[:, None]
        step = Q.from_rotvec(0.5 * (s.gyr[1:] + s.gyr[:-1]) * dt)  # trapezoidal, each step
        predicted = Q.multiply(q_true[:-1], step)
        err = np.degrees(Q.angle(Q.multiply(Q.conjugate(predicted), q_true[1:])))
        assert err.sum() < 0.5, (role, err.sum())  # bounds the drift of the integrated gyro
        assert np.degrees(Q.angle(Q.multiply(Q.conjugate(q_true[0]), q_true))).max() > 2.0
        still = s.t < 3.0
        np.testing.assert_allclose(np.linalg.norm(s.acc[still], axis=1), G, atol=0.05)
    # the pelvis and trunk sensors moved (the reps drive them)
    for role in ("pelvis", "trunk"):
        assert np.abs(sim.samples[role].gyr).max() > np.radians(2.0)
