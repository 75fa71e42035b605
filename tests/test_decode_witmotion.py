import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import get_decoder, profiles
from imuhip.decode._common import DEG, G, merge_blocks
from imuhip.decode.profile import Advertisement, get_profile
from imuhip.decode.witmotion import (
    CMD_SAVE,
    CMD_UNLOCK,
    FRAME_LEN,
    NOTIFY_UUID,
    WRITE_UUID,
    WitMotionDecoder,
    encode_frames,
    encode_notifications,
    encode_register_reply,
    parse_command,
    rate_command,
    read_command,
)

FUZZ = settings(max_examples=150, derandomize=True, deadline=None)
ACC_Q = 16 / 32768 * G
GYR_Q = 2000 / 32768 * DEG


def frame(*words: int) -> bytes:
    words = (*words, *[0] * (9 - len(words)))
    return b"\x55\x61" + struct.pack("<9h", *words)


def motion(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    acc = rng.normal(0, 20, (n, 3)) + [0, 0, G]
    gyr = rng.normal(0, 3, (n, 3))
    return t, acc, gyr


def by_kind(blocks):
    out = {}
    for b in merge_blocks(blocks):
        out[b.kind] = b
    return out


def test_registered():
    assert "witmotion-ble5" in profiles()
    assert isinstance(get_decoder("witmotion-ble5"), WitMotionDecoder)


def test_hand_built_frame_scale_and_sign():
    data = frame(2048, -2048, 32767, 16384, -32768, -164, 100, 200, 300)
    blocks = by_kind(get_decoder("witmotion-ble5").feed(data, 12.5))
    np.testing.assert_allclose(blocks["acc"].values, [[G, -G, 32767 / 2048 * G]])
    np.testing.assert_allclose(
        blocks["gyr"].values, [[1000 * DEG, -2000 * DEG, -164 / 16.384 * DEG]]
    )
    assert blocks["acc"].t.tolist() == [12.5] and blocks["gyr"].t.tolist() == [12.5]
    assert not blocks["acc"].sensor_clock


def test_known_bytes():
    # acc z = 0x0800 = 1 g, gyro x = 0xFF9C = -100 counts
    data = bytes.fromhex("5561 0000 0000 0008 9cff 0000 0000 0000 0000 0000")
    b = by_kind(get_decoder("witmotion-ble5").feed(data, 0.0))
    np.testing.assert_allclose(b["acc"].values, [[0, 0, G]])
    np.testing.assert_allclose(b["gyr"].values, [[-100 * 2000 / 32768 * DEG, 0, 0]])


def test_round_trip_within_quantisation():
    t, acc, gyr = motion(500)
    payloads = encode_notifications(t, acc, gyr, 100.0)
    assert all(len(p) == 20 for p in payloads)
    dec = get_decoder("witmotion-ble5", get_profile("witmotion-ble5").decoder_config(100, {}))
    b = by_kind(dec.decode_many(t, payloads))
    assert np.abs(b["acc"].values - acc).max() <= ACC_Q / 2 + 1e-12
    assert np.abs(b["gyr"].values - gyr).max() <= GYR_Q / 2 + 1e-12
    np.testing.assert_array_equal(b["acc"].t, t)
    assert dec.stats.dropped == 0 and dec.stats.samples == 1000


def test_encoder_saturates():
    f = encode_frames(np.array([[1000.0, -1000.0, 0]]), np.array([[100.0, -100.0, 0]]))
    w = np.frombuffer(f.tobytes(), "<i2")
    assert w[1:6].tolist() == [32767, -32768, 0, 32767, -32768]


def test_several_frames_per_notification():
    t, acc, gyr = motion(10)
    payloads = encode_notifications(t, acc, gyr, frames_per_notification=3)
    assert [len(p) for p in payloads] == [60, 60, 60, 20]
    dec = get_decoder("witmotion-ble5")
    blocks = []
    for k, p in enumerate(payloads):
        blocks += dec.feed(p, float(k))
    b = by_kind(blocks)
    assert b["acc"].t.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert np.abs(b["acc"].values - acc).max() <= ACC_Q / 2 + 1e-12
    assert dec.stats.dropped == 0


@given(st.lists(st.integers(1, 45), min_size=1, max_size=30))
@FUZZ
def test_frames_split_anywhere(cuts):
    t, acc, gyr = motion(12, seed=3)
    stream = b"".join(encode_notifications(t, acc, gyr))
    pieces, i = [], 0
    for c in cuts:
        if i >= len(stream):
            break
        pieces.append(stream[i : i + c])
        i += c
    if i < len(stream):
        pieces.append(stream[i:])
    dec = get_decoder("witmotion-ble5")
    blocks = [b for k, p in enumerate(pieces) for b in dec.feed(p, float(k))]
    b = by_kind(blocks)
    assert len(b["acc"].t) == 12
    assert np.abs(b["acc"].values - acc).max() <= ACC_Q / 2 + 1e-12
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0


def test_truncated_notification_is_a_drop_and_a_lost_sample():
    good = frame(2048)
    dec = get_decoder("witmotion-ble5")
    out = dec.feed(good[:12], 0.0)
    assert out == []
    out = dec.feed(good, 1.0) + dec.feed(good, 2.0)
    b = by_kind(out)
    assert b["acc"].t.tolist() == [1.0, 2.0]
    np.testing.assert_allclose(b["acc"].values[:, 0], G)
    assert dec.stats.reasons["truncated_frame"] == 1
    assert dec.stats.lost_samples == 1


def test_truncated_frame_inside_a_notification():
    good = frame(2048)
    dec = get_decoder("witmotion-ble5")
    b = by_kind(dec.feed(good[:9] + good + good, 0.0))
    assert len(b["acc"].t) == 2
    np.testing.assert_allclose(b["acc"].values[:, 0], G)
    assert dec.stats.reasons["truncated_frame"] == 1 and dec.stats.lost_samples == 1


def test_wrong_header_and_junk_are_drops():
    dec = get_decoder("witmotion-ble5")
    assert dec.feed(b"\x54\x61" + bytes(18), 0.0) == []
    assert dec.feed(b"\x55\x62" + bytes(18), 0.0) == []
    assert dec.stats.reasons["junk_bytes"] == 2
    assert dec.stats.samples == 0
    # junk before a good frame: the frame is still decoded
    b = by_kind(dec.feed(b"\x01\x02\x03" + frame(2048), 1.0))
    assert len(b["acc"].t) == 1 and dec.stats.reasons["junk_bytes"] == 3


def test_unknown_channel_and_empty_are_drops():
    dec = get_decoder("witmotion-ble5")
    assert dec.feed(frame(1), 0.0, channel=3) == []
    assert dec.feed(b"", 0.0) == []
    assert dec.stats.reasons == {"unknown_channel": 1, "empty": 1}


def test_register_replies_are_counted_not_dropped():
    dec = get_decoder("witmotion-ble5")
    reply = encode_register_reply(0x03, [0x09])
    b = by_kind(dec.feed(reply + frame(2048), 0.0))
    assert len(b["acc"].t) == 1
    assert dec.registers[0x03][0] == 0x09 and dec.register_replies == 1
    # 22-byte reply variant reported for some firmware
    assert dec.feed(encode_register_reply(0x64, [395]) + b"\x00\x00", 1.0) == []
    assert dec.feed(frame(2048), 2.0) != []
    assert dec.registers[0x64][0] == 395 and dec.register_replies == 2
    assert dec.stats.dropped == 0


def test_decode_many_matches_feed_on_mixed_traffic():
    t, acc, gyr = motion(40, seed=7)
    good = encode_notifications(t, acc, gyr)
    payloads = [*good[:10], good[10][:7], good[10][7:], b"\x00\x01", *good[11:20]]
    payloads += [good[20][:12], good[21], encode_register_reply(3, [9]), good[22] + good[23]]
    payloads += [good[24][:5] + good[25], *good[26:]]
    th = np.arange(len(payloads), dtype=float)
    ch = np.zeros(len(payloads), int)
    ch[3] = 1
    a, b = get_decoder("witmotion-ble5"), get_decoder("witmotion-ble5")
    seq = [blk for i, p in enumerate(payloads) for blk in a.feed(p, th[i], int(ch[i]))]
    vec = b.decode_many(th, payloads, ch)
    assert_same(seq, vec)
    assert a.stats == b.stats and a.registers == b.registers


def test_decode_joined_bad_header_inside_a_run_spoils_only_its_notification():
    # a long run of whole-frame notifications, one of which (two frames) has a bad second
    # header: that one goes through feed (junk), its neighbours stay vectorised
    t, acc, gyr = motion(60, seed=3)
    good = encode_notifications(t, acc, gyr)
    spoilt = bytearray(good[30] + good[31])
    spoilt[FRAME_LEN + 1] = 0x00
    payloads = [*good[:30], bytes(spoilt), good[32] + good[33], *good[34:]]
    lens = np.array([len(p) for p in payloads])
    off = np.concatenate([[0], np.cumsum(lens)])
    th = np.arange(len(payloads), dtype=float)
    ch = np.zeros(len(payloads), np.uint8)
    a, b = get_decoder("witmotion-ble5"), get_decoder("witmotion-ble5")
    seq = [blk for i, p in enumerate(payloads) for blk in a.feed(p, th[i], 0)]
    vec = b.decode_joined(th, b"".join(payloads), off, ch)
    assert_same(seq, vec)
    assert a.stats == b.stats and b.stats.dropped > 0
    assert len(by_kind(vec)["acc"].t) < len(t)  # the spoilt frame is not decoded


def assert_same(seq, vec):
    s, v = by_kind(seq), by_kind(vec)
    assert s.keys() == v.keys()
    for k in s:
        np.testing.assert_array_equal(s[k].t, v[k].t)
        np.testing.assert_array_equal(s[k].values, v[k].values)
        assert s[k].sensor_clock == v[k].sensor_clock


_piece = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda w: frame(*w), st.lists(st.integers(-32768, 32767), max_size=9)),
    st.builds(
        lambda w, k: frame(*w)[:k],
        st.lists(st.integers(-32768, 32767), max_size=9),
        st.integers(0, 19),
    ),
    st.builds(lambda r: encode_register_reply(r, [1, 2]), st.integers(0, 255)),
)


