"""The windowed offline aligner: rounds of ``history_s + window_s + context_s`` give the whole
fit's samples (count, values; times within the fit noise), nothing twice or skipped at
boundaries, counters merged once, a one-round session byte-identical, memory bounded per
round, and the clock fit's whole trailing window seen by every round."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from imuhip.align.offline import LATE_REASON, OfflineAligner
from imuhip.decode import witmotion
from imuhip.decode.profile import get_profile
from imuhip.samples import ImuSamples
from imuhip.session import NotificationBlock, Notifications, SampleBlock, SensorInfo, SessionHeader
from imuhip.sim.ble_timing import LinkSim, SimStream, simulate_link

RATE = 100.0
SHIN = LinkSim(skew_ppm=-350.0, drift_ppm=15.0, conn_interval_s=0.0075, loss_prob=0.004)


def _header(*roles: str) -> SessionHeader:
    config = get_profile(witmotion.PROFILE).decoder_config(RATE, {})
    sensors = tuple(SensorInfo(r, witmotion.PROFILE, rate_hz=RATE, config=config) for r in roles)
    return SessionHeader("left", "prone", sensors)


def _notes(sim: SimStream) -> Notifications:
    acc = np.tile([0.0, 0.0, 9.81], (len(sim.sample_true_t), 1))
    payloads = witmotion.encode_notifications(sim.sample_true_t, acc, sim.sample_gyro, RATE)
    return Notifications.from_list(sim.note_host_t, payloads)


def _pieces(notes: Notifications, step: int):
    for a in range(0, len(notes), step):
        b = min(a + step, len(notes))
        off = notes.offsets[a : b + 1]
        yield Notifications(
            notes.t[a:b], notes.channel[a:b], off - off[0], notes.payload[off[0] : off[-1]]
        )


def _run(notes: Notifications, step: int = 100, **kw) -> tuple[OfflineAligner, ImuSamples, int]:
    """Feed ``notes`` in blocks of ``step``, taking after each; the samples and the number of
    pieces taken before flush."""
    al = OfflineAligner(_header("shin"), **kw)
    got, early = [], 0
    for part in _pieces(notes, step):
        al.notifications(NotificationBlock("shin", part))
        s = al.take("shin")
        if s is not None:
            got.append(s)
            early += 1
    al.flush()
    while (s := al.take("shin")) is not None:
        got.append(s)
    return al, ImuSamples.concatenate(got), early


@pytest.fixture(scope="module")
def link() -> SimStream:
    return simulate_link(SHIN, 300.0, seed=3)


@pytest.fixture(scope="module")
def whole(link):
    return _run(_notes(link), window_s=None)


def test_rounds_give_the_whole_fits_samples(link, whole):
    al_w, s_w, early_w = whole
    al, s, early = _run(_notes(link), window_s=60.0, context_s=15.0)  # rounds of 90 s
    assert early_w == 0 and early >= 3  # released while being fed
    assert len(s) == len(s_w) == len(link.sample_true_t)
    assert np.array_equal(s.gyr, s_w.gyr) and np.array_equal(s.acc, s_w.acc)  # none twice
    assert np.all(np.diff(s.t) >= 0.5 / RATE)
    offset = np.median(s_w.t - link.sample_true_t)  # the stack latency both leave in
    err = np.abs(s.t - link.sample_true_t - offset)
    err_w = np.abs(s_w.t - link.sample_true_t - offset)
    assert np.percentile(err, 99) < np.percentile(err_w, 99) + 0.5e-3  # SIMULATED
    assert np.percentile(np.abs(s.t - s_w.t), 99) < 1e-3  # short rounds: 0.5 ms measured
    st, st_w = al.streams()["shin"], al_w.streams()["shin"]
    assert st.lost_samples == st_w.lost_samples == link.lost_samples > 0
    assert st.stats.notifications == st_w.stats.notifications == len(link.note_host_t)
    assert st.stats.samples == st_w.stats.samples
    assert st.timing == st_w.timing == "reconstructed"
    assert st.received_rate_hz == pytest.approx(st_w.received_rate_hz, rel=1e-6)
    assert al.health()["shin"].samples == len(s)


def test_a_loss_at_a_round_boundary_is_counted_once():
    sim = simulate_link(
        LinkSim(skew_ppm=200.0, conn_interval_s=0.0075, loss_prob=0.0, stall_rate_hz=0.0),
        200.0,
        seed=5,
    )
    notes = _notes(sim)
    # the first round decides receive times before start + window + context = start + 75 s
    # (once 150 s have arrived)
    cut = sim.note_host_t[0] + 75.0
    k = int(np.searchsorted(notes.t, cut))
    keep = np.ones(len(notes), bool)
    keep[k - 2 : k + 3] = False  # five notifications (one sample each) lost across the cut
    gone = Notifications.from_list(notes.t[keep], [notes[i] for i in np.flatnonzero(keep)])
    al_w, s_w, _ = _run(gone, window_s=None)
    al, s, _ = _run(gone, window_s=60.0, context_s=15.0)
    assert al_w.streams()["shin"].lost_samples == 5
    assert al.streams()["shin"].lost_samples == 5
    assert len(s) == len(s_w) and np.array_equal(s.gyr, s_w.gyr)
    step = np.diff(s.t)[k - 3]  # the step over the loss: six periods
    assert step == pytest.approx(6 / RATE, abs=2e-3)


def test_a_session_in_one_round_is_the_whole_fit_byte_for_byte(link, whole):
    _, s_w, _ = whole
    _, s, early = _run(_notes(link), window_s=295.0, context_s=5.0)  # 300 s < 295 + 2 * 5
    assert early == 0
    assert s.t.tobytes() == s_w.t.tobytes() and s.gyr.tobytes() == s_w.gyr.tobytes()


def test_a_late_block_is_counted_as_dropped(link):
    notes = _notes(link)
    al = OfflineAligner(_header("shin"), window_s=20.0, context_s=5.0)
    parts = list(_pieces(notes, 100))
    for part in parts[:60]:
        al.notifications(NotificationBlock("shin", part))
    al.notifications(NotificationBlock("shin", parts[2]))  # decided long ago
    al.flush()
    st = al.streams()["shin"]
    assert st.stats.reasons[LATE_REASON] == 100
    assert al.health()["shin"].dropped == 100


def test_a_silent_sensor_and_stored_samples_are_released_at_flush(link):
    notes = _notes(link)
    header = SessionHeader(
        "left",
        "prone",
        (*_header("shin", "thigh").sensors, SensorInfo("pelvis", rate_hz=RATE)),
    )
    al = OfflineAligner(header, window_s=20.0, context_s=5.0)
    first = next(_pieces(notes, 200))
    al.notifications(NotificationBlock("thigh", first))  # two seconds, then silence
    t = np.arange(0, 100.0, 0.01)
    stored = ImuSamples(t, np.zeros((len(t), 3)), np.ones((len(t), 3)))
    for a in range(0, len(t), 100):
        al.samples(SampleBlock("pelvis", stored.slice(a, a + 100)))
    for part in _pieces(notes, 100):
        al.notifications(NotificationBlock("shin", part))
    early = al.take("pelvis")
    assert al.take("thigh") is None
    al.flush()
    thigh = al.take("thigh")
    rest = al.take("pelvis")
    assert thigh is not None and len(thigh) == len(first)
    assert early is not None and rest is not None
    got = np.concatenate([early.t, rest.t])
    assert got.tobytes() == t.tobytes()
    assert al.streams()["pelvis"].samples.t.tobytes() == t.tobytes()


def _peak(seconds: float) -> tuple[int, int]:
    notes = _notes(simulate_link(SHIN, seconds, seed=8))
    al = OfflineAligner(
        _header("shin"), keep_samples=False, window_s=10.0, context_s=2.0, history_s=2.0
    )
    parts = list(_pieces(notes, 100))
    n = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for part in parts:
            al.notifications(NotificationBlock("shin", part))
            s = al.take("shin")
            n += 0 if s is None else len(s)
        al.flush()
        n += len(al.take("shin") or [])
        return tracemalloc.get_traced_memory()[1], n
    finally:
        tracemalloc.stop()


def test_the_aligners_memory_does_not_grow_with_the_session():
    small, n_small = _peak(60.0)
    big, n_big = _peak(600.0)
    assert n_big > 9 * n_small
    assert big < small + 512 * 1024  # ten times the data, a bounded round


def test_rounds_see_the_clock_fits_whole_trailing_window():
    """With less past than the clock fit's trailing window before a round, the fits at the
    start of the round's window see less than in the whole fit and their rate errs: on a
    drifting SIMULATED link of 30 minutes the rounds' sample times ran up to a millisecond off
    the whole fit's. With the default ``history_s`` (the clock's window) they follow it."""
    link = simulate_link(
        LinkSim(
            skew_ppm=-350.0, drift_ppm=15.0, conn_interval_s=0.0075, loss_prob=0.003,
            reconnect_at_s=720.0, reconnect_gap_s=4.0,
        ),
        1800.0,
        seed=4,
    )  # fmt: skip
    notes = _notes(link)
    _, s_w, _ = _run(notes, window_s=None)
    _, s, early = _run(notes)  # the defaults
    _, s_short, _ = _run(notes, window_s=300.0, history_s=120.0)
    assert early >= 2 and len(s) == len(s_w) == len(s_short)
    off = np.abs(s.t - s_w.t)
    off_short = np.abs(s_short.t - s_w.t)
    assert np.percentile(off, 99) < 0.3e-3
    assert np.percentile(off_short, 99) > 0.6e-3  # what too little history does


def test_health_before_flush_counts_what_the_rounds_decided(link):
    """A long session's counters move as rounds are decided (a view of `replay --aligner
    offline` is not stuck at zero for minutes) and end where the streams' do."""
    notes = _notes(link)
    al = OfflineAligner(_header("shin"), window_s=60.0, context_s=15.0)
    h0 = al.health()["shin"]
    assert (h0.timing, h0.notifications, h0.samples, h0.lost_samples) == ("", 0, 0, 0)
    taken, seen = 0, []
    for part in _pieces(notes, 100):
        al.notifications(NotificationBlock("shin", part))
        s = al.take("shin")
        taken += 0 if s is None else len(s)
        seen.append(al.health()["shin"])
    mid = seen[len(seen) // 2]
    assert mid.timing == "reconstructed"
    assert 0 < mid.samples < len(link.sample_true_t)
    assert [h.notifications for h in seen] == list(np.cumsum([len(p) for p in _pieces(notes, 100)]))
    assert seen[-1].samples == taken  # what was released before flush, no more
    lost = [h.lost_samples for h in seen]
    assert lost == sorted(lost) and lost[-1] > 0  # this link loses notifications
    al.flush()
    end = al.health()["shin"]
    assert end.notifications == len(notes) and end.samples == len(link.sample_true_t)
    assert end.lost_samples >= lost[-1] and end.timing == "reconstructed"


def test_health_before_flush_of_a_sensor_fitted_whole_counts_its_notifications(link):
    notes = _notes(link)
    al = OfflineAligner(_header("shin"), window_s=None)
    al.notifications(NotificationBlock("shin", notes))
    h = al.health()["shin"]
    assert (h.notifications, h.samples, h.timing) == (len(notes), 0, "")
    al.flush()
    assert al.health()["shin"].samples == len(link.sample_true_t)
