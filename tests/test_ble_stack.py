"""A machine without a Bluetooth stack (issue #18): scan, pair, record and live say what is
missing and what to try, at once, without a traceback, and leave no empty session file."""

from __future__ import annotations

import asyncio
import io
import socket

import pytest

from imuhip.cli import main
from imuhip.errors import BluetoothUnavailableError
from imuhip.live.runner import RunOptions, run_session
from imuhip.session import SessionHeader
from imuhip.sinks.live_view import PlainView, Snapshot
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import Assignment, ManagerSettings, SensorNotFoundError
from imuhip.sources.ble.stack import os_stack_problem, stack_failure, system_bus_socket
from tests.ble_testkit import run

FAST = ManagerSettings(scan_timeout_s=0.3, connect_timeout_s=1.0, op_timeout_s=0.5,
                       backoff_initial_s=0.1, backoff_max_s=0.2, stop_timeout_s=0.5)  # fmt: skip


@pytest.fixture
def no_dbus(tmp_path, monkeypatch):
    """This machine as the issue saw it: no D-Bus system bus socket."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-such-socket'}")
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    monkeypatch.delenv("IMUHIP_BLE", raising=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_system_bus_socket_and_problem(tmp_path):
    sock = tmp_path / "bus"
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={sock},guid=1"}
    assert system_bus_socket(env) == str(sock)
    assert "no D-Bus system bus" in os_stack_problem("linux", env)
    sock.write_bytes(b"")
    assert os_stack_problem("linux", env) == ""
    assert os_stack_problem("darwin", {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nope"}) == ""
    assert system_bus_socket({"DBUS_SYSTEM_BUS_ADDRESS": "unix:abstract=/x"}) is None


def test_library_errors_meaning_no_stack_are_recognised():
    assert stack_failure(RuntimeError("device not found")) is None
    err = stack_failure(Exception("BleakError: No Bluetooth adapters found."))
    assert isinstance(err, BluetoothUnavailableError) and "--ble bumble:usb:0" in str(err)
    assert stack_failure(FileNotFoundError(2, "No such file or directory")) is not None


@pytest.mark.parametrize(
    "argv",
    [["scan", "--timeout", "0.1"], ["pair", "--thigh", "A1", "--shin", "A2", "--side", "left"]],
    ids=["scan", "pair"],
)
def test_scan_and_pair_without_dbus_say_what_is_missing(no_dbus, argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1  # one paragraph
    assert "no D-Bus system bus" in err and "BlueZ" in err
    assert "--ble bumble:usb:0" in err and "imuhip demo" in err


def test_record_and_live_without_dbus_fail_at_once_and_leave_no_file(no_dbus, tmp_path, capsys):
    out = tmp_path / "s.imuhip"
    sensors = ["--thigh", "AA:00:00:00:00:01", "--shin", "AA:00:00:00:00:02", "--side", "left",
               "--profile", "witmotion-ble5"]  # fmt: skip
    assert main(["record", *sensors, "-o", str(out), "--exercise", "prone"]) == 2
    err = capsys.readouterr().err
    assert "no D-Bus system bus" in err and "switched on" not in err
    assert not out.exists()
    folder = tmp_path / "sessions"
    assert main(["live", *sensors, "--plain", "--folder", str(folder)]) == 2
    assert "no D-Bus system bus" in capsys.readouterr().err
    assert not list(folder.glob("*.imuhip"))


def test_a_bumble_transport_that_cannot_open_is_named_and_the_file_removed(tmp_path, capsys):
    out = tmp_path / "s.imuhip"
    spec = f"bumble:tcp-client:127.0.0.1:{_closed_port()}"
    argv = ["record", "--thigh", "AA:00:00:00:00:01", "--shin", "AA:00:00:00:00:02",
            "--side", "left", "--profile", "witmotion-ble5", "--ble", spec,
            "-o", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    # the real cause (not "check the sensors are switched on" after 30 s), and the cleanup
    assert "bumble cannot open the transport" in err and "switched on" not in err, err
    assert f"removed {out}: no data was received" in err
    assert not out.exists()


def test_record_refuses_an_existing_file_unless_forced(tmp_path, capsys):
    out = tmp_path / "s.imuhip"
    out.write_bytes(b"keep me")
    argv = ["record", "--thigh", "A1", "--shin", "A2", "--side", "left", "--profile",
            "witmotion-ble5", "--ble", f"bumble:tcp-client:127.0.0.1:{_closed_port()}",
            "-o", str(out)]  # fmt: skip
    assert main(argv) == 2
    assert "exists; use -f to overwrite it" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main([*argv, "-f"]) == 2  # accepted; then the (unreachable) transport fails
    assert "bumble cannot open the transport" in capsys.readouterr().err


def test_searching_shows_a_countdown_then_names_the_missing_sensor():
    text = io.StringIO()
    view = PlainView(text, every_s=0.4, angles=False)
    assignments = [Assignment("thigh", "AA:00:00:00:00:09", "witmotion-ble5", 100),
                   Assignment("shin", "AA:00:00:00:00:0A", "witmotion-ble5", 100)]  # fmt: skip
    header = SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))

    with pytest.raises(SensorNotFoundError, match="not found while scanning"):
        run_session(
            assignments, header, view, backend=ble_backend("bumble:virtual"), settings=FAST,
            options=RunOptions(wait_connected_s=1.0, guidance=False),
        )  # fmt: skip
    lines = [ln for ln in text.getvalue().splitlines() if ln.startswith("searching")]
    assert lines[0] == "searching for the sensors… 1 s left"
    assert 2 <= len(lines) <= 4  # a line every 0.4 s of the 1 s wait, not one per refresh


def test_rich_view_shows_the_countdown():
    from rich.console import Console

    from imuhip.pipeline import LiveState
    from imuhip.sinks.live_view import RichView

    console = Console(width=80, record=True, force_terminal=False)
    view = RichView(console)
    console.print(view.render(Snapshot("t", 0.0, LiveState(), searching_left_s=27.2)))
    assert "searching for the sensors… 27 s left" in console.export_text()


def test_wait_streaming_raises_as_soon_as_a_link_finds_no_stack():
    from imuhip.sources.ble.connection import ConnectionManager

    async def go():
        m = ConnectionManager(
            [Assignment("thigh", "AA:00:00:00:00:09", "witmotion-ble5", 100)],
            lambda *a: None,
            backend=ble_backend(f"bumble:tcp-client:127.0.0.1:{_closed_port()}"),
            settings=FAST,
        )
        async with m:
            t0 = asyncio.get_running_loop().time()
            with pytest.raises(BluetoothUnavailableError):
                await m.wait_streaming(60.0)
            return asyncio.get_running_loop().time() - t0

    assert run(go(), timeout=30) < 30.0  # not the whole wait