@given(
    st.lists(st.tuples(st.lists(_piece, min_size=1, max_size=3), st.integers(-3, 300)), max_size=25)
)
@FUZZ
def test_fuzz_feed_never_raises_and_decode_many_equals_feed(items):
    payloads = [b"".join(parts) for parts, _ in items]
    channels = np.array([c if c % 4 else 0 for _, c in items], dtype=int)
    th = np.arange(len(payloads), dtype=float) * 0.01
    a, b = get_decoder("witmotion-ble5"), get_decoder("witmotion-ble5")
    seq = [blk for i, p in enumerate(payloads) for blk in a.feed(p, th[i], int(channels[i]))]
    vec = b.decode_many(th, payloads, channels)
    assert_same(seq, vec)
    assert a.stats == b.stats
    for blk in seq:
        assert blk.values.shape == (len(blk.t), 3) and np.isfinite(blk.values).all()


@given(st.binary(max_size=200), st.integers(-(2**31), 2**31))
@FUZZ
def test_fuzz_arbitrary_bytes_and_channels(data, channel):
    dec = get_decoder("witmotion-ble5")
    dec.feed(data, 0.0, channel)
    dec.feed(data, 0.1, 0)
    assert dec.stats.notifications == 2


def test_reset_forgets_partial_frame():
    dec = get_decoder("witmotion-ble5")
    dec.feed(frame(2048)[:10], 0.0)
    dec.reset()
    assert dec.feed(frame(2048)[10:], 1.0) == []
    assert dec.stats.samples == 0


