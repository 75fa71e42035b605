"""The simulator's everyday ways of moving (issue 19, part 7): each content kind produces what
it claims, in the joint angles, in the sensors' signals and in the ground truth."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from imuhip.sim.scripts import (
    CLASSIC_CONTENTS,
    DWELL_BAND_DEG,
    EFFORT_RAMP_S,
    EVERYDAY_CONTENTS,
    ScriptOptions,
)
from imuhip.sim.sensor_model import EffortModel, band_noise
from imuhip.sim.simulate import SimConfig, Simulation, Truth, simulate

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def _sim(content: str, duration_s: float = 150.0, **kw) -> Simulation:
    return simulate(SimConfig(content=content, duration_s=duration_s, seed=kw.pop("seed", 5), **kw))


def _band_db(x: np.ndarray, rate: float, lo: float = 8.0, hi: float = 12.0) -> float:
    """Mean power in [lo, hi] Hz of the (n, 3) signal ``x`` (mean removed; Hann window), dB
    of (unit)² — independent of the window's length."""
    x = x - x.mean(axis=0)
    w = np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x * w[:, None], axis=0)) ** 2
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    return float(10 * np.log10(2 * spec[(f >= lo) & (f <= hi)].sum() / (len(x) * np.sum(w**2))))


def _window(sim: Simulation, role: str, start: float, end: float) -> np.ndarray:
    s = sim.samples[role]
    return s.gyr[(s.t >= start) & (s.t < end)]


def _true_angle(sim: Simulation, start: float, end: float) -> np.ndarray:
    t = sim.truth.t
    return sim.truth.hip_rotation_deg[(t >= start) & (t <= end)]


def _rest_window(sim: Simulation, length: float) -> tuple[float, float]:
    rest = max(sim.truth.events["rests"], key=lambda r: r["end_s"] - r["start_s"])
    assert rest["end_s"] - rest["start_s"] >= length + 1.0
    mid = 0.5 * (rest["start_s"] + rest["end_s"])
    return mid - length / 2, mid + length / 2


def test_classic_sessions_are_unchanged():
    """A shipped recording regenerated today has the same true motion as the one shipped, and
    the new options stay out of a classic session's header."""
    cfg = SimConfig(
        exercise="prone",
        side="right",
        content="reps",
        duration_s=90,
        seed=102,
        profile="witmotion-ble5",
        marks=True,
    )  # fmt: skip  (tools/make_recordings.py)
    sim = simulate(cfg)
    shipped = Truth.load(RECORDINGS / "prone-right-reps-simulated.truth.npz")
    np.testing.assert_array_equal(
        sim.truth.hip_rotation_deg.astype(np.float32), shipped.hip_rotation_deg
    )
    assert "effort" not in sim.header.extra["simulator"]
    assert "pace" not in sim.header.extra["simulator"]["script"]
    assert not sim.script.efforts


def test_isometric_hold_has_effort_but_no_movement():
    sim = _sim("isometric", seed=3)
    holds = sim.truth.events["holds"]
    assert len(holds) >= 3 and all(h["isometric"] for h in holds)
    a, _ = _rest_window(sim, 4.0)
    rate = sim.header.sensors[0].rate_hz
    for h in holds:
        angle = _true_angle(sim, h["start_s"], h["end_s"])
        assert np.ptp(angle) < 2.0
        assert h["range_deg"] == pytest.approx(np.ptp(angle), abs=0.05)
        assert 0.8 <= h["effort"] <= 1.2
        inside = (h["start_s"] + 0.5, h["end_s"] - 0.5)
        for role in ("shin", "thigh"):
            excess = _band_db(_window(sim, role, *inside), rate) - _band_db(
                _window(sim, role, a, a + (inside[1] - inside[0])), rate
            )
            assert excess >= 6.0, (role, h, excess)
    # the accelerometers carry it too
    h = holds[0]
    s = sim.samples["shin"]
    inside = (s.t >= h["start_s"] + 0.5) & (s.t < h["end_s"] - 0.5)
    quiet = (s.t >= a) & (s.t < a + inside.sum() / rate)
    assert _band_db(s.acc[inside], rate) - _band_db(s.acc[quiet], rate) >= 6.0


