"""The hip rotation tracker fed as live use feeds it (a few samples at a time) gives exactly the
numbers of one batch: its trailing rest minimum's short form (chunks shorter than the window)
included."""

from __future__ import annotations

from dataclasses import fields
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import minimum_filter1d

import imuhip.joint.hip_rotation as hr
from imuhip.align.numeric import running_min
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session

#: Chunk lengths the trailing-minimum tests draw around (a few samples, as live feeds them).
CHUNK = 64
REC = Path(__file__).resolve().parent.parent / "recordings" / "seated-left-reps-simulated.imuhip"


def _filter_form(tail: np.ndarray, x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The trailing minimum as the whole-buffer filter gives it (the reference)."""
    buf = np.concatenate([tail, x])
    level = minimum_filter1d(buf, w, origin=(w - 1) // 2, mode="nearest")
    return level[len(tail) :], buf[-(w - 1) :]


@pytest.mark.parametrize("w", [3, 11, 101])
def test_trailing_min_of_short_chunks_equals_the_filter(w):
    rng = np.random.default_rng(w)
    ref = short = np.full(1, np.inf)
    for _ in range(400):
        n = int(rng.integers(1, 2 * CHUNK))  # shorter and longer than the window
        x = np.where(rng.random(n) < 0.4, np.inf, np.round(rng.normal(0.0, 1.0, n), 1))
        a, ref = _filter_form(ref, x, w)
        b, short = hr._trailing_min(short, x, w)
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(short, ref)


@pytest.mark.parametrize("w", [3, 11, 101])
def test_trailing_min_of_long_chunks_equals_the_filter_nan_included(w):
    """The long form (its own blocks over tail and chunk) gives the running minimum's numbers,
    NaN where one is in the window, for chunks shorter and longer than the window."""
    rng = np.random.default_rng(w + 1)
    ref = long = np.zeros(1)
    for _ in range(150):
        n = int(rng.integers(CHUNK + 1, 3 * w + CHUNK + 2))
        x = np.where(rng.random(n) < 0.4, np.inf, np.round(rng.normal(0.0, 1.0, n), 1))
        x[rng.random(n) < 0.01] = np.nan
        buf = np.concatenate([ref, x])
        a = running_min(buf, w, origin=(w - 1) // 2, mode="nearest")[len(ref) :]
        ref = buf[-(w - 1) :]
        b, long = hr._trailing_min(long, x, w)
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(long, ref)


def test_tracker_fed_a_few_samples_at_a_time_equals_one_batch(monkeypatch):
    # a 5 s rest window: the window fills, and slides, within the recording
    monkeypatch.setattr(hr, "REST_WINDOW_S", 5.0)
    a = analyze_session(read_session(REC))
    qt, qs = a.orientations["thigh"], a.orientations["shin"]
    ok = np.isfinite(qt[:, 0]) & np.isfinite(qs[:, 0])
    qt, qs, cal = qt[ok], qs[ok], a.calibration
    assert cal.pelvis_lateral is not None  # the rest level is tracked
    whole = hr.HipRotationTracker(cal, a.grid.rate_hz).update(qt, qs)
    live = hr.HipRotationTracker(cal, a.grid.rate_hz)
    rng = np.random.default_rng(0)
    cuts = np.cumsum(rng.integers(1, 7, len(qs)))
    cuts = [0, *cuts[cuts < len(qs)].tolist(), len(qs)]
    parts = [live.update(qt[i:j], qs[i:j]) for i, j in pairwise(cuts)]
    for f in fields(hr.HipAngles):
        np.testing.assert_array_equal(
            np.concatenate([getattr(p, f.name) for p in parts]), getattr(whole, f.name)
        )
    assert whole.rest_seen.any()
