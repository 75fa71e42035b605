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


# --------------------------------------------------------------------------- plausibility
# The protocol has no checksum: before these checks any 28–40-byte notification became a sample.

_LENGTHS = {21: (0, 28, 40), 20: (0, 34, 40), 26: (1, 44, 63)}
_GARBAGE = settings(max_examples=25, derandomize=True, deadline=None)


def _accepted_values(blocks):
    b = by_kind(blocks)
    return (len(b["acc"].t) if "acc" in b else 0), b


@given(st.sampled_from(sorted(_LENGTHS)), st.integers(0, 2**32 - 1))
@_GARBAGE
def test_random_garbage_of_the_right_lengths_is_almost_never_a_sample(mode, seed):
    channel, lo, hi = _LENGTHS[mode]
    rng = np.random.default_rng(seed)
    dec = get_decoder("movella-dot", {"mode": mode})
    n = 400
    blocks = [
        x
        for i in range(n)
        for x in dec.feed(rng.bytes(int(rng.integers(lo, hi + 1))), 5.0 + i / 60, channel)
    ]
    accepted, b = _accepted_values(blocks)
    assert accepted <= 2  # before: every finite one (~97 %) was a sample
    assert dec.stats.dropped == n - accepted
    assert dec.stats.notifications == n
    if accepted:
        assert np.all(np.abs(b["acc"].values) <= 16 * 9.80665 * 1.25)
        assert np.all(np.abs(b["gyr"].values) <= np.radians(2500.0))


def test_exact_length_garbage_accepts_at_most_a_few_in_ten_thousand():
    rng = np.random.default_rng(7)
    dec = get_decoder("movella-dot")
    n = 6000
    accepted, _ = _accepted_values(x for i in range(n) for x in dec.feed(rng.bytes(28), i / 60, 0))
    assert accepted / n < 1e-3
    assert {"out_of_range", "timestamp_step", "non_finite"} <= set(dec.stats.reasons)


@given(st.integers(0, 2**32 - 1))
@_GARBAGE
def test_garbage_between_real_notifications_costs_no_real_sample(seed):
    rng = np.random.default_rng(seed)
    t, acc, gyr = motion(120, seed=seed % 1000)
    notes = encode_notifications(t, acc, gyr)
    dec = get_decoder("movella-dot", {"rate_hz": 60})
    blocks = []
    for note in notes:
        blocks += dec.feed(note.data, note.t, 0)
        if rng.random() < 0.3:
            blocks += dec.feed(rng.bytes(int(rng.integers(28, 41))), note.t + 0.001, 0)
    b = by_kind(blocks)
    np.testing.assert_allclose(b["acc"].t, t, atol=1e-6)
    np.testing.assert_allclose(b["acc"].values, acc, atol=1e-4)
    assert dec.stats.lost_samples == 0


def test_each_plausibility_check_drops_with_its_reason():
    t, acc, gyr = motion(4)
    good = [n.data for n in encode_notifications(t, acc, gyr)]
    dec = get_decoder("movella-dot", {"rate_hz": 60})
    assert dec.feed(good[0], t[0])  # anchors the time line
    padded = bytearray(good[1])
    padded[35] = 1
    big = bytearray(good[1])
    big[4:8] = struct.pack("<f", 400.0)  # 41 g
    spin = bytearray(good[1])
    spin[16:20] = struct.pack("<f", 3000.0)  # °/s
    same_ts = good[0]
    jump = struct.pack("<I", int(t[1] * 1e6) + 10_000_000) + good[1][4:]  # +10 s in 17 ms
    for data in (padded, big, spin, same_ts, jump):
        assert dec.feed(bytes(data), t[1]) == []
    assert dict(dec.stats.reasons) == {
        "nonzero_padding": 1,
        "out_of_range": 2,
        "timestamp_step": 2,
    }
    assert by_kind(dec.feed(good[1], t[1]))["acc"].t[0] == pytest.approx(t[1], abs=1e-6)


def test_a_long_real_gap_is_accepted_when_the_host_clock_saw_it():
    t, acc, gyr = motion(10)
    t[5:] += 30.0  # the sensor was away for 30 s
    dec = get_decoder("movella-dot", {"rate_hz": 60})
    b = run(dec, encode_notifications(t, acc, gyr))
    np.testing.assert_allclose(b["acc"].t, t, atol=1e-6)
    assert dec.stats.dropped == 0
    assert dec.stats.lost_samples == round(30.0 * 60)


def test_custom_mode_5_quaternion_must_be_unit():
    t, acc, gyr = motion(2)
    q = np.array([[1.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.4]])  # norm 0.93
    notes = encode_notifications(t, acc, gyr, quat=q, mode=26)
    dec = get_decoder("movella-dot", {"mode": 26})
    b = run(dec, notes)
    assert len(b["acc"].t) == 1
    assert dict(dec.stats.reasons) == {"quaternion_norm": 1}
