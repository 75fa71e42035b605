"""Sample-time reconstruction for sensors without timestamps, on SIMULATED links."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imuhip.align.clock import ClockParams
from imuhip.align.conn_events import (
    CI_STEP_S,
    EventParams,
    FoundInterval,
    _concentration,
    arrival_interval,
    connection_interval,
    event_losses,
)
from imuhip.align.reconstruct import (
    ReconstructParams,
    _least_wait,
    _staircase,
    reconstruct_times,
)
from imuhip.align.streams import sensor_streams
from imuhip.decode import register
from imuhip.decode.base import Decoder
from imuhip.errors import ClockModelError
from imuhip.samples import ChannelBlock
from imuhip.session import Notifications, ReadReport, SensorInfo, Session, SessionHeader
from imuhip.sim.ble_timing import LinkSim, simulate_link

SHORT_CI = LinkSim(skew_ppm=-350.0, conn_interval_s=0.0075)
TWO_PER_NOTE = LinkSim(skew_ppm=-200.0, conn_interval_s=0.015, samples_per_note=2)


def _run(cfg: LinkSim, seed: int, duration: float = 600.0, signal: bool = False):
    sim = simulate_link(cfg, duration, seed)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    sig = sim.sample_gyro if signal else None
    rec = reconstruct_times(sim.note_host_t, sim.note_count, cfg.rate_hz, rp, signal=sig)
    return sim, rec, rec.t - sim.sample_true_t


@pytest.fixture(scope="module")
def short_ci():
    return _run(SHORT_CI, 3)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_lost_samples_are_counted_exactly(seed):
    sim, rec, err = _run(SHORT_CI, seed)
    assert sim.lost_samples > 50
    assert rec.lost_samples == sim.lost_samples
    assert np.percentile(np.abs(err), 99) < 0.005


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_sample_times_match_truth(seed):
    _, _, err = _run(SHORT_CI, seed)
    assert np.sqrt(np.mean(err**2)) < 0.002


@pytest.mark.xfail(
    reason="timing only: a notification just before a loss that arrived unusually late "
    "(retransmission, stall) is as consistent with the receive times after the loss as before "
    "it; it is put after (least total latency), one period (10 ms) off when that is wrong; "
    "counts exact (with the signal this seed passes: test_signal_places_ambiguous_losses)",
    strict=False,
)
def test_max_error_after_warm_up(short_ci):
    sim, _, err = short_ci
    warm = sim.sample_true_t > sim.sample_true_t[0] + 10.0
    assert np.abs(err[warm]).max() < 0.005


def test_signal_places_ambiguous_losses(short_ci):
    """The case above, with the sensor's (SIMULATED) gyro as the signal: the misplaced losses
    happen during motion, and the smooth signal puts them right; the timing-only rule fails."""
    sim, rec_t, err_t = short_ci
    _, rec_s, err_s = _run(SHORT_CI, 3, signal=True)
    warm = sim.sample_true_t > sim.sample_true_t[0] + 10.0
    assert np.abs(err_t[warm]).max() > 0.005  # timing only: one period off somewhere
    assert np.abs(err_s[warm]).max() < 0.005
    assert rec_s.lost_samples == sim.lost_samples
    assert rec_s.losses != rec_t.losses


@pytest.mark.parametrize(
    ("cfg", "seed"),
    [(SHORT_CI, 5), (LinkSim(skew_ppm=300.0, conn_interval_s=0.0075), 6), (TWO_PER_NOTE, 3)],
)
def test_signal_max_error_while_moving(cfg, seed):
    """While the body moves the signal places every ambiguous loss (max < 5 ms after warm-up);
    at rest it cannot and the timing-only place is kept (10 ms off there, not asserted)."""
    sim, rec, err = _run(cfg, seed, signal=True)
    _, _, err_t = _run(cfg, seed)
    warm = sim.sample_true_t > sim.sample_true_t[0] + 10.0
    moving = warm & sim.sample_moving
    assert np.abs(err_t[moving]).max() > 0.005
    assert np.abs(err[moving]).max() < 0.005
    assert rec.lost_samples == sim.lost_samples


def test_no_signal_path_is_unchanged(short_ci):
    """Timing only gives what it gave before signals were added (figures of that version), and
    a signal without motion (zeros; rest noise quantised like a gyro) changes nothing."""
    sim, rec, _ = short_ci
    assert len(rec.losses) == 135
    assert sum(q * m for q, m in rec.losses) == 7571063
    assert int(rec.note_last_index.sum()) == 1792366806
    assert rec.t.sum() == pytest.approx(18228422.877144244, rel=1e-13)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=SHORT_CI.stack_floor_s))
    n = len(sim.sample_true_t)
    lsb = np.deg2rad(2000.0) / 32768
    rest = np.round(np.random.default_rng(0).normal(0, np.deg2rad(0.08), (n, 3)) / lsb) * lsb
    for sig in (np.zeros(n), rest):
        got = reconstruct_times(sim.note_host_t, sim.note_count, 100.0, rp, signal=sig)
        assert got.losses == rec.losses
        np.testing.assert_array_equal(got.t, rec.t)


def test_signal_with_nan_is_used_without_error():
    """A decoded signal with non-finite values (a corrupt sample) neither raises nor changes
    the counts; the rest of the signal still places the losses."""
    sim = simulate_link(SHORT_CI, 120.0, 3)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=SHORT_CI.stack_floor_s))
    sig = sim.sample_gyro.copy()
    sig[::997] = np.nan
    sig[5] = np.inf
    rec = reconstruct_times(sim.note_host_t, sim.note_count, 100.0, rp, signal=sig)
    assert rec.lost_samples == sim.lost_samples
    assert np.all(np.isfinite(rec.t)) and np.all(np.diff(rec.t) > 0)


def test_signal_must_match_the_samples():
    with pytest.raises(ClockModelError, match="one row per sample"):
        reconstruct_times(np.arange(3.0), np.ones(3, int), 100.0, signal=np.zeros(4))


def test_long_connection_interval():
    """CI 30 ms = 3 periods (BlueZ's default range): the floor of the receive times jumps by
    about a period at every connection-event phase wrap; the event clock tells the wraps from
    losses (before it: 203 of 205 lost samples found, RMS 3.6 ms)."""
    sim, rec, err = _run(LinkSim(skew_ppm=250.0, conn_interval_s=0.030), 4, signal=True)
    assert rec.lost_samples == sim.lost_samples
    assert np.sqrt(np.mean(err**2)) < 0.002


@pytest.mark.parametrize(
    ("ci_ms", "skew_ppm", "seed"),
    [
        (30.0, -350.0, 3),
        (30.0, 250.0, 5),
        (15.0, -350.0, 4),
        (15.0, 250.0, 3),
        (45.0, 250.0, 4),
        (45.0, -350.0, 3),
        (50.0, -350.0, 5),
        (50.0, 250.0, 3),
    ],
)
def test_whole_and_half_period_intervals(ci_ms, skew_ppm, seed):
    """Connection intervals of a whole or half number of sample periods, the sensor fast and
    slow: exact loss counts and sample times within 2 ms RMS, timing only."""
    cfg = LinkSim(skew_ppm=skew_ppm, conn_interval_s=ci_ms / 1000.0)
    sim, rec, err = _run(cfg, seed)
    assert rec.lost_samples == sim.lost_samples
    assert np.sqrt(np.mean(err**2)) < 0.002


def test_an_hour_with_hidden_wraps():
    """An hour at 30 ms with the sensor fast: where a wrap (one sample more) meets a lost
    sample the two cancel in the counts; the comb bridges such gaps and follows the drift."""
    cfg = LinkSim(skew_ppm=250.0, conn_interval_s=0.030)
    sim, rec, err = _run(cfg, 7, duration=3600.0)
    assert rec.lost_samples == sim.lost_samples
    assert np.sqrt(np.mean(err**2)) < 0.002


@pytest.mark.parametrize("seed", [2, 4])
def test_slow_sensor_with_a_reconnect(seed):
    """The sensor slow (its wraps remove a notification, like a loss) and two segments of
    about five minutes (the bench's shin link at 30 ms): exact counts, RMS within 2 ms."""
    cfg = LinkSim(
        skew_ppm=-350.0,
        drift_ppm=15.0,
        conn_interval_s=0.030,
        reconnect_at_s=280.0,
        reconnect_gap_s=4.0,
    )
    sim, rec, err = _run(cfg, seed)
    assert len(rec.segment_starts) == 2
    assert rec.lost_samples == sim.lost_samples
    assert np.sqrt(np.mean(err**2)) < 0.002


def test_arrival_interval_is_reported_only_where_told_apart_from_the_notification_period():
    p = EventParams()
    rng = np.random.default_rng(3)
    emitted = np.cumsum(np.full(3000, 0.01 * (1 + 120e-6)))  # 100 Hz, one sample each
    # on the next connection event, a little host jitter: 7.5 ms is under the notification
    # period (notifications on changing events), 30 and 50 ms over it (several per event)
    for ci in (0.0075, 0.030, 0.050):
        h = np.ceil(emitted / ci) * ci + 0.003 + rng.uniform(0, 2e-4, emitted.size)
        assert arrival_interval(h, p) == pytest.approx(ci)
    # one notification every 100 ms, each on an event of its own: the receive times show the
    # notification period, which says nothing of the interval (imuhip demo's bundles)
    h = 0.1 * np.arange(600) + rng.uniform(0, 2e-4, 600)
    assert connection_interval(h, p) == pytest.approx(0.1)
    assert arrival_interval(h, p) is None


def test_connection_interval_is_looked_for_once_and_passed_on():
    """A one-segment reconstruction gives the interval it looked for (the callers report it
    with :func:`arrival_interval`); what is passed on is used as it is, and gives what looking
    again would; with several segments nothing is passed on (SIMULATED 10 min, 30 ms)."""
    p = EventParams()
    sim = simulate_link(LinkSim(skew_ppm=250.0, conn_interval_s=0.03), 600.0, 4)
    h, n = sim.note_host_t, sim.note_count
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=0.003))
    rec = reconstruct_times(h, n, 100.0, rp)
    assert rec.interval == FoundInterval(connection_interval(h, p))
    assert rec.interval.s == pytest.approx(0.03)
    assert arrival_interval(h, p, rec.interval) == arrival_interval(h, p) == rec.interval.s
    by_events = event_losses(h, n, 0.01, 1.0, p)
    passed = event_losses(h, n, 0.01, 1.0, p, rec.interval)
    assert by_events is not None and passed is not None
    np.testing.assert_array_equal(passed[0], by_events[0])
    assert passed[1] == by_events[1]
    # told there is no interval, neither looks again
    assert event_losses(h, n, 0.01, 1.0, p, FoundInterval(None)) is None
    assert arrival_interval(h, p, FoundInterval(None)) is None
    # a restart (5 s of silence): the segments' intervals are their own
    h2 = np.where(np.arange(len(h)) >= len(h) // 2, h + 5.0, h)
    assert reconstruct_times(h2, n, 100.0, rp).interval is None


def test_concentration_is_the_complex_exponentials():
    """The cosine and sine of the real phase (in float32, of the fraction of a turn), halved
    intervals by the double-angle formulas, give ``|mean(exp(2πi (w - a) / c))|`` to within
    float32's rounding, for any consecutive steps."""
    rng = np.random.default_rng(5)
    for k0, k1 in ((6, 80), (1, 1), (3, 4), (40, 41), (1, 99)):
        steps = np.arange(k0, k1 + 1)
        cands = CI_STEP_S * steps
        for _ in range(3):
            a = float(rng.uniform(0, 4000))
            w = a + np.sort(rng.uniform(0, 5.0, int(rng.integers(20, 700))))
            ph = np.exp(2j * np.pi * ((w - a)[:, None] / cands[None, :]))
            got = _concentration(w - a, steps)
            np.testing.assert_allclose(got, np.abs(ph.mean(axis=0)), rtol=0, atol=1e-6)


def test_whole_period_wraps_of_a_clean_fast_link_are_taken_off():
    """30 ms at 100 Hz: a wrap moves the floor of the receive times by a whole period. Down (a
    fast sensor) it can only be a wrap where no loss was found; taking the least wait off
    across each tread keeps the clock on the line (SIMULATED 10 min, no loss: p99 10.7 ms
    before, when the clock followed the treads before each wrap)."""
    cfg = LinkSim(
        skew_ppm=80.0, drift_ppm=0.0, conn_interval_s=0.03, conn_skew_ppm=0.0, loss_prob=0.0,
        retransmit_prob=0.0, outlier_prob=0.0, stall_rate_hz=0.0,
    )  # fmt: skip
    sim = simulate_link(cfg, 600.0, 2)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    rec = reconstruct_times(sim.note_host_t, sim.note_count, 100.0, rp)
    assert rec.lost_samples == sim.lost_samples == 0
    err = rec.t - sim.sample_true_t
    settled = sim.sample_true_t > sim.sample_true_t[0] + 10.0
    assert np.percentile(np.abs(err[settled]), 99) < 0.0015


def test_event_clock_finds_the_interval_and_steps_aside():
    """The interval is found from the receive times alone; the event count is used only where
    the wraps move the floor by half a period or more and form a clear comb (7.5 ms at 100 Hz:
    quarter periods; -30 ppm against the controller's +20 ppm: no wrap in 10 min), and where it
    is not used the result is the receive-time method's, unchanged."""
    p = EventParams()
    for ci, skew, used in ((0.030, 250.0, True), (0.0075, -350.0, False), (0.030, -30.0, False)):
        sim = simulate_link(LinkSim(skew_ppm=skew, conn_interval_s=ci), 600.0, 4)
        h, n = sim.note_host_t, sim.note_count
        assert connection_interval(h, p) == pytest.approx(ci)
        assert (event_losses(h, n, 0.01, 1.0, p) is not None) == used
        if not used:
            rp = ReconstructParams(clock=ClockParams(latency_floor_s=0.003))
            off = ReconstructParams(clock=rp.clock, events=EventParams(enabled=False))
            a = reconstruct_times(h, n, 100.0, rp)
            b = reconstruct_times(h, n, 100.0, off)
            assert a.losses == b.losses
            np.testing.assert_array_equal(a.t, b.t)


def _thigh_shin_p99(loss: float, seed: int) -> tuple[list[tuple[int, int]], float]:
    """(simulated, found) lost samples of a fast (+80 ppm) and a slow (-80 ppm) sensor at
    15 ms connection intervals on one moving leg (SIMULATED, 5 min), and the p99 of the
    thigh-vs-shin error of the rebuilt times, s."""
    errs, counts = [], []
    for k, skew in enumerate((80.0, -80.0)):
        cfg = LinkSim(skew_ppm=skew, conn_interval_s=0.015, loss_prob=loss)
        sim = simulate_link(cfg, 300.0, seed + k, motion_seed=seed)
        rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
        rec = reconstruct_times(sim.note_host_t, sim.note_count, 100.0, rp, sim.sample_gyro)
        counts.append((sim.lost_samples, rec.lost_samples))
        errs.append((sim.sample_true_t, rec.t - sim.sample_true_t))
    grid = np.arange(errs[0][0][0] + 5.0, errs[0][0][-1] - 2.0, 0.01)
    rel = np.interp(grid, *errs[0]) - np.interp(grid, *errs[1])
    return counts, float(np.percentile(np.abs(rel), 99))


@pytest.mark.parametrize("loss", [0.0, 0.002])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_skew_staircase(seed, loss):
    """Small skews at 15 ms: the floor of the receive times is a staircase of half-period
    steps (one a minute or so), not a line; the steps are neither losses nor a zero skew, for
    a slow sensor (steps up) and a fast one (steps down), with and without losses."""
    counts, p99 = _thigh_shin_p99(loss, seed)
    for simulated, found in counts:
        assert found == simulated
    assert p99 < 0.005


def test_small_skew_staircase_sign():
    """A slow sensor's floor steps up by half a period, a fast one's down; the skew comes out
    with the right sign though the per-bucket changes are mostly zero."""
    for skew in (80.0, -80.0):
        cfg = LinkSim(skew_ppm=skew, drift_ppm=0.0, conn_interval_s=0.015, loss_prob=0.002)
        sim = simulate_link(cfg, 300.0, 4)
        c = sim.sample_index  # true indices (one sample per notification)
        s = c * 0.01
        k, frac = _staircase(s, sim.note_host_t - s, 0.25, 0.01, 1e-3)
        assert np.sign(k) == -np.sign(skew)  # offset slope: positive for a slow sensor
        assert frac == (0.25 if skew > 0 else 0.75)


@pytest.mark.parametrize("skew", [60e-6, -60e-6])
def test_least_wait_turns_the_staircase_into_the_line(skew):
    """Synthetic receive times at 15 ms connection events (no jitter): what is left after the
    least wait is taken off lies on the sensor's line, slow (floor steps up) or fast (down)."""
    period, ci = 0.01, 0.015
    k = np.arange(30_000)
    sent = 0.0031 + k * period * (1.0 + skew)  # true sample times, host clock
    host = np.ceil(sent / ci) * ci + 0.002
    x = k * period
    y = host - x
    wait = _least_wait(x, y, 0.25, period)
    line = sent - x  # the offset the clock fit should find (plus the 2 ms latency)
    floor = (y - wait - line)[100:-100]
    assert floor.min() > 0.002 - 1e-4
    # the corrected floor per second lies on the line (to the bucket grid of the wraps)
    sec = floor[: len(floor) // 100 * 100].reshape(-1, 100).min(axis=1)
    assert np.abs(sec - 0.002).max() < 0.0002
    raw = (y - line)[100:-100][: len(floor) // 100 * 100].reshape(-1, 100).min(axis=1)
    assert np.abs(raw - 0.002).max() > 0.004  # without it: up to a wrap (5 ms) above


def test_reconnect_starts_a_new_segment():
    cfg = LinkSim(skew_ppm=420.0, conn_interval_s=0.0075, reconnect_at_s=250.0, loss_prob=0.0)
    sim, rec, err = _run(cfg, 8, 500.0)
    assert rec.segment_starts == (0, sim.segment_start_note)
    assert rec.lost_samples == 0
    assert np.sqrt(np.mean(err**2)) < 0.002


def test_no_rate_is_an_error():
    with pytest.raises(ClockModelError, match="rate"):
        reconstruct_times(np.zeros(3), np.ones(3, int), 0.0)


# ---------------------------------------------------------------- through sensor_streams


@register
class _HostStampedTestDecoder(Decoder):
    """Test profile: payload = sample count (uint8); values zero; no timestamps."""

    profile = "test-host-stamped"
    notify_uuids = ("0000",)

    def feed(self, data, t_host, channel=0):
        n = data[0]
        t = np.full(n, t_host)
        z = np.zeros((n, 3))
        return [ChannelBlock("acc", t, z + [0, 0, 9.81], False), ChannelBlock("gyr", t, z, False)]


@register
class _TimestampedTestDecoder(Decoder):
    """Test profile: payload = (sensor time of last sample float64, count uint8)."""

    profile = "test-timestamped"
    notify_uuids = ("0001",)

    def feed(self, data, t_host, channel=0):
        t_last, n = struct.unpack("<dB", data)
        t = t_last - np.arange(n)[::-1] / float(self.config["rate_hz"])
        z = np.zeros((n, 3))
        return [ChannelBlock("acc", t, z + [0, 0, 9.81], True), ChannelBlock("gyr", t, z, True)]


def test_sensor_streams_puts_both_kinds_on_the_host_clock():
    thigh_cfg = LinkSim(skew_ppm=300.0, conn_interval_s=0.0075)
    shin_cfg = LinkSim(
        skew_ppm=-200.0,
        conn_interval_s=0.015,
        samples_per_note=2,
        reconnect_at_s=100.0,
        reset_to_s=0.0,
    )
    th = simulate_link(thigh_cfg, 200.0, 21)
    sh = simulate_link(shin_cfg, 200.0, 22)
    notes = {
        "thigh": Notifications.from_list(th.note_host_t, [bytes([c]) for c in th.note_count]),
        "shin": Notifications.from_list(
            sh.note_host_t,
            [
                struct.pack("<dB", s, c)
                for s, c in zip(sh.note_sensor_t, sh.note_count, strict=True)
            ],
        ),
    }
    header = SessionHeader(
        "left",
        "prone",
        (
            SensorInfo("thigh", "test-host-stamped", rate_hz=100.0),
            SensorInfo("shin", "test-timestamped", rate_hz=100.0),
        ),
    )
    session = Session(header, {}, notes, (), ReadReport(0, 0))
    streams = sensor_streams(session)
    floor = thigh_cfg.stack_floor_s
    t_thigh = streams["thigh"].samples.t
    t_shin = streams["shin"].samples.t
    assert not streams["thigh"].sensor_clock and not streams["shin"].sensor_clock
    assert streams["thigh"].timing == "reconstructed"
    assert streams["shin"].timing == "sensor-clock"
    assert streams["thigh"].lost_samples == th.lost_samples
    assert len(streams["shin"].segment_starts_s) == 1
    # plumbing check (accuracy is tested above); 200 s is shorter than one fit window
    assert np.sqrt(np.mean((t_thigh - floor - th.sample_true_t) ** 2)) < 0.005
    assert np.sqrt(np.mean((t_shin - floor - sh.sample_true_t) ** 2)) < 0.003
    # the restart is a gap in the shin's sample times that ends about where its segment starts
    seg = streams["shin"].segment_starts_s[0]
    gaps = np.flatnonzero(np.diff(t_shin) > 1.5 / 100.0)
    before = gaps[t_shin[gaps] < seg]
    assert len(before) and abs(t_shin[before[-1] + 1] - seg) < 0.5


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    n=st.integers(1, 1500),
    gaps=st.lists(st.tuples(st.floats(0, 1), st.floats(0.02, 3.0)), max_size=5),
    seed=st.integers(0, 2**31),
)
def test_any_receive_pattern_gives_ordered_times_without_raising(n, gaps, seed):
    """Random bursts, silences and short segments: never raises, one time per sample, in order."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, n).astype(np.int64)
    h = np.cumsum(counts) * 0.01 + rng.exponential(0.005, n)
    for where, length in gaps:
        h[int(where * (n - 1)) :] += length
    h = np.maximum.accumulate(h)
    rec = reconstruct_times(h, counts, 100.0, ReconstructParams())
    assert len(rec.t) == counts.sum()
    assert np.all(np.diff(rec.t) > 0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    n=st.integers(60, 3000),
    ci_steps=st.sampled_from([6, 12, 24, 36, 40]),
    drop=st.floats(0.0, 0.3),
    gaps=st.lists(st.tuples(st.floats(0, 1), st.floats(0.02, 3.0)), max_size=3),
    seed=st.integers(0, 2**31),
)
def test_event_grid_patterns_never_raise(n, ci_steps, drop, gaps, seed):
    """Arrivals on a connection-event grid with random counts, dropped events and silences (the
    event-clock path): never raises, one time per sample, in order."""
    rng = np.random.default_rng(seed)
    ci = 1.25e-3 * ci_steps
    ev = np.cumsum(1 + (rng.random(n) < drop) * rng.integers(1, 4, n))
    counts = rng.integers(1, 4, n).astype(np.int64)
    h = ev * ci + rng.exponential(0.0005, n)
    for where, length in gaps:
        h[int(where * (n - 1)) :] += length
    h = np.maximum.accumulate(h)
    rec = reconstruct_times(h, counts, 100.0, ReconstructParams())
    assert len(rec.t) == counts.sum()
    assert np.all(np.diff(rec.t) > 0)


def test_a_heavily_lossy_link_is_counted_in_bounded_time_and_memory():
    """3 % of the notifications lost on a 15 ms link (SIMULATED 10 min, one notification per
    event): the losses' steps are too dense for the wrap-chain search, whose work grows with
    their square (before: 10 s and 156 MiB for these 10 minutes); it steps aside and the count
    stays within 1 % of the truth."""
    import tracemalloc

    cfg = LinkSim(skew_ppm=-350.0, conn_interval_s=0.015, loss_prob=0.03)
    sim = simulate_link(cfg, 600.0, 2)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    tracemalloc.start()
    try:
        rec = reconstruct_times(sim.note_host_t, sim.note_count, cfg.rate_hz, rp)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20
    assert sim.lost_samples > 3000
    assert abs(rec.lost_samples - sim.lost_samples) <= 0.01 * sim.lost_samples


def _fine_clock(sim) -> np.ndarray:
    """The link's receive times as a host with a fine clock stamps them: the notifications
    the simulation gives one receive time (several in one connection event) 20 µs apart."""
    h = sim.note_host_t
    i = np.arange(len(h))
    first = np.maximum.accumulate(np.where(np.r_[True, np.diff(h) > 0], i, 0))
    return h + (i - first) * 20e-6


@pytest.mark.parametrize(
    ("ci", "skew", "seed", "most_wrong"),
    [
        (0.015, 350.0, 1, 0.01),  # a wrap chain of every other wrap, before: 21 % wrong
        (0.015, -350.0, 3, 0.01),  # a chain half a spacing off in one event parity
        (0.015, 120.0, 2, 0.01),  # too few wraps for a chain: the receive-time method before
        (0.045, 350.0, 1, 0.01),
        (0.045, -60.0, 1, 0.01),
        (0.015, -30.0, 1, 0.03),  # the rates cross now and then: in doubt, steps aside
        (0.030, 350.0, 2, 0.015),  # whole periods, fast: before, a comb of every other wrap
        (0.030, 200.0, 2, 0.015),
    ],
)
def test_fine_clock_links_are_counted_on_the_events(ci, skew, seed, most_wrong):
    """15 and 45 ms at 100 Hz (1.5 and 4.5 notifications per event: the half-period regimes)
    and 30 ms with a fast sensor (3 per event: every up-step a wrap), stamped by a fine host
    clock, in spans of an offline aligner's round (18 min) from several starts (both event
    parities): each notification's sample index is right but for a few (a loss placed a
    notification early or late within its event: under 1 %, 1.5 % with 3 per event, or where
    the rates cross and the evidence is thin, 3 %) and the losses counted within 5
    (SIMULATED, 0.3 % lost)."""
    cfg = LinkSim(skew_ppm=skew, drift_ppm=15.0, conn_interval_s=ci, loss_prob=0.003)
    sim = simulate_link(cfg, 3000.0, seed=seed)
    h = _fine_clock(sim)
    true_last = sim.sample_index[np.cumsum(sim.note_count) - 1]
    used = 0
    for start in np.arange(0.0, 1900.0, 313.0):
        m = (h - h[0] >= start) & (h - h[0] < start + 1080.0)
        n = np.ones(int(m.sum()), np.int64)
        found = event_losses(h[m], n, 0.01, 1.0, EventParams())
        if found is None:
            continue
        used += 1
        off = found[0] - true_last[m]
        wrong = np.count_nonzero(off != np.bincount(off - off.min()).argmax() + off.min())
        assert wrong <= most_wrong * len(off), (start, wrong)
        true_lost = int(true_last[m][-1] - true_last[m][0]) - (len(off) - 1)
        assert abs(sum(k for _, k in found[1]) - true_lost) <= 5, start
    assert used >= 4  # stepping aside only where in doubt


@pytest.mark.parametrize("window", [(100.0, 400.0), (0.0, 280.0), (283.0, 290.0), (700.0, 800.0)])
def test_times_of_some_notifications_are_those_of_the_whole(window):
    """``times_in``: the sample times of the notifications received in the window only, the
    same numbers as the whole reconstruction's (losses and clock found on all), across a
    reconnect too; an empty window (after the data) gives none."""
    cfg = LinkSim(skew_ppm=-350.0, conn_interval_s=0.030, reconnect_at_s=280.0)
    sim = simulate_link(cfg, 600.0, 2)
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    h, n = sim.note_host_t, sim.note_count
    whole = reconstruct_times(h, n, cfg.rate_hz, rp)
    part = reconstruct_times(h, n, cfg.rate_hz, rp, times_in=window)
    notes = np.flatnonzero((h >= window[0]) & (h < window[1]))
    sample_note = np.repeat(np.arange(len(h)), n)
    want = whole.t[np.isin(sample_note, notes)]
    assert len(part.t) == len(want) and np.array_equal(part.t, want)
    assert part.first_sample == (int(n[: notes[0]].sum()) if len(notes) else int(n.sum()))
    assert part.lost_samples == whole.lost_samples and part.losses == whole.losses
    assert np.array_equal(part.note_last_index, whole.note_last_index)
