"""The HTML report: structure, figures equal to ``imuhip analyze``, self-containment."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.analysis_text import analysis_document, analysis_text
from imuhip.sinks.report import _rows_layout, render_report
from imuhip.sinks.svg import decimate_minmax, line_chart, ticks

# Digits ``imuhip analyze`` prints each figure with (see analysis_text); the page must match.
REP_DIGITS = (("start_s", 2), ("peak_s", 2), ("end_s", 2), ("peak_deg", 1), ("range_deg", 1),
              ("duration_s", 2))  # fmt: skip
HOLD_DIGITS = (("start_s", 2), ("end_s", 2), ("duration_s", 2), ("mean_deg", 1),
               ("steadiness_deg", 2), ("effort_index", 1))  # fmt: skip
STRETCH_DIGITS = (("start_s", 2), ("end_s", 2), ("duration_s", 2), ("mean_deg", 1),
                  ("max_deg", 1), ("time_at_end_range_s", 2), ("overpressure_start_s", 1),
                  ("overpressure_gain_deg", 1))  # fmt: skip
DASH = "\u2013"


def fmt(v: float | None, digits: int) -> str:
    return DASH if v is None else f"{v:.{digits}f}"


class Page(HTMLParser):
    """What a reader sees: tables (by class) as rows of cell texts, ``data-k`` values, text,
    and every tag and attribute (for the self-containment checks)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.values: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._dk: tuple[str, list[str]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._table = self.tables.setdefault(a.get("class") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        if "data-k" in a:
            self._dk = (a["data-k"], [])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        if self._dk is not None and tag in ("span", "b"):
            self.values[self._dk[0]] = "".join(self._dk[1]).strip()
            self._dk = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._dk is not None:
            self._dk[1].append(data)

    def body(self, cls: str) -> list[list[str]]:
        return self.tables[cls][1:]  # without the heading row


def check_page(page: Page, doc: dict, text: str) -> None:
    """Every figure of ``doc`` (``imuhip.analysis/2``) is on ``page`` as ``imuhip analyze``
    prints it (``text``: its text output)."""
    s = doc["summary"]
    assert page.values["rep_count"] == str(s["rep_count"])
    assert page.values["hold_count"] == str(s["hold_count"])
    for key, unit in (("max_rotation_deg", "°"), ("mean_peak_deg", "°"),
                      ("longest_hold_s", " s"), ("total_hold_s", " s")):  # fmt: skip
        want = DASH if s[key] is None else f"{s[key]:.1f}{unit}"
        assert page.values[key] == want, key
    text_lines = text.splitlines()
    reps = page.body("reps") if doc["reps"] else []
    assert len(reps) == len(doc["reps"])
    for i, (row, r) in enumerate(zip(reps, doc["reps"], strict=True), 1):
        want = [str(i), *(fmt(r[k], d) for k, d in REP_DIGITS)]
        assert row == [*want, r.get("direction", "internal")]
        line = next(ln for ln in text_lines if ln.split()[:2] == [str(i), want[1]])
        ext = ["ext"] if r.get("direction") == "external" else []
        assert line.split() == want + ext  # the same strings as `imuhip analyze` prints
    holds = page.body("holds") if doc["holds"] else []
    assert len(holds) == len(doc["holds"])
    for i, (row, h) in enumerate(zip(holds, doc["holds"], strict=True), 1):
        assert row == [str(i), *(fmt(h[k], d) for k, d in HOLD_DIGITS)]
    if "stretches" in doc:
        for key, unit in (("longest_stretch_s", " s"), ("max_stretch_deg", "°")):
            want = DASH if s[key] is None else f"{s[key]:.1f}{unit}"
            assert page.values[key] == want, key
        assert page.values["stretch_count"] == str(s["stretch_count"])
        stretches = page.body("stretches") if doc["stretches"] else []
        assert len(stretches) == len(doc["stretches"])
        for i, (row, x) in enumerate(zip(stretches, doc["stretches"], strict=True), 1):
            want = [str(i), *(fmt(x[k], d) for k, d in STRETCH_DIGITS), x["direction"]]
            assert row == want
    quality = {r[0]: r[1] for r in page.body("calibration")}
    assert len(quality) == len(doc["calibration"]["quality"])
    all_text = " ".join(" ".join(page.text).split())
    for w in doc["calibration"]["warnings"]:
        assert w in all_text
    health = {r[0]: r for r in page.body("health")}
    assert set(health) == {"thigh", "shin"}
    for role, d in doc["sensor_health"].items():
        assert health[role][-2:] == [str(d["dropped"]), str(d["lost_samples"])]


def assert_self_contained(html: str, page: Page) -> None:
    assert not re.search(r"https?:|//[a-z0-9]|@import|<script|<link|<iframe|<img", html, re.I)
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "srcset", "action"):
            assert name not in attrs, (tag, name)
    for ref in re.findall(r"url\(([^)]*)\)", html):
        assert ref.startswith("#"), ref  # only the charts' own clip paths


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "mixed.imuhip"
    cfg = SimConfig(content="mixed", duration_s=120, seed=1, profile="witmotion-ble5")
    write_simulation(simulate(cfg), path)
    return path


def test_report_page_shows_the_analysis(simulated, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(simulated), "-o", str(out)]) == 0
    assert main(["analyze", "--json", str(simulated)]) == 0
    cap = capsys.readouterr().out
    doc = json.loads(cap[cap.index("{") :])
    assert main(["analyze", str(simulated)]) == 0
    text = capsys.readouterr().out
    assert doc["reps"] and doc["holds"]  # the fixture exercises both tables

    html = out.read_text(encoding="utf-8")
    page = Page(html)
    check_page(page, doc, text)
    assert_self_contained(html, page)
    assert "<span class='badge sim'>SIMULATED</span>" in html and "<title>SIMULATED " in html
    # the trace, the rep peaks and the calibration movements, each twice: for screens, and
    # narrower for phones (see test_report_browser)
    assert html.count('class="chart wide"') == html.count('class="chart narrow"') == 3
    assert html.count("<svg") == 6 and len(html) < 200_000
    for cls in ("wide", "narrow"):
        svg = re.search(rf'<svg viewBox="[^"]*" class="chart {cls}".*?</svg>', html, re.S).group()
        # spans for every rep and hold, one peak marker per rep
        assert svg.count('class="rep"') == len(doc["reps"])
        assert svg.count('class="hold"') == len(doc["holds"])
        assert svg.count('class="peak"') == len(doc["reps"])
    assert "time (s)" in html and "hip rotation (°" in html


