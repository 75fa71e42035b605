"""Clock model (sensor time -> host time) against SIMULATED BLE links with known truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from imuhip.align.clock import ClockParams, StreamingClock, fit_clock
from imuhip.errors import ClockModelError
from imuhip.sim.ble_timing import LinkSim, simulate_link

DURATION = 600.0
THIGH = LinkSim(skew_ppm=310.0, drift_ppm=20.0, conn_interval_s=0.015, conn_skew_ppm=20.0)
SHIN = LinkSim(
    skew_ppm=-480.0,
    drift_ppm=15.0,
    conn_interval_s=0.030,
    conn_skew_ppm=-10.0,
    samples_per_note=2,
    reconnect_at_s=280.0,
    reconnect_gap_s=4.0,
    reset_to_s=0.25,
)


def _errors(cfg: LinkSim, seed: int):
    sim = simulate_link(cfg, DURATION, seed)
    p = ClockParams(latency_floor_s=cfg.stack_floor_s)
    m = fit_clock(sim.note_sensor_t, sim.note_host_t, p)
    seg = m.segment_of(len(sim.note_host_t))
    est = m.to_host(sim.sample_sensor_t, seg[sim.sample_note])
    return sim, m, est, est - sim.sample_true_t


@pytest.fixture(scope="module")
def thigh():
    return _errors(THIGH, 11)


@pytest.fixture(scope="module")
def shin():
    return _errors(SHIN, 12)


@pytest.mark.parametrize("which", ["thigh", "shin"])
def test_recovered_sample_times_match_truth(which, request):
    _sim, _, _, err = request.getfixturevalue(which)
    assert np.sqrt(np.mean(err**2)) < 0.002
    assert np.abs(err).max() < 0.005


def test_reset_after_reconnect_starts_a_new_segment(shin):
    sim, m, _, _ = shin
    assert [s.reason for s in m.segments] == ["start", "reset"]
    assert m.segments[1].start == sim.segment_start_note


def test_skew_is_tracked(thigh):
    _, m, _, _ = thigh
    # host seconds per sensor second - 1 = -skew (sensor fast by 310 ± 20 ppm)
    sk = m.segments[0].skew_ppm[36:]
    assert np.all(np.abs(sk + 310.0) < 30.0)


def test_thigh_and_shin_stay_aligned(thigh, shin):
    sim_t, _, _, err_t = thigh
    sim_s, _, _, err_s = shin
    e_s_at_t = np.interp(sim_t.sample_true_t, sim_s.sample_true_t, err_s)
    both = (sim_t.sample_true_t > sim_s.sample_true_t[0]) & (
        sim_t.sample_true_t < sim_s.sample_true_t[-1]
    )
    assert np.abs(err_t[both] - e_s_at_t[both]).max() < 0.005


def test_clock_that_keeps_running_over_a_reconnect_keeps_its_segment():
    cfg = LinkSim(skew_ppm=-200.0, reconnect_at_s=200.0, reset_to_s=None)
    _sim, m, _, err = _errors(cfg, 5)
    assert len(m.segments) == 1
    assert np.sqrt(np.mean(err**2)) < 0.002


def test_paused_clock_is_a_jump():
    cfg = LinkSim(skew_ppm=150.0, reconnect_at_s=200.0, reset_to_s=1000.0 + 200.0)
    _sim, m, _, err = _errors(cfg, 6)
    assert [s.reason for s in m.segments] == ["start", "jump"]
    assert np.abs(err).max() < 0.005


def _live(sim, p):
    sc = StreamingClock(p)
    live = np.empty(len(sim.sample_true_t))
    starts = np.r_[0, np.cumsum(np.bincount(sim.sample_note))]
    pairs = zip(sim.note_sensor_t.tolist(), sim.note_host_t.tolist(), strict=True)
    for j, (s, h) in enumerate(pairs):
        sc.update(s, h)
        a, b = starts[j], starts[j + 1]
        live[a:b] = sc.to_host(sim.sample_sensor_t[a:b])
    return sc, live


def test_streaming_equals_batch_after_warm_up(thigh):
    sim, m, est, _ = thigh
    p = m.params
    _sc, live = _live(sim, p)
    warm = sim.sample_sensor_t - m.segments[0].s0 >= p.window_s + p.block_s
    assert warm.sum() > len(est) // 3
    np.testing.assert_array_equal(live[warm], est[warm])
    # during warm-up the live mapping is usable, if less exact
    assert np.percentile(np.abs(live - sim.sample_true_t), 95) < 0.01


def test_streaming_finds_the_same_segments(shin):
    sim, m, _, _ = shin
    sc, _ = _live(sim, m.params)
    assert [(s.start, s.reason) for s in sc.segments] == [(s.start, s.reason) for s in m.segments]


def test_bad_input_raises():
    with pytest.raises(ClockModelError):
        fit_clock(np.zeros(3), np.zeros(4))
    with pytest.raises(ClockModelError):
        fit_clock(np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(ClockModelError):
        StreamingClock().to_host(1.0)


def test_fast_hull_paths_give_the_monotone_chain_hull():
    # the batch fit prefilters each block's points and merges block hulls at their common
    # tangent; both must give exactly the hull of all the points (ties and collinear included)
    from imuhip.align.clock import _bridge, _hull_candidates, _lower_hull

    rng = np.random.default_rng(3)
    for trial in range(300):
        sizes = rng.integers(1, 41, size=rng.integers(1, 12))
        cuts = np.r_[0, np.cumsum(sizes)]
        x = np.concatenate(
            [
                np.sort(rng.choice(1000, k, replace=False)) * 0.25 + 250.0 * j
                for j, k in enumerate(sizes)
            ]
        )
        y = (
            rng.normal(size=len(x)) * 1e-3
            if trial % 2
            else np.round(rng.normal(size=len(x)) * 3) * 1e-3
        )
        keep = _hull_candidates(x, y, cuts)
        hulls = []
        for a, b in itertools.pairwise(cuts):
            full = _lower_hull(x[a:b].tolist(), y[a:b].tolist())
            assert _lower_hull(x[a:b][keep[a:b]].tolist(), y[a:b][keep[a:b]].tolist()) == full
            hulls.append(full)
        merged = hulls[0]
        for h in hulls[1:]:
            merged = _bridge(merged, h)
        assert merged == _lower_hull(x.tolist(), y.tolist())


def _bucket_minima_whole(x, y, bucket_s):
    """The whole-array bucket minima (the reference the chunked one must equal)."""
    bid = np.floor(x / bucket_s).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, bid[1:] != bid[:-1]])
    ymin = np.minimum.reduceat(y, starts)
    hit = np.flatnonzero(y == np.repeat(ymin, np.diff(np.r_[starts, len(y)])))
    first = hit[np.r_[True, bid[hit][1:] != bid[hit][:-1]]]
    return bid[first], x[first], y[first]


@pytest.mark.parametrize("chunk", [7, 64, 1 << 16])
def test_bucket_minima_chunked_equals_whole(monkeypatch, chunk):
    """Read a chunk at a time (buckets longer than a chunk, ties, shifts), the minima are
    exactly those of the whole arrays shifted."""
    from imuhip.align import clock

    monkeypatch.setattr(clock, "BUCKET_CHUNK", chunk)
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.choice([0.0, 0.001, 0.01, 0.3], 5000, p=[0.2, 0.6, 0.19, 0.01])) + 12.5
    y = np.round(rng.normal(0.02, 0.005, len(x)), 3)  # ties in a bucket: the first is kept
    less = rng.normal(0.0, 0.001, len(x))
    for got, want in [
        (clock.bucket_minima(x, y, 0.25), _bucket_minima_whole(x, y, 0.25)),
        (clock.bucket_minima(x, y, 0.25, x0=x[0]), _bucket_minima_whole(x - x[0], y, 0.25)),
        (
            clock.bucket_minima(x, y, 0.1, x0=x[0], y_less=less, y0=0.5),
            _bucket_minima_whole(x - x[0], (y - less) - 0.5, 0.1),
        ),
    ]:
        assert len(got[0]) > 50
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
