"""Hip flexion and the knee axis in the thigh frame, against SIMULATED ground truth, and the
angles CSV export."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip import quaternion as Q
from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.fusion import estimate_orientation
from imuhip.joint.hip_rotation import HipRotationTracker
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

CASES = [("seated", "left", None, 71), ("supine", "right", 25.0, 72)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def analysed(request, tmp_path_factory):
    exercise, side, cone, seed = request.param
    sim = simulate(
        SimConfig(
            exercise=exercise, side=side, content="reps", duration_s=75, seed=seed,
            mount_cone_deg=cone,
        )
    )  # fmt: skip
    path = tmp_path_factory.mktemp("flex") / f"{exercise}-{side}.imuhip"
    write_simulation(sim, path)
    return sim, path, analyze_session(read_session(path))


def test_knee_axis_in_thigh_frame(analysed):
    sim, _, res = analysed
    # the femur frame's z axis is the knee's flexion axis; the thigh sensor sits on the skin,
    # which turns about the femur's long axis only, so in the start pose it is the same axis
    true = Q.rotate(Q.conjugate(np.array(sim.truth.mounts["thigh"])), np.array([0.0, 0, 1]))
    est = res.calibration.knee_axis_thigh
    assert np.degrees(np.arccos(min(1.0, abs(float(est @ true))))) < 3.0


def test_hip_flexion_follows_the_calibration_bends(analysed):
    """The knee bends slide the foot, so the hip flexes with them (by about half the bend)."""
    sim, _, res = analysed
    g, cal = res.grid, res.calibration
    q_t = estimate_orientation(g.thigh.gyr, g.thigh.acc, rate_hz=g.rate_hz)
    q_s = estimate_orientation(g.shin.gyr, g.shin.acc, rate_hz=g.rate_hz)
    a, b = cal.phases.still_start[0], cal.phases.bends[1]
    flex = HipRotationTracker(cal, g.rate_hz).update(q_t[a:b], q_s[a:b]).hip_flexion_deg
    true = np.interp(g.t[a:b], sim.truth.t, sim.truth.hip_flexion_deg)
    true, flex = true - true[0], flex - flex[0]
    assert true.max() > 10.0  # the check has something to see
    assert np.sqrt(np.mean((flex - true) ** 2)) < 1.5


def test_hip_flexion_does_not_move_with_rotation(analysed):
    sim, _, res = analysed
    after = res.grid.t > sim.truth.events["calibration_end_s"]
    true = np.interp(res.grid.t, sim.truth.t, sim.truth.hip_flexion_deg)
    assert np.ptp(true[after]) < 0.1 and np.nanmax(res.hip_rotation_deg[after]) > 15.0
    assert np.nanmax(np.abs(res.hip_flexion_deg[after] - (true[after] - true[0]))) < 2.0


def test_export_angles_csv(analysed, tmp_path, capsys):
    _, path, res = analysed
    out = tmp_path / "angles.csv"
    assert main(["export", str(path), "--angles", str(out)]) in (0, None)
    header = out.read_text().splitlines()[0].split(",")
    assert header == [
        "time_s", "hip_rotation_deg", "knee_flexion_deg", "hip_flexion_deg",
        "heading_offset_deg", "valid",
    ]  # fmt: skip
    data = np.genfromtxt(out, delimiter=",", skip_header=1)
    assert data.shape == (len(res.grid.t), 6)
    np.testing.assert_allclose(data[:, 0], res.grid.t)
    for col, want in (
        (1, res.hip_rotation_deg),
        (2, res.knee_flexion_deg),
        (3, res.hip_flexion_deg),
    ):
        np.testing.assert_array_equal(np.isnan(data[:, col]), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(data[ok, col], want[ok], atol=1e-4)
    k0 = res.calibration.phases.still_end[0]
    assert np.isnan(data[:k0, 1]).all() and not np.isnan(data[k0:, 1]).any()


def test_export_angles_into_the_samples_folder_not_yet_made(analysed, tmp_path, capsys):
    """Issue #18: ``export S --samples exp --angles exp/angles.csv`` failed with
    FileNotFoundError (the angles were written before the folder existed); and rows before the
    calibration was ready had no angle but ``valid=1``."""
    _, path, res = analysed
    exp = tmp_path / "exp"
    assert main(["export", str(path), "--samples", str(exp), "--angles", str(exp / "a.csv")]) == 0
    assert (exp / "a.csv").is_file() and (exp / "thigh.csv").is_file()
    data = np.genfromtxt(exp / "a.csv", delimiter=",", skip_header=1)
    valid = data[:, 5]
    k0 = res.calibration.phases.still_end[0]
    assert k0 > 0 and (valid[:k0] == 0).all()  # no angle yet: not valid
    np.testing.assert_array_equal(valid == 1, res.grid.valid & ~np.isnan(res.hip_rotation_deg))
    assert (valid[k0:] == 1).any()
