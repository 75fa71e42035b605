"""The detector on every simulated way of exercising (SIMULATED truth), through the whole
pipeline: simulator -> session file -> read -> align -> fuse -> angle -> detector.

Each kind runs at two (pose, mounting) pairs, the poses rotating over the kinds so that every
pose meets careful and any-way-up mountings. The sessions are short and simulated once per
module.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from imuhip.analysis.events import ActivityKind, Direction, EventKind
from imuhip.analysis.exercise import analyze_exercise
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.sensor_model import EffortModel
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

#: (content, duration s): long enough for several of each kind's blocks
KINDS = {
    "isometric": 110.0,
    "dwell-reps": 80.0,
    "slow-reps": 130.0,
    "small-reps": 70.0,
    "external-reps": 70.0,
    "stretch": 150.0,
    "everyday": 200.0,
}
POSES = ("prone", "seated", "supine")
CASES = [
    (kind, POSES[(k + m) % 3], cone)
    for k, kind in enumerate(KINDS)
    for m, cone in enumerate((25.0, None))
]


def _id(case) -> str:
    kind, pose, cone = case
    return f"{kind}-{pose}-{'careful' if cone else 'any'}"


class Run:
    """One simulated session analysed by the pipeline, with its truth after the calibration."""

    def __init__(self, folder: Path, cfg: SimConfig) -> None:
        sim = simulate(cfg)
        path = folder / f"{cfg.content}-{cfg.exercise}-{cfg.mount_cone_deg}.imuhip"
        write_simulation(sim, path, overwrite=True)
        self.analysis = analyze_session(read_session(path))
        self.ex = self.analysis.exercise
        ev = sim.truth.events
        t = self.analysis.grid.t
        start = self.ex.timeline[0].start_s
        end = float(t[-1]) - 1.0

        def inside(items: list[dict]) -> list[dict]:
            return [x for x in items if x["start_s"] > start and x["end_s"] < end]

        self.reps = inside(ev["reps"])
        self.holds = inside(ev["holds"])
        self.stretches = inside(ev["stretches"])
        after = t > ev["calibration_end_s"]
        err = self.analysis.hip_rotation_deg[after] - sim.truth.hip_rotation_at(t[after])
        self.rmse = float(np.sqrt(np.nanmean(err**2)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("kinds")
    out = {}
    for kind, pose, cone in CASES:
        cfg = SimConfig(
            exercise=pose, content=kind, duration_s=KINDS[kind], seed=7, mount_cone_deg=cone
        )
        out[(kind, pose, cone)] = Run(folder, cfg)
    return out


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_each_kind_is_found_as_the_person_did_it(runs, case):
    r = runs[case]
    ex = r.ex
    # exact counts
    assert len(ex.reps) == len(r.reps)
    assert len(ex.holds) == len(r.holds)
    assert len(ex.stretches) == len(r.stretches)
    for got, want in zip(ex.reps, r.reps, strict=True):
        # a rep that pauses at end range peaks anywhere in its pause
        assert abs(got.peak_s - want["peak_s"]) < 0.5 + want["dwell_s"] / 2
        assert abs(got.peak_deg - want["peak_deg"]) <= 1.7  # the product's target is 1.5
        assert got.direction == Direction(want["direction"])
        assert got.range_deg > 0
        assert abs(got.dwell_s - want["dwell_s"]) < 0.6
    for got, want in zip(ex.holds, r.holds, strict=True):
        assert abs(got.start_s - want["start_s"]) <= 0.3
        assert abs(got.end_s - want["end_s"]) <= 0.3
        assert abs(got.mean_deg - want["mean_deg"]) < 1.5
        assert got.effort_index is not None and got.effort_index > 6
        assert got.steadiness_deg < 1.0
    for got, want in zip(ex.stretches, r.stretches, strict=True):
        # the target: a stretch from where the leg arrives to where it starts back
        assert abs(got.start_s - want["end_range_s"]) <= 0.3
        assert abs(got.end_s - want["end_s"]) <= 0.3
        assert abs(got.max_deg - want["max_deg"]) < 3.0  # the angle's own error at end range
        assert abs(got.time_at_end_range_s - want["time_at_end_range_s"]) < 1.5
        if want["overpressure_start_s"] is None:
            assert got.overpressure_start_s is None and got.overpressure_gain_deg is None
        else:
            assert got.overpressure_start_s is not None and got.overpressure_gain_deg is not None
            assert abs(got.overpressure_start_s - want["overpressure_start_s"]) < 0.8
            assert abs(got.overpressure_gain_deg - want["overpressure_gain_deg"]) <= 1.5
    # nothing of one kind also counted as another
    assert not any(p.reason == "settled at a new rest" for p in ex.partial_reps)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_timeline_labels_every_part_once(runs, case):
    ex = runs[case].ex
    tl = ex.timeline
    assert tl and all(a.end_s is not None and a.end_s > a.start_s for a in tl)
    for a, b in pairwise(tl):
        assert b.start_s == pytest.approx(a.end_s, abs=1e-9)  # in order, no overlap, no hole
    kinds = [a.kind for a in tl]
    assert kinds.count(ActivityKind.REP) == len(ex.reps)
    assert kinds.count(ActivityKind.HOLD) == len(ex.holds)
    assert kinds.count(ActivityKind.STRETCH) == len(ex.stretches)
    assert ActivityKind.REST in kinds


def test_stretch_events_let_the_live_view_time_a_stretch(runs):
    ex = runs[("stretch", POSES[(5 + 0) % 3], 25.0)].ex
    kinds = [e.kind for e in ex.events]
    n = len(ex.stretches)
    assert n >= 1
    assert kinds.count(EventKind.STRETCH_STARTED) == n == kinds.count(EventKind.STRETCH_ENDED)
    with_op = sum(s.overpressure_start_s is not None for s in ex.stretches)
    assert kinds.count(EventKind.OVERPRESSURE_STARTED) == with_op >= 1
    started = [e.t for e in ex.events if e.kind == EventKind.STRETCH_STARTED]
    assert started == pytest.approx([s.start_s for s in ex.stretches])
    assert not ex.holds and not ex.reps  # a stretch is neither a hold nor a rep


def test_a_hold_is_not_a_stretch_and_a_relaxed_leg_is_not_a_hold(runs, tmp_path):
    for (kind, _, _), r in runs.items():
        if kind == "isometric":
            assert not r.ex.stretches and not r.ex.reps
    cfg = SimConfig(exercise="prone", content="rest", duration_s=70.0, seed=7)
    rest = Run(tmp_path, cfg)
    assert not rest.ex.holds and not rest.ex.reps and not rest.ex.stretches
    assert [a.kind for a in rest.ex.timeline] == [ActivityKind.REST]


def test_a_loose_strap_hides_the_effort_of_a_no_movement_hold(tmp_path):
    """Documented limit (docs/detector.md): the loose sensor barely trembles, so an isometric
    that does not move the leg is not found; the user sees rest, never a false rep."""
    cfg = SimConfig(
        exercise="prone", content="isometric", duration_s=110.0, seed=7,
        effort=EffortModel.loose_strap(),
    )  # fmt: skip
    r = Run(tmp_path, cfg)
    assert r.holds and len(r.ex.holds) < len(r.holds)
    assert not r.ex.reps and not r.ex.stretches and not r.ex.partial_reps


def test_chunked_live_feeding_equals_one_shot(runs):
    """The detector alone on the pipeline's angle and shin rate: any chunking, one result."""
    a = runs[("everyday", POSES[(6 + 1) % 3], None)].analysis
    t = a.grid.t
    ok = np.isfinite(a.hip_rotation_deg)
    t, ang, gyr = t[ok], a.hip_rotation_deg[ok], a.grid.shin.gyr[ok]
    whole = analyze_exercise(t, ang, gyr, a.grid.rate_hz)
    assert whole.reps and whole.holds and whole.stretches
    for chunk in (1, 13, 250):
        assert analyze_exercise(t, ang, gyr, a.grid.rate_hz, chunk=chunk) == whole