def test_report_variants(simulated):
    """A real (not simulated) session, warnings, partial reps, no reps or holds."""
    session = read_session(simulated)
    result = analyze_session(session)
    doc = analysis_document(session, result)
    real = session.with_header(extra={}, time_base="host-monotonic")
    doc2 = json.loads(json.dumps(doc))
    doc2["calibration"]["warnings"] = ["the leg was <not> quite still"]
    doc2["partial_reps"] = [
        {"start_s": 110.0, "peak_s": 111.0, "end_s": None, "peak_deg": 9.0, "range_deg": 8.5,
         "reason": "not finished"}
    ]  # fmt: skip
    doc2["reps"], doc2["holds"] = [], []
    doc2["summary"] = {**doc2["summary"], "rep_count": 0, "hold_count": 0,
                       "max_rotation_deg": None, "mean_peak_deg": None, "longest_hold_s": None,
                       "total_hold_s": 0.0}  # fmt: skip
    html = render_report(simulated, real, result, doc2)
    page = Page(html)
    assert "SIMULATED" not in html
    assert "the leg was &lt;not&gt; quite still" in html
    assert "not finished" in html and 'class="partial"' in html
    assert "No repetitions." in html and "No holds." in html
    assert page.values["max_rotation_deg"] == DASH
    assert_self_contained(html, page)


def test_long_sessions_are_drawn_in_rows_and_stay_small():
    assert _rows_layout(0.0, 600.0) == [(0.0, 600.0)]
    rows = _rows_layout(0.0, 3603.0)  # an hour: six 10-minute rows, the remainder in the last
    assert len(rows) == 6 and rows[0] == (0.0, 600.0) and rows[-1] == (3000.0, 3603.0)
    assert len(_rows_layout(0.0, 4 * 3600.0)) <= 8
    t = np.arange(360_000) / 100.0  # one hour at 100 Hz
    y = 30 * np.sin(t) ** 20
    y[1000:1300] = np.nan
    svg = line_chart(t, y, x_range=(0, 600))
    assert len(svg) < 60_000
    assert svg.count("M") >= 2  # the gap breaks the line


