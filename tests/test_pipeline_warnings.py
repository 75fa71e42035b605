"""A leg that stays away from its start pose for long is reported, where it matters."""

from __future__ import annotations

import numpy as np

from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session, unchecked_heading_stretches
from imuhip.sim.scripts import ScriptOptions
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.analysis_text import analysis_document


def test_unchecked_stretches():
    t = np.arange(0, 300, 0.5)
    seen = np.ones(len(t), bool)
    seen[(t > 50) & (t < 130)] = False
    seen[(t > 200) & (t < 240)] = False  # shorter than a minute: fine
    assert unchecked_heading_stretches(t, seen) == [(50.0, 130.0)]
    assert unchecked_heading_stretches(t, np.zeros(len(t), bool)) == [(0.0, 299.5)]
    assert unchecked_heading_stretches(t, None) == []


def _analyse(tmp_path, rest_start_deg, exercise="supine"):
    sim = simulate(
        SimConfig(
            exercise=exercise,
            side="left",
            content="reps",
            duration_s=200,
            seed=5,
            script=ScriptOptions(rest_start_deg=rest_start_deg),
        )
    )
    path = tmp_path / "s.imuhip"
    write_simulation(sim, path)
    session = read_session(path)
    result = analyze_session(session)
    return result, analysis_document(session, result)


def test_wandering_rest_is_reported_supine(tmp_path):
    """SIMULATED: after the calibration the leg settles 8° away from the start pose."""
    result, doc = _analyse(tmp_path, 8.0)
    assert result.warnings and doc["warnings"] == list(result.warnings)
    assert "did not come back near its start pose" in doc["warnings"][0]


def test_no_report_when_the_leg_comes_back(tmp_path):
    result, doc = _analyse(tmp_path, 0.0)
    assert result.warnings == () and doc["warnings"] == []


def test_no_report_prone_where_the_heading_barely_matters(tmp_path):
    result, _ = _analyse(tmp_path, 8.0, exercise="prone")
    assert result.warnings == ()