def test_pace_and_params_leave_the_kinds_alone(tmp_path):
    """A person 30 % slower than the prompts: the same counts on a mixed everyday session."""
    cfg = SimConfig(exercise="seated", content="everyday", duration_s=200.0, seed=7, marks=True)
    cfg = replace(cfg, script=replace(cfg.script, pace=1.3))
    r = Run(tmp_path, cfg)
    assert len(r.ex.reps) == len(r.reps)
    assert len(r.ex.holds) == len(r.holds)
    assert len(r.ex.stretches) == len(r.stretches)


def test_a_minute_long_supine_stretch_keeps_its_angle_and_overpressure_gain(tmp_path):
    """SIMULATED, the worst session of ``bench/detector_kinds.py`` before the thigh's heading
    drift was carried through stretches (supine, careful mounting, seed 2, 4 minutes: two
    55-60 s stretches, one with 7.3° of overpressure): the angle drifted 3-4° over each
    stretch, RMSE 1.66°, the overpressure gain 1.65° off, a stretch's maximum 3.9° off.
    Now within the targets."""
    cfg = SimConfig(
        exercise="supine", content="stretch", duration_s=240.0, seed=2, mount_cone_deg=25.0
    )
    r = Run(tmp_path, cfg)
    assert len(r.ex.stretches) == len(r.stretches) == 2
    for got, want in zip(r.ex.stretches, r.stretches, strict=True):
        if want["overpressure_gain_deg"] is not None:
            assert got.overpressure_gain_deg is not None
            assert abs(got.overpressure_gain_deg - want["overpressure_gain_deg"]) <= 1.5
        assert abs(got.max_deg - want["max_deg"]) <= 1.5
    assert r.rmse <= 1.0