def test_effort_edges_and_envelope():
    sim = _sim("isometric", seed=4)
    for h, w in zip(sim.truth.events["holds"], sim.truth.events["efforts"], strict=True):
        assert (w["start_s"], w["end_s"]) == (h["start_s"], h["end_s"])
        env = sim.script.effort_envelope(
            np.array([h["start_s"] - 0.01, h["start_s"] + EFFORT_RAMP_S, h["end_s"] + 0.01])
        )
        np.testing.assert_allclose(env, [0.0, h["effort"], 0.0], atol=1e-9)


def test_relaxed_still_leg_has_no_tremor_excess():
    """Rejection: two windows of rest, and rest against a relaxed stretch, differ by no more
    than the noise (no effort signature without effort)."""
    sim = _sim("stretch", duration_s=160.0, seed=6)
    assert not any(h for h in sim.truth.events["holds"])
    rate = sim.header.sensors[0].rate_hz
    a, z = _rest_window(sim, 6.0)
    stretch = sim.truth.events["stretches"][0]
    relaxed_end = stretch["overpressure_start_s"] or stretch["end_s"]
    relaxed = (stretch["end_range_s"] + 1.0, stretch["end_range_s"] + 7.0)
    assert relaxed[1] < relaxed_end
    for role in ("shin", "thigh"):
        rest_db = _band_db(_window(sim, role, a, a + 3.0), rate)
        assert abs(_band_db(_window(sim, role, a + 3.0, z), rate) - rest_db) < 3.0
        assert _band_db(_window(sim, role, *relaxed), rate) - rest_db < 3.0


def test_loose_strap_damps_the_effort_signature():
    firm = _sim("isometric", seed=3)
    loose = _sim("isometric", seed=3, effort=EffortModel.loose_strap())
    h = firm.truth.events["holds"][0]
    rate = firm.header.sensors[0].rate_hz
    inside = (h["start_s"] + 0.5, h["end_s"] - 0.5)
    drop = _band_db(_window(firm, "shin", *inside), rate) - _band_db(
        _window(loose, "shin", *inside), rate
    )
    assert drop > 8.0
    # only the vibration changes: same motion, same truth
    np.testing.assert_array_equal(firm.truth.hip_rotation_deg, loose.truth.hip_rotation_deg)
    assert loose.header.extra["simulator"]["effort"]["strap_coupling"] == pytest.approx(0.2)


def test_band_noise_is_in_its_band():
    x = band_noise(np.random.default_rng(0), 4000, 100.0, (8.0, 12.0))
    assert np.sqrt(np.mean(np.sum(x**2, axis=1))) == pytest.approx(1.0)
    assert _band_db(x, 100.0, 7.5, 12.5) - _band_db(x, 100.0, 0.0, 50.0) > -0.1


def test_dwell_reps_pause_at_end_range():
    sim = _sim("dwell-reps", seed=7)
    reps = sim.truth.events["reps"]
    assert len(reps) >= 5
    for r in reps:
        assert r["direction"] == "internal"
        angle = _true_angle(sim, r["start_s"], r["end_s"])
        near = np.count_nonzero(np.abs(angle - r["peak_deg"]) <= DWELL_BAND_DEG) / 100.0
        assert r["dwell_s"] == pytest.approx(near, abs=0.05)
        assert 2.0 <= r["dwell_s"] <= 4.5


