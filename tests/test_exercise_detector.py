"""Rep and hold detection on synthetic angle traces (degrees) with known answers."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from imuhip.analysis.detector import ExerciseDetector
from imuhip.analysis.exercise import analyze_exercise

RATE = 100.0


class Trace:
    """Builds an angle trace piece by piece and remembers the truth."""

    def __init__(self, seed: int = 0, rest: float = 0.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.parts: list[np.ndarray] = []
        self.tremor: list[np.ndarray] = []
        self.level = rest
        self.reps: list[tuple[float, float, float, float]] = []
        self.holds: list[tuple[float, float]] = []

    @property
    def now(self) -> float:
        return sum(len(p) for p in self.parts) / RATE

    def _add(self, x: np.ndarray, tremor: float = 0.0) -> None:
        self.parts.append(x)
        self.tremor.append(np.full(len(x), tremor))
        if len(x):
            self.level = float(x[-1])

    def rest(self, s: float, drift: float = 0.0) -> Trace:
        n = round(s * RATE)
        self._add(self.level + np.linspace(0, drift, n))
        return self

    def rep(self, peak: float, up_s: float = 1.2, down_s: float = 1.2, top_s: float = 0.0):
        start, base = self.now, self.level
        up = base + (peak - base) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, round(up_s * RATE))))
        top = np.full(round(top_s * RATE), peak)
        dn = base + (peak - base) * 0.5 * (1 + np.cos(np.linspace(0, np.pi, round(down_s * RATE))))
        self._add(np.concatenate([up, top, dn]))
        self.reps.append((start, start + up_s, self.now, peak))
        return self

    def hold(self, into: float, s: float, creep: float = 0.3, move_s: float = 0.8):
        base = self.level
        ramp = base + into * 0.5 * (1 - np.cos(np.linspace(0, np.pi, round(move_s * RATE))))
        self._add(ramp)
        start = self.now
        n = round(s * RATE)
        self._add(base + into + np.linspace(0, creep, n), tremor=1.0)
        end = self.now
        self._add(
            self.level
            - (self.level - base) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, round(move_s * RATE))))
        )
        self.holds.append((start, end))
        return self

    def settle(self, into: float, s: float, move_s: float = 0.8) -> Trace:
        """The leg moves ``into`` degrees and stays there relaxed (no tremor) for ``s``."""
        base = self.level
        n = round(move_s * RATE)
        self._add(base + into * 0.5 * (1 - np.cos(np.linspace(0, np.pi, n))))
        self._add(np.full(round(s * RATE), base + into))
        return self

    def move(self, to: float, s: float = 0.8) -> Trace:
        base = self.level
        self._add(base + (to - base) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, round(s * RATE)))))
        return self

    def arrays(self, noise: float = 0.05):
        angle = np.concatenate(self.parts)
        angle = angle + self.rng.normal(0, noise, len(angle))
        t = np.arange(len(angle)) / RATE
        trem = np.concatenate(self.tremor)
        gyr = self.rng.normal(0, 0.002, (len(t), 3))
        gyr[:, 0] += trem * 0.02 * np.sin(2 * np.pi * 9.5 * t)
        return t, angle, gyr


def _run(tr: Trace, **kw):
    t, a, g = tr.arrays()
    return analyze_exercise(t, a, g, RATE, **kw)


def test_reps_counted_with_peaks_and_times():
    tr = Trace(1).rest(3)
    for peak in (25, 32, 41, 28, 45):
        tr.rep(peak).rest(1.5)
    res = _run(tr)
    assert len(res.reps) == 5 and not res.partial_reps and not res.holds
    for got, (start, peak_t, end, peak) in zip(res.reps, tr.reps, strict=True):
        assert abs(got.peak_deg - peak) < 0.3
        assert abs(got.peak_s - peak_t) < 0.15
        assert abs(got.start_s - start) < 0.35
        assert abs(got.end_s - end) < 0.35
        assert got.duration_s > 2.0
    s = res.summary()
    assert s["rep_count"] == 5 and abs(s["max_rotation_deg"] - 45) < 0.3


def test_chunked_equals_whole():
    tr = Trace(2).rest(2).rep(30).rest(1).hold(6, 8).rest(3).rep(20).rest(1)
    t, a, g = tr.arrays()
    whole = analyze_exercise(t, a, g, RATE)
    for chunk in (1, 7, 100, 333):
        part = analyze_exercise(t, a, g, RATE, chunk=chunk)
        assert part == whole


def test_holds_timed_and_not_counted_as_reps():
    tr = Trace(3).rest(5)
    for s in (5, 12, 30):
        tr.hold(5, s).rest(4)
    res = _run(tr)
    assert not res.reps
    assert len(res.holds) == 3
    for got, (start, end) in zip(res.holds, tr.holds, strict=True):
        assert abs(got.start_s - start) < 0.3
        assert abs(got.end_s - end) < 0.3
        assert got.steadiness_deg < 0.5
        assert got.effort_index is not None and got.effort_index > 5
    assert res.summary()["longest_hold_s"] == pytest.approx(30, abs=0.6)


def test_hold_that_drifts_a_degree_is_one_hold():
    tr = Trace(4).rest(4).hold(4, 20, creep=1.0).rest(3)
    res = _run(tr)
    assert len(res.holds) == 1 and abs(res.holds[0].duration_s - 20) < 0.6


def test_shallow_hold_creeping_down_ends_when_the_leg_starts_back():
    # 3.6° into rotation, creeping 0.8° back over 12 s, with noise: near the fixed return
    # level, but one hold that ends when the leg really moves back
    tr = Trace(5).rest(4).hold(3.6, 12, creep=-0.8).rest(4)
    res = _run(tr)
    assert len(res.holds) == 1 and not res.reps
    (start, end), got = tr.holds[0], res.holds[0]
    assert abs(got.start_s - start) < 0.3 and abs(got.end_s - end) < 0.3


def test_short_holds_and_plain_rest_are_not_holds():
    tr = Trace(5).rest(30).hold(5, 1.2).rest(20, drift=2.0)
    res = _run(tr)
    assert not res.holds
    # 5 degrees out and back is a movement (a rep at the 5-degree floor), not a hold
    assert len(res.reps) == 1 and not res.partial_reps


def test_session_ending_mid_rep_is_partial():
    tr = Trace(6).rest(3).rep(30).rest(2)
    tr._add(np.linspace(tr.level, 35, 150))  # rising when the recording stops
    res = _run(tr)
    assert len(res.reps) == 1
    assert [p.reason for p in res.partial_reps] == ["not finished"]


def test_very_slow_reps():
    tr = Trace(7).rest(3)
    for _ in range(3):
        tr.rep(30, up_s=5.0, down_s=5.0).rest(2)
    res = _run(tr)
    assert len(res.reps) == 3 and not res.holds


def test_tiny_wiggles_under_threshold_are_not_reps():
    # 4 degrees at the start (under the 5-degree floor), then 6 degrees after 60-degree reps
    # (under 0.12 x 60 = 7.2 degrees): not reps
    tr = Trace(8).rest(3)
    for _ in range(2):
        tr.rep(4, up_s=0.6, down_s=0.6).rest(1)
    tr.rep(60).rest(1.5).rep(60).rest(1.5)
    for _ in range(2):
        tr.rep(6, up_s=0.6, down_s=0.6).rest(1)
    res = _run(tr)
    assert len(res.reps) == 2
    assert len(res.partial_reps) == 4
    assert all(p.reason == "below threshold" for p in res.partial_reps)


def test_small_reps_of_a_stiff_hip_are_counted():
    """Someone who can only move 7 degrees gets their 7-degree reps counted."""
    tr = Trace(18).rest(3)
    for peak in (7, 6.5, 7.5, 7):
        tr.rep(peak).rest(1.5)
    res = _run(tr)
    assert len(res.reps) == 4 and not res.partial_reps
    assert [r.peak_deg for r in res.reps] == pytest.approx([7, 6.5, 7.5, 7], abs=0.3)


def test_two_reps_without_pause():
    tr = Trace(9).rest(3).rep(35).rep(30).rest(2)
    res = _run(tr)
    assert len(res.reps) == 2
    assert res.reps[0].end_s <= res.reps[1].start_s + 1e-9


def test_rest_that_settles_slowly_creates_no_reps():
    tr = Trace(10).rest(5).rest(60, drift=4.0).rep(30).rest(3)
    res = _run(tr)
    assert len(res.reps) == 1 and not res.partial_reps and not res.holds
    assert res.reps[0].range_deg == pytest.approx(30 - 4, abs=1.5)


def test_only_holds_then_only_reps():
    tr = Trace(11).rest(3).hold(7, 10).rest(5).hold(6, 15).rest(5)
    tr.rep(30).rest(1).rep(33).rest(1)
    res = _run(tr)
    assert len(res.holds) == 2 and len(res.reps) == 2
    kinds = [e.kind for e in res.events]
    assert kinds.count("hold_started") == 2 and kinds.count("rep_counted") == 2


def test_leg_settling_suddenly_at_a_new_rest_is_no_hold():
    # the leg shifts 8° inward and stays there relaxed: after 30 s without effort that is the
    # new rest; reps from it are measured from it, and nothing is reported as a hold
    tr = Trace(12).rest(20).settle(8, 60).rep(30).rest(2).rep(28).rest(2)
    t, a, g = tr.arrays()
    res = analyze_exercise(t, a, g, RATE)
    assert not res.holds
    (part,) = res.partial_reps
    assert part.reason == "settled at a new rest"
    assert part.start_s == pytest.approx(20, abs=0.4) and part.end_s == pytest.approx(51, abs=1)
    assert len(res.reps) == 2
    assert [r.range_deg for r in res.reps] == pytest.approx([22, 20], abs=1.0)
    # no effort: never a hold, not even for a while
    assert [e.kind for e in res.events][:2] == ["rep_started", "partial_rep"]
    assert "hold_started" not in [e.kind for e in res.events]
    for chunk in (1, 250):  # live feeds it in pieces: the same result
        assert analyze_exercise(t, a, g, RATE, chunk=chunk) == res


def test_long_hold_with_effort_stays_a_hold():
    tr = Trace(13).rest(20).hold(8, 75, creep=0.2).rest(5)
    res = _run(tr)
    assert not res.partial_reps and not res.reps
    (hold,) = res.holds
    (start, end) = tr.holds[0]
    assert abs(hold.start_s - start) < 0.3 and abs(hold.end_s - end) < 0.3


def test_effortless_pause_then_back_is_a_rep_with_its_dwell_not_a_hold():
    # a relaxed leg resting 20 s at 6 degrees then back to rest: a hold needs effort, so this
    # is a rep that paused (and too close to rest to be a stretch)
    tr = Trace(14).rest(20).settle(6, 20)
    tr.move(0.0).rest(5)  # back down to the old rest
    res = _run(tr)
    assert not res.holds and not res.stretches
    (rep,) = res.reps
    assert rep.dwell_s == pytest.approx(20.8, abs=0.6)


def test_effort_power_does_not_depend_on_the_window_length():
    from imuhip.analysis.effort import band_power

    rng = np.random.default_rng(15)
    for n in (200, 1000, 6000):
        t = np.arange(n) / RATE
        tremor = np.zeros((n, 3))
        tremor[:, 1] = 0.02 * np.sin(2 * np.pi * 9.5 * t)
        assert band_power(tremor, RATE) == pytest.approx(0.02**2 / 2, rel=1e-3)
        noise = rng.normal(0, 0.002, (n, 3))  # white: 3 axes x σ² x (6 Hz of 50 Hz)
        assert band_power(noise, RATE) == pytest.approx(3 * 0.002**2 * 6 / 50, rel=0.25)


def test_leg_relaxing_higher_then_swinging_from_there_is_no_hold():
    # after the start the leg relaxes 8° inward, pauses 3 s without effort and swings from there:
    # the pause is its new rest, not a hold, and the reps are measured from it
    tr = Trace(16).rest(20).settle(8, 3).rep(35).rest(2).rep(30).rest(2)
    t, a, g = tr.arrays()
    res = analyze_exercise(t, a, g, RATE)
    assert not res.holds
    assert [p.reason for p in res.partial_reps] == ["settled at a new rest"]
    assert res.partial_reps[0].end_s == pytest.approx(23.8, abs=0.4)
    assert [r.range_deg for r in res.reps] == pytest.approx([27, 22], abs=1.0)
    assert res.reps[0].start_s == pytest.approx(23.8, abs=0.4)
    assert analyze_exercise(t, a, g, RATE, chunk=37) == res


def test_hold_with_effort_then_further_is_still_a_hold():
    tr = Trace(17).rest(20).hold(6, 8, creep=0.0)
    tr.parts.pop()  # no way back: from the hold the leg goes further, to 30°, and then down
    tr.tremor.pop()
    tr.level = float(tr.parts[-1][-1])
    tr.move(30.0, 1.0).move(0.0, 1.5).rest(3)
    res = _run(tr)
    assert len(res.holds) == 1 and not res.reps
    (start, end) = tr.holds[0]
    assert abs(res.holds[0].start_s - start) < 0.3 and abs(res.holds[0].end_s - end) < 0.3


def test_a_rep_reports_its_dwell_at_end_range():
    """The time a rep spends within 2 degrees of its peak: about 0.35 s for a quick swing's
    turn, its pause plus that for a rep held briefly at end range (under the hold time)."""
    tr = Trace(2).rest(3).rep(30).rest(1.5).rep(30, top_s=1.5).rest(1.5)
    res = _run(tr)
    assert len(res.reps) == 2 and not res.holds
    quick, paused = res.reps
    assert 0.2 < quick.dwell_s < 0.6
    assert paused.dwell_s == pytest.approx(quick.dwell_s + 1.5, abs=0.15)
    assert paused.as_dict()["dwell_s"] == round(paused.dwell_s, 3)


def test_isometric_without_movement_is_a_hold_from_its_effort():
    """Pushing against a band that does not give: the angle does not move, the tremor shows."""
    tr = Trace(19).rest(10)
    start = tr.now
    tr._add(np.full(round(8 * RATE), tr.level), tremor=1.0)
    end = tr.now
    tr.rest(6)
    tr._add(np.full(round(12 * RATE), tr.level), tremor=1.0)
    tr.rest(5)
    t, a, g = tr.arrays()
    res = analyze_exercise(t, a, g, RATE)
    assert len(res.holds) == 2 and not res.reps and not res.partial_reps
    assert abs(res.holds[0].start_s - start) < 0.3 and abs(res.holds[0].end_s - end) < 0.3
    assert res.holds[0].effort_index > 6 and abs(res.holds[0].mean_deg) < 0.2
    for chunk in (1, 64, 333):  # the quiet-rest shortcut and the per-sample steps agree
        assert analyze_exercise(t, a, g, RATE, chunk=chunk) == res


def _stretch(tr: Trace, to: float, hold_s: float, push: float = 0.0, push_s: float = 0.0):
    tr.move(to, 5.0).rest(hold_s, drift=0.5)
    if push:
        tr.move(tr.level + push, 2.0).rest(push_s)
    tr.move(0.0, 4.0)
    return tr


def test_a_relaxed_stretch_is_a_stretch_and_does_not_move_the_rest():
    tr = Trace(20).rest(10)
    _stretch(tr, 30.0, 30.0).rest(6)
    _stretch(tr, 30.0, 30.0).rest(6)
    t, a, g = tr.arrays()
    res = analyze_exercise(t, a, g, RATE)
    assert not res.holds and not res.reps and not res.partial_reps
    assert len(res.stretches) == 2
    for s in res.stretches:
        assert s.max_deg == pytest.approx(30.5, abs=0.3)  # the second reads like the first
        assert s.duration_s == pytest.approx(30.0, abs=1.0)
        assert s.time_at_end_range_s == pytest.approx(s.duration_s, abs=0.5)
        assert s.overpressure_start_s is None and s.overpressure_gain_deg is None
    kinds = [e.kind for e in res.events]
    assert kinds.count("stretch_started") == 2 and kinds.count("stretch_ended") == 2
    assert "hold_started" not in kinds
    acts = [x for x in res.timeline if x.kind == "stretch"]
    assert len(acts) == 2  # labelled from leaving rest (a 5 s descent) to being back
    for act, s in zip(acts, res.stretches, strict=True):
        assert act.start_s < s.start_s - 3.0 and act.end_s > s.end_s + 2.0


def test_overpressure_at_the_end_of_a_stretch():
    tr = Trace(21).rest(10)
    tr.move(28.0, 5.0).rest(25)
    op_start = tr.now
    tr.move(33.0, 2.0).rest(8)
    end = tr.now
    tr.move(0.0, 4.0).rest(5)
    t, a, g = tr.arrays()
    res = analyze_exercise(t, a, g, RATE)
    (s,) = res.stretches
    assert s.overpressure_start_s == pytest.approx(op_start, abs=0.5)
    assert s.overpressure_gain_deg == pytest.approx(5.0, abs=0.5)
    assert s.end_s == pytest.approx(end, abs=0.4) and s.max_deg == pytest.approx(33.0, abs=0.3)
    kinds = [e.kind for e in res.events]
    assert kinds.index("stretch_started") < kinds.index("overpressure_started")
    assert kinds.index("overpressure_started") < kinds.index("stretch_ended")


def test_reps_into_external_rotation_are_counted_with_their_direction():
    tr = Trace(22).rest(3)
    for peak in (-20, -25, 30):
        tr.rep(peak).rest(1.5)
    res = _run(tr)
    assert [r.direction for r in res.reps] == ["external", "external", "internal"]
    assert [r.peak_deg for r in res.reps] == pytest.approx([-20, -25, 30], abs=0.3)
    assert [r.range_deg for r in res.reps] == pytest.approx([20, 25, 30], abs=0.4)


def test_timeline_marks_a_sensor_gap():
    tr = Trace(23).rest(3).rep(30).rest(3).rep(30).rest(3)
    t, a, g = tr.arrays()
    valid = np.ones(len(t), bool)
    valid[round(5.5 * RATE) : round(6.5 * RATE)] = False
    res = analyze_exercise(t, a, g, RATE, valid=valid)
    kinds = [x.kind for x in res.timeline]
    assert "gap" in kinds and kinds.count("rep") == len(res.reps)
    for x, y in pairwise(res.timeline):
        assert x.end_s <= y.start_s + 1e-9 and x.end_s > x.start_s


def test_an_interrupt_during_an_isometric_hold_times_it_from_the_powers_known():
    """Reproduces an IndexError: a sensor gap (``interrupt``) between two chunks, during a
    still push against a band, asked the effort of one sample more than the tremor filter had
    produced; the hold must close, with its effort, from what is known."""
    rate = 100.0
    rng = np.random.default_rng(3)
    det = ExerciseDetector(rate)
    t = np.arange(0.0, 60.0, 1.0 / rate)
    angle = 0.05 * rng.standard_normal(len(t))
    gyr = 0.002 * rng.standard_normal((len(t), 3))
    push = (t >= 30.0) & (t < 50.0)  # 10 Hz tremor of a contraction, the leg still
    gyr[push, 0] += 0.05 * np.sin(2 * np.pi * 10.0 * t[push])
    end = int(45.0 * rate)  # the data stop in the middle of the push
    for a in range(0, end, 37):
        det.update(t[a : min(a + 37, end)], angle[a : min(a + 37, end)], gyr[a : min(a + 37, end)])
    det.interrupt()
    assert len(det.holds) == 1
    hold = det.holds[0]
    assert abs(hold.start_s - 30.0) < 1.0 and abs(hold.end_s - 45.0) < 0.5
    assert hold.effort_index is not None and hold.effort_index > 6.0
