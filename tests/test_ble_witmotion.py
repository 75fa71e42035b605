"""A virtual WitMotion BLE 5.0 sensor recorded through the real profile and decoder."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from imuhip.decode import get_decoder
from imuhip.decode import witmotion as wit
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import Assignment, ManagerSettings, record
from imuhip.sources.ble.emulations import WitMotionEmulation
from imuhip.sources.ble.scan import scan
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion
from tests.ble_testkit import run

FAST = ManagerSettings(
    scan_timeout_s=1.0,
    connect_timeout_s=2.0,
    op_timeout_s=1.0,
    backoff_initial_s=0.1,
    backoff_max_s=0.4,
    stall_timeout_s=1.0,
    stop_timeout_s=1.0,
)
ACC_TOL = 16 * 9.80665 / 32768 * 0.51
GYR_TOL = np.deg2rad(2000 / 32768) * 0.51


def _decoded(session, role):
    n = session.notifications[role]
    dec = get_decoder(session.header.sensor(role).profile, session.header.sensor(role).config)
    blocks = dec.decode_many(n.t, n.payloads(), n.channel)
    acc = np.concatenate([b.values for b in blocks if b.kind == "acc"])
    gyr = np.concatenate([b.values for b in blocks if b.kind == "gyr"])
    t = np.concatenate([b.t for b in blocks if b.kind == "acc"])
    return t, acc, gyr, dec


def test_scan_recognises_witmotion():
    async def main():
        async with VirtualSensor(WitMotionEmulation()) as s:
            return s.address, await scan(0.3, ble_backend("bumble:virtual"))

    address, found = run(main())
    assert [(f.address, f.name, f.profile) for f in found] == [
        (address, "WT901BLE68", "witmotion-ble5")
    ]
    assert found[0].service_uuids == (wit.SERVICE_UUID,)


def test_witmotion_recording_with_dropout_decodes_to_sent_samples(tmp_path):
    path = tmp_path / "wit.imuhip"

    async def main():
        be = ble_backend("bumble:virtual")
        async with (
            VirtualSensor(WitMotionEmulation(), synthetic_motion(0.5, 40, 0)) as thigh,
            VirtualSensor(WitMotionEmulation(), synthetic_motion(0.4, 30, 1)) as shin,
        ):
            assignments = [
                Assignment("thigh", thigh.address, "witmotion-ble5", 100),
                Assignment("shin", shin.address, "witmotion-ble5", 100),
            ]
            header = SessionHeader("right", "seated", tuple(a.sensor_info() for a in assignments))

            async def dropout():
                while thigh.stats.samples_sent < 80:  # streaming at 100 Hz for a while
                    await asyncio.sleep(0.02)
                await thigh.vanish(duration_s=0.7)

            with SessionWriter(path, header) as w:
                task = asyncio.create_task(dropout())
                await record(assignments, w, 2.5, be, settings=FAST)
                await task
            return thigh, shin

    thigh, shin = run(main())
    # configuration written by the profile and honoured by the sensor
    assert thigh.state.rate_hz == 100.0 and shin.state.rate_hz == 100.0
    sent = [d for _, d in shin.stats.writes]
    assert sent == [wit.CMD_UNLOCK, wit.rate_command(100), wit.CMD_SAVE]
    assert len(thigh.stats.writes) == 6  # configured again after reconnecting

    s = read_session(path)
    # each connection records the interval asked for and the one in use (bumble: 7.5 ms)
    links = [(e.sensor, e.data["interval_ms"], e.data["requested"]) for e in s.events
             if e.kind == "link_parameters"]  # fmt: skip
    assert sorted(links) == [("shin", 7.5, "7.5-15 ms")] + [("thigh", 7.5, "7.5-15 ms")] * 2
    gaps = [e for e in s.events if e.kind != "link_parameters"]
    assert [(e.kind, e.sensor) for e in gaps] == [
        ("connection_lost", "thigh"),
        ("connection_restored", "thigh"),
    ]
    lost, back = (e.t for e in gaps)
    for role, sensor in (("thigh", thigh), ("shin", shin)):
        _, acc, gyr, dec = _decoded(s, role)
        assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
        _, acc_s, gyr_s = sensor.sent_samples()
        # everything sent arrived, in order, except the tail the sensor sent while the client
        # was already unsubscribing at the end (a few; up to ~0.3 s on an overloaded machine)
        n = len(acc)
        assert 0 <= len(acc_s) - n <= 50
        np.testing.assert_allclose(acc, acc_s[:n], atol=ACC_TOL)
        np.testing.assert_allclose(gyr, gyr_s[:n], atol=GYR_TOL)
        assert np.ptp(gyr) > 1.0
    t_thigh = _decoded(s, "thigh")[0]
    assert np.sum(t_thigh < lost) > 50 and np.sum(t_thigh > back) > 50
    assert not np.any((t_thigh > lost) & (t_thigh < back))
    t_shin = _decoded(s, "shin")[0]
    steady = t_shin[t_shin > t_shin[0] + 0.6]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert rate == pytest.approx(100, rel=0.05)


def test_register_read_is_answered():
    async def main():
        from bleak import BleakClient

        be = ble_backend("bumble:virtual")
        async with VirtualSensor(WitMotionEmulation()) as s:
            got = []
            async with BleakClient(s.address, backend=be.client) as c:
                await c.start_notify(wit.NOTIFY_UUID, lambda _c, d: got.append(bytes(d)))
                await c.write_gatt_char(wit.WRITE_UUID, wit.rate_command(50), response=False)
                await c.write_gatt_char(wit.WRITE_UUID, wit.read_command(wit.REG_RATE), True)
                await asyncio.sleep(0.2)
            return got

    got = run(main())
    replies = [g for g in got if g[:2] == b"\x55\x71"]
    assert replies == [wit.encode_register_reply(wit.REG_RATE, [wit.RATE_CODES[50.0]])]
    assert any(g[:2] == b"\x55\x61" for g in got)
