"""A virtual Polar Verity Sense (PMD) on the virtual radio: control point, recording, replay."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient

from imuhip.align.streams import sensor_streams
from imuhip.decode import get_decoder
from imuhip.decode import polar_pmd as pmd
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import (
    Assignment,
    ConnectionManager,
    LinkState,
    ManagerSettings,
    record,
)
from imuhip.sources.ble.emulations import PolarPmdEmulation
from imuhip.sources.ble.scan import scan
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion
from tests.ble_testkit import (
    check_samples_match,
    decode_sensor_clock,
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
    stall_timeout_s=1.5,
    stop_timeout_s=1.0,
)
VIRTUAL = "bumble:virtual"


def _status(reply: bytes) -> int:
    assert reply[0] == pmd.RESPONSE_CODE, reply.hex()
    return reply[3]


# --------------------------------------------------------------------------- control point


def test_polar_advertises_and_answers_the_control_point():
    async def main():
        be = ble_backend(VIRTUAL)
        emu = PolarPmdEmulation("0A1B2C3D", samples_per_frame=10)
        async with VirtualSensor(emu, synthetic_motion(0.5, 40, 0)) as s:
            found = await scan(0.3, be)
            replies: list[bytes] = []
            frames: list[bytes] = []
            got = asyncio.Queue()

            def on_cp(_c, d):
                replies.append(bytes(d))
                got.put_nowait(bytes(d))

            async def ask(data: bytes) -> bytes:
                await c.write_gatt_char(pmd.CP_UUID, data, response=True)
                return await asyncio.wait_for(got.get(), 2)

            async with BleakClient(s.address, backend=be.client) as c:
                cp = c.services.get_characteristic(pmd.CP_UUID)
                assert sorted(cp.properties) == ["indicate", "read", "write"]
                feature = bytes(await c.read_gatt_char(pmd.CP_UUID))
                await c.start_notify(pmd.CP_UUID, on_cp)
                r = {"early_start": await ask(pmd.start_command("acc", {"sample_rate": 52}))}
                await c.start_notify(pmd.DATA_UUID, lambda _c, d: frames.append(bytes(d)))
                r["settings"] = await ask(bytes([pmd.OP_GET_SETTINGS, pmd.ACC]))
                r["sdk_settings"] = await ask(bytes([pmd.OP_GET_SDK_SETTINGS, pmd.GYRO]))
                r["acc_104"] = await ask(pmd.start_command("acc", {"sample_rate": 104}))
                r["range_3"] = await ask(pmd.start_command("acc", {"range": 3}))
                r["sdk_on"] = await ask(bytes([pmd.OP_START, pmd.SDK_MODE]))
                r["sdk_again"] = await ask(bytes([pmd.OP_START, pmd.SDK_MODE]))
                r["acc"] = await ask(pmd.start_command("acc", {"sample_rate": 104, "range": 8}))
                r["acc_again"] = await ask(pmd.start_command("acc", {"sample_rate": 104}))
                r["gyr_208"] = await ask(pmd.start_command("gyr", {"sample_rate": 208}))
                r["gyr"] = await ask(pmd.start_command("gyr", {"sample_rate": 104, "range": 1000}))
                r["ppg"] = await ask(bytes([pmd.OP_START, pmd.PPG]))
                rate_while_on = s.state.rate_hz
                await asyncio.sleep(0.5)
                r["stop_gyr"] = await ask(pmd.stop_command(pmd.GYRO))
                r["stop_gyr_again"] = await ask(pmd.stop_command(pmd.GYRO))
                n_frames = len(frames)
            return found, feature, r, replies, frames, n_frames, rate_while_on, s

    found, feature, r, replies, frames, n_frames, rate, s = run(main())
    assert [(f.name, f.profile) for f in found] == [("Polar Sense 0A1B2C3D", "polar-pmd")]
    assert found[0].service_uuids == (pmd.SERVICE_UUID,)
    assert feature == pmd.feature_bytes(ppg=False, mag=False)
    assert feature[1] & 0x04 and feature[1] & 0x20 and feature[2] & 0x02  # ACC, GYRO, SDK mode
    # refusals, with the documented status codes
    assert _status(r["early_start"]) == 12  # data notifications not enabled yet
    assert _status(r["acc_104"]) == 8  # 104 Hz needs SDK mode
    assert _status(r["range_3"]) == 9
    assert _status(r["sdk_again"]) == 6 and _status(r["acc_again"]) == 6
    assert _status(r["gyr_208"]) == 8  # one sample clock: gyro at the acc rate
    assert _status(r["ppg"]) == 3
    assert _status(r["stop_gyr_again"]) == 6
    # settings: 52 Hz only outside SDK mode, every rate in it
    assert r["settings"][:5] == bytes([0xF0, 0x01, pmd.ACC, 0, 0])
    opts = pmd.parse_settings(r["settings"][5:])
    assert opts == {
        "sample_rate": [52],
        "resolution": [16],
        "range": [2, 4, 8, 16],
        "channels": [3],
    }
    sdk_opts = pmd.parse_settings(r["sdk_settings"][5:])
    assert sdk_opts["sample_rate"] == [26, 52, 104, 208, 416]
    assert sdk_opts["range"] == [250, 500, 1000, 2000]
    # start responses carry the factor: full range over 16 bits
    assert r["acc"] == pmd.encode_start_response("acc", 8 / 32768)
    assert r["gyr"] == pmd.encode_start_response("gyr", 1000 / 32768)
    assert all(pmd.check_response(r[k]) is None for k in ("sdk_on", "acc", "gyr", "stop_gyr"))
    assert rate == 104.0
    assert replies == list(r.values())  # every request answered once, in order
    # frames: ACC and GYRO delta frames, 10 samples each, decoded with the announced factors
    assert {(f[0], f[9]) for f in frames[:n_frames]} == {(pmd.ACC, 0x80), (pmd.GYRO, 0x80)}
    dec = get_decoder(pmd.PROFILE, pmd.decoder_config(104, {}))
    for reply in (r["acc"], r["gyr"]):
        dec.feed(reply, 0.0, channel=1)
    blocks = [b for f in frames for b in dec.feed(f, 0.0, channel=0)]
    decoded = {
        k: (
            np.concatenate([b.t for b in blocks if b.kind == k]),
            np.concatenate([b.values for b in blocks if b.kind == k]),
        )
        for k in ("acc", "gyr")
    }
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
    assert all(len(b.t) == 10 for b in blocks)
    check_samples_match(s, decoded, {"acc": 8 / 32768, "gyr": 1000 / 32768})
    assert np.ptp(decoded["gyr"][1][:, 0]) > 0.5  # real motion
    # after the gyro stop only acc frames flow (the rest is after the stop)
    assert all(f[0] == pmd.ACC for f in frames[n_frames:])


# --------------------------------------------------------------------------- recording


def test_polar_recording_replays_with_announced_factor_and_aligns(tmp_path):
    path = tmp_path / "polar.imuhip"
    drift = {"thigh": 80.0, "shin": -120.0}
    # the shin's firmware announces factors unlike the range/2^15 default the decoder assumes
    odd = {"acc": 0.0002, "gyr": 0.05}

    async def main():
        be = ble_backend(VIRTUAL)
        async with (
            VirtualSensor(
                PolarPmdEmulation("A0000001"),
                synthetic_motion(0.5, 40, 0),
                clock_drift_ppm=drift["thigh"],
            ) as thigh,
            VirtualSensor(
                PolarPmdEmulation("A0000002", factors=odd),
                synthetic_motion(0.4, 30, 1),
                clock_drift_ppm=drift["shin"],
            ) as shin,
        ):
            assignments = [
                Assignment("thigh", thigh.address, pmd.PROFILE, 100),
                Assignment("shin", shin.address, pmd.PROFILE, 100),
            ]
            header = SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))
            with SessionWriter(path, header) as w:
                await record(assignments, w, 4.0, be, settings=FAST)
            return {"thigh": thigh, "shin": shin}

    sensors = run(main(), timeout=40)
    s = read_session(path)
    assert s.report.ok and not without_link_parameters(s.events)
    assert link_parameter_roles(s.events) == ["shin", "thigh"]
    factors = {"thigh": {"acc": 8 / 32768, "gyr": 2000 / 32768}, "shin": odd}
    for role, sensor in sensors.items():
        # the profile asked for 104 Hz in SDK mode; the sensor runs at that rate
        # refused: only the stop of MAG at the end (never started; harmless by the profile)
        assert [(c.name, c.kind) for c, _ in sensor.state.extra["refused"]] == [("stop", "mag")]
        assert [c.name for c in sensor.state.extra["commands"]][:3] == ["start"] * 3
        assert s.header.sensor(role).rate_hz == 104.0
        notes = s.notifications[role]
        cp = [p for p, c in zip(notes.payloads(), notes.channel, strict=True) if c == 1]
        # every CP indication was recorded: SDK mode, ACC, GYRO start responses, then the
        # answers to the stop requests at the end
        f = factors[role]
        assert cp[:3] == [
            pmd.encode_cp_response(pmd.OP_START, pmd.SDK_MODE),
            pmd.encode_start_response("acc", f["acc"]),
            pmd.encode_start_response("gyr", f["gyr"]),
        ]
        assert all(c[1] == pmd.OP_STOP for c in cp[3:]) and len(cp) >= 4
        first_data = int(np.argmax(notes.channel == 0))
        assert np.all(notes.channel[:first_data] == 1)  # responses before any data frame
        decoded, dec = decode_sensor_clock(notes, s.header.sensor(role).config)
        assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
        assert dec.factors == {pmd.ACC: pytest.approx(f["acc"]), pmd.GYRO: pytest.approx(f["gyr"])}
        check_samples_match(sensor, decoded, f)
        # every frame the sensor sent is in the file, except the last ones in flight at stop
        n_sent = len(sensor.sent_samples()[0])
        assert 0 <= n_sent - len(decoded["acc"][0]) <= 3 * 36
        assert np.ptp(decoded["gyr"][1]) > 1.0

    # without the recorded start responses the shin's values would be wrong by the factor
    wrong, _ = decode_sensor_clock(
        s.notifications["shin"], s.header.sensor("shin").config, with_cp=False
    )
    right, _ = decode_sensor_clock(s.notifications["shin"], s.header.sensor("shin").config)
    ratio = np.max(np.abs(wrong["gyr"][1])) / np.max(np.abs(right["gyr"][1]))
    assert ratio == pytest.approx((2000 / 32768) / odd["gyr"], rel=1e-3)

    # sensor clock -> host clock: each sample's mapped host time against the moment the
    # virtual sensor took it (its loop time; the loop clock is time.monotonic like the host's)
    streams = sensor_streams(s)
    err = {}
    for role, sensor in sensors.items():
        st = streams[role]
        assert st.timing == "sensor-clock" and st.decoded
        decoded, _ = decode_sensor_clock(s.notifications[role], s.header.sensor(role).config)
        t_g, g = decoded["gyr"]
        n = len(st.samples)
        assert n > 200
        i0 = next(i for i in range(len(g) - n + 1) if np.array_equal(g[i : i + n], st.samples.gyr))
        t_virtual = t_g[i0 : i0 + n] - sensor.emulation.clock_origin_s
        truth = sensor.loop_time(t_virtual)
        err[role] = (truth, st.samples.t - truth)
        # host-time mapping: after the sample, by no more than the loop's delivery delay
        assert np.min(err[role][1]) > -0.005 and np.max(err[role][1]) < 0.02, role
    (tt, et), (ts, es) = err["thigh"], err["shin"]
    lo, hi = max(tt[0], ts[0]), min(tt[-1], ts[-1])
    both = (tt >= lo) & (tt <= hi)
    rel = et[both] - np.interp(tt[both], ts, es)
    for role, (_, e) in err.items():
        print(f"\n{role}: mapped - true time {1e3 * e.min():+.2f} .. {1e3 * e.max():+.2f} ms")
    print(
        f"thigh-to-shin alignment error: max {1e3 * np.max(np.abs(rel)):.2f} ms, "
        f"mean {1e3 * np.mean(rel):+.2f} ms over {hi - lo:.1f} s"
    )
    assert np.max(np.abs(rel)) < 0.005


def test_sensor_stopping_by_itself_is_restarted_at_once():
    events = []
    notes = []

    async def main():
        be = ble_backend(VIRTUAL)
        emu = PolarPmdEmulation("5709BEEF", samples_per_frame=10)
        async with VirtualSensor(emu, synthetic_motion(0.5, 40, 0)) as s:
            m = ConnectionManager(
                [Assignment("thigh", s.address, pmd.PROFILE, 52)],
                notes.append,
                events.append,
                be,
                FAST,
            )
            async with m:
                assert await m.wait_streaming(10) == []
                while s.stats.samples_sent < 30:
                    await asyncio.sleep(0.02)
                t_stop = time.monotonic()
                for item in emu.stop_by_device(s.state):
                    await s.notify(*item)
                for _ in range(300):  # restarted in the background
                    st = m.status["thigh"]
                    if st.connects == 2 and st.state == LinkState.STREAMING:
                        break
                    await asyncio.sleep(0.02)
                n = s.stats.samples_sent
                while s.stats.samples_sent < n + 20:
                    await asyncio.sleep(0.02)
            return t_stop, m.status["thigh"], s.stats.connections

    t_stop, st, connections = run(main())
    gaps = without_link_parameters(events)
    assert [e.kind for e in gaps] == ["connection_lost", "connection_restored"]
    lost = gaps[0]
    assert "stopped streaming (acc, gyr)" in lost.data["reason"]
    assert lost.t - t_stop < 0.5 * FAST.stall_timeout_s  # not the stall detector
    assert st.connects == 2 and connections == 2
    stopped = pmd.encode_stopped_notification([pmd.ACC, pmd.GYRO])
    assert [(n.channel, n.data) for n in notes if n.data == stopped] == [(1, stopped)]  # recorded
