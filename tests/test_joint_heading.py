"""The heading tracker's line fit: no lag on a steady drift, chunking, and catching up after a
long stretch without observations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from imuhip.joint.heading import HeadingTracker

RATE = 100.0


def _drift(seconds: float, rate_dps: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(seed)
    return t, np.radians(rate_dps * t) + np.radians(0.2) * rng.normal(size=len(t))


@pytest.mark.parametrize(("slope_prior", "lag_deg"), [(0.0, 0.1), (0.02, 0.6)])
def test_steady_drift_tracked_with_little_lag(slope_prior, lag_deg):
    t, obs = _drift(120, 0.5)
    tracker = HeadingTracker(0.0, 0.0, RATE, slope_prior=slope_prior)
    est = tracker.track(obs, np.zeros(len(t)), np.ones(len(t)))
    late = t > 60
    assert np.degrees(np.abs(est[late] - np.radians(0.5 * t[late]))).max() < lag_deg


def test_chunks_equal_one_batch():
    t, obs = _drift(60, -0.3, seed=1)
    w = np.ones(len(t))
    batch = HeadingTracker(0.1, 0.0, RATE).track(obs, np.zeros(len(t)), w)
    tr = HeadingTracker(0.1, 0.0, RATE)
    cuts = [0, 7, 1000, 1001, 3333, len(t)]
    parts = [tr.track(obs[a:b], np.zeros(b - a), w[a:b]) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_allclose(np.concatenate(parts), batch, atol=1e-9)


@pytest.mark.parametrize("max_step", [np.pi])
def test_catches_up_after_a_long_stretch_without_observations(max_step):
    """A drift that changed while nothing was observed (the leg away from rest for 100 s) puts
    the next observations far from the estimate; an unambiguous observation (a plain azimuth)
    must then be followed, not rejected as an outlier forever."""
    t, obs = _drift(300, 0.0)
    true = np.where(t < 20, 0.0, np.radians(0.3) * (t - 20))  # the drift starts unseen
    obs = obs + true
    w = np.where((t > 20) & (t < 120), 0.0, 1.0)
    est = HeadingTracker(0.0, 0.0, RATE, max_step=max_step).track(obs, np.zeros(len(t)), w)
    assert np.degrees(abs(true[100] - est[100])) < 0.5  # before: tracked
    late = t > 200
    assert np.degrees(np.abs(est[late] - true[late])).max() < 1.0


def test_default_gate_rejects_far_observations():
    """With the default 25° gate (for the knee-hinge roots, which come in pairs) a jump beyond
    it is not followed: why the thigh-drift tracker opens its gate."""
    t, obs = _drift(120, 0.0)
    obs = obs + np.where(t > 30, np.radians(40.0), 0.0)
    est = HeadingTracker(0.0, 0.0, RATE).track(obs, np.zeros(len(t)), np.ones(len(t)))
    assert np.degrees(abs(est[-1])) < 5.0


def test_keep_slope_goes_on_along_the_drift_through_a_minute_without_observations():
    """A steady 0.06°/s drift seen for 60 s, then nothing for 60 s (a leg held in a stretch):
    with ``keep_slope_s`` the estimate goes on along the fitted line; without it the slope
    shrinks to 0 and the estimate falls back towards the old observations (0.3° against 2.7°
    off at worst in the minute; the thigh drift of SIMULATED supine stretches)."""
    t, obs = _drift(130, 0.06, seed=2)
    w = np.where((t > 60) & (t < 120), 0.0, 1.0)
    true = np.radians(0.06 * t)
    kept = HeadingTracker(0.0, 0.0, RATE, keep_slope_s=300.0).track(obs, np.zeros(len(t)), w)
    plain = HeadingTracker(0.0, 0.0, RATE).track(obs, np.zeros(len(t)), w)
    gap = (t > 60) & (t < 120)
    assert np.degrees(np.abs(kept[gap] - true[gap])).max() < 0.6
    assert np.degrees(np.abs(plain[gap] - true[gap])).max() > 1.5
    # batch equals chunks with the gap bookkeeping carried across them
    tr = HeadingTracker(0.0, 0.0, RATE, keep_slope_s=300.0)
    cuts = [0, 5, 6100, 6101, 9000, len(t)]
    parts = [tr.track(obs[a:b], np.zeros(b - a), w[a:b]) for a, b in itertools.pairwise(cuts)]
    np.testing.assert_allclose(np.concatenate(parts), kept, atol=1e-9)


def test_keep_slope_is_bounded_in_time():
    """After ``keep_slope_s`` without observations the ridge stops ageing: no unbounded
    extrapolation (and no 0/0 once the data's weight has decayed)."""
    t, obs = _drift(700, 0.05, seed=3)
    w = np.where(t < 60, 1.0, 0.0)
    est = HeadingTracker(0.0, 0.0, RATE, keep_slope_s=30.0).track(obs, np.zeros(len(t)), w)
    assert np.all(np.isfinite(est))
    # the slope is kept for 30 s, then shrinks: far less than the line's 0.05°/s x 640 s
    assert np.degrees(est[-1]) < 0.05 * 60 + 0.05 * 30 + 3.0


def test_rate_observations_give_the_slope_where_the_value_is_not_seen():
    """The drift seen for 30 s, then only its rate (the femur held still away from rest) for
    60 s while the drift speeds up from 0.02 to 0.08°/s: the estimate follows the observed
    rate (0.1° off at the end); without the rates it goes on at the old slope, 3.8° off."""
    t = np.arange(int(90 * RATE)) / RATE
    rate_dps = np.where(t < 30, 0.02, 0.08)
    true = np.radians(np.cumsum(rate_dps) / RATE)
    rng = np.random.default_rng(4)
    obs = true + np.radians(0.2) * rng.normal(size=len(t))
    w = np.where(t < 30, 1.0, 0.0)
    rate = np.diff(true, prepend=0.0) + np.radians(0.001) * rng.normal(size=len(t))
    mu = np.where(t >= 30, 3e5, 0.0)
    kw = {"keep_slope_s": 300.0}
    with_rates = HeadingTracker(0.0, 0.0, RATE, **kw).track(obs, np.zeros(len(t)), w, rate, mu)
    without = HeadingTracker(0.0, 0.0, RATE, **kw).track(obs, np.zeros(len(t)), w)
    assert np.degrees(abs(with_rates[-1] - true[-1])) < 0.6
    assert np.degrees(abs(without[-1] - true[-1])) > 3.0
    # chunks equal one batch with the rates too
    tr = HeadingTracker(0.0, 0.0, RATE, **kw)
    cuts = [0, 3, 2999, 3001, 7000, len(t)]
    parts = [
        tr.track(obs[a:b], np.zeros(b - a), w[a:b], rate[a:b], mu[a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    np.testing.assert_allclose(np.concatenate(parts), with_rates, atol=1e-9)
