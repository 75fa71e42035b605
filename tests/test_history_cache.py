"""The history cache is keyed on content and checked on load; nothing from it reaches the
report unescaped (issue 21, part 3)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from imuhip.cli import main
from imuhip.sinks.history import HistoryRow, scan

ROOT = Path(__file__).resolve().parents[1] / "recordings"
FILES = ("prone-left-mixed-simulated.imuhip", "prone-right-reps-simulated.imuhip")


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "sessions"
    d.mkdir()
    for f in FILES:
        shutil.copy2(ROOT / f, d / f)
    return d


def _flip_keeping_size_and_time(p: Path, at: int) -> None:
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[at] ^= 0x10
    p.write_bytes(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_damaged_file_with_an_old_entry_gets_a_fresh_result(folder, tmp_path):
    cache = tmp_path / "cache.json"
    clean = {r.file: r for r in scan(folder, jobs=1, cache=cache).rows}
    assert all(r.ok and not r.note for r in clean.values())
    p = folder / FILES[0]
    _flip_keeping_size_and_time(p, p.stat().st_size // 2)
    res = scan(folder, jobs=1, cache=cache)
    assert res.analysed == 1 and res.cached == 1
    fresh = {r.file: r for r in res.rows}[FILES[0]]
    assert fresh.note.startswith("damaged file: ") and fresh != clean[FILES[0]]
    assert {r.file: r for r in res.rows}[FILES[1]] == clean[FILES[1]]


def _forge(cache: Path, name: str, **row) -> None:
    doc = json.loads(cache.read_text())
    key = next(k for k in doc["entries"] if k.endswith(name))
    doc["entries"][key]["rows"][0].update(row)
    cache.write_text(json.dumps(doc))


def test_forged_entries_neither_crash_nor_reach_the_report_as_script(
    folder, tmp_path, capsys, monkeypatch
):
    cache = tmp_path / "cache.json"
    honest = {r.file: r for r in scan(folder, jobs=1, cache=cache).rows}
    # a string where a number belongs (was: ValueError: Unknown format code 'f')
    _forge(cache, FILES[0], max_rotation_deg="<script>alert(1)</script>", reps="11")
    # the right types, with markup in the texts shown
    _forge(cache, FILES[1], date="2026-03-01T09:00:00+00:00", note="<script>alert(2)</script>",
           mean_peak_deg=99.0)  # fmt: skip
    res = scan(folder, jobs=1, cache=cache)
    assert res.analysed == 1 and res.cached == 1  # the ill-typed entry was recomputed
    rows = {r.file: r for r in res.rows}
    assert rows[FILES[0]] == honest[FILES[0]]
    assert rows[FILES[1]].mean_peak_deg == 99.0  # well-formed: trusted (the cache is ours)

    # the CLI's own cache: forged texts in the fields the report shows
    (tmp_path / "c2").mkdir()
    cli_cache = tmp_path / "c2" / "history.json"
    shutil.copy(cache, cli_cache)
    _forge(cli_cache, FILES[0], side="<script>x</script>")
    _forge(cli_cache, FILES[1], date="<script>alert(3)</script>")
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "c2"))
    assert main(["history", str(folder), "--jobs", "1"]) == 0
    out = tmp_path / "r.html"
    args = ["report", str(folder / FILES[0]), "--history", str(folder), "-o", str(out)]
    assert main(args) == 0
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "Progress: prone sessions over time (2)" in html
    assert "imuhip: error" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad",
    [
        {"reps": "11"},
        {"reps": True},
        {"reps": -1},
        {"max_rotation_deg": float("nan")},
        {"max_rotation_deg": "40.7"},
        {"simulated": "yes"},
        {"side": "<b>"},
        {"date": "yesterday"},
        {"date": "2026-03-01T09:00:00"},  # naive: cannot be ordered with the others
        {"note": 5},
        {"extra_field": 1},
        {"stretches": 1.5},
        {"longest_stretch_s": float("inf")},
        {"longest_stretch_max_deg": "30"},
        {"sets": -1},
        {"sets_met": 1.0},
        {"program": None},
    ],
)
def test_history_row_from_dict_checks_every_field(bad):
    good = {
        "file": "a.imuhip", "date": "2026-03-01T09:00:00+00:00", "date_source": "header",
        "side": "left", "exercise": "prone", "simulated": True, "duration_s": 90.0, "reps": 10,
        "max_rotation_deg": 40.7, "mean_peak_deg": 38.0, "holds": 0, "longest_hold_s": None,
        "total_hold_s": 0.0, "error": "", "note": "", "stretches": 1, "longest_stretch_s": 30.5,
        "longest_stretch_max_deg": -22.0, "program": "band holds", "sets_planned": 3, "sets": 3,
        "sets_met": 1, "set_results": "hold 1/2 23.0/20 s ✓", "best_set": "best hold 1/2",
    }  # fmt: skip
    assert HistoryRow.from_dict(good) == HistoryRow(**good)
    with pytest.raises(ValueError):
        HistoryRow.from_dict({**good, **bad})


@pytest.mark.parametrize("text", ["not json", "[]", '{"schema": 1}', '{"entries": []}'])
def test_garbage_cache_files_are_ignored(folder, tmp_path, text):
    from imuhip.sinks.history import CACHE_SCHEMA, _code_fingerprint

    cache = tmp_path / "cache.json"
    cache.write_text(text)
    assert scan(folder, jobs=1, cache=cache).analysed == 2
    doc = {"schema": CACHE_SCHEMA, "code": _code_fingerprint(), "entries": {"x": [1], "y": 2}}
    cache.write_text(json.dumps(doc))
    assert scan(folder, jobs=1, cache=cache).analysed == 2


def test_an_entry_of_the_old_layout_is_analysed_again(folder, tmp_path):
    """A /1 cache (rows without the stretch figures) is not trusted: its files are analysed
    again, and an entry of the old layout under the new schema fails the row check."""
    from imuhip.sinks.history import CACHE_SCHEMA, _code_fingerprint

    cache = tmp_path / "cache.json"
    scan(folder, jobs=1, cache=cache)
    doc = json.loads(cache.read_text())
    assert doc["schema"] == CACHE_SCHEMA == "imuhip.history-cache/4"
    old = {k: {"key": e["key"], "row": {f: v for f, v in e["rows"][0].items()
                                        if "stretch" not in f}}
           for k, e in doc["entries"].items()}  # fmt: skip
    cache.write_text(json.dumps({"schema": "imuhip.history-cache/1", "code": doc["code"],
                                 "entries": old}))  # fmt: skip
    assert scan(folder, jobs=1, cache=cache).analysed == 2
    cache.write_text(json.dumps({"schema": CACHE_SCHEMA, "code": _code_fingerprint(),
                                 "entries": old}))  # fmt: skip
    assert scan(folder, jobs=1, cache=cache).analysed == 2
    assert scan(folder, jobs=1, cache=cache).cached == 2  # rewritten in the new layout
