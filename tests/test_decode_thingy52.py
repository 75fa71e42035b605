import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import get_decoder
from imuhip.decode._common import DEG, G, merge_blocks
from imuhip.decode.profile import Advertisement, get_profile
from imuhip.decode.thingy52 import CONFIG_UUID, Thingy52Decoder, encode_notifications, parse_command

FUZZ = settings(max_examples=120, derandomize=True, deadline=None)


def by_kind(blocks):
    return {b.kind: b for b in merge_blocks(blocks)}


def test_hand_built_sample():
    data = struct.pack("<9h", 1024, -1024, 0, 32, -64, 16, -16, 160, 0)
    b = by_kind(get_decoder("thingy52").feed(data, 3.5))
    np.testing.assert_allclose(b["acc"].values, [[G, -G, 0]])
    np.testing.assert_allclose(b["gyr"].values, [[1 * DEG, -2 * DEG, 0.5 * DEG]])
    np.testing.assert_allclose(b["mag"].values, [[-1.0, 10.0, 0.0]])
    assert b["acc"].t.tolist() == [3.5] and not b["acc"].sensor_clock


def test_library_scale_is_a_config_choice():
    data = struct.pack("<9h", 64, 0, 0, 2048, 0, 0, 4096, 0, 0)
    cfg = {"acc_frac_bits": 6, "gyr_frac_bits": 11, "mag_frac_bits": 12}
    b = by_kind(get_decoder("thingy52", cfg).feed(data, 0.0))
    np.testing.assert_allclose(b["acc"].values[0, 0], G)
    np.testing.assert_allclose(b["gyr"].values[0, 0], DEG)
    np.testing.assert_allclose(b["mag"].values[0, 0], 1.0)


def test_round_trip_and_vectorised():
    rng = np.random.default_rng(0)
    n = 300
    t = np.arange(n) / 50
    acc = rng.normal(0, 3, (n, 3)) + [0, 0, G]
    gyr = rng.normal(0, 2, (n, 3))
    mag = rng.normal(0, 30, (n, 3))
    notes = encode_notifications(t, acc, gyr, 50, mag=mag)
    dec = get_decoder("thingy52", get_profile("thingy52").decoder_config(50, {}))
    b = by_kind(dec.decode_many(np.array([x.t for x in notes]), [x.data for x in notes]))
    assert np.abs(b["acc"].values - acc).max() <= G / 2048 + 1e-12
    assert np.abs(b["gyr"].values - gyr).max() <= DEG / 64 + 1e-12
    assert np.abs(b["mag"].values - mag).max() <= 1 / 32 + 1e-12
    np.testing.assert_array_equal(b["acc"].t, t)


def test_malformed_are_drops():
    dec = get_decoder("thingy52")
    assert dec.feed(bytes(17), 0.0) == [] and dec.feed(bytes(19), 0.0) == []
    assert dec.feed(bytes(18), 0.0, 2) == []
    assert dict(dec.stats.reasons) == {"bad_length": 2, "unknown_channel": 1}


@given(st.lists(st.tuples(st.binary(min_size=16, max_size=20), st.integers(-1, 2)), max_size=30))
@FUZZ
def test_fuzz_decode_many_equals_feed(items):
    payloads = [p for p, _ in items]
    ch = np.array([c for _, c in items], int)
    th = np.arange(len(items), dtype=float)
    a, b = get_decoder("thingy52"), get_decoder("thingy52")
    seq = by_kind(x for i, p in enumerate(payloads) for x in a.feed(p, th[i], int(ch[i])))
    vec = by_kind(b.decode_many(th, payloads, ch))
    assert seq.keys() == vec.keys()
    for k in seq:
        np.testing.assert_array_equal(seq[k].t, vec[k].t)
        np.testing.assert_array_equal(seq[k].values, vec[k].values)
    assert a.stats == b.stats


@given(st.binary(max_size=40), st.integers(-(2**31), 2**31))
@FUZZ
def test_fuzz_never_raises(data, channel):
    dec = Thingy52Decoder({"acc_frac_bits": "x"})
    dec.feed(data, 0.0, channel)
    assert dec.stats.notifications == 1


def test_profile_and_commands():
    prof = get_profile("thingy52")
    steps = prof.start(100, {})
    assert steps[0].char_uuid == CONFIG_UUID
    assert steps[0].data.hex() == "e803f401f401640001"
    assert get_profile("thingy52").start(10, {})[0].data.hex() == "e803f401f4010a0001"
    assert parse_command(steps[0].data)["rate_hz"] == 100
    assert parse_command(b"\x00") is None
    assert prof.stop() == []
    assert prof.recognise(Advertisement("Thingy"))
    assert not prof.recognise(Advertisement("Movesense 123"))
