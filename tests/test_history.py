"""``imuhip history``: rows per session, errors as rows, asymmetry, CSV, cache."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session, write_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.history import (
    Comparison,
    HistoryRow,
    asymmetry,
    percent_difference,
    read_csv,
    scan,
    session_date,
    write_csv,
)

# (file, side, created_utc, seed): two dates per side; the latest of each side is compared.
SESSIONS = (
    ("2026-03-01/left.imuhip", "left", "2026-03-01T09:00:00+00:00", 1),
    ("2026-03-01/right.imuhip", "right", "2026-03-01T09:10:00+00:00", 2),
    ("2026-03-08/left.imuhip", "left", "2026-03-08T18:30:00+01:00", 3),  # 17:30 UTC
    ("2026-03-08/right.imuhip", "right", "2026-03-08T17:00:00+00:00", 4),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("history")
    for name, side, created, seed in SESSIONS:
        sim = simulate(SimConfig(side=side, content="mixed", duration_s=120, seed=seed))
        sim = replace(sim, header=replace(sim.header, created_utc=created))
        (root / name).parent.mkdir(exist_ok=True)
        write_simulation(sim, root / name)
    # no calibration: only the part of a session after its calibration movements
    sim = simulate(SimConfig(side="left", content="reps", duration_s=70, seed=5))
    late = {r: _after(s, 40.0) for r, s in sim.samples.items()}
    hdr = replace(sim.header, created_utc="2026-03-09T08:00:00+00:00")
    write_session(root / "nocal.imuhip", hdr, samples=late)
    (root / "broken.imuhip").write_bytes(b"this is not a session\n" * 10)
    (root / "notes.txt").write_text("not a session, not scanned")
    return root


def _after(s, t0: float):
    k = s.t > t0
    return replace(s, t=s.t[k], acc=s.acc[k], gyr=s.gyr[k], mag=None if s.mag is None else s.mag[k])


def expected_row(root: Path, name: str) -> dict:
    session = read_session(root / name)
    return analyze_session(session).exercise.summary()


def test_rows_errors_and_asymmetry(folder):
    res = scan(folder, jobs=2)
    rows = {r.file: r for r in res.rows}
    assert set(rows) == {s[0] for s in SESSIONS} | {"nocal.imuhip", "broken.imuhip"}
    assert res.analysed == 6 and res.cached == 0

    for name, side, _, _ in SESSIONS:
        r, want = rows[name], expected_row(folder, name)
        assert r.ok and r.side == side and r.exercise == "prone" and r.simulated
        assert (r.reps, r.max_rotation_deg, r.mean_peak_deg) == (
            want["rep_count"], want["max_rotation_deg"], want["mean_peak_deg"])  # fmt: skip
        assert (r.holds, r.longest_hold_s, r.total_hold_s) == (
            want["hold_count"], want["longest_hold_s"], want["total_hold_s"])  # fmt: skip
        assert r.reps > 0 and r.holds > 0
    assert rows["2026-03-08/left.imuhip"].date == "2026-03-08T17:30:00+00:00"
    assert rows["2026-03-08/left.imuhip"].date_source == "header"

    nocal = rows["nocal.imuhip"]
    assert not nocal.ok and "knee bends" in nocal.error and nocal.side == "left"
    broken = rows["broken.imuhip"]
    assert not broken.ok and "not an imuhip session file" in broken.error
    assert broken.date_source == "file time" and broken.side == ""

    # oldest first; the failed rows are rows too
    assert [r.date for r in res.rows] == sorted(r.date for r in res.rows)

    (a,) = asymmetry(res.rows)
    assert a.exercise == "prone"
    assert a.left.file == "2026-03-08/left.imuhip" and a.right.file == "2026-03-08/right.imuhip"
    left = expected_row(folder, "2026-03-08/left.imuhip")
    right = expected_row(folder, "2026-03-08/right.imuhip")
    for c, key in zip(a.comparisons, ("max_rotation_deg", "mean_peak_deg", "longest_hold_s"),
                      strict=True):  # fmt: skip
        L, R = left[key], right[key]
        assert c.percent == pytest.approx(100 * (L - R) / max(L, R))
        unit = "°" if key.endswith("deg") else " s"
        less = "right" if L > R else "left"
        assert c.sentence() == (
            f"left {L:.1f}{unit} vs right {R:.1f}{unit}: {less} {round(abs(c.percent))} % less"
        )


def test_cli_output_csv_and_cache(folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "history.csv"
    shown = []

    def track(items, description, total=None):  # the one progress mechanism, sinks.progress
        shown.append((description, total))
        yield from items

    monkeypatch.setattr("imuhip.sinks.progress.track", track)
    assert main(["history", str(folder), "--csv", str(out), "--jobs", "1"]) == 0
    assert shown == [("analysing sessions", 6)]
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\r" not in text  # clean when piped
    assert "6 session(s), 2 not analysed (6 analysed" in text
    assert "broken.imuhip" in text and "not analysed: " in text
    assert "left/right asymmetry" in text and "  prone:" in text
    assert "(2026-03-08/left.imuhip vs 2026-03-08/right.imuhip)" in text
    assert "max rotation" in text and "% less" in text
    rows = read_csv(out)
    assert rows == scan(folder, jobs=1).rows  # CSV round trip

    # second run: all from the cache, same rows
    res = scan(folder, jobs=1, cache=tmp_path / "cache" / "history.json")
    assert res.cached == 6 and res.analysed == 0 and res.rows == rows
    # the cache is keyed on content: a touched but unchanged file is still cached
    p = folder / "2026-03-01/right.imuhip"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    res = scan(folder, jobs=1, cache=tmp_path / "cache" / "history.json")
    assert res.analysed == 0 and res.cached == 6 and res.rows == rows
    # (bit rot, same size and time: tests/test_history_cache.py)


def test_empty_and_missing_folders(tmp_path, capsys):
    assert main(["history", str(tmp_path), "--no-cache"]) == 0
    assert "0 session(s)" in capsys.readouterr().out
    assert main(["history", str(tmp_path / "nope"), "--no-cache"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_percentages_and_sentences():
    assert percent_difference(38.2, 31.0) == pytest.approx(18.848, abs=1e-3)
    assert percent_difference(31.0, 38.2) == pytest.approx(-18.848, abs=1e-3)
    assert percent_difference(None, 3.0) is None and percent_difference(0.0, 3.0) is None
    c = Comparison("max rotation", "°", 38.2, 31.0, percent_difference(38.2, 31.0))
    assert c.sentence() == "left 38.2° vs right 31.0°: right 19 % less"
    c = Comparison("longest hold", " s", 20.0, 25.0, percent_difference(20.0, 25.0))
    assert c.sentence() == "left 20.0 s vs right 25.0 s: left 20 % less"
    c = Comparison("longest hold", " s", None, 25.0, None)
    assert c.sentence() == "left \u2013 vs right 25.0 s: no holds on the left side"
    c = Comparison("mean peak", "°", 30.0, 30.1, percent_difference(30.0, 30.1))
    assert c.sentence().endswith(": no difference")


def test_asymmetry_picks_latest_per_side_and_exercise():
    def row(file, date, side, exercise="prone", peak=30.0, error=""):
        return HistoryRow(file, date, "header", side, exercise, max_rotation_deg=peak,
                          mean_peak_deg=peak, longest_hold_s=None, error=error)  # fmt: skip

    rows = [
        row("a", "2026-01-01T00:00:00+00:00", "left", peak=10.0),
        row("b", "2026-01-05T00:00:00+00:00", "left", peak=40.0),
        row("c", "2026-01-09T00:00:00+00:00", "left", error="broken"),
        row("d", "2026-01-03T00:00:00+00:00", "right", peak=20.0),
        row("e", "2026-01-03T00:00:00+00:00", "left", exercise="seated"),
    ]
    prone, seated = asymmetry(rows)
    assert (prone.left.file, prone.right.file) == ("b", "d")
    assert prone.comparisons[0].percent == pytest.approx(50.0)
    assert prone.comparisons[2].sentence().endswith("no holds on either side")
    assert seated.right is None and seated.comparisons == ()


def test_session_date():
    assert session_date("2026-03-08T18:30:00+01:00", 0) == ("2026-03-08T17:30:00+00:00", "header")
    assert session_date("", 0) == ("1970-01-01T00:00:00+00:00", "file time")
    assert session_date("yesterday", 0)[1] == "file time"


def test_csv_round_trip_of_odd_values(tmp_path):
    rows = [
        HistoryRow("x, \"quoted\".imuhip", "", "", error="line1\nline2"),
        HistoryRow("y.imuhip", "2026-01-01T00:00:00+00:00", "header", "right", "seated", True,
                   61.5, 3, 40.25, 38.0, 0, None, 0.0, "", "damaged file: 9 bytes unreadable"),
    ]  # fmt: skip
    assert read_csv(write_csv(tmp_path / "h.csv", rows)) == rows


def test_report_with_history(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "r.html"
    args = ["report", str(folder / "2026-03-08/left.imuhip"), "--history", str(folder)]
    assert main([*args, "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Progress: prone sessions over time (4)" in html
    assert "2026-03-08 17:30 (this)" in html and "% less" in html


def test_empty_session_files_are_not_listed_and_dates_are_local(
    folder, tmp_path, capsys, monkeypatch, local_tz
):
    """Issue #18: every failed live/record left an empty session file, which history listed
    as "not analysed"; and its dates were UTC."""
    from imuhip.files.session_file import SessionWriter

    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    local_tz("Asia/Kolkata")  # UTC+05:30
    root = tmp_path / "h"
    root.mkdir()
    (root / "left.imuhip").write_bytes((folder / "2026-03-01/left.imuhip").read_bytes())
    hdr = read_session(folder / "2026-03-01/left.imuhip").header
    with SessionWriter(root / "2026-03-02_101010_left_prone.imuhip", hdr):
        pass  # a session that never received data
    assert main(["history", str(root), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "1 session(s) (" in text and "not analysed" not in text
    assert "not listed: 1 file(s) without any data" in text
    assert "2026-03-02_101010_left_prone.imuhip" in text.splitlines()[1]
    table = text.splitlines()[3:5]
    assert table[0].startswith("date (IST)") and table[1].startswith("2026-03-01 14:30"), table


def test_rows_carry_the_longest_stretch_and_its_end_range(tmp_path, monkeypatch):
    """Per session: how many stretches, the longest one's duration and its end-range angle
    (its ``max_deg``, not the farthest of all stretches); in the text, the CSV and the cache."""
    import shutil

    import imuhip.pipeline.analyze
    from imuhip.sinks.history import analyze_file, history_text
    from tests.stretch_analysis import SHIPPED, with_stretches

    real = imuhip.pipeline.analyze.analyze_stream  # what history's rows are analysed with

    def with_fake_stretches(stream, *a, **kw):
        result = real(stream, *a, **kw)
        return with_stretches(stream.summary(), result)[1]

    monkeypatch.setattr(imuhip.pipeline.analyze, "analyze_stream", with_fake_stretches)
    d = tmp_path / "s"
    d.mkdir()
    shutil.copy2(SHIPPED, d / SHIPPED.name)
    (row,) = analyze_file(d / SHIPPED.name)
    assert row.ok and row.stretches == 2
    assert row.longest_stretch_s == 12.5 and row.longest_stretch_max_deg == 34.5
    assert read_csv(write_csv(tmp_path / "h.csv", [row])) == [row]
    cache = tmp_path / "cache.json"
    first = scan(d, jobs=1, cache=cache)
    again = scan(d, jobs=1, cache=cache)
    assert again.cached == 1 and again.rows == first.rows
    assert again.rows[0].longest_stretch_max_deg == 34.5
    lines = history_text(d, again).splitlines()
    assert "stretch s" in lines[2] and "stretch °" in lines[2]
    assert lines[3].split()[-4:] == ["12.5", "34.5", SHIPPED.name, "SIMULATED"]


def test_rows_without_stretches_show_none(folder):
    rows = [r for r in scan(folder, jobs=1).rows if r.ok]
    assert rows and all(r.stretches == 0 and r.longest_stretch_s is None for r in rows)
    assert all(r.longest_stretch_max_deg is None for r in rows)
