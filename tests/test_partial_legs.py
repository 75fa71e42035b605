"""A session of both legs in which one leg cannot be analysed is a partial result, not a
refusal: the other leg analysed, the failed leg in the document with its reason, the text,
report and history saying which leg failed and why, exit code 0. Only a session in which no leg
can be analysed is refused. (Before: the failed leg's calibration error refused the session.)
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from imuhip.errors import CalibrationError
from imuhip.pipeline import analyze_session
from imuhip.session import Session
from tests.test_both_legs import _both


def _still(session: Session, role: str) -> Session:
    """``role``'s sensor lies still all session (no calibration movements)."""
    s = session.samples[role]
    rng = np.random.default_rng(0)
    n = len(s.t)
    still = dataclasses.replace(
        s,
        acc=np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0, 0.02, (n, 3)),
        gyr=rng.normal(0, 0.005, (n, 3)),
    )
    return dataclasses.replace(session, samples={**session.samples, role: still})


def _silent(session: Session, role: str) -> Session:
    """``role``'s sensor sent nothing at all."""
    s = session.samples[role]
    none = dataclasses.replace(
        s, t=s.t[:0], acc=s.acc[:0], gyr=s.gyr[:0], mag=None if s.mag is None else s.mag[:0]
    )
    return dataclasses.replace(session, samples={**session.samples, role: none})


@pytest.fixture(scope="module")
def both():
    session, _ = _both()
    return session, analyze_session(session)


@pytest.fixture(scope="module")
def left_still(both):
    session = _still(both[0], "left_shin")
    return session, analyze_session(session)


def test_the_other_leg_is_analysed_exactly_as_with_both(both, left_still):
    _, whole = both
    _, part = left_still
    assert [leg.side for leg in part.legs] == ["right"]
    assert [(f.side, "no knee bends" in f.reason) for f in part.failed_legs] == [("left", True)]
    right = whole.legs[1]
    assert part.side == "right"
    np.testing.assert_array_equal(part.hip_rotation_deg, right.hip_rotation_deg)
    assert part.exercise.reps == right.exercise.reps
    assert part.warnings[0].startswith("the left leg could not be analysed: no knee bends")


def test_the_document_has_the_failed_leg_with_its_reason(left_still):
    from imuhip.sinks.analysis_text import analysis_document, analysis_text

    session, part = left_still
    doc = analysis_document(session, part)
    assert doc["side"] == "both"
    left, right = doc["legs"]
    assert left["side"] == "left" and left["status"] == "failed"
    assert set(left) == {"side", "status", "error"} and "no knee bends" in left["error"]
    assert right["status"] == "analysed" and right["reps"]
    assert doc["asymmetry"] is None
    assert any(w.startswith("the left leg could not be analysed") for w in doc["warnings"])
    json.dumps(doc)
    text = analysis_text(__import__("pathlib").Path("s.imuhip"), doc)
    assert "== left leg ==\nnot analysed: no knee bends" in text
    assert "== right leg ==" in text and "reps   " in text


def test_a_leg_whose_sensor_sent_nothing_is_a_failed_leg(both):
    session = _silent(both[0], "right_thigh")
    part = analyze_session(session)
    assert [leg.side for leg in part.legs] == ["left"]
    (failed,) = part.failed_legs
    assert failed.side == "right" and "right_thigh" in failed.reason
    np.testing.assert_array_equal(part.hip_rotation_deg, both[1].legs[0].hip_rotation_deg)


def test_no_leg_analysable_is_refused_with_each_legs_reason(both):
    session = _still(_still(both[0], "left_shin"), "right_shin")
    with pytest.raises(CalibrationError, match=r"left leg: no knee bends.*; right leg: no knee"):
        analyze_session(session)


def test_one_leg_session_still_refuses_as_before():
    from tests.test_both_legs import _simulated

    session, _ = _simulated()
    with pytest.raises(CalibrationError, match="no knee bends"):
        analyze_session(_still(session, "shin"))


def test_cli_report_and_history_say_which_leg_failed(left_still, tmp_path, capsys):
    from imuhip.cli import main
    from imuhip.files.session_file import write_session
    from imuhip.sinks.history import analyze_file

    session, _ = left_still
    path = tmp_path / "both.imuhip"
    write_session(path, session.header, session.samples)
    assert main(["analyze", "--json", str(path)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["legs"][0]["status"] == "failed"
    assert "warning: the left leg could not be analysed" in out.err
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Left leg</h2>\n<p class='banner'>Not analysed: no knee bends" in html
    assert "Right leg</h2>" in html
    rows = analyze_file(path)
    assert [(r.side, bool(r.error), r.reps is not None) for r in rows] == [
        ("left", True, False),
        ("right", False, True),
    ]
    assert "no knee bends" in rows[0].error


def test_export_of_a_partial_session_keeps_the_per_leg_columns(left_still, tmp_path):
    """export --angles of a both-legs file whose left leg failed: the right leg's columns,
    named by side as for both legs (not the one-leg file's ``hip_rotation_deg``)."""
    import csv

    from imuhip.sinks.angles_csv import write_angles_csv

    _, part = left_still
    path = write_angles_csv(tmp_path / "a.csv", part)
    head = next(csv.reader(path.open()))
    assert head == ["time_s", "hip_rotation_right_deg", "knee_flexion_right_deg", "valid_right"]
