"""The reader checks per-sensor time order: duplicated, overlapping and swapped records are
reported, and none changes the data or the analysis (issue 21, part 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.files import records
from imuhip.files.records import Kind
from imuhip.files.session_file import (
    SessionFileWarning,
    SessionWriter,
    _parse_notifications,
    _samples_payload,
    read_session,
    write_session,
)
from imuhip.pipeline import analyze_session
from imuhip.session import Event, OrderProblem
from imuhip.sinks.analysis_text import analysis_document

from .conftest import make_samples

ROOT = Path(__file__).resolve().parents[1]
MIXED = ROOT / "recordings" / "prone-left-mixed-simulated.imuhip"


def _records(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every record after the magic, in file order."""
    out = []
    for r in records.scan(data):
        assert isinstance(r, records.Record)
        out.append((r.offset, records.HEAD_SIZE + len(r.payload) + records.CRC_SIZE))
    return out


def _sensor_records(data: bytes, index: int) -> list[int]:
    """Positions (in :func:`_records`) of the notification records of sensor ``index``."""
    out = []
    for i, r in enumerate(records.scan(data)):
        if r.kind == Kind.NOTIFICATIONS and _parse_notifications(r.payload)[0] == index:
            out.append(i)
    return out


def _assemble(data: bytes, order: list[int]) -> bytes:
    recs = _records(data)
    return records.MAGIC + b"".join(data[recs[i][0] : recs[i][0] + recs[i][1]] for i in order)


def _doc(session) -> dict:
    doc = analysis_document(session, analyze_session(session))
    doc.pop("file", None)  # the file's own report differs by design
    return json.loads(json.dumps(doc))


@pytest.fixture(scope="module")
def mixed():
    data = MIXED.read_bytes()
    intact = read_session(MIXED)
    return data, intact, _doc(intact)


def _same_data(a, b) -> None:
    for role, n in a.notifications.items():
        m = b.notifications[role]
        np.testing.assert_array_equal(n.t, m.t)
        assert n.payload == m.payload and np.array_equal(n.offsets, m.offsets)
    assert a.events == b.events


def test_duplicated_records_are_dropped_and_reported(tmp_path, mixed, capsys):
    data, intact, doc = mixed
    n = len(_records(data))
    shin = _sensor_records(data, 1)
    order = list(range(n))
    order.insert(shin[40] + 1, shin[40])  # right after itself
    order.append(shin[70])  # and one at the very end
    p = tmp_path / "dup.imuhip"
    p.write_bytes(_assemble(data, order))
    with pytest.warns(SessionFileWarning, match="duplicate"):
        s = read_session(p)
    assert s.report.count(OrderProblem.DUPLICATE) == 2 and not s.report.ok
    assert {o.role for o in s.report.order} == {"shin"}
    _same_data(intact, s)
    assert _doc(s) == doc
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "a duplicate of one before it" in out


def test_swapped_records_are_put_back_in_order(tmp_path, mixed):
    data, intact, doc = mixed
    order = list(range(len(_records(data))))
    thigh = _sensor_records(data, 0)
    a, b = thigh[20], thigh[21]
    order[a], order[b] = order[b], order[a]
    c, d = thigh[60], thigh[90]  # far apart, other records in between
    order[c], order[d] = order[d], order[c]
    p = tmp_path / "swap.imuhip"
    p.write_bytes(_assemble(data, order))
    s = read_session(p, warn=False)
    assert s.report.count(OrderProblem.OUT_OF_ORDER) >= 2 and not s.report.ok
    assert all(o.role == "thigh" for o in s.report.order)
    assert all(o.problem is OrderProblem.OUT_OF_ORDER for o in s.report.order)
    _same_data(intact, s)
    assert _doc(s) == doc


def test_partly_overlapping_record_is_dropped(tmp_path, header):
    """A record re-covering half of another one's times with other values: the first wins."""
    s1 = make_samples(300, seed=1)
    p = write_session(tmp_path / "a.imuhip", header, {"thigh": s1})
    forged = make_samples(60, t0=1.5, seed=2)  # 1.5-2.09 s, already read
    data = p.read_bytes() + records.encode(Kind.SAMPLES, _samples_payload(0, forged))
    q = tmp_path / "b.imuhip"
    q.write_bytes(data)
    s = read_session(q, warn=False)
    assert [o.problem for o in s.report.order] == [OrderProblem.OVERLAP]
    assert s.report.order[0].t_first_s == pytest.approx(1.5)
    np.testing.assert_array_equal(s.samples["thigh"].acc, s1.acc)
    assert "overlaps" in s.report.messages()[0]


