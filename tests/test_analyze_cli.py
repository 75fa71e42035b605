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
    assert doc["schema"] == "imuhip.analysis/2"
    assert doc["side"] == "left" and doc["exercise"] == "prone"
    for key in ("duration_s", "calibration", "reps", "partial_reps", "holds", "summary",
                "stretches", "timeline"):  # fmt: skip
        assert key in doc
    assert s_has_stretch_fields(doc["summary"])
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


def s_has_stretch_fields(summary: dict) -> bool:
    keys = ("stretch_count", "longest_stretch_s", "max_stretch_deg", "external_rep_count")
    return all(k in summary for k in keys)


def test_readable_summary_lists_stretches_and_marks_external_reps():
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from tests.stretch_analysis import shipped, with_stretches

    doc = analysis_document(*with_stretches(*shipped()))
    lines = analysis_text(SHIPPED, doc).splitlines()
    head = next(ln for ln in lines if ln.startswith("stretches"))
    assert head.split()[:2] == ["stretches", "2"] and "longest 12.5 s" in head
    assert "farthest 34.5°" in head
    rows = [ln.split() for ln in lines if ln.split()[:2] in (["1", "100.00"], ["2", "120.00"])]
    # start, end, duration, mean, max, time at end range, overpressure
    assert rows[0] == ["1", "100.00", "112.50", "12.50", "30.2", "34.5", "6.00", "from",
                       "108.0", "s,", "+4.2°"]  # fmt: skip
    assert rows[1] == ["2", "120.00", "128.00", "8.00", "-20.0", "-24.5", "3.50", "-", "ext"]
    rep_lines = [ln for ln in lines if ln.split()[:2] == [str(len(doc["reps"])), "130.00"]]
    assert len(rep_lines) == 1 and rep_lines[0].split()[-1] == "ext"
    assert sum(ln.rstrip().endswith("ext") for ln in lines) == 2  # that rep and the stretch
    assert "1 into external rotation" in next(ln for ln in lines if ln.startswith("reps"))


def test_readable_summary_of_a_version_1_document_has_no_stretch_lines():
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from tests.stretch_analysis import shipped

    doc = analysis_document(*shipped())
    old = {k: v for k, v in doc.items() if k not in ("stretches", "timeline")}
    old["schema"] = "imuhip.analysis/1"
    old["summary"] = {k: v for k, v in doc["summary"].items()
                      if k not in ("stretch_count", "longest_stretch_s", "max_stretch_deg",
                                   "external_rep_count")}  # fmt: skip
    text = analysis_text(SHIPPED, old)
    assert "stretches" not in text and "reps   " in text
    assert "stretches  0" in analysis_text(SHIPPED, doc)
