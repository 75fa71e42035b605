"""The file commands stream the file into the pipeline (``analyze_file``): the same analysis
and the same read report as reading the whole session first, on intact and damaged files."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from imuhip.files import records, session_file
from imuhip.files.session_file import (
    REORDER_RECORDS,
    FileInputs,
    SessionWriter,
    read_session,
    record_index,
    stream_session,
)
from imuhip.pipeline import Keep, analyze_session
from imuhip.pipeline.analyze import analyze_file
from imuhip.session import Notifications, OrderProblem, SampleBlock, session_inputs
from imuhip.sinks.analysis_text import analysis_document

RECORDINGS = sorted((Path(__file__).resolve().parent.parent / "recordings").glob("*.imuhip"))
REPS = next(p for p in RECORDINGS if p.stem == "prone-right-reps-simulated")


def _documents(path: Path) -> tuple[str, str]:
    s = read_session(path, warn=False)
    whole = analysis_document(s, analyze_session(s, keep=Keep.EVENTS))
    fa = analyze_file(path, keep=Keep.EVENTS)
    assert fa.summary == s.summary()
    streamed = analysis_document(fa.summary, fa.analysis)
    return json.dumps(whole, sort_keys=True), json.dumps(streamed, sort_keys=True)


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_streamed_analysis_equals_whole_session(path: Path) -> None:
    whole, streamed = _documents(path)
    assert streamed == whole


def _reordered(src: Path, dst: Path, distance: int) -> Path:
    """``src`` with two records of one sensor ``distance`` records of it apart swapped, one
    record duplicated later, and the last record cut in half."""
    data = src.read_bytes()
    recs = record_index(data)
    order = list(range(len(recs)))
    idx0 = [i for i, r in enumerate(recs) if r.sensor == 0]
    i, j = idx0[2], idx0[2 + distance]
    order[i], order[j] = order[j], order[i]
    order.insert(idx0[6] + 3, idx0[5])  # a duplicate a little later
    body = b"".join(data[recs[m].offset : recs[m].offset + recs[m].size] for m in order)
    cut = recs[order[-1]].size // 2
    dst.write_bytes(records.MAGIC + body[:-cut])
    return dst


@pytest.mark.parametrize("path", RECORDINGS[:3], ids=lambda p: p.stem)
def test_streamed_analysis_of_a_damaged_copy(path: Path, tmp_path: Path) -> None:
    p = _reordered(path, tmp_path / "damaged.imuhip", distance=3)
    report = read_session(p, warn=False).report
    assert report.count(OrderProblem.OUT_OF_ORDER) > 0
    assert report.count(OrderProblem.DUPLICATE) == 1
    assert report.truncated_bytes > 0
    whole, streamed = _documents(p)
    assert streamed == whole


def test_record_beyond_the_reorder_buffer_is_reported_not_a_crash(tmp_path: Path) -> None:
    src = _long_file(tmp_path / "long.imuhip", 2)
    n0 = sum(r.sensor == 0 for r in record_index(src.read_bytes()))
    assert n0 > REORDER_RECORDS + 10
    p = _reordered(src, tmp_path / "far.imuhip", distance=REORDER_RECORDS + 5)
    stream = stream_session(p)
    n = sum(1 for _ in stream)
    assert n > 0
    report = read_session(p, warn=False).report
    assert stream.summary().report == report and report.count(OrderProblem.OUT_OF_ORDER) > 0
    assert len(list(FileInputs(p))) == len(FileInputs(p))  # the replay's inputs: all of them
    analyze_file(p, keep=Keep.EVENTS)  # analyses without an exception


def test_summary_before_the_end_is_refused() -> None:
    stream = stream_session(RECORDINGS[0])
    with pytest.raises(RuntimeError):
        stream.summary()


def _same_input(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, SampleBlock):
        return a.role == b.role and all(
            np.array_equal(getattr(a.samples, f), getattr(b.samples, f))
            for f in ("t", "acc", "gyro")
        )
    return a == b


def _check_file_inputs(path: Path) -> None:
    s = read_session(path, warn=False)
    want = session_inputs(s)
    fi = FileInputs(path)
    assert fi.summary == s.summary() and len(fi) == len(want)
    got = list(fi)
    assert len(got) == len(want)
    assert all(_same_input(a, b) for a, b in zip(got, want, strict=True))
    assert _same_input(fi[0], want[0]) and _same_input(fi[-1], want[-1])


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_file_inputs_are_the_sessions_inputs_as_arrived(path: Path) -> None:
    _check_file_inputs(path)


def test_file_inputs_of_a_damaged_copy(tmp_path: Path) -> None:
    _check_file_inputs(_reordered(RECORDINGS[0], tmp_path / "damaged.imuhip", distance=3))


def _long_file(path: Path, copies: int) -> Path:
    """The reps recording's notifications written ``copies`` times, shifted in time, the two
    sensors' in records of about a second each, interleaved as a live recording writes them."""
    s = read_session(REPS, warn=False)
    t0 = min(float(n.t[0]) for n in s.notifications.values())
    t1 = max(float(n.t[-1]) for n in s.notifications.values())
    period = t1 - t0 + 0.01
    with SessionWriter(path, s.header, durable=False, overwrite=True) as w:
        for e in s.events:
            w.add_event(e)
        for k in range(copies):
            for a in range(0, max(len(n) for n in s.notifications.values()), 100):
                for role, n in s.notifications.items():
                    part = n.payloads()[a : a + 100]
                    if part:
                        t = n.t[a : a + 100] + k * period
                        w.add_notifications(role, Notifications.from_list(t, part))
                w.flush()
    return path


