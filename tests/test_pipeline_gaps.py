"""A sensor that vanishes mid-session: no invented motion, no rep counted across the gap."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip.files.session_file import read_session, write_session
from imuhip.pipeline import RECOVERY_S, analyze_session
from imuhip.session import Notifications
from imuhip.sim.simulate import SimConfig, simulate


def _without(notes: Notifications, t0: float, t1: float) -> Notifications:
    keep = (notes.t < t0) | (notes.t > t1)
    payloads = [p for p, k in zip(notes.payloads(), keep, strict=True) if k]
    return Notifications.from_list(notes.t[keep], payloads, notes.channel[keep])


def test_shin_vanishing_during_a_rep(tmp_path):
    sim = simulate(
        SimConfig(content="reps", duration_s=120, seed=21, profile="witmotion-ble5", marks=True)
    )
    reps = sim.truth.events["reps"]
    cut = reps[3]
    t0 = cut["peak_s"] - 0.3  # well into the rep
    t1 = t0 + 2.5
    notes = dict(sim.notifications)
    notes["shin"] = _without(notes["shin"], t0, t1)
    path = tmp_path / "gap.imuhip"
    write_session(path, sim.header, notifications=notes, events=sim.events)
    res = analyze_session(read_session(path))

    t = res.grid.t
    inside = (t > t0 + 0.1) & (t < t1 + RECOVERY_S - 0.1)
    assert np.isnan(res.hip_rotation_deg[inside]).all()  # undefined, not invented
    # the interrupted rep is reported apart, the others are found with their peaks
    assert any(p.reason.startswith("interrupted") for p in res.exercise.partial_reps)
    found = {round(r.peak_s) for r in res.exercise.reps}
    untouched = [r for r in reps if r["end_s"] < t0 or r["start_s"] > t1 + RECOVERY_S]
    assert len(res.exercise.reps) >= len(untouched)
    for r in untouched:
        match = [g for g in res.exercise.reps if abs(g.peak_s - r["peak_s"]) < 0.5]
        assert match, (r, found)
        assert abs(match[0].peak_deg - r["peak_deg"]) < 2.0
    assert not any(t0 - 0.5 < g.peak_s < t1 + 0.5 for g in res.exercise.reps)


def test_no_gap_leaves_every_angle_defined(tmp_path):
    sim = simulate(SimConfig(content="reps", duration_s=90, seed=22))
    path = tmp_path / "s.imuhip"
    write_session(path, sim.header, samples=sim.samples, events=sim.events)
    res = analyze_session(read_session(path))
    after = res.grid.t > sim.truth.events["calibration_end_s"]
    assert not np.isnan(res.hip_rotation_deg[after]).any()
    assert len(res.exercise.reps) == len(sim.truth.events["reps"])
    assert not res.exercise.partial_reps


def test_a_clock_jump_in_both_sensors_is_a_clear_error_not_a_huge_grid(tmp_path):
    """Both sensors' times jumping by 10^6 s (a damaged file or import) would ask for a grid
    of 10^8 points (gigabytes); it is refused, naming the span, before anything is allocated."""
    import dataclasses

    from imuhip.errors import ImuhipError

    sim = simulate(SimConfig(duration_s=40.0, content="rest", seed=6))
    jumped = {}
    for role, s in sim.samples.items():
        t = s.t.copy()
        t[t > 30.0] += 1e6
        jumped[role] = dataclasses.replace(s, t=t)
    path = write_session(tmp_path / "jump.imuhip", sim.header, samples=jumped)
    with pytest.raises(ImuhipError, match=r"longer than any session \(48 h\)"):
        analyze_session(read_session(path))
