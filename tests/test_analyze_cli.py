"""`imuhip analyze`: the JSON document, the readable summary, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imuhip.cli import main
from imuhip.files.session_file import write_session
from imuhip.samples import ImuSamples
from imuhip.sim.simulate import SimConfig, simulate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "recordings" / "prone-left-mixed-simulated.imuhip"


def test_json_document(capsys):
    assert main(["analyze", str(SHIPPED), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "imuhip.analysis/1"
    assert doc["side"] == "left" and doc["exercise"] == "prone"
    for key in ("duration_s", "calibration", "reps", "partial_reps", "holds", "summary"):
        assert key in doc
    s = doc["summary"]
    assert s["rep_count"] == len(doc["reps"]) > 0
    assert s["hold_count"] == len(doc["holds"]) > 0
    assert abs(s["max_rotation_deg"] - max(r["peak_deg"] for r in doc["reps"])) < 0.01
    assert abs(s["total_hold_s"] - sum(h["duration_s"] for h in doc["holds"])) < 0.02
    for r in doc["reps"]:
        assert r["start_s"] < r["peak_s"] < r["end_s"]
        assert abs(r["duration_s"] - (r["end_s"] - r["start_s"])) < 0.02
        assert r["peak_deg"] >= 10.0
    for h in doc["holds"]:
        assert h["duration_s"] >= 2.0 and h["effort_index"] is not None
    assert doc["calibration"]["phases"]["still_end"][1] < doc["reps"][0]["start_s"]


def test_readable_summary(capsys):
    assert main(["analyze", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert "reps" in out and "holds" in out and "calibration" in out


def test_session_without_the_calibration_movements_is_refused(tmp_path, capsys):
    sim = simulate(SimConfig(content="reps", duration_s=90, seed=3))
    cut = sim.truth.events["calibration_end_s"] + 1.0
    samples = {}
    for role, s in sim.samples.items():
        keep = s.t > cut
        samples[role] = ImuSamples(s.t[keep] - cut, s.acc[keep], s.gyr[keep])
    path = tmp_path / "nocal.imuhip"
    write_session(path, sim.header, samples=samples)
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error" in err and ("still" in err or "bend" in err or "rock" in err)
    assert np.all(np.isfinite(samples["shin"].t))
