"""Right again after a gap: once the angle is declared valid after a sensor's lost stretch, it is
within about a degree of what the uninterrupted recording gives (SIMULATED sessions; gaps of 1,
5 and 30 s cut out of either sensor in the middle of the reps)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imuhip.files.session_file import read_session
from imuhip.pipeline import RECOVERY_S, analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

GAP_AT_S = 60.0


@pytest.fixture(scope="module", params=["prone", "supine"])
def session(request, tmp_path_factory):
    sim = simulate(
        SimConfig(duration_s=150.0, content="reps", marks=True, seed=5, exercise=request.param)
    )
    path = tmp_path_factory.mktemp("gap") / "s.imuhip"
    write_simulation(sim, path)
    s = read_session(path)
    return s, analyze_session(s)


def _cut(s, role: str, gap_s: float):
    smp = s.samples[role]
    keep = (smp.t < GAP_AT_S) | (smp.t > GAP_AT_S + gap_s)
    cut = dataclasses.replace(smp, t=smp.t[keep], acc=smp.acc[keep], gyr=smp.gyr[keep])
    return dataclasses.replace(s, samples={**s.samples, role: cut})


@pytest.mark.parametrize("gap_s", [1.0, 5.0, 30.0])
@pytest.mark.parametrize("role", ["thigh", "shin"])
def test_the_angle_after_a_gap_is_the_uninterrupted_one(session, role, gap_s):
    s, full = session
    res = analyze_session(_cut(s, role, gap_s))
    t = res.grid.t
    after = t > GAP_AT_S + gap_s
    defined = after & np.isfinite(res.hip_rotation_deg)
    # undefined for the recovery time, then defined again
    first = t[defined][0] - (GAP_AT_S + gap_s)
    assert RECOVERY_S - 0.1 <= first <= RECOVERY_S + 0.1
    ref = np.interp(t[defined], full.grid.t, full.hip_rotation_deg)
    assert np.max(np.abs(res.hip_rotation_deg[defined] - ref)) < 1.1
    # the reps after the gap are the uninterrupted recording's
    end = GAP_AT_S + gap_s + RECOVERY_S
    a = [r for r in res.exercise.reps if r.start_s > end]
    b = [r for r in full.exercise.reps if r.start_s > end]
    assert len(a) == len(b) > 0
    assert max(abs(x.peak_deg - y.peak_deg) for x, y in zip(a, b, strict=True)) < 1.0