def test_a_slow_approach_starts_the_stretch_where_the_leg_arrives(tmp_path):
    """SIMULATED, 7-7.2 s minimum-jerk drops to end range (seed 5): the leg comes within 0.5° of
    its level 0.6-0.8 s before it stops, where the stretches began before (and ended 0.3-0.4 s
    after the leg started back). Now both edges within the issue's 0.3 s."""
    cfg = SimConfig(exercise="prone", content="stretch", duration_s=150.0, seed=5)
    r = Run(tmp_path, cfg)
    assert len(r.ex.stretches) == len(r.stretches) >= 1
    assert max(w["end_range_s"] - w["start_s"] for w in r.stretches) >= 7.0
    for got, want in zip(r.ex.stretches, r.stretches, strict=True):
        assert abs(got.start_s - want["end_range_s"]) <= 0.3
        assert abs(got.end_s - want["end_s"]) <= 0.3


def _min_jerk(a: float, b: float, seconds: float, rate: float) -> np.ndarray:
    tau = np.arange(round(seconds * rate)) / (seconds * rate)
    return a + (b - a) * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)


@pytest.mark.parametrize("shape", ["minimum-jerk", "raised-cosine"])
def test_stretch_edges_on_a_trace_whatever_the_chunks(shape):
    """The detector alone: an 8 s drop to 30°, held 20 s (creeping 0.5°), a 4 s return, with
    0.02° of white noise (the pipeline's simulated angle has under 0.01°): a smooth
    (minimum-jerk) stretch runs from the end of the drop to the start of the return within
    0.3 s, for any chunking. A drop that stops at full deceleration (a raised cosine: the speed
    falls linearly, not as the square of the time left) starts up to 0.6 s late, the known
    limit (docs/detector.md)."""
    rate = 100.0
    rng = np.random.default_rng(3)

    def move(a: float, b: float, seconds: float) -> np.ndarray:
        if shape == "minimum-jerk":
            return _min_jerk(a, b, seconds, rate)
        k = np.arange(round(seconds * rate)) / (seconds * rate)
        return a + (b - a) * 0.5 * (1 - np.cos(np.pi * k))

    parts = [np.zeros(1500), move(0, 30, 8.0), 30 + np.linspace(0, 0.5, 2000)]
    parts += [move(30.5, 0, 4.0), np.zeros(800)]
    angle = np.concatenate(parts) + rng.normal(0, 0.02, sum(len(p) for p in parts))
    t = np.arange(len(angle)) / rate
    gyr = rng.normal(0, 0.002, (len(t), 3))
    arrived, left = 15.0 + 8.0, 15.0 + 8.0 + 20.0
    whole = analyze_exercise(t, angle, gyr, rate)
    (st,) = whole.stretches
    late = 0.3 if shape == "minimum-jerk" else 0.6
    assert -0.3 <= st.start_s - arrived <= late and abs(st.end_s - left) <= 0.3
    assert st.time_at_end_range_s == pytest.approx(st.duration_s, abs=0.5)
    for chunk in (1, 37):
        assert analyze_exercise(t, angle, gyr, rate, chunk=chunk) == whole
