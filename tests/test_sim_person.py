"""The simulated person of ``imuhip train --demo``: does what is asked when it is asked, and
the analysis finds it (SIMULATED)."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip.files.session_file import read_session, write_session
from imuhip.pipeline import analyze_session
from imuhip.session import Event, SensorInfo, SessionHeader
from imuhip.sim.person import ROLES, VirtualPerson


def _analysed(person: VirtualPerson, end_s: float, tmp_path):
    """The person's samples to ``end_s`` written as a session (with the guidance's marks)
    and analysed."""
    samples = {r: person.samples(r, end_s) for r in ROLES}
    header = SessionHeader(
        side=person.side, exercise=person.exercise, time_base="simulated",
        sensors=tuple(SensorInfo(r, rate_hz=100.0) for r in ROLES),
    )  # fmt: skip
    marks = [Event(t, "phase", None, {"phase": ph}) for ph, t in person.script.phase_starts.items()]
    path = tmp_path / "person.imuhip"
    write_session(path, header, samples=samples, events=marks)
    return analyze_session(read_session(path)).exercise


def test_pushes_and_reps_happen_when_asked_and_are_found(tmp_path):
    person = VirtualPerson("prone", "left", seed=3)
    cal = person.calibration_end_s
    first = person.push(cal + 6.0, 8.0)
    second = person.push(first + 6.0, 12.0)
    person.swing(second + 5.0, 4)
    got = _analysed(person, person.busy_until_s + 5.0, tmp_path)
    truth = person.script.holds
    assert [h.start_s for h in truth] == [pytest.approx(cal + 6.0), pytest.approx(first + 6.0)]
    assert len(got.holds) == 2
    for h, t in zip(got.holds, truth, strict=True):  # the pushes, timed from the signal
        assert abs(h.start_s - t.start_s) < 0.5 and abs(h.end_s - t.end_s) < 0.5
    assert len(got.reps) == len(person.script.reps) == 4
    for r, t in zip(got.reps, person.script.reps, strict=True):
        assert t.start_s - 0.5 < r.peak_s < t.end_s
    assert got.stretches == ()


def test_a_stretch_ends_with_the_overpressure_asked_for(tmp_path):
    person = VirtualPerson("seated", "right", seed=4)
    start = person.calibration_end_s + 5.0
    person.stretch(start, 20.0, overpressure_s=7.0)
    got = _analysed(person, person.busy_until_s + 5.0, tmp_path)
    (truth,) = person.script.stretches
    (s,) = got.stretches
    assert truth.start_s == pytest.approx(start)
    assert truth.end_s - truth.end_range_s == pytest.approx(20.0)
    assert abs(s.start_s - truth.end_range_s) < 1.5 and abs(s.end_s - truth.end_s) < 1.0
    assert s.overpressure_start_s is not None
    assert abs(s.overpressure_start_s - truth.overpressure_start_s) < 1.0
    assert got.holds == ()


def test_what_is_asked_late_starts_after_what_was_made_and_the_past_stays():
    person = VirtualPerson("prone", "left", seed=1)
    before = person.samples("shin", 60.0)
    made = before.t[-1]
    assert made >= 60.0
    end = person.push(50.0, 5.0)  # asked for a time the sensors have already sent
    (hold,) = person.script.holds
    assert hold.start_s >= made and end == pytest.approx(hold.start_s + 5.0)
    after = person.samples("shin", end + 1.0)
    np.testing.assert_array_equal(after.gyr[: len(before)], before.gyr)
    # the same person, asked the same, gives the same samples
    twin = VirtualPerson("prone", "left", seed=1)
    twin.samples("shin", 60.0)
    twin.push(50.0, 5.0)
    np.testing.assert_array_equal(twin.samples("shin", end + 1.0).gyr, after.gyr)
