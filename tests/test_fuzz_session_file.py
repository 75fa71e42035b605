"""Property tests of the session reader against cut-off and bit-flipped files.

A small session (decoded samples, raw notifications and events, in many small records) is
written once with :class:`SessionWriter`; its records' offsets come from
:func:`imuhip.files.records.scan`. Then:

- truncation at any byte after the header: every record fully before the cut comes back
  intact, nothing else, and the lost tail is reported; a cut inside the header is refused with
  ``SessionFileError``;
- one bit flipped anywhere after the header: the reader never raises, every record not hit
  comes back bit-identical, the hit one is missing and its bytes are reported as damaged (or,
  for the last record, possibly as a lost tail); a flip in the magic or the header is refused
  with ``SessionFileError``.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.errors import SessionFileError
from imuhip.files import records
from imuhip.files.session_file import SessionWriter, read_session, scan_session
from imuhip.session import Event, Notifications, SensorInfo, SessionHeader
from tests.conftest import make_samples

FUZZ = settings(max_examples=120, deadline=None, derandomize=True)


class _Clock:
    """A clock that never advances: blocks are cut by ``max_block`` and events only."""

    def __call__(self) -> float:
        return 0.0


@dataclasses.dataclass(frozen=True)
class Original:
    data: bytes
    header_end: int  # first byte after the header record
    spans: tuple[tuple[int, int], ...]  # (offset, end) of every data record, in file order
    items: tuple[tuple, ...]  # comparable form of each data record's item, same order


def _key(what: str, item) -> tuple:
    """A comparable, bit-exact form of one item from ``scan_session``."""
    if what == "event":
        return ("event", repr(dataclasses.asdict(item)))
    role, x = item
    if what == "samples":
        mag = b"" if x.mag is None else x.mag.tobytes()
        return ("samples", role, x.t.tobytes(), x.acc.tobytes(), x.gyr.tobytes(), mag)
    return ("notes", role, x.t.tobytes(), x.channel.tobytes(), x.offsets.tobytes(), x.payload)


def _items(path: Path) -> list[tuple]:
    _, items, _ = scan_session(path)
    return [_key(what, item) for what, item in items]


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Original:
    path = tmp_path_factory.mktemp("fuzz") / "s.imuhip"
    header = SessionHeader(
        side="left",
        exercise="prone",
        sensors=(
            SensorInfo("thigh", "samples", rate_hz=100.0),
            SensorInfo("shin", "witmotion-ble5", address="AA:BB", rate_hz=100.0),
        ),
        time_base="simulated",
    )
    thigh = make_samples(40, mag=True)
    t = 0.005 + np.arange(40) / 100.0
    shin = Notifications.from_list(
        t, [bytes([0x55, 0x61, i]) + bytes(range(17)) for i in range(40)]
    )
    with SessionWriter(path, header, durable=False, max_block=8, clock=_Clock()) as w:
        for k in range(0, 40, 10):
            w.add_samples("thigh", thigh.slice(k, k + 10))
            for i in range(k, k + 10):
                w.add_notification("shin", float(shin.t[i]), shin[i], i % 2)
            w.add_event(Event(k / 100.0, "mark", data={"label": f"m{k}"}))
    data = path.read_bytes()
    found = list(records.scan(data))
    assert all(isinstance(r, records.Record) for r in found)
    size = [records.HEAD_SIZE + len(r.payload) + records.CRC_SIZE for r in found]
    spans = tuple((r.offset, r.offset + n) for r, n in zip(found, size, strict=True))
    items = tuple(_items(path))
    assert len(items) == len(spans) - 1 >= 12  # header + samples, notification, event records
    assert {i[0] for i in items} == {"samples", "notes", "event"}
    return Original(data, spans[0][1], spans[1:], items)


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "damaged.imuhip"
    path.write_bytes(data)
    return path


def _read(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_session(path)


def _check_cut(orig: Original, path: Path, cut: int) -> None:
    kept = [k for k, (_, end) in enumerate(orig.spans) if end <= cut]
    assert _items(path) == [orig.items[k] for k in kept]
    report = _read(path).report
    last_end = orig.spans[kept[-1]][1] if kept else orig.header_end
    assert report.damaged == ()
    assert report.truncated_bytes == cut - last_end
    assert report.records == 1 + len(kept)


@given(st.data())
@FUZZ
def test_truncation_keeps_every_complete_record(original, tmp_path_factory, data):
    cut = data.draw(st.integers(original.header_end, len(original.data)), "cut")
    path = _write(tmp_path_factory.getbasetemp(), original.data[:cut])
    _check_cut(original, path, cut)


def test_truncation_at_every_record_boundary(original, tmp_path):
    cuts = {original.header_end, len(original.data)}
    for start, end in original.spans:
        cuts |= {start - 1, start, start + 1, start + records.HEAD_SIZE, end - 1, end}
    for cut in sorted(c for c in cuts if original.header_end <= c <= len(original.data)):
        _check_cut(original, _write(tmp_path, original.data[:cut]), cut)


@pytest.mark.parametrize("where", ["magic", "header"])
def test_cut_in_magic_or_header_is_refused(original, tmp_path, where):
    cuts = range(1, len(records.MAGIC)) if where == "magic" else range(8, original.header_end)
    for cut in list(cuts)[:: max(1, len(cuts) // 20)]:
        with pytest.raises(SessionFileError):
            read_session(_write(tmp_path, original.data[:cut]))


@given(st.data())
@FUZZ
def test_bit_flip_loses_only_the_record_it_hits(original, tmp_path_factory, data):
    bit = data.draw(st.integers(8 * original.header_end, 8 * len(original.data) - 1), "bit")
    damaged = bytearray(original.data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    path = _write(tmp_path_factory.getbasetemp(), bytes(damaged))
    (hit,) = [k for k, (a, b) in enumerate(original.spans) if a <= bit // 8 < b]
    expected = [item for k, item in enumerate(original.items) if k != hit]
    assert _items(path) == expected
    report = _read(path).report
    start, end = original.spans[hit]
    assert report.records == len(original.spans)  # the header and every record not hit
    if report.damaged:
        assert [(d.offset, d.offset + d.length) for d in report.damaged] == [(start, end)]
        assert report.truncated_bytes == 0
    else:  # the last record, flipped so that it looks cut off
        assert hit == len(original.spans) - 1 and report.truncated_bytes == end - start


@given(st.data())
@settings(max_examples=40, deadline=None, derandomize=True)
def test_bit_flip_in_magic_or_header_is_refused(original, tmp_path_factory, data):
    bit = data.draw(st.integers(0, 8 * original.header_end - 1), "bit")
    damaged = bytearray(original.data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SessionFileError):
        read_session(_write(tmp_path_factory.getbasetemp(), bytes(damaged)))