def _traced_peak_of_reading(path: Path) -> int:
    tracemalloc.start()
    try:
        n = sum(1 for _ in FileInputs(path))
        assert n > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_a_file_as_arrived_holds_nothing_per_input(tmp_path: Path, monkeypatch) -> None:
    """The replay's inputs of a file four times as long take about no more memory to read
    (both files many times longer than the reader's piece, ``READ_CHUNK``, and its reorder
    buffer, ``REORDER_RECORDS``: both bounds, made small here)."""
    monkeypatch.setattr(session_file, "READ_CHUNK", 1 << 16)
    monkeypatch.setattr(session_file, "REORDER_RECORDS", 16)  # both files fill the buffer
    short = _traced_peak_of_reading(_long_file(tmp_path / "short.imuhip", 1))
    long = _traced_peak_of_reading(_long_file(tmp_path / "long.imuhip", 4))
    added = (tmp_path / "long.imuhip").stat().st_size - (tmp_path / "short.imuhip").stat().st_size
    assert (tmp_path / "short.imuhip").stat().st_size > 4 * session_file.READ_CHUNK
    # holding the session would add at least the added bytes; the reader's record spans and
    # offsets add a few percent of them
    assert long - short < 0.15 * added, (short, long, added)


@pytest.mark.parametrize("path", RECORDINGS[:3], ids=lambda p: p.stem)
def test_read_summary_is_the_whole_reads(path):
    """``read_summary`` (the file streamed through, as the live summary's "wrote" line reads
    it) gives the time range, events and header of the whole read, and its report."""
    whole = session_file.read_session(path).summary()
    streamed = session_file.read_summary(path)
    assert streamed.time_range == whole.time_range and streamed.header == whole.header
    assert streamed.events == whole.events and streamed.report == whole.report


def test_read_summary_of_a_cut_off_file_reports_it(tmp_path):
    data = RECORDINGS[0].read_bytes()
    cut = tmp_path / "cut.imuhip"
    cut.write_bytes(data[: len(data) * 2 // 3 + 5])  # ends inside a record
    whole = session_file.read_session(cut, warn=False).summary()
    streamed = session_file.read_summary(cut)
    assert streamed.report == whole.report and streamed.report.messages()
    assert streamed.time_range == whole.time_range
