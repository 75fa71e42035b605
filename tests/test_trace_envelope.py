"""The report's bounded trace (``imuhip.pipeline.trace_envelope``): exact while short, a
min/max envelope of bounded size once long, gaps and sample-time figures as the whole arrays
would give them."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.pipeline.trace_envelope import (
    GapSpans,
    LegTraceFeed,
    SampleTimesFeed,
    TraceEnvelope,
)


def _chunks(n: int, rng: np.random.Generator) -> list[slice]:
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, 7), replace=False))
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _feed(env: TraceEnvelope, t: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
    for s in _chunks(len(t), rng):
        env.add(t[s], y[s])


def test_short_trace_is_every_sample() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(500) / 100.0
    y = rng.normal(size=500)
    y[100:130] = np.nan
    env = TraceEnvelope(raw_limit=1000, buckets=16)
    _feed(env, t, y, rng)
    tr = env.trace()
    assert tr.exact
    np.testing.assert_array_equal(tr.x, t)
    np.testing.assert_array_equal(tr.y, y)
    assert (tr.t_first, tr.t_last) == (0.0, 4.99)
    assert tr.lo == np.nanmin(y) and tr.hi == np.nanmax(y)
    assert tr.value_at(2.0) == pytest.approx(float(y[200]))


def _reference(t, y, origin, width, used):
    """Per bucket of ``width`` from ``origin``: (min, max) of the finite values, NaN if none."""
    k = ((t - origin) // width).astype(int)
    out = []
    for b in range(used):
        seg = y[(k == b) & np.isfinite(y)]
        out.append((seg.min(), seg.max()) if len(seg) else (math.nan, math.nan))
    return out


def _points_per_bucket(tr, origin, width, used):
    """The envelope's points grouped per bucket: (min, max) of each bucket's finite points."""
    k = np.minimum(((tr.x - origin) // width).astype(int), used - 1)
    out = []
    for b in range(used):
        seg = tr.y[(k == b) & np.isfinite(tr.y)]
        out.append((seg.min(), seg.max()) if len(seg) else (math.nan, math.nan))
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(300, 3000))
def test_envelope_min_max_per_bucket_exact(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.005, 0.02, size=n))
    y = rng.normal(scale=20.0, size=n)
    y[rng.random(n) < 0.05] = np.nan
    y[n // 3 : n // 3 + 40] = np.nan  # a gap longer than a bucket or so
    env = TraceEnvelope(raw_limit=200, buckets=32)
    _feed(env, t, y, rng)
    tr = env.trace()
    assert not tr.exact
    width = env.bucket_width_s
    used = int((t[-1] - t[0]) // width) + 1
    assert used <= 32
    got = _points_per_bucket(tr, float(t[0]), width, used)
    want = _reference(t, y, float(t[0]), width, used)
    np.testing.assert_array_equal(np.array(got), np.array(want))
    # points are in time order, at the times of the samples they came from
    assert np.all(np.diff(tr.x) >= 0)
    fin = np.isfinite(tr.y)
    idx = np.searchsorted(t, tr.x[fin])
    np.testing.assert_array_equal(y[idx], tr.y[fin])
    assert tr.lo == np.nanmin(y) and tr.hi == np.nanmax(y)
    assert (tr.t_first, tr.t_last) == (t[0], t[-1])


def test_buckets_merge_as_the_session_grows() -> None:
    rng = np.random.default_rng(3)
    env = TraceEnvelope(raw_limit=100, buckets=8)
    t = np.arange(2000) * 0.01
    y = np.sin(t) * 30 + rng.normal(size=len(t))
    env.add(t[:101], y[:101])  # turns into an envelope over half of the buckets
    w0 = env.bucket_width_s
    env.add(t[101:], y[101:])
    assert env.bucket_width_s > w0
    assert math.log2(env.bucket_width_s / w0) == round(math.log2(env.bucket_width_s / w0))
    tr = env.trace()
    assert len(tr.x) <= 2 * 8
    got = _points_per_bucket(tr, 0.0, env.bucket_width_s, 8)
    want = _reference(t, y, 0.0, env.bucket_width_s, 8)
    np.testing.assert_array_equal(np.array(got)[: len(want)], np.array(want))


def test_empty_bucket_breaks_the_line() -> None:
    t = np.arange(1000) * 0.01
    y = np.ones(1000)
    y[400:700] = np.nan
    env = TraceEnvelope(raw_limit=10, buckets=16)
    env.add(t, y)
    tr = env.trace()
    gap = (tr.x > 4.2) & (tr.x < 6.8)
    assert gap.any() and np.isnan(tr.y[gap]).all()
    assert np.isfinite(tr.y[~gap]).all()


def test_all_nan_trace() -> None:
    env = TraceEnvelope(raw_limit=10, buckets=4)
    env.add(np.arange(50.0), np.full(50, np.nan))
    tr = env.trace()
    assert math.isnan(tr.lo) and math.isnan(tr.hi) and math.isnan(tr.value_at(3.0))
    assert np.isnan(tr.y).all()


def test_size_bounded_for_a_very_long_input() -> None:
    """Ten hours at 100 Hz in minute chunks: the envelope stays within its buckets."""
    env = TraceEnvelope(raw_limit=2**12, buckets=2**10)
    minute = np.arange(6000) / 100.0
    y = np.sin(minute)
    for k in range(600):
        env.add(minute + 60.0 * k, y + k)
    tr = env.trace()
    assert len(tr.x) <= 2 * 2**10
    assert tr.t_last == pytest.approx(60.0 * 600 - 0.01)
    assert tr.hi == pytest.approx(1.0 + 599, abs=1e-6)


def _gaps_reference(t, valid, min_s=0.2, most=200):
    bad = np.r_[False, ~valid, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(bad))
    out = []
    for i, j in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        a, b = float(t[max(i - 1, 0)]), float(t[min(j, len(t) - 1)])
        if b - a >= min_s:
            out.append((a, b))
    return tuple(sorted(out, key=lambda ab: ab[0] - ab[1])[:most])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), most=st.integers(1, 6))
def test_gap_spans_as_the_whole_arrays(seed: int, most: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    t = np.arange(n) * 0.01
    valid = np.ones(n, bool)
    for _ in range(rng.integers(0, 40)):
        a = int(rng.integers(0, n))
        valid[a : a + int(rng.integers(1, 80))] = False
    if rng.random() < 0.3:
        valid[:30] = False
    if rng.random() < 0.3:
        valid[-30:] = False
    g = GapSpans(most=most)
    for s in _chunks(n, rng):
        g.add(t[s], valid[s])
    assert g.spans() == _gaps_reference(t, valid, most=most)


def _gaps_of(t: np.ndarray, rate: float) -> tuple[float, list[tuple[float, float]], int]:
    """Reference: (period, [(start, length)] of every interval over 1.5 periods, missing)
    over all of ``t`` at once (the period the configured rate's, else the median interval)."""
    dt = np.diff(t)
    period = 1.0 / rate if rate > 0 else float(np.median(dt))
    big = np.flatnonzero(dt > 1.5 * period)
    missing = int(np.maximum(np.rint(dt[big] / period).astype(np.int64) - 1, 1).sum())
    return period, [(float(t[i]), float(dt[i])) for i in big], missing


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.sampled_from([0.0, 100.0]))
def test_sample_times_in_pieces_are_those_of_the_whole(seed: int, rate: float) -> None:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.choice([0.01, 0.01, 0.01, 0.03, 0.1], size=2000))
    feed = SampleTimesFeed(rate)
    for s in _chunks(len(t), rng):
        feed.add(t[s])
    got = feed.summary()
    _, gaps, missing = _gaps_of(t, rate)
    assert got.count == len(t)
    assert got.effective_rate_hz == (len(t) - 1) / (t[-1] - t[0])
    assert got.gaps == len(gaps)
    assert got.missing == missing
    longest = max(gaps, key=lambda g: g[1], default=None)  # the first longest
    assert got.longest_gap_s == (None if longest is None else longest[1])
    assert got.longest_gap_at_s == (None if longest is None else longest[0])


