import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import get_decoder
from imuhip.decode._common import G, merge_blocks
from imuhip.decode.movella_dot import (
    CONTROL_UUID,
    DEVICE_CONTROL_UUID,
    MEDIUM_UUID,
    MovellaDotDecoder,
    encode_notifications,
    parse_command,
    rate_command,
)
from imuhip.decode.profile import Advertisement, get_profile

FUZZ = settings(max_examples=120, derandomize=True, deadline=None)


def by_kind(blocks):
    return {b.kind: b for b in merge_blocks(blocks)}


def motion(n, rate=60.0, t0=5.0, seed=0):
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate
    return t, rng.normal(0, 5, (n, 3)) + [0, 0, G], rng.normal(0, 2, (n, 3))


def run(dec, notes):
    return by_kind(b for n in notes for b in dec.feed(n.data, n.t, n.channel))


def test_hand_built_mode_21():
    data = struct.pack("<I6f", 123456, 0.5, -9.80665, 1.0, 90.0, -180.0, 0.0) + bytes(12)
    b = by_kind(get_decoder("movella-dot").feed(data, 0.0))
    np.testing.assert_allclose(b["acc"].values, [[0.5, -9.80665, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(b["gyr"].values, [[np.pi / 2, -np.pi, 0]], rtol=1e-6)
    assert b["acc"].t.tolist() == [0.123456] and b["acc"].sensor_clock


def test_hand_built_mode_20_mag():
    data = struct.pack("<I6f3h", 1, 0, 0, 0, 0, 0, 0, 4096, -2048, 0)
    b = by_kind(get_decoder("movella-dot", {"mode": 20}).feed(data, 0.0))
    np.testing.assert_allclose(b["mag"].values, [[1.0, -0.5, 0.0]])


@pytest.mark.parametrize("mode", [20, 21, 26])
def test_round_trip(mode):
    t, acc, gyr = motion(200)
    mag = np.tile([0.4, 0.1, -0.8], (200, 1)) if mode == 20 else None
    cfg = get_profile("movella-dot").decoder_config(60, {"mode": mode})
    dec = get_decoder("movella-dot", cfg)
    notes = encode_notifications(t, acc, gyr, 60, mag=mag, mode=mode)
    b = by_kind(
        dec.decode_many(
            np.array([n.t for n in notes]),
            [n.data for n in notes],
            np.array([n.channel for n in notes]),
        )
    )
    np.testing.assert_allclose(b["acc"].values, acc, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(b["gyr"].values, gyr, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b["gyr"].t, t, atol=1e-6)
    if mode == 20:
        assert np.abs(b["mag"].values - mag).max() <= 2**-13
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0


def test_unpadded_notifications_decode_too():
    t, acc, gyr = motion(3)
    notes = encode_notifications(t, acc, gyr, pad=False)
    assert [len(n.data) for n in notes] == [28] * 3
    assert len(run(get_decoder("movella-dot"), notes)["acc"].t) == 3


def test_timestamp_rollover_and_lost_samples():
    t, acc, gyr = motion(100, t0=2**32 / 1e6 - 0.5)  # crosses the 71.6 min wrap
    notes = encode_notifications(t, acc, gyr)
    del notes[40:43]
    dec = get_decoder("movella-dot", {"rate_hz": 60})
    b = run(dec, notes)
    np.testing.assert_allclose(b["acc"].t, np.delete(t, [40, 41, 42]), atol=1e-6)
    assert np.all(np.diff(b["acc"].t) > 0)
    assert dec.stats.lost_samples == 3


def test_malformed_are_drops():
    dec = get_decoder("movella-dot")
    good = encode_notifications(*motion(1))[0].data
    assert dec.feed(good[:27], 0.0) == []
    assert dec.feed(good + b"\x00", 0.0) == []
    assert dec.feed(good, 0.0, 1) == []
    assert dec.feed(good, 0.0, 7) == []
    nan = bytearray(good)
    nan[4:8] = struct.pack("<f", float("nan"))
    assert dec.feed(bytes(nan), 0.0) == []
    assert dict(dec.stats.reasons) == {
        "short_payload": 1,
        "long_payload": 1,
        "unexpected_channel": 1,
        "unknown_channel": 1,
        "non_finite": 1,
    }


_GOOD = [n.data for n in encode_notifications(*motion(5, seed=2))]
_payload = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(_GOOD),
    st.builds(lambda g, k: g[:k], st.sampled_from(_GOOD), st.integers(0, 40)),
    st.builds(lambda ts: struct.pack("<I", ts) + _GOOD[0][4:], st.integers(0, 2**32 - 1)),
)


@given(st.lists(st.tuples(_payload, st.integers(-1, 3)), max_size=25))
@FUZZ
def test_fuzz_decode_many_equals_feed(items):
    payloads = [p for p, _ in items]
    ch = np.array([c for _, c in items], int)
    th = np.zeros(len(items))
    a, b = get_decoder("movella-dot"), get_decoder("movella-dot")
    seq = by_kind(x for i, p in enumerate(payloads) for x in a.feed(p, 0.0, int(ch[i])))
    vec = by_kind(b.decode_many(th, payloads, ch))
    assert seq.keys() == vec.keys()
    for k in seq:
        np.testing.assert_array_equal(seq[k].t, vec[k].t)
        np.testing.assert_array_equal(seq[k].values, vec[k].values)
    assert a.stats == b.stats


@given(st.binary(max_size=80), st.integers(-(2**31), 2**31), st.sampled_from([20, 21, 26, 99]))
@FUZZ
def test_fuzz_never_raises(data, channel, mode):
    dec = MovellaDotDecoder({"mode": mode})
    dec.feed(data, 0.0, channel)
    dec.feed(data, 0.0, 0)
    dec.feed(data, 0.0, 1)
    assert dec.stats.notifications == 3


def test_profile_and_commands():
    prof = get_profile("movella-dot")
    assert prof.notify_uuids == MovellaDotDecoder.notify_uuids
    assert prof.notify_uuids[0] == MEDIUM_UUID
    steps = prof.start(30, {})
    assert steps[0].char_uuid == DEVICE_CONTROL_UUID
    assert steps[0].data == bytes([0x10]) + bytes(23) + b"\x1e\x00" + bytes(6)
    assert steps[1].char_uuid == CONTROL_UUID and steps[1].data == b"\x01\x01\x15"
    assert prof.start(60, {"mag": True})[1].data.hex() == "010114"
    assert b"\x01\x00\x15" in [s.data for s in prof.stop()]
    assert parse_command(b"\x01\x01\x14").start and parse_command(b"\x01\x01\x14").mode == 20
    assert parse_command(rate_command(12)).rate_hz == 12
    assert parse_command(b"\x02") is None
    assert prof.decoder_config(55, {}) == {"mode": 21, "rate_hz": 60.0}


def test_recognise():
    prof = get_profile("movella-dot")
    assert prof.recognise(Advertisement("Xsens DOT"))
    assert prof.recognise(Advertisement("Movella DOT"))
    assert prof.recognise(Advertisement(None, manufacturer_data={0x0886: b"\x01"}))
    assert not prof.recognise(Advertisement("Thingy"))
