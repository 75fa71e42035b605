from __future__ import annotations

import warnings

import numpy as np
import pytest

from imuhip.errors import SessionFileError, SessionFormatVersionError
from imuhip.files import records, session_file
from imuhip.files.records import Kind
from imuhip.files.session_file import (
    RecordEntry,
    SessionFileWarning,
    SessionWriter,
    read_session,
    record_index,
    stream_session,
    write_session,
)
from imuhip.session import Event, OrderProblem

from .conftest import make_samples


def _write(tmp_path, small_session, name="s.imuhip"):
    header, samples, notes, events = small_session
    return write_session(tmp_path / name, header, samples, notes, events)


def test_round_trip_is_exact(tmp_path, small_session):
    _, samples, notes, events = small_session
    s = read_session(_write(tmp_path, small_session))
    assert s.report.ok
    assert s.header.side == "left" and s.header.roles == ("thigh", "shin")
    assert s.header.sensor("shin").address == "AA:BB"
    assert s.header.imuhip_version and s.header.created_utc
    for name in ("t", "acc", "gyr", "mag"):
        np.testing.assert_array_equal(
            getattr(s.samples["thigh"], name), getattr(samples["thigh"], name)
        )
    assert s.notifications["shin"].payloads() == notes["shin"].payloads()
    np.testing.assert_array_equal(s.notifications["shin"].t, notes["shin"].t)
    assert list(s.events) == events
    assert s.duration_s == pytest.approx(2.995)


def test_refuses_to_overwrite(tmp_path, small_session):
    _write(tmp_path, small_session)
    with pytest.raises(FileExistsError):
        _write(tmp_path, small_session)


def test_truncated_at_every_byte_still_opens(tmp_path, header):
    """A small file cut at every possible byte yields every complete record, never crashes."""
    path = tmp_path / "full.imuhip"
    with SessionWriter(path, header, max_block=7, durable=False) as w:
        w.add_samples("thigh", make_samples(20, mag=False))
        w.add_event(Event(0.05, "mark", data={"label": "x"}))
        w.add_samples("thigh", make_samples(14, t0=0.5, mag=False))
        for i in range(10):
            w.add_notification("shin", 0.01 * i, bytes([0x55, 0x61]) + bytes(18))
    data = path.read_bytes()
    full = read_session(path)
    cut_path = tmp_path / "cut.imuhip"
    prev_n = -1
    for cut in range(len(data) + 1):
        cut_path.write_bytes(data[:cut])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SessionFileWarning)
                s = read_session(cut_path)
        except SessionFileError as exc:
            # only possible while the header itself is incomplete
            assert "header" in str(exc) or "session file" in str(exc) or "empty" in str(exc)
            assert s_header_incomplete(data, cut)
            continue
        n = len(s.samples.get("thigh", [])) if "thigh" in s.samples else 0
        assert n >= prev_n  # more bytes never yield less data
        prev_n = n
        assert s.report.damaged == ()
        lost = s.report.truncated_bytes
        assert (lost == 0) == (cut == len(data) or _is_record_boundary(data, cut))
        if cut == len(data):
            assert s.report.ok
    assert prev_n == len(full.samples["thigh"]) == 34


def s_header_incomplete(data: bytes, cut: int) -> bool:
    m = len(records.MAGIC)
    length = int.from_bytes(data[m + 3 : m + 7], "little")
    return cut < m + records.HEAD_SIZE + length + records.CRC_SIZE


def _is_record_boundary(data: bytes, cut: int) -> bool:
    pos = len(records.MAGIC)
    while pos < len(data):
        if pos == cut:
            return True
        length = int.from_bytes(data[pos + 3 : pos + 7], "little")
        pos += records.HEAD_SIZE + length + records.CRC_SIZE
    return pos == cut


def test_truncation_warns_with_lost_bytes(tmp_path, small_session):
    path = _write(tmp_path, small_session)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.warns(SessionFileWarning, match=r"last \d+ bytes were lost"):
        s = read_session(path)
    assert s.report.truncated_bytes > 0
    assert len(s.samples["thigh"]) == 300  # the cut hit the last record only