def test_decimation_keeps_peaks_and_gaps():
    x = np.arange(100_000.0)
    y = np.zeros_like(x)
    y[12_345] = 50.0
    y[70_000:71_000] = np.nan
    xs, ys = decimate_minmax(x, y, 500)
    assert len(xs) <= 1000
    assert 50.0 in ys and 12_345 in xs
    assert np.isnan(ys).any()
    assert np.all(np.diff(xs) > 0)
    assert ticks(-7.0, 43.0, 5) == [0.0, 10.0, 20.0, 30.0, 40.0]


def test_report_of_damaged_and_gappy_session(tmp_path):
    from imuhip.files.session_file import write_session
    from imuhip.session import Event

    sim = simulate(SimConfig(content="reps", duration_s=80, seed=4))
    s = sim.samples["shin"]
    keep = (s.t < 50.0) | (s.t > 52.0)
    samples = {**sim.samples, "shin": replace(s, t=s.t[keep], acc=s.acc[keep], gyr=s.gyr[keep])}
    link = {"stack": "bumble", "requested": "7.5-15 ms", "interval_ms": 7.5, "detail": ""}
    events = [
        Event(0.0, "link_parameters", "shin", link),
        Event(50.0, "connection_lost", "shin"),
        Event(52.0, "connection_restored", "shin"),
        Event(52.1, "link_parameters", "shin", {**link, "interval_ms": None}),
    ]
    path = write_session(tmp_path / "g.imuhip", sim.header, samples=samples, events=events)
    path.write_bytes(path.read_bytes()[:-9])
    session = read_session(path, warn=False)
    result = analyze_session(session)
    html = render_report(path, session, result, analysis_document(session, result))
    page = Page(html)
    assert 'class="gap"' in html
    assert ["50.0", "shin", "connection lost", ""] in page.body("events")
    assert ["0.0", "shin", "link parameters", "interval 7.5 ms (asked 7.5-15 ms)"] in page.body(
        "events"
    )
    assert ["52.1", "shin", "link parameters", "interval unknown (asked 7.5-15 ms)"] in page.body(
        "events"
    )
    assert "incomplete record" in html
    shin = next(r for r in page.body("health") if r[0] == "shin")
    assert shin[5] == "1"  # one gap
    assert analysis_text(path, analysis_document(session, result))


def test_progress_section_from_history(simulated, tmp_path, local_tz):
    from imuhip.sinks.history import HistoryRow, asymmetry

    local_tz("UTC")

    session = read_session(simulated)
    result = analyze_session(session)
    doc = analysis_document(session, result)
    s = doc["summary"]
    rows = [
        HistoryRow("old/right.imuhip", "2026-01-01T10:00:00+00:00", "header", "right", "prone",
                   reps=5, max_rotation_deg=30.0, mean_peak_deg=25.0, holds=1,
                   longest_hold_s=20.0, total_hold_s=20.0, stretches=1, longest_stretch_s=40.0,
                   longest_stretch_max_deg=35.5),
        HistoryRow(simulated.name, "2026-01-02T10:00:00+00:00", "header", "left", "prone", True,
                   reps=s["rep_count"], max_rotation_deg=s["max_rotation_deg"],
                   mean_peak_deg=s["mean_peak_deg"], holds=s["hold_count"],
                   longest_hold_s=s["longest_hold_s"], total_hold_s=s["total_hold_s"]),
        HistoryRow("seated.imuhip", "2026-01-03T10:00:00+00:00", "header", "left", "seated"),
        HistoryRow("broken.imuhip", "2026-01-04T10:00:00+00:00", "file time", error="bad"),
    ]  # fmt: skip
    html = render_report(simulated, session, result, doc, rows)
    page = Page(html)
    progress = page.body("progress")
    assert [r[0] for r in progress] == ["2026-01-01 10:00", "2026-01-02 10:00 (this)"]
    assert progress[1][3] == f"{s['max_rotation_deg']:.1f}"
    assert progress[0][8:10] == ["40.0", "35.5"] and progress[1][8:10] == [DASH, DASH]
    for c in asymmetry(rows)[0].comparisons:
        assert c.sentence() in " ".join(page.text)
    assert_self_contained(html, page)
    # progress over time: one chart per measure, a dot per session, coloured by side
    for measure in ("max rotation", "longest hold"):
        m = re.search(
            rf'aria-label="{measure} \([^)]*\) per session over time"(.*?)</svg>', html, re.S
        )
        assert m, measure
        assert m.group(1).count('class="side-left"') == 1
        assert m.group(1).count('class="side-right"') == 1


