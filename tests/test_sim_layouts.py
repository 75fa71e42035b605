"""The simulator's sensor layouts: one leg, both legs, shin-only, with pelvis and trunk."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.files.session_file import read_session
from imuhip.sim.body import sim_layout
from imuhip.sim.kinematics import POSES
from imuhip.sim.scripts import ScriptOptions
from imuhip.sim.sensor_model import ImuErrorModel
from imuhip.sim.simulate import SimConfig, Truth, simulate, truth_path_for, write_simulation

#: sha256 (first 16 hex digits) of the session file and its truth file for one-leg configs,
#: computed with the simulator before it learnt layouts: one-leg output must stay byte-identical.
#: (``table_calibration`` is left out: the gyro-scale estimate's last digits were seen to vary
#: between runs of the same config, in code outside the simulator.)
ONE_LEG_CHECKSUMS = [
    ({"duration_s": 50.0, "seed": 1}, "e96d2b845e8f20b9", "43816459cb0dd5e1"),
    (
        {"duration_s": 50.0, "seed": 2, "exercise": "seated", "side": "right",
         "content": "reps", "pelvis": True},
        "a51e232fa3886532", "edc81895e94af63c",
    ),
    (
        {"duration_s": 50.0, "seed": 3, "exercise": "supine", "content": "holds",
         "profile": "witmotion-ble5", "marks": True},
        "b7be134c0ea4e289", "4fe02c826d9f93a8",
    ),
    (
        {"duration_s": 70.0, "seed": 4, "content": "everyday", "profile": "polar-pmd",
         "with_mag": True},
        "b5c4d9b2d228ce3a", "2c59d5d1db8ea869",
    ),
]  # fmt: skip


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@pytest.mark.parametrize(("kw", "session_sha", "truth_sha"), ONE_LEG_CHECKSUMS)
def test_one_leg_output_is_unchanged(tmp_path, kw, session_sha, truth_sha):
    sim = simulate(SimConfig(**kw))
    fixed = dataclasses.replace(
        sim.header, created_utc="2026-01-01T00:00:00+00:00", imuhip_version="0.0.0"
    )
    path = tmp_path / "s.imuhip"
    write_simulation(dataclasses.replace(sim, header=fixed), path)
    assert (_digest(path), _digest(truth_path_for(path))) == (session_sha, truth_sha)


IDEAL = ImuErrorModel.ideal()


def _sim(**kw):
    base = {"duration_s": 60.0, "seed": 5, "content": "reps", "errors": IDEAL}
    return simulate(SimConfig(**{**base, **kw}))


@pytest.mark.parametrize(
    ("layout", "side", "extra", "roles", "header_side"),
    [
        ("one-leg", "left", {"trunk": True}, ("thigh", "shin", "trunk"), "left"),
        ("both-legs", "right", {"pelvis": True, "trunk": True},
         ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis", "trunk"), "both"),
        ("shin-only", "right", {"pelvis": True}, ("shin", "pelvis"), "right"),
        ("both-shins", "left", {}, ("left_shin", "right_shin"), "both"),
    ],
)  # fmt: skip
def test_every_layout_writes_its_roles_and_side(tmp_path, layout, side, extra, roles, header_side):
    sim = simulate(
        SimConfig(
            duration_s=45.0, seed=2, layout=layout, side=side, profile="witmotion-ble5", **extra
        )
    )
    path = tmp_path / "s.imuhip"
    truth_path = write_simulation(sim, path)
    s = read_session(path, warn=False)
    assert s.header.roles == roles
    assert s.header.side == header_side
    assert s.header.layout == sim_layout(layout, side, "pelvis" in roles, "trunk" in roles)
    assert sorted(s.notifications) == sorted(roles)  # a vendor profile for every sensor
    assert all(len(s.notifications[r].t) > 4000 for r in roles)
    truth = Truth.load(truth_path)
    legs = {leg.side for leg in s.header.layout.legs}
    assert set(truth.legs) == legs
    assert s.header.extra["simulator"].get("layout", "one-leg") == layout  # default: left out


def _scipy_hip(pelvis: np.ndarray, femur: np.ndarray, side: str) -> np.ndarray:
    """Hip flexion, adduction, internal rotation (degrees, (N, 3)) by scipy's intrinsic ZXY
    Euler angles of the femur relative to the pelvis (an independent decomposition)."""
    from scipy.spatial.transform import Rotation

    rel = Q.multiply(Q.conjugate(pelvis), femur)
    eul = Rotation.from_quat(rel[:, [1, 2, 3, 0]]).as_euler("ZXY", degrees=True)
    sign = 1.0 if side == "right" else -1.0
    return eul * np.array([1.0, sign, sign])


@pytest.mark.parametrize("exercise", ["prone", "supine"])
def test_per_leg_truth_matches_the_segment_orientations(exercise):
    sim = _sim(
        exercise=exercise, layout="both-legs", pelvis=True, asymmetry_deg=4.0,
        pelvic_lift_deg=7.0, pelvic_rotation_deg=3.0,
    )  # fmt: skip
    tr, body = sim.truth, sim.body
    for side in ("left", "right"):
        leg = tr.leg(side)
        femur = body.femur(side, tr.t)
        hip = _scipy_hip(body.trunk_pelvis.pelvis(tr.t), femur, side)
        np.testing.assert_allclose(hip[:, 2], leg.hip_rotation_deg, atol=1e-3)
        np.testing.assert_allclose(hip[:, 1], leg.hip_adduction_deg, atol=1e-3)
        np.testing.assert_allclose(hip[:, 0], leg.hip_flexion_deg, atol=1e-3)
        start_pelvis = np.broadcast_to(POSES[exercise].pelvis, (len(tr.t), 4))
        apparent = _scipy_hip(start_pelvis, femur, side)[:, 2]
        np.testing.assert_allclose(apparent, leg.apparent_rotation_deg, atol=1e-3)
    # the pelvis moved, so the floor-referenced rotation differs from the hip's
    lead = tr.leg("left")
    assert np.abs(lead.apparent_rotation_deg - lead.hip_rotation_deg).max() > 0.3 * 7.0


def test_asymmetry_and_effort_ratio_are_as_asked():
    sim = _sim(layout="both-legs", side="left", asymmetry_deg=-6.0)
    left, right = sim.truth.leg("left").events, sim.truth.leg("right").events
    assert len(left["reps"]) == len(right["reps"]) >= 3
    for a, b in zip(left["reps"], right["reps"], strict=True):
        exc = (b["peak_deg"] - b["rest_deg"]) - (a["peak_deg"] - a["rest_deg"])
        assert exc == pytest.approx(-6.0, abs=1e-3)
        lag = b["start_s"] - a["start_s"]
        assert 0.05 * (2 / 3) - 1e-6 <= lag <= 0.25 * (4 / 3) + 1e-6  # the lag and its wander
    # the leading leg is the one-leg session's leg, unchanged
    one = _sim()
    np.testing.assert_array_equal(sim.truth.hip_rotation_deg, one.truth.hip_rotation_deg)
    np.testing.assert_array_equal(
        sim.truth.leg("left").hip_rotation_deg, one.truth.hip_rotation_deg
    )

    iso = _sim(
        layout="both-shins", side="right", content="isometric", effort_ratio=0.6,
        asymmetry_deg=3.0, script=ScriptOptions(hold_s=(5.0, 8.0)), duration_s=70.0,
    )  # fmt: skip
    lh, rh = iso.truth.leg("left").events["holds"], iso.truth.leg("right").events["holds"]
    assert len(lh) == len(rh) >= 2
    for a, b in zip(lh, rh, strict=True):
        assert b["effort"] / a["effort"] == pytest.approx(0.6)
    # the weaker leg's tremor is weaker in its sensor too (same draws, scaled envelope)
    for a, b in zip(
        iso.truth.leg("left").events["efforts"],
        iso.truth.leg("right").events["efforts"],
        strict=True,
    ):
        assert b["level"] / a["level"] == pytest.approx(0.6)


@pytest.mark.parametrize(("exercise", "lift_sign"), [("prone", -1.0), ("supine", 1.0)])
def test_pelvic_lift_shows_in_obliquity_and_the_apparent_rotation(exercise, lift_sign):
    lift, lean = 6.0, 4.0
    sim = _sim(
        exercise=exercise, side="right", pelvis=True, trunk=True, pelvic_lift_deg=lift,
        trunk_lean_deg=lean,
    )  # fmt: skip
    tr = sim.truth
    reps = tr.leg().events["reps"]
    assert len(reps) >= 3
    for r in reps:
        # prone the other hip lifts off the floor, supine the working one: both add rotation
        assert r["pelvis_obliquity_max_deg"] == pytest.approx(lift_sign * lift, abs=0.01)
        assert r["trunk_lean_max_deg"] == pytest.approx(lean, abs=0.01)
        gain = r["apparent_peak_deg"] - r["peak_deg"]
        if exercise == "prone":  # the femur lies along the roll axis: the lift adds in full
            assert gain == pytest.approx(lift, abs=0.3)
        else:  # the flexed femur takes part of the roll
            assert 0.3 * lift < gain < lift
    # the obliquity is the elevation of the pelvis's hip line, from the sensor's own gravity
    pel = sim.samples["pelvis"]
    mount = np.asarray(tr.mounts["pelvis"])
    lateral_sensor = Q.rotate(Q.conjugate(mount), np.array([0.0, 0.0, 1.0]))
    up_sensor = pel.acc / np.linalg.norm(pel.acc, axis=1)[:, None]
    measured = np.degrees(np.arcsin(np.clip(up_sensor @ lateral_sensor, -1, 1)))
    true = np.interp(pel.t, tr.t, tr.pelvis_obliquity_deg)
    np.testing.assert_allclose(measured, true, atol=0.5)  # the pelvis barely accelerates
    assert np.abs(true).max() == pytest.approx(lift, abs=0.01)


def test_shin_only_leg_is_the_one_leg_leg_without_its_thigh_sensor():
    shin = _sim(layout="shin-only", side="right")
    one = _sim(side="right")
    assert set(shin.samples) == {"shin"}
    np.testing.assert_array_equal(shin.truth.hip_rotation_deg, one.truth.hip_rotation_deg)
    np.testing.assert_allclose(
        shin.truth.leg().apparent_rotation_deg, one.truth.hip_rotation_deg, atol=1e-6
    )
    assert [r["peak_deg"] for r in shin.truth.events["reps"]] == [
        r["peak_deg"] for r in one.truth.events["reps"]
    ]
    assert np.ptp(shin.truth.hip_flexion_deg) == 0.0  # the thigh lies on the floor
    with pytest.raises(ValueError, match="prone"):
        simulate(SimConfig(layout="shin-only", exercise="seated"))
    with pytest.raises(ValueError, match="unknown layout"):
        simulate(SimConfig(layout="three-legs"))
    with pytest.raises(ValueError, match="needs both legs"):  # not silently ignored
        simulate(SimConfig(layout="shin-only", asymmetry_deg=5.0))


def test_truth_round_trips_and_old_truth_files_still_load(tmp_path):
    sim = _sim(layout="both-legs", pelvis=True, trunk=True, pelvic_lift_deg=5.0, trunk_lean_deg=2.0)
    path = tmp_path / "s.imuhip"
    loaded = Truth.load(write_simulation(sim, path))
    for side in ("left", "right"):
        a, b = sim.truth.leg(side), loaded.leg(side)
        assert a.events == b.events
        for name in ("hip_rotation_deg", "apparent_rotation_deg", "knee_flexion_deg"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=1e-4)
    np.testing.assert_allclose(loaded.trunk_lean_deg, sim.truth.trunk_lean_deg, atol=1e-4)
    assert loaded.events == sim.truth.events
    # a truth file written before the layouts (a classic one-leg session keeps that format)
    old = _sim()
    old_path = write_simulation(old, tmp_path / "old.imuhip")
    with np.load(old_path) as z:
        assert "meta" in z.files and not any(k.startswith(("left_", "pelvis_")) for k in z.files)
    back = Truth.load(old_path)
    assert back.legs is None and back.pelvis_obliquity_deg is None
    leg = back.leg()
    assert leg.side == "left" and leg.events["reps"] == old.truth.events["reps"]
    np.testing.assert_array_equal(leg.apparent_rotation_deg, back.hip_rotation_deg)
    with pytest.raises(KeyError, match="right"):
        back.leg("right")


def test_cli_makes_each_layout(tmp_path, capsys):
    from imuhip.cli import main

    out = tmp_path / "b.imuhip"
    argv = ["simulate", "-o", str(out), "--layout", "both-legs", "--pelvis", "--trunk",
            "--asymmetry-deg", "-4", "--pelvic-lift-deg", "5", "--trunk-lean-deg", "3",
            "--duration", "45", "--seed", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "both legs (thigh + shin) with pelvis and trunk" in capsys.readouterr().out
    h = read_session(out, warn=False).header
    assert h.side == "both" and len(h.roles) == 6
    cfg = h.extra["simulator"]
    assert (cfg["asymmetry_deg"], cfg["pelvic_lift_deg"], cfg["trunk_lean_deg"]) == (-4, 5, 3)
    bad = ["simulate", "-o", str(tmp_path / "c.imuhip"), "--layout", "shin-only",
           "--exercise", "seated"]  # fmt: skip
    assert main(bad) != 0
    assert "needs the prone exercise" in capsys.readouterr().err
