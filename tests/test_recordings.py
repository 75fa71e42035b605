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
    after = result.grid.t > ev["calibration_end_s"]
    err = result.hip_rotation_deg[after] - truth.hip_rotation_at(result.grid.t[after])
    assert np.sqrt(np.mean(err**2)) < 0.6
    # knee flexion relative to the start pose comes for free from the two femur-axis estimates
    knee_true = (
        np.interp(result.grid.t, truth.t, truth.knee_flexion_deg) - truth.knee_flexion_deg[0]
    )
    knee_err = result.knee_flexion_deg[after] - knee_true[after]
    assert np.sqrt(np.mean(knee_err**2)) < 1.0