def test_one_hour_at_100_hz_decodes_in_one_batch():
    """An hour of notifications through the vectorised path (its speed is measured in
    ``bench/read_speed.py``, not here)."""
    n = 360_000
    t, acc, gyr = motion(n)
    payloads = encode_notifications(t, acc, gyr)
    dec = get_decoder("witmotion-ble5")
    b = by_kind(dec.decode_many(t, payloads))
    assert len(b["acc"].t) == n and len(b["gyr"].t) == n
    np.testing.assert_array_equal(b["gyr"].t, t)
    assert dec.stats.dropped == 0


def test_profile_start_stop_and_commands():
    prof = get_profile("witmotion-ble5")
    assert prof.notify_uuids == WitMotionDecoder.notify_uuids == (NOTIFY_UUID,)
    assert prof.rates_hz == (1.0, 5.0, 10.0, 50.0, 100.0, 200.0)
    steps = prof.start(100.0, {})
    assert [s.data for s in steps] == [CMD_UNLOCK, bytes.fromhex("ffaa030900"), CMD_SAVE]
    assert all(s.char_uuid == WRITE_UUID for s in steps)
    assert bytes.fromhex("ffaa6988b5") == CMD_UNLOCK
    steps = prof.start(190, {"bandwidth_hz": 42, "save": False})
    assert [s.data.hex() for s in steps] == ["ffaa6988b5", "ffaa030b00", "ffaa1f0400"]
    assert prof.stop() == []
    cmd = parse_command(rate_command(50))
    assert cmd.kind == "rate" and cmd.rate_hz == 50.0
    assert parse_command(CMD_UNLOCK).kind == "unlock"
    assert parse_command(CMD_SAVE).kind == "save"
    assert parse_command(read_command(0x64)).kind == "read"
    assert parse_command(read_command(0x64)).value == 0x64
    assert parse_command(b"\xff\xab\x03\x09\x00") is None
    assert parse_command(b"") is None
    cfg = prof.decoder_config(100.0, {})
    assert cfg["rate_hz"] == 100.0
    assert get_decoder(prof.name, cfg).config == cfg


def test_recognise():
    prof = get_profile("witmotion-ble5")
    assert prof.recognise(Advertisement("WT901BLE68"))
    assert prof.recognise(Advertisement("WT9011DCL"))
    assert not prof.recognise(Advertisement(None))
    assert not prof.recognise(Advertisement("Polar Sense 1234"))
    assert not prof.recognise(Advertisement("NEWTON"))
