"""A calibration that survives damage: the calibration a live session made is stored in its
file, and an analysis whose calibration window was lost uses it, and says so (SIMULATED)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imuhip.calibration_protocol import CALIBRATION_EVENT
from imuhip.errors import CalibrationError
from imuhip.files.session_file import read_session
from imuhip.joint.calibration import calibration_from_record, calibration_record
from imuhip.live.replay import replay
from imuhip.pipeline import SessionPipeline, analyze_session
from imuhip.session import session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A session as live recorded it: the pipeline's calibration event in the file."""
    sim = simulate(SimConfig(duration_s=90.0, content="reps", marks=True, seed=6))
    path = tmp_path_factory.mktemp("stored") / "s.imuhip"
    write_simulation(sim, path)
    s = read_session(path)
    live = SessionPipeline(s.header)
    replay(session_inputs(s), live)
    live.finish()
    (event,) = [e for e in live.outbox if e.kind == CALIBRATION_EVENT]
    return sim, dataclasses.replace(s, events=(*s.events, event)), live


def _damaged(s, role: str, a: float, b: float):
    smp = s.samples[role]
    keep = (smp.t < a) | (smp.t > b)
    cut = dataclasses.replace(smp, t=smp.t[keep], acc=smp.acc[keep], gyr=smp.gyr[keep])
    return dataclasses.replace(s, samples={**s.samples, role: cut})


def test_the_record_round_trips_exactly(recorded):
    _, _, live = recorded
    cal = live.calibration
    t = live.analysis().grid.t
    again = calibration_from_record(calibration_record(cal), t)
    assert again.phases == cal.phases and again.phase_times == cal.phase_times
    for k in ("knee_axis_shin", "femur_axis_thigh", "femur_axis_shin", "pelvis_lateral"):
        np.testing.assert_array_equal(getattr(again, k), getattr(cal, k))
    assert again.heading_offset == cal.heading_offset and again.quality == cal.quality
    with pytest.raises(CalibrationError, match="stored calibration is unusable"):
        calibration_from_record({"version": 1, "side": "left"}, t)


def test_a_damaged_calibration_window_uses_the_stored_calibration(recorded):
    sim, s, live = recorded
    rocks = live.calibration.phase_times["rocks"]
    mid = 0.5 * (rocks[0] + rocks[1])
    damaged = _damaged(s, "shin", mid - 0.6, mid + 0.6)  # a lost second in the rocks
    res = analyze_session(damaged)
    assert any("stored in the file was used" in w for w in res.warnings)
    after = res.grid.t > sim.truth.events["calibration_end_s"] + 1.0
    truth = np.interp(res.grid.t[after], sim.truth.t, sim.truth.hip_rotation_deg)
    err = res.hip_rotation_deg[after] - truth
    assert float(np.sqrt(np.nanmean(err**2))) < 1.0
    assert len(res.exercise.reps) == len(sim.truth.events["reps"])


def test_the_shins_data_given_for_the_thigh_too_is_doubted(recorded):
    """Prone, the thigh lies still while the knee bends; a 'thigh' that turned as much as the
    shin means swapped sensors or the same data twice: the calibration says so."""
    _, s, live = recorded
    assert live.calibration.quality.thigh_bend_share < 0.1
    assert not any("swapped" in w for w in live.calibration.quality.warnings())
    shin = s.samples["shin"]
    copy = dataclasses.replace(shin, acc=shin.acc + 1e-3, gyr=shin.gyr + 1e-5)
    twice = dataclasses.replace(s, samples={"thigh": copy, "shin": shin}, events=s.events[:-1])
    res = analyze_session(twice)
    assert res.calibration.quality.thigh_bend_share > 0.9
    assert any("swapped" in w for w in res.calibration.quality.warnings())


def _rmse_after_calibration(sim, res) -> float:
    after = res.grid.t > sim.truth.events["calibration_end_s"] + 1.0
    truth = np.interp(res.grid.t[after], sim.truth.t, sim.truth.hip_rotation_deg)
    return float(np.sqrt(np.nanmean((res.hip_rotation_deg[after] - truth) ** 2)))


@pytest.mark.parametrize(
    ("role", "phase"),
    [("shin", "rocks"), ("thigh", "rocks"), ("shin", "bends"), ("thigh", "still_start")],
)
def test_without_a_stored_calibration_the_intact_parts_are_used(recorded, role, phase):
    """0.8 s lost inside the calibration of a file with no stored calibration (an import, a
    simulation): the calibration is made from the intact parts and says so."""
    sim, s, live = recorded
    a, b = live.calibration.phase_times[phase]
    mid = 0.5 * (a + b)
    without = dataclasses.replace(_damaged(s, role, mid - 0.4, mid + 0.4), events=s.events[:-1])
    res = analyze_session(without)
    assert any("made from the intact parts" in w for w in res.warnings)
    assert _rmse_after_calibration(sim, res) < 1.5
    assert len(res.exercise.reps) == len(sim.truth.events["reps"])


@pytest.mark.parametrize(
    ("phase", "lost_s"),
    [("still_end", None), ("bends", 3.0)],  # no intact final pose; a loss that may hide a bend
)
def test_a_calibration_that_cannot_be_bridged_is_still_refused(recorded, phase, lost_s):
    """Not bridged, because the numbers would be wrong (a 3 s loss in the bends gave 31° RMSE
    with a flipped knee axis before the bridging limit)."""
    _, s, live = recorded
    a, b = live.calibration.phase_times[phase]
    if lost_s is None:
        a, b = a - 0.5, b + 0.5
    else:
        mid = 0.5 * (a + b)
        a, b = mid - lost_s / 2, mid + lost_s / 2
    without = dataclasses.replace(_damaged(s, "shin", a, b), events=s.events[:-1])
    with pytest.raises(CalibrationError, match="lost data during the calibration"):
        analyze_session(without)
