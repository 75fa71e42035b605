"""``docs/analysis-schema.md`` names every key of the analysis document (so it cannot go
stale), and the document carries the stretches, the timeline and the new summary fields."""

from __future__ import annotations

import re
from pathlib import Path

from imuhip.sinks.analysis_text import SCHEMA, SCHEMAS, analysis_document
from tests.stretch_analysis import STRETCHES, shipped, with_stretches

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis-schema.md"
#: Objects whose keys are names (sensor roles), written ``<role>`` in the schema doc.
NAMED_KEYS = {"sensor_health": "<role>", "orientation_source": "<role>"}


def documented() -> set[str]:
    """The field paths of the schema doc's tables (first cell of each row, in backticks)."""
    out = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([^`]+)` \|", line)
        if m:
            out.add(m.group(1))
    return out


def paths(value: object, prefix: str = "") -> set[str]:
    """Every key path of a JSON value: ``a.b``, ``a[].c`` for list elements; a leg's fields
    of a both-legs document (``legs[].reps``...) as the one-leg fields they are."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            name = NAMED_KEYS.get(prefix, k)
            p = f"{prefix}.{name}" if prefix else name
            if prefix == "legs[]" and k not in ("side", "status", "error"):
                p = name
            out |= {p} | paths(v, p)
    elif isinstance(value, list):
        for v in value:
            out |= paths(v, prefix + "[]")
    return out


def _layout_documents() -> list[dict]:
    """SIMULATED: a both-legs session with holds and reps, and a shin-only one."""
    from imuhip.pipeline import analyze_session
    from tests.test_both_legs import _simulated

    out = []
    for kw in ({"layout": "both-legs", "content": "mixed", "asymmetry_deg": 3.0},
               {"layout": "shin-only"},
               {"exercise": "seated", "pelvis": True, "trunk": True, "pelvic_lift_deg": 10.0,
                "trunk_lean_deg": 12.0}):  # fmt: skip
        session, _ = _simulated(**kw)
        out.append(analysis_document(session, analyze_session(session)))
    return out


def _partial_document() -> dict:
    """A both-legs session whose left leg never calibrates (its shin lies still)."""
    from imuhip.pipeline import analyze_session
    from tests.test_both_legs import _both
    from tests.test_partial_legs import _still

    session = _still(_both()[0], "left_shin")
    return analysis_document(session, analyze_session(session))


def test_schema_doc_names_every_key_of_the_documents():
    session, result = shipped()
    plain = analysis_document(session, result)
    full = analysis_document(*with_stretches(session, result, sets=True, damage=True))
    both, shin, pelvis = _layout_documents()
    partial = _partial_document()
    assert pelvis["reps"] and all("compensation" in r for r in pelvis["reps"])
    assert both["asymmetry"]["hold_pairs"] and both["asymmetry"]["rep_pairs"]
    assert [leg["status"] for leg in partial["legs"]] == ["failed", "analysed"]
    listed = documented()
    for doc in (plain, full, both, shin, pelvis, partial):
        missing = paths(doc) - listed
        assert not missing, f"not in docs/analysis-schema.md: {sorted(missing)}"
    # and the doc lists nothing the documents cannot have (but the optional knee axis)
    seen = paths(full) | paths(both) | paths(shin) | paths(pelvis) | paths(partial)
    optional = {"calibration.knee_axis_thigh"} | {
        p for p in listed if p.startswith("stretches[].compensation")
    }  # a stretch with a pelvis sensor: the same object as a rep's
    stale = listed - seen - optional
    assert not stale, f"in docs/analysis-schema.md but in no document: {sorted(stale)}"
    assert f"`{SCHEMA}`" in DOC.read_text(encoding="utf-8")


def test_document_carries_stretches_timeline_and_their_summary():
    session, result = shipped()
    doc = analysis_document(*with_stretches(session, result))
    assert doc["schema"] == SCHEMA == "imuhip.analysis/2" and "imuhip.analysis/1" in SCHEMAS
    assert doc["stretches"] == [s.as_dict() for s in STRETCHES]
    assert doc["stretches"][0]["overpressure_gain_deg"] == 4.25
    assert doc["stretches"][1]["direction"] == "external"
    kinds = [a["kind"] for a in doc["timeline"]]
    assert kinds[0] == "calibration" and {"rep", "hold", "stretch", "gap", "rest"} <= set(kinds)
    assert doc["timeline"][-1]["end_s"] is None
    s = doc["summary"]
    assert s["stretch_count"] == 2
    assert s["longest_stretch_s"] == 12.5  # the first: 100-112.5 s
    assert s["max_stretch_deg"] == 34.5  # farther than the external one's -24.5
    assert s["external_rep_count"] == 1
    assert s["rep_count"] == len(doc["reps"])
    assert [r["direction"] for r in doc["reps"]].count("external") == 1


def test_summary_of_a_session_without_stretches():
    session, result = shipped()
    s = analysis_document(session, result)["summary"]
    assert s["stretch_count"] == 0 and s["external_rep_count"] == 0
    assert s["longest_stretch_s"] is None and s["max_stretch_deg"] is None


def test_farthest_stretch_may_be_external():
    from dataclasses import replace

    from imuhip.analysis.exercise import ExerciseResult

    ex = ExerciseResult(
        (), (), (), (), stretches=(STRETCHES[1], replace(STRETCHES[0], max_deg=10.0))
    )
    assert ex.summary()["max_stretch_deg"] == -24.5
    assert ex.summary()["longest_stretch_s"] == 12.5


def test_data_span_reads_the_same_from_the_file_as_from_the_document():
    """The live summary says the span from the file's times, analyze from the document's
    (rounded to the millisecond): rounding twice must not move a tenth (3.9496 s is 3.9 s
    rounded once but 3.95, then 4.0, through the document; a CI run failed on it)."""
    from imuhip.sinks.analysis_text import data_span_text

    for t0, t1 in [(3.9496, 67.4496), (4.1496, 55.2496), (3.9496, 55.2004), (0.0, 0.0)]:
        doc_t = [round(t0, 3), round(t1, 3)]
        assert data_span_text(t0, t1) == data_span_text(*doc_t)
    assert data_span_text(3.9496, 67.4496) == "63.5 s of data (4.0-67.5 s)"
