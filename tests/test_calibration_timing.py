"""Calibration from what the person did: guidance marks are a prior, the phases come from the
data around them, so a person slower or faster than the prompts gets the same angle
(SIMULATED sessions; the marks are moved against the simulated movements)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

#: Mark shifts (s) against the movements: a slow person is still bending when the rocks
#: prompt comes and still rocking when the final still prompt comes (both 30 % of the steps
#: late); a fast one has begun each movement before its prompt.
SLOW = {"rocks": -2.7, "still_end": -2.1}
FAST = {"bends": 1.0, "rocks": 2.0, "still_end": 1.0}


def _rmse(session, sim, shift: dict[str, float]) -> tuple[float, int]:
    events = tuple(
        dataclasses.replace(e, t=e.t + shift.get(e.data.get("phase"), 0.0))
        if e.kind == "calibration_phase"
        else e
        for e in session.events
    )
    res = analyze_session(dataclasses.replace(session, events=events))
    after = res.grid.t > sim.truth.events["calibration_end_s"] + 1.0
    truth = np.interp(res.grid.t[after], sim.truth.t, sim.truth.hip_rotation_deg)
    err = res.hip_rotation_deg[after] - truth
    return float(np.sqrt(np.nanmean(err**2))), len(res.exercise.reps)


@pytest.fixture(scope="module", params=["prone", "seated"])
def session(request, tmp_path_factory):
    sim = simulate(
        SimConfig(duration_s=90.0, content="reps", marks=True, seed=3, exercise=request.param)
    )
    path = tmp_path_factory.mktemp("timing") / "s.imuhip"
    write_simulation(sim, path)
    return sim, read_session(path)


@pytest.mark.parametrize("shift", [SLOW, FAST], ids=["30% slower", "faster"])
def test_a_person_off_the_prompts_gets_the_same_angle(session, shift):
    sim, s = session
    exact, reps = _rmse(s, sim, {})
    off, reps_off = _rmse(s, sim, shift)
    assert exact < 0.5 and reps == len(sim.truth.events["reps"])
    assert off == pytest.approx(exact, abs=0.1) and reps_off == reps


def test_the_marks_alone_would_be_off_for_a_slow_person(session, monkeypatch):
    """What the data search fixes: calibrated on the marks' own windows, the slow person's
    final still pose holds the end of the rocks, and every angle is off by degrees."""
    sim, s = session
    monkeypatch.setattr("imuhip.pipeline.leg.phases_near_marks", lambda *a: None)
    off, _ = _rmse(s, sim, SLOW)
    assert off > 1.5


@pytest.mark.parametrize("pose", ["prone", "supine"])
@pytest.mark.parametrize("pace", [0.7, 1.3])
def test_a_person_at_their_own_pace_against_the_prompts(tmp_path, pose, pace):
    """The simulator's person 30 % slower or faster than every prompt (marks at the prompts'
    times, the movements at their own pace): the angle as with exact marks."""
    from imuhip.sim.scripts import ScriptOptions

    sim = simulate(
        SimConfig(duration_s=100.0, content="reps", marks=True, seed=7, exercise=pose,
                  script=ScriptOptions(pace=pace))
    )  # fmt: skip
    path = tmp_path / "s.imuhip"
    write_simulation(sim, path)
    rmse, reps = _rmse(read_session(path), sim, {})
    assert rmse < 0.6 and reps == len(sim.truth.events["reps"])