def test_corrupt_record_in_the_middle_is_skipped_and_reported(tmp_path, header):
    path = tmp_path / "c.imuhip"
    with SessionWriter(path, header, max_block=10, durable=False) as w:
        w.add_samples("thigh", make_samples(100, mag=False))
    data = bytearray(path.read_bytes())
    # flip one byte in the middle of the file (inside the 5th block)
    rec_size = records.HEAD_SIZE + 6 + 10 * 7 * 8 + records.CRC_SIZE
    hdr_len = int.from_bytes(data[8 + 3 : 8 + 7], "little")
    first = 8 + records.HEAD_SIZE + hdr_len + records.CRC_SIZE
    data[first + 4 * rec_size + 50] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(SessionFileWarning, match="damaged"):
        s = read_session(path)
    assert len(s.report.damaged) == 1
    assert s.report.damaged[0].reason == "checksum mismatch"
    assert len(s.samples["thigh"]) == 90
    t = s.samples["thigh"].t
    assert 0.105 < np.diff(t).max() < 0.115  # a 10-sample hole where the damaged block was


def test_corrupt_length_field_resyncs(tmp_path, header):
    path = tmp_path / "c.imuhip"
    with SessionWriter(path, header, max_block=10, durable=False) as w:
        w.add_samples("thigh", make_samples(50, mag=False))
        w.add_event(Event(1.0, "mark"))
    data = bytearray(path.read_bytes())
    hdr_len = int.from_bytes(data[8 + 3 : 8 + 7], "little")
    first = 8 + records.HEAD_SIZE + hdr_len + records.CRC_SIZE
    data[first + 3 : first + 7] = (10**6).to_bytes(4, "little")  # absurd length
    path.write_bytes(bytes(data))
    with pytest.warns(SessionFileWarning):
        s = read_session(path)
    assert len(s.samples["thigh"]) == 40
    assert [e.kind for e in s.events] == ["mark"]


