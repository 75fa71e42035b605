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
    read_rate = wit.read_command(wit.REG_RATE)
    assert sent == [wit.CMD_UNLOCK, wit.rate_command(100), wit.CMD_SAVE, read_rate]
    assert len(thigh.stats.writes) == 8  # configured again after reconnecting

    s = read_session(path)
    # each connection records the interval asked for and the one in use (bumble: 7.5 ms)
    links = [(e.sensor, e.data["interval_ms"], e.data["requested"]) for e in s.events
             if e.kind == "link_parameters"]  # fmt: skip
    assert sorted(links) == [("shin", 7.5, "7.5-15 ms")] + [("thigh", 7.5, "7.5-15 ms")] * 2
    # each connection's read-back confirmed the rate; what came before it is counted
    applied = [e for e in s.events if e.kind == "config_applied"]
    assert sorted(e.sensor for e in applied) == ["shin", "thigh", "thigh"]
    assert all(e.data["confirmed"] and e.data["rate_hz"] == 100.0 for e in applied)
    gaps = [e for e in s.events if e.kind not in ("link_parameters", "config_applied")]
    assert [(e.kind, e.sensor) for e in gaps] == [
        ("connection_lost", "thigh"),
        ("connection_restored", "thigh"),
    ]
    lost, back = (e.t for e in gaps)
    for role, sensor in (("thigh", thigh), ("shin", shin)):
        t, acc, gyr, dec = _decoded(s, role)
        assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
        _, acc_s, gyr_s = sensor.sent_samples()
        # everything sent arrived, in order, except what each connection sent before its
        # read-back (one frame per notification: left out and counted in config_applied) and
        # the tail the sensor sent while the client was already unsubscribing at the end (a
        # few; up to ~0.3 s on an overloaded machine)
        starts = [e for e in applied if e.sensor == role]
        ends = [lost, np.inf] if role == "thigh" else [np.inf]
        i_sent = 0
        for start, end in zip(starts, ends, strict=True):
            i_sent += start.data["left_out"]
            seg = (t > start.t) & (t < end)
            n = int(seg.sum())
            np.testing.assert_allclose(acc[seg], acc_s[i_sent : i_sent + n], atol=ACC_TOL)
            np.testing.assert_allclose(gyr[seg], gyr_s[i_sent : i_sent + n], atol=GYR_TOL)
            i_sent += n
        assert 0 <= len(acc_s) - i_sent <= 50 and i_sent - len(acc) == sum(
            e.data["left_out"] for e in starts
        )
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


class _RateIgnored(WitMotionEmulation):
    """Firmware that answers the read-back but keeps its saved 10 Hz (the write never takes)."""

    def on_write(self, state, uuid, data):
        cmd = wit.parse_command(data)
        if cmd is not None and cmd.kind == "rate":
            return []
        return super().on_write(state, uuid, data)


class _NoReadback(WitMotionEmulation):
    """Firmware that takes the rate but does not answer register reads."""

    def on_write(self, state, uuid, data):
        cmd = wit.parse_command(data)
        if cmd is not None and cmd.kind == "read":
            return []
        return super().on_write(state, uuid, data)


def _record_one(tmp_path, emulation, seconds=1.2, wait_s=8.0):
    path = tmp_path / "one.imuhip"

    async def main():
        be = ble_backend("bumble:virtual")
        async with VirtualSensor(emulation, synthetic_motion(0.5, 40, 0)) as thigh:
            a = [Assignment("thigh", thigh.address, "witmotion-ble5", 100)]
            header = SessionHeader("right", "seated", tuple(x.sensor_info() for x in a))
            with SessionWriter(path, header) as w:
                report = await record(a, w, seconds, be, settings=FAST, wait_connected_s=wait_s)
            return thigh, report

    return path, run(main())


def test_samples_sent_at_the_saved_rate_are_left_out_and_counted(tmp_path):
    """Out of the box the sensor streams at 10 Hz until the rate write takes: those frames,
    which a 100 Hz timing would read as 9 of 10 samples lost, are not recorded; the
    ``config_applied`` event marks where the 100 Hz stream begins and counts them."""
    path, (thigh, report) = _record_one(tmp_path, WitMotionEmulation())
    s = read_session(path)
    (ev,) = [e for e in s.events if e.kind == "config_applied"]
    assert ev.data["confirmed"] and ev.data["detail"] == "rate code 0x09 (100 Hz)"
    assert ev.data["left_out"] >= 1 and ev.data["left_out"] == report.status["thigh"].before_config
    n = s.notifications["thigh"]
    # the first notification recorded is the read-back reply; the data follow it
    assert n.payloads()[0][:4] == b"\x55\x71\x03\x00" and n.t[0] <= ev.t
    t, _, _, dec = _decoded(s, "thigh")
    assert dec.register_replies == 1 and dec.stats.dropped == 0
    assert np.all(t >= ev.t) and np.max(np.diff(t)) < 0.05  # 100 Hz from the first sample
    sent = len(thigh.sent_samples()[0])
    assert 0 <= sent - (len(t) + ev.data["left_out"]) <= 50  # the tail sent while stopping


def test_a_rate_that_does_not_take_is_refused_not_recorded_as_loss(tmp_path):
    from imuhip.sources.ble.connection import SensorNotFoundError

    with pytest.raises(SensorNotFoundError, match=r"reads back rate code 0x06 \(10 Hz\)"):
        _record_one(tmp_path, _RateIgnored(), wait_s=2.0)


def test_a_sensor_that_does_not_answer_the_read_back_is_recorded_unconfirmed(tmp_path):
    path, (_, report) = _record_one(tmp_path, _NoReadback(), seconds=0.8)
    s = read_session(path)
    (ev,) = [e for e in s.events if e.kind == "config_applied"]
    assert not ev.data["confirmed"] and ev.data["left_out"] > 0
    assert ev.data["left_out"] == report.status["thigh"].before_config
    t, _, _, dec = _decoded(s, "thigh")
    assert len(t) > 30 and dec.stats.dropped == 0
