"""``SessionPipeline.new_angles``: the tracked angles handed out step by step, each grid point
once, equal to the analysis's angles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imuhip.files.session_file import read_session
from imuhip.live.replay import replay
from imuhip.pipeline import make_pipeline
from imuhip.session import session_inputs

RECORDING = Path(__file__).parent.parent / "recordings" / "prone-left-holds-polar-simulated.imuhip"


@pytest.fixture(scope="module")
def fed():
    """A causal replay of a shipped recording in 0.5 s steps, ``new_angles`` after each."""
    session = read_session(RECORDING)
    pipe = make_pipeline(session.header, aligner="causal", saved=True, angle_feed=True)
    got = []
    replay(
        session_inputs(session), pipe, step_s=0.5, on_step=lambda *_: got.append(pipe.new_angles())
    )
    pipe.finish()
    got.append(pipe.new_angles())
    return pipe, got


def test_new_angles_equal_the_analysis_from_the_final_still_phase(fed):
    pipe, got = fed
    t = np.concatenate([g.t for g in got])
    rot = np.concatenate([g.hip_rotation_deg for g in got])
    knee = np.concatenate([g.knee_flexion_deg for g in got])
    a = pipe.analysis()
    n = len(t)
    assert n > 1000
    assert np.all(np.diff(t) > 0)  # time order, no point twice
    np.testing.assert_array_equal(t, a.grid.t[-n:])
    np.testing.assert_array_equal(rot, a.hip_rotation_deg[-n:])
    np.testing.assert_array_equal(knee, a.knee_flexion_deg[-n:])
    assert np.isnan(a.hip_rotation_deg[:-n]).all()  # nothing tracked before the feed starts
    assert t[0] == a.grid.t[pipe.calibration_index()]
    # angles come in pieces as the replay goes, the first when the calibration is decided
    sizes = [len(g.t) for g in got]
    assert sum(s > 0 for s in sizes) > 10


def test_new_angles_is_empty_when_nothing_new(fed):
    pipe, _ = fed
    again = pipe.new_angles()
    assert again.t.shape == again.hip_rotation_deg.shape == again.knee_flexion_deg.shape == (0,)


def test_new_angles_needs_the_feed():
    session = read_session(RECORDING)
    pipe = make_pipeline(session.header, aligner="causal", saved=True)
    with pytest.raises(RuntimeError, match="angle_feed"):
        pipe.new_angles()
