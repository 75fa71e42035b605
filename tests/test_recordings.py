"""The shipped recordings open intact, say they are simulated, and analyse to their truth."""

from pathlib import Path

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import Truth, truth_path_for

RECORDINGS = sorted((Path(__file__).resolve().parents[1] / "recordings").glob("*.imuhip"))


def test_there_are_shipped_recordings():
    assert RECORDINGS
    names = {p.stem for p in RECORDINGS}
    # a stretch with overpressure and an isometric that does not move the leg ship too
    assert {"seated-right-stretch-simulated", "prone-left-isometric-simulated"} <= names


def test_the_stretch_and_isometric_recordings_hold_what_they_say():
    folder = RECORDINGS[0].parent
    stretch = Truth.load(truth_path_for(folder / "seated-right-stretch-simulated.imuhip"))
    assert [s["overpressure_start_s"] is not None for s in stretch.events["stretches"]] == [True]
    iso = Truth.load(truth_path_for(folder / "prone-left-isometric-simulated.imuhip"))
    assert iso.events["holds"] and all(h["isometric"] for h in iso.events["holds"])
    assert all(h["range_deg"] < 2.0 for h in iso.events["holds"])  # the leg barely moves


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_shipped_recording_is_intact_and_simulated(path, capsys):
    s = read_session(path)
    assert s.report.ok
    assert "simulated" in path.name
    assert s.header.extra.get("simulated") is True
    assert main(["info", str(path)]) == 0
    assert "intact" in capsys.readouterr().out


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_shipped_recording_analysis_matches_its_truth(path):
    """Replay through the whole pipeline finds what the simulator did (SIMULATED truth)."""
    truth = Truth.load(truth_path_for(path))
    result = analyze_session(read_session(path))
    ev = truth.events
    reps = result.exercise.reps
    assert len(reps) == len(ev["reps"])
    for got, want in zip(reps, ev["reps"], strict=True):
        assert abs(got.peak_s - want["peak_s"]) < 0.5
        assert abs(got.peak_deg - want["peak_deg"]) < 1.5  # the product's target
    holds = result.exercise.holds
    assert len(holds) == len(ev["holds"])
    for got, want in zip(holds, ev["holds"], strict=True):
        assert abs(got.start_s - want["start_s"]) < 0.3
        assert abs(got.end_s - want["end_s"]) < 0.3
        assert abs(got.mean_deg - want["mean_deg"]) < 1.5
        assert got.effort_index is not None and got.effort_index > 6  # a hold has effort
    stretches = result.exercise.stretches
    assert len(stretches) == len(ev.get("stretches", []))  # older truths list none
    for got, want in zip(stretches, ev.get("stretches", []), strict=True):
        assert abs(got.start_s - want["end_range_s"]) < 1.0
        assert abs(got.end_s - want["end_s"]) < 0.5
        assert abs(got.max_deg - want["max_deg"]) < 2.0
        assert abs(got.time_at_end_range_s - want["time_at_end_range_s"]) < 1.5
        assert (got.overpressure_start_s is None) == (want["overpressure_start_s"] is None)
        if want["overpressure_start_s"] is not None:
            assert abs(got.overpressure_start_s - want["overpressure_start_s"]) < 0.5
            assert abs(got.overpressure_gain_deg - want["overpressure_gain_deg"]) <= 1.5
    after = result.grid.t > ev["calibration_end_s"]
    err = result.hip_rotation_deg[after] - truth.hip_rotation_at(result.grid.t[after])
    # the target is 1 degree; the classic sessions keep their tighter 0.6. A minute at
    # a 60-degree end range reads 1.5 degrees high at its top (SIMULATED): reported, not hidden
    bound = 1.0 if ev.get("stretches") else 0.6
    assert np.sqrt(np.mean(err**2)) < bound
    # knee flexion relative to the start pose comes for free from the two femur-axis estimates
    knee_true = (
        np.interp(result.grid.t, truth.t, truth.knee_flexion_deg) - truth.knee_flexion_deg[0]
    )
    knee_err = result.knee_flexion_deg[after] - knee_true[after]
    assert np.sqrt(np.mean(knee_err**2)) < 1.0


def test_the_both_legs_and_pelvis_recordings_analyse_per_leg_and_against_the_pelvis():
    """SIMULATED: each leg of the both-legs recording matches its own truth and their
    asymmetry the stiffer right hip; the pelvis recording's hip angle is the pelvis-relative one
    and its lifts are flagged."""
    from imuhip.sinks.analysis_text import analysis_document

    folder = RECORDINGS[0].parent
    both = folder / "prone-both-reps-simulated.imuhip"
    truth = Truth.load(truth_path_for(both))
    session = read_session(both)
    result = analyze_session(session)
    for leg in result.legs:
        want = truth.leg(leg.side).events["reps"]
        assert len(leg.exercise.reps) == len(want)
        for got, w in zip(leg.exercise.reps, want, strict=True):
            assert abs(got.peak_deg - w["peak_deg"]) < 1.5
    doc = analysis_document(session, result)
    assert abs(doc["asymmetry"]["mean_range_diff_deg"] - 5.0) < 1.5  # left minus right
    pelvis = folder / "seated-left-pelvis-reps-simulated.imuhip"
    res = analyze_session(read_session(pelvis))
    assert res.hip_reference == "pelvis sensor"
    assert all("pelvis_obliquity_deg" in r.compensation.flags() for r in res.exercise.reps)