def test_leg_feed_pairs_late_angles_with_their_grid_points() -> None:
    """Angles come after their grid points (the calibration is decided later): each is paired
    with its own point's validity; points whose angle never came count as without one."""
    t = np.arange(100) * 0.01
    valid = np.ones(100, bool)
    valid[10:40] = False
    gyr = np.zeros((100, 3))
    gyr[:, 2] = np.radians(90.0)
    feed = LegTraceFeed(raw_limit=1000, buckets=8)
    feed.add_grid(t[:50], valid[:50], gyr[:50])
    feed.add_angles(np.full(5, np.nan))  # before the calibration's final still phase
    feed.add_grid(t[50:], valid[50:], gyr[50:])
    rot = np.arange(5, 90, dtype=float)
    feed.add_angles(rot[:30])
    feed.add_angles(rot[30:])  # the last ten points never get an angle
    lt = feed.trace()
    want = np.r_[np.full(5, np.nan), rot, np.full(10, np.nan)]
    want[10:40] = np.nan
    np.testing.assert_array_equal(lt.hip_rotation.y, want)
    np.testing.assert_array_equal(lt.hip_rotation.x, t)
    speed = lt.shin_speed.y
    assert np.isnan(speed[10:40]).all() and np.allclose(speed[~np.isnan(speed)], 90.0)
    assert lt.gaps == ((0.09, 0.4),) == _gaps_reference(t, valid)


def test_both_legs_each_get_their_own_trace() -> None:
    """Two legs' feeds (a session of both legs) stay apart."""
    t = np.arange(200) * 0.01
    left, right = LegTraceFeed(raw_limit=50, buckets=8), LegTraceFeed(raw_limit=50, buckets=8)
    for feed, sign in ((left, 1.0), (right, -1.0)):
        feed.add_grid(t, np.ones(200, bool), np.zeros((200, 3)))
        feed.add_angles(sign * np.arange(200.0))
    a, b = left.trace().hip_rotation, right.trace().hip_rotation
    assert (a.lo, a.hi) == (0.0, 199.0) and (b.lo, b.hi) == (-199.0, 0.0)
    assert not a.exact and not b.exact