def test_slow_reps_are_slow_and_crawls_stay_under_2_dps():
    sim = _sim("slow-reps", duration_s=200.0, seed=8)
    reps = sim.truth.events["reps"]
    slow, crawl = reps[0::2], reps[1::2]
    assert len(slow) >= 2 and len(crawl) >= 2
    t = sim.truth.t
    for r in crawl:
        inside = (t >= r["start_s"]) & (t <= r["end_s"])
        rate = np.abs(np.gradient(sim.truth.hip_rotation_deg[inside], t[inside]))
        assert rate.max() <= 2.0 and r["peak_rate_dps"] <= 2.0
        assert r["peak_s"] - r["start_s"] >= 4.0
    for r in slow:
        assert 4.4 <= r["peak_s"] - r["start_s"] <= 5.6  # ~5 s each way
        assert 4.4 <= r["end_s"] - r["peak_s"] <= 5.6


def test_small_and_external_reps():
    small = _sim("small-reps", duration_s=90.0, seed=9).truth.events["reps"]
    assert len(small) >= 5
    assert all(6.0 <= r["peak_deg"] - r["rest_deg"] <= 10.0 for r in small)
    ext = _sim("external-reps", duration_s=90.0, seed=9).truth.events["reps"]
    assert len(ext) >= 5
    assert all(r["direction"] == "external" and r["peak_deg"] < r["rest_deg"] - 10 for r in ext)


def test_stretch_with_and_without_overpressure():
    sim = _sim("stretch", duration_s=210.0, seed=10)
    with_op, without = sim.truth.events["stretches"][:2]
    for x in (with_op, without):
        held = x["end_s"] - x["end_range_s"]
        assert 40.0 <= held <= 60.0
        assert x["end_range_s"] - x["start_s"] >= 4.0  # a slow drop
        angle = _true_angle(sim, x["end_range_s"], x["end_s"])
        assert x["max_deg"] == pytest.approx(angle.max(), abs=0.05)
        assert x["mean_deg"] == pytest.approx(angle.mean(), abs=0.1)
    assert without["overpressure_start_s"] is None and without["overpressure_gain_deg"] is None
    assert without["effort"] == 0.0
    op = with_op["overpressure_start_s"]
    assert 10.0 <= with_op["end_s"] - op <= 20.0
    before = sim.truth.hip_rotation_at(np.array([op - 1.0]))[0]
    after = sim.truth.hip_rotation_at(np.array([with_op["end_s"]]))[0]
    assert with_op["overpressure_gain_deg"] == pytest.approx(after - before, abs=0.1)
    assert 3.8 <= with_op["overpressure_gain_deg"] <= 8.2
    # the pushing leg's tremor reaches the stretched leg weakly: a small effort window
    (w,) = sim.truth.events["efforts"]
    assert (w["start_s"], w["level"]) == (op, pytest.approx(0.15))


@pytest.mark.parametrize("pace", [0.7, 1.3])
def test_person_slower_or_faster_than_the_prompts(pace):
    on_time = _sim("rest", duration_s=60.0, seed=12, marks=True, script=ScriptOptions(pace=1.0))
    sim = _sim("rest", duration_s=60.0, seed=12, marks=True, script=ScriptOptions(pace=pace))
    marks = {e.data["phase"]: e.t for e in sim.events}
    assert marks == {"still_start": 0.0, "bends": 4.0, "rocks": 13.0, "still_end": 20.0}
    done = {p["phase"]: p for p in sim.truth.events["calibration_performed"]}
    ref = {p["phase"]: p for p in on_time.truth.events["calibration_performed"]}
    for phase in ("bends", "rocks"):
        took = done[phase]["end_s"] - done[phase]["start_s"]
        assert took == pytest.approx(pace * (ref[phase]["end_s"] - ref[phase]["start_s"]), rel=0.1)
        assert done[phase]["mark_s"] == marks[phase]
    if pace > 1:  # late: still rocking when the final still is prompted
        assert done["rocks"]["end_s"] > marks["still_end"] + 2.0
    else:  # early: the rocks are over well before the prompt for the final still
        assert done["rocks"]["end_s"] < marks["still_end"] - 1.0
    # the movement really happens in the performed windows and nowhere else in the protocol
    t, knee = sim.truth.t, sim.truth.knee_flexion_deg
    outside = (t < done["bends"]["start_s"]) | (
        (t > done["bends"]["end_s"]) & (t < sim.truth.events["calibration_end_s"])
    )
    assert np.ptp(knee[outside]) < 0.01 and np.ptp(knee[~outside]) > 20.0


