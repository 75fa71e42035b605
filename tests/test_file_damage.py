"""Damage to a session file costs at most about one second of one sensor (issue 21, part 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imuhip.errors import SessionFileError
from imuhip.files import records
from imuhip.files.records import Kind
from imuhip.files.session_file import (
    MAX_RECORD_S,
    SessionWriter,
    _parse_notifications,
    _parse_samples,
    block_bounds,
    read_session,
    write_session,
)
from imuhip.session import Notifications, Session

from .conftest import make_samples

RECORDINGS = sorted((Path(__file__).parent.parent / "recordings").glob("*.imuhip"))


def _data_spans(data: bytes) -> list[tuple[int, float, int]]:
    """(sensor index, seconds covered, items) of every data record in a file's bytes."""
    out = []
    for rec in records.scan(data):
        if isinstance(rec, records.Record) and rec.kind in (Kind.SAMPLES, Kind.NOTIFICATIONS):
            parse = _parse_samples if rec.kind == Kind.SAMPLES else _parse_notifications
            idx, x = parse(rec.payload)
            out.append((idx, float(x.t[-1] - x.t[0]), len(x.t)))
    return out


def seconds_lost(intact: Session, damaged: Session) -> dict[str, float]:
    """Per sensor, the seconds of data missing from ``damaged``: each lost sample or
    notification counts the time since the one before it (a notification carries the samples
    of that interval)."""
    out = {}
    for role in intact.header.roles:
        t = (intact.notifications.get(role) or intact.samples[role]).t
        got = damaged.notifications.get(role) or damaged.samples.get(role)
        kept = np.isin(t, got.t) if got is not None else np.zeros(len(t), bool)
        dt = np.diff(t, prepend=t[0] - np.median(np.diff(t)))
        out[role] = float(dt[~kept].sum())
    return out


def test_block_bounds_cap_count_and_time():
    t = np.concatenate([np.arange(0, 3, 0.01), [10.0, 10.5, 30.0]])
    bounds = block_bounds(t, 50)
    assert bounds[0] == (0, 50) and sum(b - a for a, b in bounds) == len(t)
    assert all(t[b - 1] - t[a] < MAX_RECORD_S and b - a <= 50 for a, b in bounds)
    assert [(a, b) for a, b in bounds if a >= 300] == [(300, 302), (302, 303)]
    # a notification every 0.5 s (Polar): two or three per record, never the whole stream
    slow = np.arange(0, 100, 0.45)
    assert max(b - a for a, b in block_bounds(slow, 256)) == 3
    # counted from the notification before (whose samples each one carries): two at most
    bounds = block_bounds(slow, 256, from_previous=True)
    assert bounds[0] == (0, 3) and max(b - a for a, b in bounds[1:]) == 2
    assert all(slow[b - 1] - slow[a - 1] < MAX_RECORD_S for a, b in bounds[1:])


def test_writers_bound_records_by_time(tmp_path, header):
    """Polar-like notifications (0.5 s apart) and 100 Hz samples: no record covers a second."""
    notes = Notifications.from_list(np.arange(0, 60, 0.5), [bytes(200)] * 120)
    p = write_session(tmp_path / "a.imuhip", header, {"thigh": make_samples(3000)}, {"shin": notes})
    spans = _data_spans(p.read_bytes())
    assert max(s for _, s, _ in spans) < MAX_RECORD_S
    assert sum(n for i, _, n in spans if i == 1) == 120 and len(spans) > 60
    with SessionWriter(tmp_path / "b.imuhip", header, durable=False, flush_interval_s=1e9) as w:
        w.add_samples("thigh", make_samples(500))
        for i, t in enumerate(np.arange(0, 5, 0.01)):
            w.add_notification("shin", float(t), bytes([i % 256]) * 20)
        w.add_notifications("shin", Notifications.from_list(np.arange(6, 20, 0.5), [b"x"] * 28))
    spans = _data_spans((tmp_path / "b.imuhip").read_bytes())
    assert max(s for _, s, _ in spans) < MAX_RECORD_S
    s = read_session(tmp_path / "b.imuhip")
    assert len(s.samples["thigh"]) == 500 and len(s.notifications["shin"]) == 528


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_shipped_recordings_have_bounded_records(path):
    spans = _data_spans(path.read_bytes())
    assert spans and max(s for _, s, _ in spans) < MAX_RECORD_S


def test_bit_flips_of_a_shipped_recording_lose_at_most_a_second(tmp_path):
    """20 seeded single-bit flips of the Polar recording (whose sensors were each one record
    before): every copy opens unless the header is hit, and loses at most a second of one
    sensor. ``bench/file_damage.py`` runs 100 flips over every recording and analyses them."""
    src = next(p for p in RECORDINGS if "polar" in p.stem)
    data = src.read_bytes()
    intact = read_session(src)
    header_end = len(records.MAGIC) + next(records.scan(data)).payload.nbytes + 11
    rng = np.random.default_rng(21)
    worst = 0.0
    for _ in range(20):
        pos = int(rng.integers(0, len(data)))
        damaged = bytearray(data)
        damaged[pos] ^= 1 << int(rng.integers(0, 8))
        p = tmp_path / "flip.imuhip"
        p.write_bytes(bytes(damaged))
        if pos < header_end:
            with pytest.raises(SessionFileError):
                read_session(p, warn=False)
            continue
        s = read_session(p, warn=False)
        lost = seconds_lost(intact, s)
        assert sum(v > 0 for v in lost.values()) <= 1, lost
        worst = max(worst, *lost.values())
        assert not s.report.ok or max(lost.values()) == 0
    assert worst < MAX_RECORD_S + 0.3  # a first record also carries the interval before it
