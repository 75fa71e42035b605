"""Connection-interval requests per bleak backend, and the slow-link warning live and at the end.

The WinRT path cannot run here (no Windows): a stand-in for pywinrt's module and bleak's WinRT
client checks that imuhip asks with the right preset, keeps the request open until it closes
it, reads the interval in 1.25 ms units, and survives a stack without the call or one that
fails. The bumble path runs for real in tests/test_ble_witmotion.py.
"""

from __future__ import annotations

import io
import sys
import types

import pytest

from imuhip.files.session_file import read_session
from imuhip.live.commands import print_result
from imuhip.live.runner import RunResult, sensor_lines
from imuhip.pipeline import SessionPipeline
from imuhip.session import session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sim.transport import LinkModel
from imuhip.sources.ble.connection import LinkStatus
from imuhip.sources.ble.link_params import LinkParameters, request_short_interval

THROUGHPUT = object()  # pywinrt's BluetoothLEPreferredConnectionParameters.throughput_optimized


@pytest.fixture
def fake_winrt(monkeypatch):
    mod = types.ModuleType("winrt.windows.devices.bluetooth")
    mod.BluetoothLEPreferredConnectionParameters = types.SimpleNamespace(
        throughput_optimized=THROUGHPUT
    )
    for name in ("winrt", "winrt.windows", "winrt.windows.devices"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "winrt.windows.devices.bluetooth", mod)


class _Request:
    def __init__(self):
        self.status = types.SimpleNamespace(name="SUCCESS")
        self.closed = 0

    def close(self):
        self.closed += 1


class _Windows11Device:
    def __init__(self, interval_units=6, fail=False):
        self.asked = []
        self.request = _Request()
        self.units = interval_units
        self.fail = fail

    def request_preferred_connection_parameters(self, preset):
        if self.fail:
            raise OSError("the device is not available")
        self.asked.append(preset)
        return self.request

    def get_connection_parameters(self):
        return types.SimpleNamespace(connection_interval=self.units)


class BleakClientWinRT:  # named as bleak's WinRT backend class
    def __init__(self, device):
        self._requester = device


class BleakClientBlueZDBus:  # named as bleak's BlueZ backend class
    pass


def _client(backend):
    return types.SimpleNamespace(_backend=backend)


def test_windows_11_asks_for_throughput_optimized_and_keeps_the_request_open(fake_winrt):
    dev = _Windows11Device(interval_units=12)
    req = request_short_interval(_client(BleakClientWinRT(dev)))
    assert dev.asked == [THROUGHPUT]
    p = req.parameters()
    assert p == LinkParameters("winrt", "throughput-optimized", 0.015, "status success")
    assert p.event_data() == {
        "stack": "winrt",
        "requested": "throughput-optimized",
        "interval_ms": 15.0,
        "detail": "status success",
    }
    assert dev.request.closed == 0  # Windows applies it only while it is open
    req.close()
    req.close()
    assert dev.request.closed == 1


def test_windows_10_and_a_failing_request_leave_the_connection_alone(fake_winrt):
    class Windows10Device:  # no RequestPreferredConnectionParameters, no GetConnectionParameters
        pass

    p = request_short_interval(_client(BleakClientWinRT(Windows10Device()))).parameters()
    assert p.requested is None and p.interval_s is None and "Windows 11" in p.detail

    dev = _Windows11Device(fail=True)
    req = request_short_interval(_client(BleakClientWinRT(dev)))
    p = req.parameters()
    assert p.requested is None and "OSError" in p.detail and "not available" in p.detail
    assert p.interval_s == 0.0075  # the stack still reports the interval in use
    req.close()


def test_stacks_without_a_request_say_how_to_get_a_short_interval():
    p = request_short_interval(_client(BleakClientBlueZDBus())).parameters()
    assert p.stack == "bluez" and p.requested is None and p.interval_s is None
    assert "main.conf" in p.detail and "MinConnectionInterval=6" in p.detail
    p = request_short_interval(_client(object())).parameters()
    assert p.stack == "object" and p.requested is None


@pytest.fixture(scope="module")
def slow_witmotion(tmp_path_factory):
    """A SIMULATED WitMotion session over a 30 ms link, replayed through the live pipeline."""
    cfg = SimConfig(
        duration_s=25.0,
        content="reps",
        seed=5,
        profile="witmotion-ble5",
        link=LinkModel(connection_interval_s=0.03),
    )
    path = tmp_path_factory.mktemp("slow") / "slow.imuhip"
    write_simulation(simulate(cfg), path)
    session = read_session(path)
    pipe = SessionPipeline(session.header)
    for item in session_inputs(session):
        pipe.feed(item)
    pipe.finish()
    return pipe


def test_live_judges_a_slow_link_from_arrival_times(slow_witmotion):
    pipe = slow_witmotion
    status = {r: LinkStatus(r, f"AA:BB:CC:DD:EE:0{i}") for i, r in enumerate(("thigh", "shin"))}
    for role in ("thigh", "shin"):
        h = pipe.state.sensors[role]
        assert h.timing == "reconstructed" and h.interval_s == pytest.approx(0.03)
    lines = sensor_lines(status, pipe)
    assert all(s.slow_link and s.interval_s == pytest.approx(0.03) for s in lines)
    # the stack's own figure wins where it gives one
    status["shin"].link = LinkParameters("bumble", "7.5-15 ms", 0.0075, "asked when connecting")
    shin = sensor_lines(status, pipe)[1]
    assert shin.interval_s == 0.0075 and not shin.slow_link

    out = io.StringIO()
    print_result(RunResult(pipe, 25.0, status, 0), None, out)
    text = out.getvalue()
    assert "interval 30 ms" in text and "interval 7.5 ms" in text
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "the thigh sensor sends no timestamps" in warnings[0]
    assert "30.0 ms" in warnings[0] and "(10 ms)" in warnings[0]


def test_analyze_takes_the_stacks_interval_where_the_file_records_one(tmp_path):
    """The arrival times of a busy host (or a demo at 10x speed) can look like a slow link;
    where a ``link_parameters`` event records the interval the stack reported, analyze warns
    from that figure, as the live summary does."""
    import dataclasses

    from imuhip.pipeline import analyze_session
    from imuhip.session import LINK_EVENT, Event

    cfg = SimConfig(
        duration_s=60.0, content="reps", seed=5, marks=True, profile="witmotion-ble5",
        link=LinkModel(connection_interval_s=0.03),
    )  # fmt: skip
    path = tmp_path / "slow.imuhip"
    write_simulation(simulate(cfg), path)
    s = read_session(path)
    slow = [w for w in analyze_session(s).warnings if "connection interval was 30.0 ms" in w]
    assert len(slow) == 2
    told = Event(0.5, LINK_EVENT, "shin", {"stack": "bumble", "interval_ms": 7.5})
    s2 = dataclasses.replace(s, events=(*s.events, told))
    slow2 = [w for w in analyze_session(s2).warnings if "connection interval was" in w]
    assert len(slow2) == 1 and slow2[0].startswith("the thigh sensor")
