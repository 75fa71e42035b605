"""Connection manager and recorder against virtual sensors: streaming, vanishing, reconnecting."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import (
    Assignment,
    ConnectionManager,
    LinkState,
    ManagerSettings,
    SensorNotFoundError,
    record,
)
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion
from tests.ble_testkit import (
    FakeImuDecoder,
    FakeImuEmulation,
    FakeImuSharedDecoder,
    FakeImuSharedEmulation,
    link_parameter_roles,
    run,
    without_link_parameters,
)

FAST = ManagerSettings(
    scan_timeout_s=1.0,
    connect_timeout_s=2.0,
    op_timeout_s=1.0,
    backoff_initial_s=0.1,
    backoff_max_s=0.4,
    stall_timeout_s=1.0,
    stop_timeout_s=1.0,
)
ROLES = ("thigh", "shin", "pelvis")


def _header(assignments) -> SessionHeader:
    return SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))


def _decode(session, role):
    n = session.notifications[role]
    info = session.header.sensor(role)
    dec = FakeImuDecoder(info.config)
    blocks = dec.decode_many(n.t, n.payloads(), n.channel)
    acc = np.concatenate([b.values for b in blocks if b.kind == "acc"])
    t = np.concatenate([b.t for b in blocks if b.kind == "acc"])
    return t, acc, dec


def test_assignment_header_uses_profile_rate_and_config():
    a = Assignment("thigh", "D0:5E:00:00:00:01", "test-imu", rate_hz=90)
    info = a.sensor_info()
    assert info.rate_hz == 100.0 and info.config == {"rate_hz": 100.0}
    assert info.profile == "test-imu" and info.address == "D0:5E:00:00:00:01"
    with pytest.raises(ValueError, match="once"):
        ConnectionManager([a, a], lambda *x: None)


def test_record_with_vanishing_sensor_marks_gap_and_resumes(tmp_path):
    path = tmp_path / "rec.imuhip"

    async def main():
        be = ble_backend("bumble:virtual")
        async with (
            VirtualSensor(FakeImuEmulation(), synthetic_motion(0.5, 30, 0)) as thigh,
            VirtualSensor(FakeImuEmulation(), synthetic_motion(0.3, 20, 1)) as shin,
        ):
            assignments = [
                Assignment("thigh", thigh.address, "test-imu", 100),
                Assignment("shin", shin.address, "test-imu", 50),
            ]

            async def trouble():
                while shin.stats.samples_sent < 40:  # streaming for a while (~0.8 s)
                    await asyncio.sleep(0.02)
                await shin.vanish(duration_s=1.0)

            with SessionWriter(path, _header(assignments)) as writer:
                task = asyncio.create_task(trouble())
                report = await record(assignments, writer, 3.0, be, settings=FAST)
                await task
            return report, thigh, shin

    report, _, shin = run(main())
    s = read_session(path)
    assert s.report.ok
    gaps = without_link_parameters(s.events)
    assert [(e.kind, e.sensor) for e in gaps] == [
        ("connection_lost", "shin"),
        ("connection_restored", "shin"),
    ]
    assert link_parameter_roles(s.events) == ["shin", "shin", "thigh"]  # one per connection
    lost, restored = gaps
    gap = restored.t - lost.t
    assert 0.8 < gap < 2.0, gap  # away 1 s, noticed after the supervision timeout
    assert restored.data["gap_s"] == pytest.approx(gap, abs=1e-3)

    # shin: samples before and after the gap, none inside it, decoded = what the sensor sent
    t, acc, dec = _decode(s, "shin")
    assert dec.stats.dropped == 0
    before, after = t[t < lost.t], t[t > restored.t]
    assert len(before) > 20 and len(after) > 20
    assert not np.any((t > lost.t) & (t < restored.t - 0.05))
    assert dec.stats.lost_samples == 0  # streaming restarted: nothing lost in between
    _, acc_sent, _ = shin.sent_samples()
    np.testing.assert_allclose(acc, acc_sent[: len(acc)], atol=0.003)
    assert report.status["shin"].losses == 1 and report.status["shin"].connects == 2

    # thigh never stopped: no gap longer than a few notification intervals
    t_th, _, dec_th = _decode(s, "thigh")
    assert dec_th.stats.lost_samples == 0
    assert np.max(np.diff(s.notifications["thigh"].t)) < 0.2
    assert 2.7 < t_th[-1] - t_th[0] < 3.6
    assert report.status["thigh"].losses == 0
    assert abs(len(t_th) / (t_th[-1] - t_th[0]) - 100) < 8


def test_four_sensors_at_once_with_one_dropping():
    got: dict[str, int] = {}
    events = []

    async def main():
        be = ble_backend("bumble:virtual")
        sensors = [VirtualSensor(FakeImuEmulation()) for _ in range(4)]
        for s in sensors:
            await s.start()
        roles = ["r0", "r1", "r2", "r3"]
        assignments = [
            Assignment(r, s.address, "test-imu", 100) for r, s in zip(roles, sensors, strict=True)
        ]

        def on_note(n):
            got[n.role] = got.get(n.role, 0) + 1

        m = ConnectionManager(assignments, on_note, events.append, be, FAST)
        async with m:
            assert await m.wait_streaming(5) == []
            loop = asyncio.get_running_loop()
            base, t0 = dict(got), loop.time()
            await asyncio.sleep(0.5)
            await sensors[2].vanish(duration_s=0.5)
            await asyncio.sleep(1.5)
            window = loop.time() - t0
            counts = dict(got)
            for _ in range(100):  # r2 reconnects in the background (slower on a busy machine)
                if m.status["r2"].state == LinkState.STREAMING:
                    break
                await asyncio.sleep(0.05)
            states = {r: st.state for r, st in m.status.items()}
            for r in got:
                got[r] = (counts[r] - base.get(r, 0)) / window  # notifications per second
        for s in sensors:
            await s.stop()
        return states, [s.stats for s in sensors]

    # roles are free text for the manager; the session header is what restricts them
    states, stats = run(main())
    assert set(states.values()) == {LinkState.STREAMING}
    gaps = without_link_parameters(events)
    assert [e.kind for e in gaps] == ["connection_lost", "connection_restored"]
    assert gaps[0].sensor == "r2"
    assert link_parameter_roles(events) == ["r0", "r1", "r2", "r2", "r3"]
    for r in ("r0", "r1", "r3"):
        # 100 Hz, 2 samples per notification: 50/s (a busy machine gets bursts after lags)
        assert 40 <= got[r] <= 70, got
    assert 10 <= got["r2"] < 0.85 * got["r0"], got  # away for a quarter of the window
    assert all(s.connections == 1 for i, s in enumerate(stats) if i != 2)
    assert stats[2].connections == 2


def test_missing_sensor_is_reported_quickly(tmp_path):
    async def main():
        be = ble_backend("bumble:virtual")
        async with VirtualSensor(FakeImuEmulation()) as present:
            assignments = [
                Assignment("thigh", present.address, "test-imu", 50),
                Assignment("shin", "D0:5E:00:00:99:99", "test-imu", 50),
            ]
            with (
                SessionWriter(tmp_path / "x.imuhip", _header(assignments)) as w,
                pytest.raises(SensorNotFoundError, match=r"shin \(D0:5E:00:00:99:99\)"),
            ):
                await record(assignments, w, 1.0, be, settings=FAST, wait_connected_s=1.5)

    run(main())


def test_refused_command_is_reported_and_retried():
    events = []

    async def main():
        be = ble_backend("bumble:virtual")
        # this sensor only supports 25 Hz: the profile's 100 Hz start command is refused
        async with VirtualSensor(FakeImuEmulation(supported_rates=(25.0,))) as s:
            m = ConnectionManager(
                [Assignment("thigh", s.address, "test-imu", 100)],
                lambda *a: None,
                events.append,
                be,
                FAST,
            )
            async with m:
                missing = await m.wait_streaming(1.0)
                st = m.status["thigh"]
            return missing, st, s.stats.connections

    missing, st, connections = run(main())
    assert missing == ["thigh"]
    assert "error status 8" in st.last_error
    assert st.attempts >= 2 and connections >= 2  # backed off and tried again
    assert events == []


def test_responses_on_the_data_channel_are_recorded_with_the_data():
    """Profiles answering on their data characteristic (Movesense, MetaMotion): the manager
    subscribes it once, waits for the answers there and records everything on channel 0."""
    notes = []

    async def main():
        be = ble_backend("bumble:virtual")
        async with VirtualSensor(FakeImuSharedEmulation(), synthetic_motion(0.5, 30, 0)) as s:
            m = ConnectionManager(
                [Assignment("thigh", s.address, "test-imu-shared", 100)],
                notes.append,
                None,
                be,
                FAST,
            )
            async with m:
                assert await m.wait_streaming(5) == []
                while s.stats.samples_sent < 60:
                    await asyncio.sleep(0.02)
            return s

    s = run(main())
    assert {n.channel for n in notes} == {0}
    payloads = [n.data for n in notes]
    assert payloads[:2] == [bytes([0xF0, 0x01, 0]), bytes([0xF0, 0x02, 0])]
    dec = FakeImuSharedDecoder({"rate_hz": 100.0})
    blocks = dec.decode_many(np.array([n.t for n in notes]), payloads)
    acc = np.concatenate([b.values for b in blocks if b.kind == "acc"])
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
    _, acc_s, _ = s.sent_samples()
    assert len(acc) >= 50
    np.testing.assert_allclose(acc, acc_s[: len(acc)], atol=0.003)


def test_one_address_for_two_roles_is_refused_before_connecting(tmp_path, capsys):
    """``record`` with the thigh's address for the shin too: a clear error, no traceback, no
    file (issue 21); the manager refuses it as well (addresses compare case-insensitively)."""
    from imuhip.cli import main
    from imuhip.errors import SensorAssignmentError

    path = tmp_path / "same.imuhip"
    code = main(["record", "--thigh", "AA:BB:CC:DD:EE:01", "--shin", "aa:bb:cc:dd:ee:01",
                 "--side", "left", "--profile", "test-imu", "--ble", "bumble:virtual",
                 "--duration", "1", "-o", str(path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "same address AA:BB:CC:DD:EE:01" in err and "cannot take two roles" in err
    assert not path.exists()
    a = Assignment("thigh", "D0:5E:00:00:00:01", "test-imu")
    b = Assignment("shin", "d0:5e:00:00:00:01", "test-imu")
    with pytest.raises(SensorAssignmentError, match="thigh and shin"):
        ConnectionManager([a, b], lambda *x: None)


def test_a_sensor_away_does_not_hold_up_the_reconnection_of_one_that_is_back():
    """The thigh vanishes for good and the shin for 1 s: the thigh's search (8 s per attempt)
    runs in slices, so the shin is connected again within about a slice of its return, not
    after the thigh's whole search (it waited up to ``scan_timeout_s`` before)."""
    settings = ManagerSettings(
        scan_timeout_s=8.0, connect_timeout_s=2.0, op_timeout_s=1.0,
        backoff_initial_s=0.1, backoff_max_s=0.4, stall_timeout_s=1.0, stop_timeout_s=1.0,
    )  # fmt: skip
    events: list = []
    marks: dict[str, float] = {}

    async def main():
        be = ble_backend("bumble:virtual")
        async with (
            VirtualSensor(FakeImuEmulation(), synthetic_motion(0.5, 30, 0)) as thigh,
            VirtualSensor(FakeImuEmulation(), synthetic_motion(0.3, 20, 1)) as shin,
        ):
            a = [Assignment("thigh", thigh.address, "test-imu", 50),
                 Assignment("shin", shin.address, "test-imu", 50)]  # fmt: skip
            async with ConnectionManager(a, lambda *x: None, events.append, be, settings) as m:
                assert await m.wait_streaming(10.0) == []
                await thigh.vanish()
                await asyncio.sleep(0.4)  # the thigh is being searched for now
                await shin.vanish()
                await asyncio.sleep(1.0)
                marks["back"] = time.monotonic()
                await shin.reappear()
                deadline = time.monotonic() + 10.0
                while time.monotonic() < deadline and not any(
                    e.kind == "connection_restored" and e.sensor == "shin" for e in events
                ):
                    await asyncio.sleep(0.02)

    run(main(), timeout=40)
    (back,) = [e for e in events if e.kind == "connection_restored" and e.sensor == "shin"]
    assert back.t - marks["back"] < 1.5, back.t - marks["back"]