def test_everyday_session_mixes_every_kind_and_labels_the_rest():
    sim = _sim("everyday", duration_s=420.0, seed=13)
    ev = sim.truth.events
    reps = ev["reps"]
    assert {r["direction"] for r in reps} == {"internal", "external"}
    assert any(r["dwell_s"] >= 2.0 for r in reps)
    assert any(r["peak_rate_dps"] <= 2.0 for r in reps)
    assert any(r["peak_deg"] - r["rest_deg"] <= 10.0 for r in reps)
    assert ev["holds"] and all(h["isometric"] for h in ev["holds"])
    assert [x["overpressure_gain_deg"] is None for x in ev["stretches"]] == [False, True]
    # events and rests tile the time after the calibration without overlapping
    spans = sorted(
        [(r["start_s"], r["end_s"]) for r in reps]
        + [(h["start_s"], h["end_s"]) for h in ev["holds"]]
        + [(x["start_s"], x["returned_s"]) for x in ev["stretches"]]
        + [(r["start_s"], r["end_s"]) for r in ev["rests"]]
    )
    assert spans[0][0] >= ev["calibration_end_s"]
    assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))
    for r in ev["rests"]:
        assert np.ptp(_true_angle(sim, r["start_s"], r["end_s"])) < 2.0
    json.dumps(ev)  # plain data


@pytest.mark.parametrize("content", EVERYDAY_CONTENTS)
def test_every_kind_is_deterministic_and_fits_its_duration(content):
    a = _sim(content, duration_s=120.0, seed=14)
    b = _sim(content, duration_s=120.0, seed=14)
    np.testing.assert_array_equal(a.samples["shin"].gyr, b.samples["shin"].gyr)
    assert a.truth.events == b.truth.events
    assert 120.0 <= a.script.duration_s <= 123.0


def test_unknown_content_and_bad_pace_are_refused():
    with pytest.raises(ValueError, match="choose one of"):
        _sim("cartwheels")
    with pytest.raises(ValueError, match="pace"):
        _sim("rest", script=ScriptOptions(pace=0.0))
    assert set(CLASSIC_CONTENTS).isdisjoint(EVERYDAY_CONTENTS)


def test_both_legs_push_together_with_the_asked_effort_ratio():
    """Isometric both legs against the band: each shin's tremor follows its own leg's effort
    windows (the following leg's lag behind) and the weaker leg's is weaker by the ratio."""
    from imuhip.sim.scripts import ScriptOptions

    sim = _sim(
        "isometric", duration_s=80.0, seed=3, layout="both-shins", effort_ratio=0.5,
        script=ScriptOptions(hold_s=(8.0, 10.0)),
    )  # fmt: skip
    rate = sim.header.sensors[0].rate_hz
    left, right = (sim.truth.leg(s).events for s in ("left", "right"))
    assert len(left["holds"]) == len(right["holds"]) >= 2
    for a, b in zip(left["holds"], right["holds"], strict=True):
        assert 0.0 < b["start_s"] - a["start_s"] < 0.34  # the right leg follows
        assert b["effort"] == pytest.approx(0.5 * a["effort"])
        inside = (max(a["start_s"], b["start_s"]) + 0.5, min(a["end_s"], b["end_s"]) - 0.5)
        gap = _band_db(_window(sim, "left_shin", *inside), rate) - _band_db(
            _window(sim, "right_shin", *inside), rate
        )
        assert gap == pytest.approx(20 * np.log10(2.0), abs=2.5)  # power ∝ amplitude²
