"""The session pipeline fed as data arrive (causal aligner) against analyze (simulated)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imuhip.align.host_clock import LOSS_WARM_UP_S, HostStampedClock
from imuhip.align.streams import sensor_streams
from imuhip.files.session_file import read_session
from imuhip.live.replay import replay
from imuhip.pipeline import SessionPipeline, analyze_session
from imuhip.session import Notification, SampleBlock, session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def _session(tmp_path, name="s", **kw):
    cfg = SimConfig(**{"duration_s": 90.0, "content": "mixed", "marks": True, **kw})
    sim = simulate(cfg)
    path = tmp_path / f"{name}.imuhip"
    write_simulation(sim, path)
    return sim, read_session(path)


def _live(session, step_s=0.1, **kw):
    lp = SessionPipeline(session.header, **kw)
    replay(session_inputs(session), lp, step_s=step_s)
    lp.finish()
    return lp


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    return _session(tmp_path_factory.mktemp("live"), seed=0)


@pytest.fixture(scope="module")
def witmotion(tmp_path_factory):
    return _session(tmp_path_factory.mktemp("live"), seed=0, profile="witmotion-ble5")


def test_stored_samples_live_equals_batch_exactly(sampled):
    sim, s = sampled
    batch = analyze_session(s)
    for step in (0.1, 0.73):  # the input chunking does not matter
        lp = _live(s, step_s=step)
        assert lp.state.status == "ready"
        assert lp.calibration.phase_times == batch.calibration.phase_times
        assert lp.result.reps == batch.exercise.reps
        assert lp.result.holds == batch.exercise.holds
        assert lp.result.partial_reps == batch.exercise.partial_reps
        assert lp.summary() == batch.exercise.summary()
    assert len(batch.exercise.reps) == len(sim.truth.events["reps"]) == 3
    assert len(batch.exercise.holds) == 1
    st = lp.state
    assert st.reps == 3 and st.holds == 1 and st.hold_start_s is None
    assert st.best_rep_deg == pytest.approx(batch.exercise.summary()["max_rotation_deg"], abs=0.01)
    assert st.total_hold_s == pytest.approx(batch.exercise.summary()["total_hold_s"], abs=0.01)


def test_witmotion_notifications_live_matches_batch(witmotion):
    sim, s = witmotion
    batch = analyze_session(s).exercise
    lp = _live(s)
    live = lp.result
    assert len(live.reps) == len(batch.reps) == len(sim.truth.events["reps"])
    for a, b in zip(live.reps, batch.reps, strict=True):
        assert a.peak_deg == pytest.approx(b.peak_deg, abs=0.5)
        assert a.end_s == pytest.approx(b.end_s, abs=0.1)
    assert len(live.holds) == len(batch.holds) == 1
    for a, b in zip(live.holds, batch.holds, strict=True):
        assert a.start_s == pytest.approx(b.start_s, abs=0.1)
        assert a.end_s == pytest.approx(b.end_s, abs=0.1)
        assert a.duration_s == pytest.approx(b.duration_s, abs=0.1)
    assert lp.state.sensors["thigh"].timing == "reconstructed"
    assert lp.state.sensors["thigh"].lost_samples == 0


def test_witmotion_live_sample_times_align_sensors(tmp_path):
    """Causal times of host-stamped samples: thigh-to-shin alignment within 5 ms after the
    first second (SIMULATED link: 15 ms connection interval, retransmissions)."""
    sim, s = _session(tmp_path, seed=2, duration_s=60.0, content="reps", profile="witmotion-ble5")
    lp = _live(s)
    batch = sensor_streams(s)
    err = {}
    for role in ("thigh", "shin"):
        t_live, t_true = lp.aligner.streams()[role].samples.t, sim.samples[role].t
        assert len(t_live) == len(t_true) == len(batch[role].samples.t)
        err[role] = (t_true, t_live - t_true)
        # live and batch estimates agree to a few ms after the warm-up
        late = t_true > t_true[0] + 10
        assert np.max(np.abs(t_live - batch[role].samples.t)[late]) < 0.006
    g = np.arange(1.0, 59.0, 0.01)
    rel = np.interp(g, *err["thigh"]) - np.interp(g, *err["shin"])
    assert np.max(np.abs(rel)) < 0.005


def test_witmotion_live_counts_and_places_losses_as_batch(tmp_path):
    """A SIMULATED link losing notifications (0.3 % each, runs of 1-3, 15 ms connection
    interval with retransmissions): live holds each late run back until it is decided, so it
    counts exactly the samples lost, as batch does, and puts the samples after a loss at their
    true index (before, live missed most losses while the other sensor had a late run of its
    own, and thigh and shin drifted up to 170 ms apart)."""
    from imuhip.sim.transport import LinkModel

    link = LinkModel(loss_prob=0.003, loss_burst=1.5)
    sim, s = _session(
        tmp_path, seed=5, duration_s=60.0, content="reps", profile="witmotion-ble5", link=link
    )
    lp = _live(s)
    batch = sensor_streams(s)
    err = {}
    for role in ("thigh", "shin"):
        t_batch = batch[role].samples.t
        lost = len(sim.samples[role].t) - len(t_batch)
        assert lost > 10
        assert lp.state.sensors[role].lost_samples == lost
        t_live = lp.aligner.streams()[role].samples.t
        assert len(t_live) == len(t_batch)
        late = t_batch > t_batch[0] + 2.0
        assert np.percentile(np.abs(t_live - t_batch)[late], 99) < 0.002
        err[role] = (t_batch, t_live - t_batch)
        assert not any(c.holding for c in lp.aligner.sensors[role].host_clocks.values())
    g = np.arange(3.0, 58.0, 0.01)
    rel = np.interp(g, *err["thigh"]) - np.interp(g, *err["shin"])
    assert np.percentile(np.abs(rel), 99) < 0.003


def test_refused_attempt_then_calibration_again_live_and_batch(tmp_path):
    """Live guidance after a refused calibration starts the protocol over: the file holds two
    sets of marks. Batch and live both refuse the first (the knee was never bent) and
    calibrate from the second, with the same result."""
    from imuhip.errors import CalibrationError
    from imuhip.files.session_file import write_session
    from imuhip.joint.phases import MARK_LEAD_S
    from imuhip.pipeline import mark_sets
    from imuhip.sim.scripts import ScriptOptions

    sim, s = _session(tmp_path, seed=4, duration_s=90.0, script=ScriptOptions(failed_attempt=True))
    first, second = mark_sets(s.events)
    assert first == sim.script.failed_phase_starts and second == sim.script.phase_starts
    batch = analyze_session(s)
    # the still pose found in the data, from at most MARK_LEAD_S before its prompt
    start = batch.calibration.phase_times["still_start"][0]
    assert second["still_start"] - MARK_LEAD_S - 0.02 <= start <= second["still_start"] + 0.02
    assert len(batch.exercise.reps) == len(sim.truth.events["reps"])
    assert len(batch.warnings) == 1 and "no knee bends found" in batch.warnings[0]
    lp = _live(s)
    assert lp.state.status == "ready"
    assert lp.calibration.phase_times == batch.calibration.phase_times
    assert [r.peak_deg for r in lp.result.reps] == pytest.approx(
        [r.peak_deg for r in batch.exercise.reps], abs=1e-6
    )
    # the refused attempt alone: both say why
    only = tmp_path / "only.imuhip"
    write_session(
        only, s.header, samples=s.samples,
        events=[e for e in s.events if e.t < second["still_start"]],
    )  # fmt: skip
    s1 = read_session(only)
    with pytest.raises(CalibrationError, match="no knee bends found"):
        analyze_session(s1)
    lp1 = _live(s1)
    assert lp1.state.status == "failed" and "no knee bends found" in lp1.state.message


def test_session_without_marks_finds_the_calibration(tmp_path):
    _, s = _session(tmp_path, seed=2, duration_s=70.0, marks=False)
    batch = analyze_session(s)
    lp = _live(s)
    assert lp.state.status == "ready"
    assert lp.calibration.phase_times == batch.calibration.phase_times
    assert lp.result.reps == batch.exercise.reps


def test_no_calibration_movements_fail_clearly(tmp_path):
    sim = simulate(SimConfig(duration_s=130.0, content="rest", seed=1))

    path = tmp_path / "rest.imuhip"
    write_simulation(sim, path)
    s = read_session(path)
    # cut the calibration away: keep data from 40 s on only
    lp = SessionPipeline(s.header)
    for role, smp in s.samples.items():
        k = int(np.searchsorted(smp.t, 40.0))
        lp.feed(SampleBlock(role, smp.slice(k, len(smp))))
    lp.advance()
    lp.finish()
    assert lp.state.status in ("failed", "calibrating")
    assert lp.result is None and lp.state.angle_deg is None


def test_host_stamped_clock_counts_a_real_loss_but_not_host_congestion():
    rate = 100.0
    peers: dict = {}
    a = HostStampedClock(rate, peers=peers)
    b = HostStampedClock(rate, peers=peers)
    t = np.arange(0, 20, 0.01)
    lat = 0.003
    # a loses 5 notifications at 10 s; b keeps going
    for i, ti in enumerate(t):
        if not (1000 <= i < 1005):
            a.push(ti + lat, 1)
        b.push(ti + lat, 1)
    assert a.lost_samples == 5 and b.lost_samples == 0
    # both late together for 1 s (a busy host), then catching up: no loss
    c = HostStampedClock(rate, peers={})
    d = HostStampedClock(rate, peers=c.peers)
    for ti in t:
        delay = 0.2 if 10 <= ti < 11 else 0.0
        c.push(ti + lat + delay, 1)
        d.push(ti + lat + delay, 1)
    assert c.lost_samples == 0 and d.lost_samples == 0


def test_host_stamped_clock_flush_decides_every_run_at_the_end():
    """Two losses in the last tenth of a second: the end of data decides the first run, and the
    run the rest then forms too; nothing stays held, every sample comes out."""
    clock = HostStampedClock(100.0, peers={})
    out = []
    k = 0
    for i in range(600):
        k += 1 + (i == 590) + (i == 592)
        out += clock.push(k * 0.01 + 0.003, 1, i)
    out += clock.flush()
    assert not clock.holding
    assert [item for item, _ in out] == list(range(600))
    assert clock.lost_samples == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 0.05),  # extra delay of this notification, s
            st.sampled_from([0, 0, 0, 0, 1, 2, 3]),  # notifications lost before it
            st.sampled_from([1, 1, 1, 2]),  # samples in it
        ),
        min_size=1,
        max_size=400,
    ),
    st.sampled_from([0.0, 1.5]),  # a silence (host stall or restart) in the middle, s
)
def test_host_stamped_clock_releases_every_notification_once_in_order(notes, silence):
    """Whatever the arrival pattern (late runs, losses, held-up bursts, a silence), every
    pushed notification comes out exactly once, in order, with one finite time per sample,
    and nothing stays held after ``flush``."""
    clock = HostStampedClock(100.0, peers={})
    out = []
    k = 0
    for i, (delay, lost, n) in enumerate(notes):
        k += lost + n
        h = k * 0.01 + 0.003 + delay + (silence if i >= len(notes) // 2 else 0.0)
        out += clock.push(h, n, (i, n))
        out += clock.poll(h)
    out += clock.flush()
    assert not clock.holding
    assert [item for item, _ in out] == [(i, n) for i, (_, _, n) in enumerate(notes)]
    for (_, n), t in out:
        assert len(t) == n and np.all(np.isfinite(t))
    assert clock.lost_samples >= 0


def test_sensor_gap_live_matches_batch(tmp_path):
    """A shin sensor gone for 2.5 s mid-rep: live and batch leave the same stretch undefined,
    report the cut rep as partial, and agree on everything else."""
    from imuhip.files.session_file import write_session
    from imuhip.session import Notifications

    sim = simulate(
        SimConfig(content="reps", duration_s=100, seed=21, profile="witmotion-ble5", marks=True)
    )
    cut = sim.truth.events["reps"][3]
    t0, t1 = cut["peak_s"] - 0.3, cut["peak_s"] + 2.2
    notes = dict(sim.notifications)
    shin = notes["shin"]
    keep = (shin.t < t0) | (shin.t > t1)
    payloads = [p for p, k in zip(shin.payloads(), keep, strict=True) if k]
    notes["shin"] = Notifications.from_list(shin.t[keep], payloads, shin.channel[keep])
    path = tmp_path / "gap.imuhip"
    write_session(path, sim.header, notifications=notes, events=sim.events)
    session = read_session(path)
    batch = analyze_session(session).exercise
    live = _live(session).result
    assert live is not None
    assert [p.reason for p in live.partial_reps] == [p.reason for p in batch.partial_reps]
    assert any(p.reason.startswith("interrupted") for p in live.partial_reps)
    assert len(live.reps) == len(batch.reps)
    for a, b in zip(live.reps, batch.reps, strict=True):
        assert abs(a.peak_deg - b.peak_deg) < 0.5 and abs(a.peak_s - b.peak_s) < 0.1


def _silence_session(tmp_path, kind: str, t0=20.0, t1=21.5):
    """SIMULATED WitMotion session with a 1.5 s host silence on both sensors from ``t0``:
    ``"stall"``: the notifications of the silence are held and arrive as a pile at ``t1``
    (0.2 ms apart); ``"reconnect"``: they are gone and later ones come 4 ms later (new
    sampling phase)."""
    from imuhip.files.session_file import write_session
    from imuhip.session import Notifications

    sim = simulate(
        SimConfig(duration_s=40.0, content="reps", seed=2, profile="witmotion-ble5", marks=True)
    )
    notes = dict(sim.notifications)
    for role, nt in notes.items():
        t = nt.t.copy()
        inside = (t >= t0) & (t < t1)
        keep = np.ones(len(t), bool)
        if kind == "stall":
            t[inside] = t1 + 2e-4 * np.arange(inside.sum())
        else:
            keep = ~inside
            t = t + np.where(t >= t1, 0.004, 0.0)
        payloads = [p for p, k in zip(nt.payloads(), keep, strict=True) if k]
        notes[role] = Notifications.from_list(t[keep], payloads, nt.channel[keep])
    path = tmp_path / f"{kind}.imuhip"
    write_session(path, sim.header, notifications=notes, events=sim.events)
    return read_session(path)


@pytest.mark.parametrize("kind", ["stall", "reconnect"])
def test_host_silence_live_follows_batch(tmp_path, kind):
    """After a silence over ``restart_gap_s`` live holds the next 50 ms of notifications back
    and decides as batch: a pile of held samples (host stall) continues the segment, the
    pile's samples spread over the silence; notifications at normal pace (reconnect) restart
    it. Either way live sample times match batch to a few ms (before this, live restarted on
    the stall and put the first pile samples about 1.5 s off)."""
    s = _silence_session(tmp_path, kind)
    lp = _live(s)
    batch = sensor_streams(s)
    for role in ("thigh", "shin"):
        t_live, t_batch = lp.aligner.streams()[role].samples.t, batch[role].samples.t
        assert len(t_live) == len(t_batch)
        late = t_batch > 10.0
        limit = 0.002 if kind == "stall" else 0.008
        assert np.max(np.abs(t_live - t_batch)[late]) < limit
        segments = {c.segments for c in lp.aligner.sensors[role].host_clocks.values()}
        if kind == "stall":
            assert segments == {1} and batch[role].segment_starts_s == ()
            pile = (t_batch > 20.0) & (t_batch < 21.5)
            assert pile.sum() > 100  # the held samples, spread over the silence
        else:
            assert segments == {2} and len(batch[role].segment_starts_s) == 1
    assert not any(inp._held for inp in lp.aligner.sensors.values())


@pytest.mark.parametrize("kind", ["stall", "reconnect"])
def test_host_silence_hold_back_is_short(tmp_path, kind):
    """Samples after a long silence are held back only briefly: on a stall until the pile is
    big enough (here 38 samples, 0.2 ms apart: under 10 ms); after a reconnect for the new
    segment's warm-up (``LOSS_WARM_UP_S``: its first second is placed as batch places it, so
    a loss in it is counted and its samples get their true indices)."""
    s = _silence_session(tmp_path, kind)
    lp = SessionPipeline(s.header)
    inp = lp.aligner.sensors["shin"]
    before = first = None
    release_by = 0.01 if kind == "stall" else LOSS_WARM_UP_S + 0.1
    for it in session_inputs(s):
        if not isinstance(it, Notification):
            continue
        if first is None and it.role == "shin" and it.t >= 21.5:
            before, first = inp.samples, it.t
        lp.feed(it)
        if first is None:
            continue
        if it.t >= first + release_by:
            break
        if kind == "reconnect" and it.t <= first + LOSS_WARM_UP_S - 0.05:
            assert inp.samples == before  # held during the warm-up
    assert before is not None and inp.samples > before


def test_calibration_over_lost_data_is_refused(tmp_path):
    """The sensors go silent for 1.5 s inside the calibration (the filters then see still
    sensors, and the final still pose has no defined angle): batch and live refuse it with a
    clear message instead of giving silently wrong angles (before: a -6° rest and no detection
    at all)."""
    from imuhip.errors import CalibrationError

    s = _silence_session(tmp_path, "reconnect")
    with pytest.raises(CalibrationError, match="lost data during the calibration") as err:
        analyze_session(s)
    # a saved file cannot be calibrated again: the message says what can be done with it
    assert "do the calibration again" not in str(err.value)
    assert "imuhip export --samples" in str(err.value)
    live = _live(s)
    assert live.state.status == "failed"
    assert "lost data during the calibration" in live.state.message
    assert "do the calibration again" in live.state.message
