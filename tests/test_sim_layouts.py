"""The simulator's sensor layouts: one leg, both legs, shin-only, with pelvis and trunk."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from imuhip.sim.simulate import SimConfig, simulate, truth_path_for, write_simulation

#: sha256 (first 16 hex digits) of the session file and its truth file for one-leg configs,
#: computed with the simulator before it learnt layouts: one-leg output must stay byte-identical.
ONE_LEG_CHECKSUMS = [
    ({"duration_s": 50.0, "seed": 1}, "e96d2b845e8f20b9", "43816459cb0dd5e1"),
    (
        {"duration_s": 50.0, "seed": 2, "exercise": "seated", "side": "right",
         "content": "reps", "pelvis": True},
        "a51e232fa3886532", "edc81895e94af63c",
    ),
    (
        {"duration_s": 50.0, "seed": 3, "exercise": "supine", "content": "holds",
         "profile": "witmotion-ble5", "marks": True},
        "b7be134c0ea4e289", "4fe02c826d9f93a8",
    ),
    (
        {"duration_s": 70.0, "seed": 4, "content": "everyday", "profile": "polar-pmd",
         "with_mag": True, "table_calibration": True},
        "e424b8169a739cd2", "bbc18b36526d56d4",
    ),
]  # fmt: skip


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@pytest.mark.parametrize(("kw", "session_sha", "truth_sha"), ONE_LEG_CHECKSUMS)
def test_one_leg_output_is_unchanged(tmp_path, kw, session_sha, truth_sha):
    sim = simulate(SimConfig(**kw))
    fixed = dataclasses.replace(
        sim.header, created_utc="2026-01-01T00:00:00+00:00", imuhip_version="0.0.0"
    )
    path = tmp_path / "s.imuhip"
    write_simulation(dataclasses.replace(sim, header=fixed), path)
    assert (_digest(path), _digest(truth_path_for(path))) == (session_sha, truth_sha)
