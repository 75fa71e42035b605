"""The detector's runs (stretches of samples between decisions, done at once) give exactly what
stepping every sample gives: fed whole, the runs take most samples; fed one sample at a time,
none do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imuhip.analysis.detector as det
from imuhip.analysis.exercise import analyze_exercise
from tests.test_exercise_detector import RATE, Trace

#: One piece of a trace: (kind, size, seconds, extra).
_piece = st.tuples(
    st.sampled_from(["rep", "external", "dwell", "hold", "settle", "move", "rest"]),
    st.floats(2.0, 40.0),
    st.floats(0.3, 12.0),
    st.floats(0.0, 2.0),
)


def _trace(seed: int, pieces: list[tuple[str, float, float, float]]) -> Trace:
    tr = Trace(seed).rest(3)
    for kind, size, secs, extra in pieces:
        if kind == "rep":
            tr.rep(tr.level + size, up_s=0.4 + secs / 4, down_s=0.4 + extra)
        elif kind == "external":
            tr.rep(tr.level - size, up_s=0.6 + secs / 6)
        elif kind == "dwell":
            tr.rep(tr.level + size, top_s=secs / 2)
        elif kind == "hold":
            tr.hold(size / 4, secs, creep=extra / 2)
        elif kind == "settle":
            tr.settle(size / 3, secs)
        elif kind == "move":
            tr.move(tr.level + size * (1 if extra > 1 else -1) / 2, s=0.3 + secs / 4)
        else:
            tr.rest(secs, drift=extra - 1)
        tr.rest(0.5 + extra)
    return tr


def _steps(monkeypatch, t, a, g, chunk):
    """The result, and how many samples were stepped one by one."""
    count = [0]
    step = det.ExerciseDetector._step

    def counted(self, *args):
        count[0] += 1
        return step(self, *args)

    monkeypatch.setattr(det.ExerciseDetector, "_step", counted)
    res = analyze_exercise(t, a, g, RATE, chunk=chunk)
    monkeypatch.setattr(det.ExerciseDetector, "_step", step)
    return res, count[0]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    pieces=st.lists(_piece, min_size=1, max_size=6),
    noise=st.sampled_from([0.0, 0.05, 0.3]),
    chunk=st.integers(2, 700),
)
def test_runs_equal_stepping_every_sample(seed, pieces, noise, chunk):
    t, a, g = _trace(seed, pieces).arrays(noise=noise)
    with pytest.MonkeyPatch.context() as mp:
        one, stepped_one = _steps(mp, t, a, g, 1)
        whole, stepped_whole = _steps(mp, t, a, g, None)
    assert whole == one
    assert analyze_exercise(t, a, g, RATE, chunk=chunk) == one
    assert stepped_one >= len(t) - 30  # every sample but the smoother's filling
    assert stepped_whole < stepped_one


def test_runs_take_most_samples_of_reps_with_dwells_and_slow_returns(monkeypatch):
    tr = Trace(3).rest(5)
    for k in range(8):
        tr.rep(20 + 3 * k, up_s=1.0 + 0.3 * k, down_s=2.5, top_s=0.2 * k).rest(2)
    t, a, g = tr.arrays()
    one, stepped_one = _steps(monkeypatch, t, a, g, 1)
    whole, stepped_whole = _steps(monkeypatch, t, a, g, None)
    assert len(whole.reps) == 8 and whole == one
    assert stepped_whole < 0.2 * len(t) < stepped_one