def test_report_history_with_sessions_of_the_same_time(simulated, tmp_path, monkeypatch, capsys):
    """Issue #18: two sessions with the same timestamp (two simulate runs in a row) made
    ``report --history`` crash comparing HistoryRow objects."""
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("a.imuhip", "b.imuhip"):  # same header, same created_utc
        (folder / name).write_bytes(simulated.read_bytes())
    out = tmp_path / "r.html"
    assert main(["report", str(folder / "a.imuhip"), "-o", str(out), "--history", str(folder)]) == 0
    html = out.read_text(encoding="utf-8")
    m = re.search(r'aria-label="max rotation \(°\) per session over time"(.*?)</svg>', html, re.S)
    assert m and m.group(1).count('class="side-left"') == 2


def test_progress_charts_plot_local_dates(simulated, local_tz):
    """Issue #18: the progress charts' x axis is the date in local time, not "days since the
    first session" (which went negative for same-day sessions)."""
    from imuhip.sinks.history import HistoryRow

    local_tz("Asia/Kolkata")  # UTC+05:30, no daylight saving
    session = read_session(simulated)
    result = analyze_session(session)
    doc = analysis_document(session, result)

    def row(name: str, date: str, value: float) -> HistoryRow:
        return HistoryRow(name, date, "header", "left", "prone", reps=1,
                          max_rotation_deg=value, holds=0)  # fmt: skip

    rows = [
        row("x.imuhip", "2026-03-03T10:00:00+00:00", 30.0),
        row("y.imuhip", "2026-03-01T10:00:00+00:00", 25.0),
        row("z.imuhip", "2026-03-01T10:00:00+00:00", 26.0),  # same day and time
    ]
    html = render_report(simulated, session, result, doc, rows)
    m = re.search(r'aria-label="max rotation \(°\) per session over time"(.*?)</svg>', html, re.S)
    assert m
    chart = m.group(1)
    assert "days since" not in html
    assert "date (IST)" in chart
    labels = re.findall(r'class="tick" x="[^"]*" y="[^"]*" text-anchor="middle">([^<]*)<', chart)
    assert labels == ["2 Mar", "3 Mar"]  # local midnights within 1 Mar 15:30 .. 3 Mar 15:30
    # the sessions' dots at their local times, in date order
    titles = re.findall(r'<circle class="side-left"[^>]*><title>([^<]*)</title>', chart)
    assert titles == ["2026-03-01 15:30 left: 25.0°", "2026-03-01 15:30 left: 26.0°",
                      "2026-03-03 15:30 left: 30.0°"]  # fmt: skip
    table = Page(html).body("progress")
    assert [r[0] for r in table] == ["2026-03-03 15:30", "2026-03-01 15:30", "2026-03-01 15:30"]


def test_date_ticks_hours_for_a_single_day(local_tz):
    from imuhip.sinks.report import DAY_S, date_ticks

    local_tz("UTC")
    x0 = 1772359200.0 / DAY_S  # 2026-03-01 10:00 UTC
    got = date_ticks(x0 - 1 / 24, x0 + 1 / 24)
    assert [t for _, t in got] == ["1 Mar 09:00", "10:00", "11:00"]
    assert [round(v * DAY_S) for v, _ in got] == [1772355600, 1772359200, 1772362800]