def test_duplicated_event_is_dropped(tmp_path, header):
    ev = Event(0.5, "calibration_phase", data={"phase": "bends"})
    p = write_session(tmp_path / "a.imuhip", header, {"thigh": make_samples(100)}, events=[ev])
    data = p.read_bytes()
    rec = next(r for r in records.scan(data) if r.kind == Kind.EVENT)
    p.write_bytes(data + records.encode(Kind.EVENT, bytes(rec.payload)))
    s = read_session(p, warn=False)
    assert s.events == (ev,) and s.report.count(OrderProblem.DUPLICATE) == 1


def test_notifications_sharing_a_receive_time_across_records_are_in_order(tmp_path, header):
    """Several notifications of one connection event can share a receive time; a record
    boundary between them is no overlap."""
    from imuhip.session import Notifications

    t = np.repeat(np.arange(0, 3, 0.0075 * 4), 4)  # four per connection event
    notes = Notifications.from_list(t, [bytes([i % 256]) * 20 for i in range(len(t))])
    p = tmp_path / "n.imuhip"
    with SessionWriter(p, header, durable=False, max_block=3) as w:  # splits inside events
        w.add_notifications("shin", notes)
    assert len(_records(p.read_bytes())) > len(t) // 3
    s = read_session(p)
    assert s.report.ok
    np.testing.assert_array_equal(s.notifications["shin"].t, t)


def test_analyze_json_carries_the_files_report(tmp_path, mixed, capsys):
    """``analyze --json`` says the file was damaged (it used to only warn on stderr)."""
    data, _, doc = mixed
    assert main(["analyze", str(MIXED), "--json"]) == 0
    intact = json.loads(capsys.readouterr().out)["file"]
    assert intact == {
        "bytes": len(data), "records": len(_records(data)), "intact": True, "damaged": [],
        "tail_bytes_lost": 0, "duplicates": 0, "overlaps": 0, "out_of_order": 0,
        "order_issues": [],
    }  # fmt: skip
    recs = _records(data)
    shin = _sensor_records(data, 1)
    order = list(range(len(recs)))
    order.insert(shin[30] + 1, shin[30])
    raw = bytearray(_assemble(data, order))
    recs = _records(bytes(raw))
    raw[recs[250][0] + 20] ^= 0x01  # a payload byte of a record after the calibration
    p = tmp_path / "d.imuhip"
    p.write_bytes(bytes(raw[:-7]))  # and cut off
    assert main(["analyze", str(p), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    f = got["file"]
    assert f["intact"] is False and f["bytes"] == len(raw) - 7
    assert f["damaged"] == [{"offset": recs[250][0], "length": recs[250][1],
                             "reason": "checksum mismatch"}]  # fmt: skip
    assert f["tail_bytes_lost"] == recs[-1][1] - 7
    assert f["duplicates"] == 1 and f["order_issues"][0]["sensor"] == "shin"
    assert f["order_issues"][0]["problem"] == "duplicate" and f["order_issues"][0]["dropped"]
    assert {k: v for k, v in got.items() if k != "file"}.keys() == doc.keys()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.5])
def test_a_record_whose_own_times_are_broken_is_reported_as_damaged(tmp_path, header, bad):
    """Sample times inside one record must be finite and increasing (0.5 s goes backwards)."""
    good = make_samples(100)
    p = write_session(tmp_path / "a.imuhip", header, {"thigh": good})
    forged = make_samples(10, t0=5.0)
    forged.t[4] = bad
    p.write_bytes(p.read_bytes() + records.encode(Kind.SAMPLES, _samples_payload(0, forged)))
    s = read_session(p, warn=False)
    assert len(s.samples["thigh"]) == 100 and not s.report.ok
    assert "sample times are not finite and increasing" in s.report.damaged[0].reason