def test_garbage_appended_is_reported_as_tail(tmp_path, small_session):
    path = _write(tmp_path, small_session)
    path.write_bytes(path.read_bytes() + b"\x00garbage\xe7\x5c\x02")
    with pytest.warns(SessionFileWarning):
        s = read_session(path)
    assert s.report.truncated_bytes == 11
    assert len(s.samples["thigh"]) == 300


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"time_s,acc_x\n0,1\n", "not an imuhip session file"),
        (b"\x89IMU", "cut off before its header"),
        (records.MAGIC + b"\x00" * 40, "header is damaged"),
    ],
)
def test_not_a_session_file(tmp_path, content, match):
    p = tmp_path / "x.imuhip"
    p.write_bytes(content)
    with pytest.raises(SessionFileError, match=match):
        read_session(p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(SessionFileError, match="no such file"):
        read_session(tmp_path / "nope.imuhip")
    with pytest.raises(SessionFileError, match="folder"):
        read_session(tmp_path)


def test_newer_format_version_is_refused(tmp_path):
    payload = b'{"format":"imuhip-session","format_version":99,"sensors":[]}'
    p = tmp_path / "v.imuhip"
    p.write_bytes(records.MAGIC + records.encode(records.Kind.HEADER, payload))
    with pytest.raises(SessionFormatVersionError, match="upgrade imuhip"):
        read_session(p)


def test_unknown_record_kinds_are_skipped(tmp_path, small_session):
    path = _write(tmp_path, small_session)
    path.write_bytes(path.read_bytes() + records.encode(77, b"future"))
    s = read_session(path)
    assert s.report.ok and len(s.samples["thigh"]) == 300


def test_writer_flushes_so_a_killed_program_loses_at_most_the_interval(tmp_path, header):
    """While the writer is still open (as if the process died now) the file is readable."""
    now = [0.0]
    path = tmp_path / "live.imuhip"
    w = SessionWriter(path, header, flush_interval_s=0.5, durable=False, clock=lambda: now[0])
    s = make_samples(200, mag=False)
    for i in range(200):  # one sample at a time, 10 ms apart
        now[0] = i * 0.01
        w.add_samples("thigh", s.slice(i, i + 1))
        w.add_notification("shin", i * 0.01, b"\x55\x61" + bytes(18))
    got = read_session(path)  # the writer was never closed
    assert got.report.ok
    n = len(got.samples["thigh"])
    assert 200 - 51 <= n < 200
    assert abs(len(got.notifications["shin"]) - n) <= 1  # one of the pair may be pending
    w.close()
    assert len(read_session(path).samples["thigh"]) == 200


def test_writer_rejects_bad_data(tmp_path, header):
    with SessionWriter(tmp_path / "w.imuhip", header, durable=False) as w:
        s = make_samples(10)
        with pytest.raises(ValueError, match="strictly increasing"):
            w.add_samples("thigh", s.__class__(s.t[::-1].copy(), s.acc, s.gyr))
        w.add_samples("thigh", s)
        with pytest.raises(ValueError, match="after the ones already written"):
            w.add_samples("thigh", s)
        bad = s.acc.copy()
        bad[3, 1] = np.nan
        with pytest.raises(ValueError, match="finite"):
            w.add_samples("thigh", s.__class__(s.t + 1, bad, s.gyr))
        with pytest.raises(KeyError, match="no pelvis sensor"):
            w.add_samples("pelvis", s)


def test_mixed_mag_presence_is_kept_per_block(tmp_path, header):
    with SessionWriter(tmp_path / "m.imuhip", header, durable=False) as w:
        w.add_samples("thigh", make_samples(5, mag=True))
        w.add_samples("thigh", make_samples(5, t0=1.0, mag=False))
    s = read_session(tmp_path / "m.imuhip")
    assert len(s.samples["thigh"]) == 10
    assert s.samples["thigh"].mag is None  # not every block has it


def test_record_index_gives_every_record_with_its_sensor(tmp_path, small_session):
    data = _write(tmp_path, small_session).read_bytes() + records.encode(9, b"later kind")
    index = record_index(data)
    assert index[0] == RecordEntry(len(records.MAGIC), index[0].size, Kind.HEADER, None)
    # the records tile the file, each cut where the index says is that record alone
    assert [e.offset for e in index[1:]] == [e.offset + e.size for e in index[:-1]]
    assert index[-1].offset + index[-1].size == len(data)
    for e in index:
        (rec,) = records.scan(records.MAGIC + data[e.offset : e.offset + e.size])
        assert isinstance(rec, records.Record) and rec.kind == e.kind
    sensors = {(e.kind, e.sensor) for e in index}
    assert sensors == {
        (Kind.HEADER, None),
        (Kind.SAMPLES, 0),  # thigh: the header's first sensor
        (Kind.NOTIFICATIONS, 1),
        (Kind.EVENT, None),
        (9, None),
    }


def test_record_index_skips_damaged_records_and_refuses_other_files(tmp_path, small_session):
    data = bytearray(_write(tmp_path, small_session).read_bytes())
    intact = record_index(bytes(data))
    hit = intact[3]
    data[hit.offset + hit.size // 2] ^= 0x01
    assert record_index(bytes(data)) == [e for e in intact if e != hit]
    with pytest.raises(SessionFileError, match="marker"):
        record_index(b"PK\x03\x04" + bytes(data[4:]))


@pytest.mark.parametrize("chunk", [97, None], ids=["tiny-read-chunk", "read-chunk"])
def test_a_record_of_the_same_span_is_a_duplicate_only_when_byte_identical(
    tmp_path, small_session, monkeypatch, chunk
):
    """A data record repeated later is a duplicate; one with the same times but other bytes
    an overlap. Both are dropped, and the reader reads on undisturbed after comparing them
    (the earlier record is read again from the file for that)."""
    if chunk is not None:
        monkeypatch.setattr(session_file, "READ_CHUNK", chunk)
    path = _write(tmp_path, small_session)
    data = path.read_bytes()
    index = record_index(data)
    notes = [e for e in index if e.kind == Kind.NOTIFICATIONS]
    first = data[notes[0].offset : notes[0].offset + notes[0].size]
    altered = bytearray(first[records.HEAD_SIZE : -records.CRC_SIZE])
    altered[-1] ^= 0xFF  # the last payload byte: same times, other data
    cut = notes[2].offset  # both copies go after the second notifications record
    copy = tmp_path / "copies.imuhip"
    copy.write_bytes(data[:cut] + first + records.encode(Kind.NOTIFICATIONS, altered) + data[cut:])
    s = read_session(copy, warn=False)
    assert [o.problem for o in s.report.order] == [OrderProblem.DUPLICATE, OrderProblem.OVERLAP]
    assert [o.offset for o in s.report.order] == [cut, cut + len(first)]
    intact = read_session(path)
    assert s.notifications["shin"].payload == intact.notifications["shin"].payload
    np.testing.assert_array_equal(s.notifications["shin"].t, intact.notifications["shin"].t)
    np.testing.assert_array_equal(s.samples["thigh"].t, intact.samples["thigh"].t)
    assert s.events == intact.events
    stream = stream_session(copy)
    assert sum(1 for _ in stream) > 0 and stream.summary().report == s.report
