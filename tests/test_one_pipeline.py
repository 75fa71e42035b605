"""One pipeline: replay equals analyze, whatever the input's cut; the causal aligner within
stated bounds of the offline one (shipped recordings, all SIMULATED)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imuhip.files.session_file import read_session
from imuhip.live.replay import replay
from imuhip.pipeline import analyze_session, make_pipeline
from imuhip.session import session_inputs
from imuhip.sinks.analysis_text import analysis_document

RECORDINGS = sorted((Path(__file__).parent.parent / "recordings").glob("*.imuhip"))


def _replayed(session, aligner: str, step_s: float = 0.1):
    pipe = make_pipeline(session.header, aligner=aligner, saved=True)
    replay(session_inputs(session), pipe, step_s=step_s)
    pipe.finish()
    return pipe.analysis()


@pytest.fixture(scope="module", params=RECORDINGS, ids=lambda p: p.stem)
def recording(request):
    session = read_session(request.param)
    return session, analyze_session(session)


def test_replay_with_the_offline_aligner_is_analyze(recording):
    """Fed one notification at a time in 0.1 s steps (as replay and live feed it), the
    pipeline with the offline aligner gives analyze's document exactly."""
    session, batch = recording
    again = _replayed(session, "offline")
    assert analysis_document(session, again) == analysis_document(session, batch)
    assert (again.hip_rotation_deg.tobytes()) == batch.hip_rotation_deg.tobytes()


def test_causal_aligner_within_bounds_of_analyze(recording):
    """Timed causally (as live), every rep and hold is found as analyze finds it, with peaks
    within 0.1° and edges within 0.1 s (SIMULATED links: 15 ms connection interval)."""
    session, batch = recording
    live = _replayed(session, "causal", step_s=0.25)
    a, b = live.exercise, batch.exercise
    assert len(a.reps) == len(b.reps) and len(a.holds) == len(b.holds)
    assert len(a.partial_reps) == len(b.partial_reps)
    for x, y in zip(a.reps, b.reps, strict=True):
        assert x.peak_deg == pytest.approx(y.peak_deg, abs=0.1)
        assert x.start_s == pytest.approx(y.start_s, abs=0.1)
        assert x.end_s == pytest.approx(y.end_s, abs=0.1)
    for x, y in zip(a.holds, b.holds, strict=True):
        assert x.start_s == pytest.approx(y.start_s, abs=0.1)
        assert x.end_s == pytest.approx(y.end_s, abs=0.1)
    for k in ("still_start", "bends", "rocks", "still_end"):
        for u, v in zip(
            live.calibration.phase_times[k], batch.calibration.phase_times[k], strict=True
        ):
            assert u == pytest.approx(v, abs=0.02)


@pytest.mark.parametrize("name", ["prone-both-reps-simulated", "prone-left-holds-polar-simulated"])
def test_the_causal_pipeline_does_not_depend_on_the_replay_step(name):
    """Replay's steps (0.1 s paced, 1 s as fast as possible) only cut the input: the causal
    pipeline's whole document is the same for any cut."""
    session = read_session(Path(__file__).parent.parent / "recordings" / f"{name}.imuhip")
    docs = [analysis_document(session, _replayed(session, "causal", s)) for s in (0.1, 1.0, 2.7)]
    found = [doc for doc in (docs[0], *docs[0].get("legs", ())) if "reps" in doc]
    assert found and all(doc["reps"] or doc["holds"] for doc in found)
    assert docs[1] == docs[0] and docs[2] == docs[0]