def test_analyze_text_explains_effort_and_steadiness_as_the_report_does(simulated, capsys):
    """Issue #18: ``effort dB`` and ``steadiness °`` had no scale or explanation in analyze."""
    from imuhip.sinks.analysis_text import EFFORT_NOTE, STEADINESS_NOTE

    assert main(["analyze", str(simulated)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if "steadiness °" in ln and "effort dB" in ln)
    below = lines[head + 1 :]
    assert f"  {STEADINESS_NOTE}" in below and f"  {EFFORT_NOTE}" in below
    assert "0 = like resting" in EFFORT_NOTE and "dB" in EFFORT_NOTE
    session = read_session(simulated)
    result = analyze_session(session)
    html = render_report(simulated, session, result, analysis_document(session, result))
    assert STEADINESS_NOTE in html and EFFORT_NOTE in html


def test_calibration_movements_rep_peaks_and_notes(simulated, tmp_path):
    """Issue 18: the trace was blank during the calibration, there was no per-rep peak chart
    and no notes field."""
    out = tmp_path / "r.html"
    notes = "felt <tight> & sore\nsecond line"
    assert main(["report", str(simulated), "-o", str(out), "--notes", notes]) == 0
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    assert_self_contained(html, page)
    assert "<p class='notes'>felt &lt;tight&gt; &amp; sore\nsecond line</p>" in html
    session = read_session(simulated)
    doc = analysis_document(session, analyze_session(session))
    ph = doc["calibration"]["phases"]
    for cls in ("wide", "narrow"):
        cal = re.search(rf'<svg[^>]*class="chart {cls}"[^>]*aria-label="shin angular speed'
                        r'.*?</svg>', html, re.S).group()  # fmt: skip
        # the calibration's movements are drawn (a line, not "no angle data"), phases labelled
        assert '<path class="line" d="M' in cal and "no angle data" not in cal
        assert cal.count('class="bends"') == cal.count('class="rocks"') == 1
        assert f"knee bends: {ph['bends'][0]:.1f}-{ph['bends'][1]:.1f} s" in cal
        peaks = re.search(rf'<svg[^>]*class="chart {cls}"[^>]*aria-label="hip rotation peak'
                          r'.*?</svg>', html, re.S).group()  # fmt: skip
        heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', peaks)]
        assert len(heights) == len(doc["reps"]) >= 2
        # taller bar for the higher peak
        order = np.argsort([r["peak_deg"] for r in doc["reps"]])
        assert np.all(np.diff(np.asarray(heights)[order]) >= 0)
        for i, r in enumerate(doc["reps"], 1):
            assert f"<title>rep {i}: {r['peak_deg']:.1f}° at {r['peak_s']:.2f} s</title>" in peaks
    # without notes, no notes section
    assert main(["report", str(simulated), "-o", str(out)]) == 0
    assert "class='notes'" not in out.read_text(encoding="utf-8")


def test_history_report_overlays_the_other_sides_rep_peaks(tmp_path, monkeypatch):
    """With --history, the latest session of the other side (same exercise) is drawn rep by rep
    beside this one: left and right bars, and the mean peaks."""
    import shutil

    root = Path(__file__).parent.parent / "recordings"
    for name in ("prone-left-mixed-simulated.imuhip", "prone-right-reps-simulated.imuhip"):
        shutil.copy(root / name, tmp_path / name)
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "r.html"
    left = tmp_path / "prone-left-mixed-simulated.imuhip"
    assert main(["report", str(left), "--history", str(tmp_path), "-o", str(out)]) == 0
    html = out.read_text()
    assert "Left and right: peak of each rep" in html
    assert "prone-right-reps-simulated.imuhip" in html
    # 11 left reps and 10 right ones, in the wide and the narrow chart
    assert html.count('class="bar-left"') == 2 * 11
    assert html.count('class="bar-right"') == 2 * 10
    assert "mean peak: left" in html and "(11 reps), right" in html


def test_report_shows_stretches_timeline_overpressure_and_rep_directions():
    from tests.stretch_analysis import SHIPPED, shipped, with_stretches

    session, result = with_stretches(*shipped())
    doc = analysis_document(session, result)
    html = render_report(SHIPPED, session, result, doc)
    page = Page(html)
    check_page(page, doc, analysis_text(SHIPPED, doc))
    assert_self_contained(html, page)
    text = " ".join(" ".join(page.text).split())
    assert "Stretches (2)" in text and "overpressure starts" in text
    # the timeline strip: one band per activity (wide and narrow chart), each kind's class
    # in the legend
    for kind in ("calibration", "rest", "rep", "hold", "stretch", "gap"):
        assert f"<i class='tl-{kind}'></i>" in html, kind
    bands = re.findall(r'<rect class="tl-([a-z_]+)"', html)
    assert len(bands) == 2 * len(doc["timeline"])
    assert [b for b in bands[: len(bands) // 2]] == [a["kind"] for a in doc["timeline"]]
    # the overpressure ring, drawn once per chart at the trace's angle then
    rings = re.findall(r'<circle class="overpressure"[^>]*><title>([^<]*)</title>', html)
    assert rings == ["stretch 1: overpressure from 108.0 s, 4.2° further"] * 2
    assert len(re.findall(r'<rect class="stretch"', html)) == 2 * 2
    reps = page.body("reps")
    assert reps[-1][-1] == "external" and reps[0][-1] == "internal"


def test_report_escapes_the_new_texts():
    """A forged document (a saved /2 file) cannot put markup on the page."""
    from tests.stretch_analysis import SHIPPED, shipped, with_stretches

    session, result = with_stretches(*shipped())
    doc = analysis_document(session, result)
    bad = "<script>alert(1)</script>"
    doc["stretches"][0]["direction"] = bad
    doc["reps"][0]["direction"] = bad
    doc["timeline"][1]["kind"] = bad
    html = render_report(SHIPPED, session, result, doc)
    assert "<script" not in html.lower()


def test_report_of_a_version_1_document_has_no_stretch_section():
    from tests.stretch_analysis import SHIPPED, shipped

    session, result = shipped()
    doc = analysis_document(session, result)
    old = {k: v for k, v in doc.items() if k not in ("stretches", "timeline")}
    old["schema"] = "imuhip.analysis/1"
    html = render_report(SHIPPED, session, result, old)
    assert "Stretches (" not in html and "tl-" not in html.split("</style>")[1]
    assert "Stretches (0)" in render_report(SHIPPED, session, result, doc)


def _trace_svg(html: str) -> str:
    return re.search(r'<svg viewBox="[^"]*" class="chart wide".*?</svg>', html, re.S).group()


def test_long_session_report_from_the_envelope(simulated, monkeypatch):
    """A session longer than the trace keeps as samples renders from the bounded envelope
    with no per-sample arrays kept (``Keep.TRACE``, what ``imuhip report`` runs): the same
    shading and markers, the same angle scale, the line drawn from the envelope."""
    from imuhip.pipeline import Keep
    from imuhip.pipeline import trace_envelope as te

    session = read_session(simulated)
    full = analyze_session(session, keep=Keep.ANGLES | Keep.SAMPLES)
    doc = analysis_document(session, full)
    exact = render_report(simulated, session, replace(full, trace=None), doc)
    monkeypatch.setattr(te, "RAW_LIMIT", 3000)  # 30 s at 100 Hz: the session outgrows it
    monkeypatch.setattr(te, "BUCKETS", 1024)
    result = analyze_session(session, keep=Keep.TRACE)
    assert len(result.grid.t) == len(result.hip_rotation_deg) == len(result.grid.shin.gyr) == 0
    assert all(len(st.samples) == 0 for st in result.streams.values())
    tr = result.trace
    assert tr is not None and not tr.hip_rotation.exact and len(tr.hip_rotation.x) <= 2048
    assert analysis_document(session, result) == doc
    html = render_report(simulated, session, result, doc)
    a, b = _trace_svg(exact), _trace_svg(html)
    for cls in ("rep", "hold", "peak", "cal", "gap", "partial"):
        assert a.count(f'class="{cls}"') == b.count(f'class="{cls}"'), cls
    ticks_of = re.compile(r'class="tick"[^>]*>([^<]*)<')
    assert ticks_of.findall(a) == ticks_of.findall(b)  # the same angle range and time axis
    path = re.search(r'class="line" d="([^"]*)"', b).group(1)
    assert path.count("L") > 500  # the envelope is drawn, not a few points
    # the health table's figures come from the streamed sample times, not the samples
    health = re.compile(r"<table class=\"health\">.*?</table>", re.S)
    assert health.search(exact).group() == health.search(html).group()
