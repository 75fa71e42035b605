"""The bleak backend over bumble, against virtual sensors on the in-process radio."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from imuhip.sources.ble.bumble_backend import ENV_VAR, ble_backend
from imuhip.sources.ble.scan import scan
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion
from tests.ble_testkit import (
    CMD,
    DATA,
    INFO,
    RESP,
    SERVICE,
    FakeImuDecoder,
    FakeImuEmulation,
    parse_frame,
    run,
)

VIRTUAL = "bumble:virtual"


def test_backend_spec(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert ble_backend(None) is None
    assert ble_backend("os") is None
    b = ble_backend(VIRTUAL)
    assert b is not None and b.transport == "virtual"
    assert ble_backend(VIRTUAL) is b  # the same classes every time
    usb = ble_backend("bumble:usb:0")
    assert usb.transport == "usb:0" and usb.client is not b.client
    monkeypatch.setenv(ENV_VAR, "bumble:tcp-client:127.0.0.1:1234")
    assert ble_backend(None).transport == "tcp-client:127.0.0.1:1234"
    for bad in ("bumble:", "bluez", "tcp-client:1:2"):
        with pytest.raises(ValueError, match="bumble:<transport>"):
            ble_backend(bad)


def test_scanner_sees_virtual_sensors_with_profiles():
    async def main():
        be = ble_backend(VIRTUAL)
        async with (
            VirtualSensor(FakeImuEmulation(), name="TESTIMU-A") as a,
            VirtualSensor(FakeImuEmulation(), name="OTHER-DEVICE-WITH-A-LONG-NAME") as b,
        ):
            seen = await BleakScanner.discover(timeout=0.3, return_adv=True, backend=be.scanner)
            found = await scan(0.3, be)
            only = await BleakScanner.discover(
                timeout=0.2,
                service_uuids=["0000180d-0000-1000-8000-00805f9b34fb"],
                backend=be.scanner,
            )
        return a.address, b.address, seen, found, only

    a, b, seen, found, only = run(main())
    dev, adv = seen[a]
    assert adv.local_name == "TESTIMU-A" and dev.name == "TESTIMU-A"
    assert adv.service_uuids == [SERVICE]
    assert -127 < adv.rssi < 0
    # a name too long for the advertising PDU arrives in the scan response, merged
    assert seen[b][1].local_name == "OTHER-DEVICE-WITH-A-LONG-NAME"
    assert seen[b][1].service_uuids == [SERVICE]
    by_addr = {f.address: f for f in found}
    assert by_addr[a].profile == "test-imu" and by_addr[a].name == "TESTIMU-A"
    assert by_addr[b].profile is None
    assert found[0].address == a  # recognised sensors first
    assert only == []  # service filter applies


def test_client_connect_write_read_notify_and_decode():
    async def main():
        be = ble_backend(VIRTUAL)
        sensor = VirtualSensor(FakeImuEmulation(), synthetic_motion(0.5, 40, axis=0))
        async with sensor:
            dev = await BleakScanner.find_device_by_address(
                sensor.address, timeout=2, backend=be.scanner
            )
            assert dev is not None
            rx: list[tuple[float, bytes]] = []
            replies: list[bytes] = []
            async with BleakClient(dev, backend=be.client) as c:
                assert c.is_connected and c.mtu_size == 247
                svc = c.services.get_service(SERVICE)
                assert {ch.uuid for ch in svc.characteristics} == {DATA, CMD, RESP, INFO}
                data_char = c.services.get_characteristic(DATA)
                assert data_char.properties == ["notify"]
                assert [d.uuid[4:8] for d in data_char.descriptors] == ["2902"]
                assert c.services.get_characteristic(data_char.handle) is data_char
                assert await c.read_gatt_char(INFO) == b"fw 1.2.3"
                await c.start_notify(RESP, lambda _c, d: replies.append(bytes(d)))
                await c.start_notify(DATA, lambda _c, d: rx.append((time.monotonic(), bytes(d))))
                await c.write_gatt_char(CMD, b"\x01\x64\x00", response=True)  # 100 Hz
                await c.write_gatt_char(CMD, b"\x02", response=False)  # start
                await asyncio.sleep(0.6)
                await c.stop_notify(DATA)
                n_stopped = len(rx)
                await asyncio.sleep(0.1)
                assert len(rx) == n_stopped
                name = c.name
            return sensor, rx, replies, name

    sensor, rx, replies, name = run(main())
    assert name == "TESTIMU-0001"
    assert sensor.stats.writes[:2] == [(CMD, b"\x01\x64\x00"), (CMD, b"\x02")]
    assert replies == [bytes([0xF0, 0x01, 0]), bytes([0xF0, 0x02, 0])]  # indications
    assert sensor.state.rate_hz == 100.0
    # ~0.6 s at 100 Hz, 2 samples per notification
    assert 40 <= len(rx) * 2 <= 70
    dec = FakeImuDecoder({"rate_hz": 100.0})
    blocks = dec.decode_many(np.array([t for t, _ in rx]), [d for _, d in rx])
    acc = np.concatenate([b.values for b in blocks if b.kind == "acc"])
    gyr = np.concatenate([b.values for b in blocks if b.kind == "gyr"])
    _, acc_s, gyr_s = sensor.sent_samples()
    n = len(acc)
    assert dec.stats.lost_samples == 0 and dec.stats.dropped == 0
    # every received sample is the sensor's sample, in order, within quantisation
    np.testing.assert_allclose(acc, acc_s[:n], atol=0.003)
    np.testing.assert_allclose(gyr, gyr_s[:n], atol=0.001)
    assert np.ptp(acc[:, 1]) > 2  # real motion, not zeros
    assert all(parse_frame(d)[0] == 2 * i for i, (_, d) in enumerate(rx))


def test_vanishing_peer_disconnects_client_and_bounds_operations():
    async def main():
        be = ble_backend(VIRTUAL)
        async with VirtualSensor(FakeImuEmulation(), supervision_timeout_s=0.2) as sensor:
            lost = asyncio.Event()
            c = BleakClient(
                sensor.address,
                disconnected_callback=lambda _c: lost.set(),
                timeout=3,
                backend=be.client,
            )
            await c.connect()  # by address string: the backend scans for it
            await sensor.vanish()
            t0 = time.monotonic()
            await asyncio.wait_for(lost.wait(), 2)
            noticed = time.monotonic() - t0
            assert not c.is_connected
            with pytest.raises(BleakError):
                await c.write_gatt_char(CMD, b"\x02", response=True)
            # cannot reconnect while it is away
            t0 = time.monotonic()
            with pytest.raises((TimeoutError, BleakError)):
                await c.connect(timeout=0.3)
            failed_after = time.monotonic() - t0
            await sensor.reappear()
            await c.connect()
            ok = c.is_connected
            await c.disconnect()
            return noticed, failed_after, ok, c.is_connected, sensor.stats.connections

    noticed, failed_after, ok, after, connections = run(main())
    assert 0.15 < noticed < 0.5  # the injected supervision timeout
    assert failed_after < 1.0
    assert ok and not after and connections == 2


def test_connection_asks_for_a_short_interval():
    # timestamp-less sensors are timed from arrival times: the shorter the interval the better
    from imuhip.sources.ble.bumble_backend import PREFERRED_INTERVAL_MS

    async def main():
        be = ble_backend(VIRTUAL)
        async with VirtualSensor(FakeImuEmulation(), synthetic_motion(0.5, 40, axis=0)) as sensor:
            dev = await BleakScanner.find_device_by_address(
                sensor.address, timeout=2, backend=be.scanner
            )
            async with BleakClient(dev, backend=be.client) as c:
                return c._backend._connection.parameters.connection_interval

    # bumble's virtual controller takes the shortest interval asked for (without the request,
    # bumble's default range gives 15 ms)
    assert run(main()) == PREFERRED_INTERVAL_MS[0] == 7.5
