"""LivePipeline (streaming) against the batch pipeline on simulated sessions."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip.align.streams import sensor_streams
from imuhip.files.session_file import read_session
from imuhip.live.pipeline import HostStampedClock, LivePipeline
from imuhip.live.replay import replay, session_items
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation


def _session(tmp_path, name="s", **kw):
    cfg = SimConfig(**{"duration_s": 90.0, "content": "mixed", "marks": True, **kw})
    sim = simulate(cfg)
    path = tmp_path / f"{name}.imuhip"
    write_simulation(sim, path)
    return sim, read_session(path)


def _live(session, step_s=0.1, **kw):
    lp = LivePipeline(session.header, **kw)
    replay(session_items(session), lp, step_s=step_s)
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
    lp = _live(s, keep_sample_times=True)
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
    lp = _live(s, keep_sample_times=True)
    batch = sensor_streams(s)
    err = {}
    for role in ("thigh", "shin"):
        t_live, t_true = lp.sample_times(role), sim.samples[role].t
        assert len(t_live) == len(t_true) == len(batch[role].samples.t)
        err[role] = (t_true, t_live - t_true)
        # live and batch estimates agree to a few ms after the warm-up
        late = t_true > t_true[0] + 10
        assert np.max(np.abs(t_live - batch[role].samples.t)[late]) < 0.006
    g = np.arange(1.0, 59.0, 0.01)
    rel = np.interp(g, *err["thigh"]) - np.interp(g, *err["shin"])
    assert np.max(np.abs(rel)) < 0.005


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
    lp = LivePipeline(s.header)
    for role, smp in s.samples.items():
        k = int(np.searchsorted(smp.t, 40.0))
        lp.samples(role, smp.slice(k, len(smp)), advance=False)
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
            a.times(ti + lat, 1)
        b.times(ti + lat, 1)
    assert a.lost_samples == 5 and b.lost_samples == 0
    # both late together for 1 s (a busy host), then catching up: no loss
    c = HostStampedClock(rate, peers={})
    d = HostStampedClock(rate, peers=c.peers)
    for ti in t:
        delay = 0.2 if 10 <= ti < 11 else 0.0
        c.times(ti + lat + delay, 1)
        d.times(ti + lat + delay, 1)
    assert c.lost_samples == 0 and d.lost_samples == 0


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
