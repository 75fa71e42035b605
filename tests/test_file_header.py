"""Every header field is type- and range-checked on read and on construction (issue 21,
part 3): a clear error naming the field and the value, never a traceback or an allocation the
value sizes."""

from __future__ import annotations

import json

import pytest

from imuhip.cli import main
from imuhip.errors import CsvImportError, HeaderValueError, SessionFileError
from imuhip.files import records
from imuhip.files.convert import import_csv
from imuhip.files.csv_samples import write_imu_csv
from imuhip.files.records import Kind
from imuhip.files.session_file import _header_payload, read_session, write_session
from imuhip.samples import ImuSamples
from imuhip.session import SensorInfo, SessionHeader

from .conftest import make_samples

NAN = float("nan")


def _doc(header) -> dict:
    return json.loads(_header_payload(header))


def _write(tmp_path, doc_or_text) -> str:
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text)
    p = tmp_path / "h.imuhip"
    p.write_bytes(records.MAGIC + records.encode(Kind.HEADER, text.encode()))
    return str(p)


def _set(doc: dict, path: tuple, value) -> dict:
    d = doc
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    return doc


CASES = [
    (("sensors", 1, "rate_hz"), NAN, "rate_hz", "nan"),
    (("sensors", 1, "rate_hz"), "fast", "rate_hz", "'fast'"),
    (("sensors", 1, "rate_hz"), 1e9, "rate_hz", "1000000000"),
    (("sensors", 1, "rate_hz"), 1e-9, "rate_hz", "1e-09"),
    (("sensors", 1, "rate_hz"), -100, "rate_hz", "-100"),
    (("sensors", 1, "rate_hz"), True, "rate_hz", "True"),
    (("sensors", 1, "rate_hz"), float("inf"), "rate_hz", "inf"),
    (("exercise",), ["prone"], "exercise", "['prone']"),
    (("side",), "up", "side", "'up'"),
    (("side",), None, "side", "None"),
    (("sensors", 1, "config"), "fast", "config", "'fast'"),
    (("sensors", 1, "config"), {"rate_hz": 1e9}, "rate_hz", "1000000000"),
    (("sensors", 1, "config"), {"acc": {"rate_hz": "x"}}, "config.acc.rate_hz", "'x'"),
    (("sensors", 1, "config"), {"range": NAN}, "config.range", "nan"),
    (("sensors", 1, "role"), "arm", "role", "'arm'"),
    (("sensors", 1, "role"), "thigh", "role", "thigh"),
    (("sensors", 1, "profile"), 3, "profile", "3"),
    (("sensors", 1, "address"), {"a": 1}, "address", "{'a': 1}"),
    (("sensors", 1), "shin", "sensors[1]", "shin"),
    (("sensors",), {}, "sensors", "{}"),
    (("sensors",), [], "sensors", "[]"),
    (("extra",), [1, 2], "extra", "[1, 2]"),
    (("extra",), {"time_origin_monotonic_s": "now"}, "time_origin_monotonic_s", "'now'"),
    (("created_utc",), 5, "created_utc", "5"),
    (("created_utc",), "yesterday", "created_utc", "'yesterday'"),
    (("imuhip_version",), None, "imuhip_version", "None"),
    (("time_base",), 7, "time_base", "7"),
    (("format_version",), "1", "format_version", "'1'"),
    (("format_version",), 1.5, "format_version", "1.5"),
]


@pytest.mark.parametrize(("path", "value", "field", "shown"), CASES)
def test_bad_header_field_gives_a_clear_error(tmp_path, header, capsys, path, value, field, shown):
    p = _write(tmp_path, _set(_doc(header), path, value))
    with pytest.raises(SessionFileError) as err:
        read_session(p)
    msg = str(err.value)
    assert field in msg and shown in msg, msg
    assert main(["info", p]) == 2  # the CLI says it, no traceback
    assert field in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[1, 2]", "not an imuhip session header"),
        ('{"format": "imuhip-session", "format_version": 1}', "side is missing"),
        ("[" * 100_000, "not readable JSON"),
        ('{"format": "imuhip-session", "format_version": 1, "x": NaN', "not readable JSON"),
    ],
)
def test_unreadable_header_documents(tmp_path, text, match):
    with pytest.raises(SessionFileError, match=match):
        read_session(_write(tmp_path, text))


def test_zero_rate_means_unknown_and_unknown_sensor_keys_are_ignored(tmp_path, header):
    doc = _set(_doc(header), ("sensors", 0, "rate_hz"), 0)
    doc["sensors"][0]["added_later"] = {"by": "a newer imuhip"}
    s = read_session(_write(tmp_path, doc))
    assert s.header.sensor("thigh").rate_hz == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate_hz": NAN}, "rate_hz"),
        ({"rate_hz": 1e9}, "rate_hz"),
        ({"config": "fast"}, "config must be an object"),
        ({"config": {"gyro": [1.0, NAN]}}, r"config.gyro\[1\]"),
        ({"profile": ""}, "profile"),
        ({"name": "x" * 5000}, "name"),
    ],
)
def test_sensor_info_checks_its_fields(kwargs, match):
    with pytest.raises(HeaderValueError, match=match):
        SensorInfo("shin", **kwargs)


def test_session_header_checks_its_fields():
    ok = (SensorInfo("thigh"),)
    with pytest.raises(HeaderValueError, match="exercise"):
        SessionHeader("left", ["prone"], ok)
    with pytest.raises(HeaderValueError, match="extra"):
        SessionHeader("left", "prone", ok, extra={"x": float("inf")})
    with pytest.raises(HeaderValueError, match="sensors"):
        SessionHeader("left", "prone", ("thigh",))
    assert isinstance(HeaderValueError("x"), ValueError)  # old callers' `except ValueError`


def test_import_refuses_an_absurd_rate(tmp_path):
    """time_s in nanoseconds read as seconds: 1e9 samples per second, refused by name."""
    s = make_samples(200)
    fast = ImuSamples(s.t * 1e-7, s.acc, s.gyr, s.mag)
    write_imu_csv(tmp_path / "thigh.csv", fast)
    write_imu_csv(tmp_path / "shin.csv", ImuSamples(fast.t, fast.acc + 0.01, fast.gyr))
    paths = {"thigh": tmp_path / "thigh.csv", "shin": tmp_path / "shin.csv"}
    with pytest.raises(
        CsvImportError, match=r"thigh.csv: the times give a sample rate of 1e\+09 Hz"
    ):
        import_csv(paths, tmp_path / "out.imuhip", side="left")
    assert not (tmp_path / "out.imuhip").exists()


def test_a_valid_header_still_round_trips(tmp_path, header):
    p = write_session(tmp_path / "ok.imuhip", header, {"thigh": make_samples(50)})
    assert read_session(p).header.sensors == header.sensors
