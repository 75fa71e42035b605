"""Record framing: re-reading a record while a file is being scanned."""

from __future__ import annotations

import io

from imuhip.files import records


def _file(n: int) -> bytes:
    return records.MAGIC + b"".join(records.encode(2, bytes([k]) * (40 + k)) for k in range(n))


def test_payload_at_reads_an_earlier_record_and_the_scan_reads_on():
    data = _file(30)
    f = io.BytesIO(data)
    f.seek(len(records.MAGIC))
    got = []
    for rec in records.scan_file(f, len(records.MAGIC), chunk=64):
        got.append((rec.offset, bytes(rec.payload)))
        first_offset, first_payload = got[0]
        assert records.payload_at(f, first_offset) == first_payload
        assert records.payload_at(f, rec.offset) == bytes(rec.payload)
    assert got == [(r.offset, bytes(r.payload)) for r in records.scan(data)]
    assert len(got) == 30
