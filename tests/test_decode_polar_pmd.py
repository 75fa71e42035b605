import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import get_decoder
from imuhip.decode._common import DEG, G, merge_blocks
from imuhip.decode.polar_pmd import (
    ACC,
    CP_UUID,
    DATA_UUID,
    GYRO,
    MAG,
    OP_START,
    PolarPmdDecoder,
    decode_delta,
    encode_cp_response,
    encode_delta,
    encode_frames,
    encode_notifications,
    encode_setting_values,
    encode_settings,
    encode_start_response,
    encode_stopped_notification,
    parse_command,
    parse_settings,
)
from imuhip.decode.profile import Advertisement, get_profile

FUZZ = settings(max_examples=120, derandomize=True, deadline=None)
F_ACC = 8 / 32768  # default factor for delta type 0, ±8 g, 16 bit
F_GYR = 2000 / 32768


def header(meas: int, ts_ns: int, ftype: int) -> bytes:
    return bytes([meas]) + ts_ns.to_bytes(8, "little") + bytes([ftype])


def by_kind(blocks):
    return {b.kind: b for b in merge_blocks(blocks)}


def decoder(**cfg):
    prof = get_profile("polar-pmd")
    return get_decoder("polar-pmd", {**prof.decoder_config(52, {}), **cfg})


def motion(n: int, rate: float = 52.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = 100.0 + np.arange(n) / rate
    acc = np.cumsum(rng.normal(0, 0.3, (n, 3)), axis=0) + [0, 0, G]
    gyr = np.cumsum(rng.normal(0, 0.05, (n, 3)), axis=0)
    return t, acc, gyr


# ---------------------------------------------------------------- delta coding by hand


def test_hand_built_delta_frame_width_3_with_negative_deltas():
    ref = struct.pack("<3h", 1000, -1000, 4096)
    # deltas (+1, -2, +3), (-4, 0, +1) at 3 bits, LSB first -> F1 88 00
    body = ref + bytes([3, 2, 0xF1, 0x88, 0x00])
    np.testing.assert_array_equal(
        decode_delta(body, 3, 2), [[1000, -1000, 4096], [1001, -1002, 4099], [997, -1002, 4100]]
    )
    dec = decoder()
    b = by_kind(dec.feed(header(ACC, 10**9, 0x80) + body, 0.0))
    expect = np.array([[1000, -1000, 4096], [1001, -1002, 4099], [997, -1002, 4100]]) * F_ACC * G
    np.testing.assert_allclose(b["acc"].values, expect)
    assert b["acc"].sensor_clock


def test_width_1_and_width_16_blocks():
    ref = struct.pack("<3h", 0, 0, 0)
    # width 1: deltas (-1, 0, -1) -> bits 1,0,1 -> 0x05
    # width 16: deltas (-32768, 32767, 1)
    body = ref + bytes([1, 1, 0x05]) + bytes([16, 1]) + struct.pack("<3h", -32768, 32767, 1)
    np.testing.assert_array_equal(
        decode_delta(body, 3, 2), [[0, 0, 0], [-1, 0, -1], [-32769, 32767, 0]]
    )


@pytest.mark.parametrize("scale", [1, 3, 100, 5000, 2**20])
@pytest.mark.parametrize("block_size", [None, 1, 7])
def test_delta_round_trip_many_widths(scale, block_size):
    rng = np.random.default_rng(scale)
    s = np.cumsum(rng.integers(-scale, scale + 1, (40, 3)), axis=0)
    body = encode_delta(s, 4, block_size)
    np.testing.assert_array_equal(decode_delta(body, 3, 4), s)


def test_encoder_uses_several_widths_per_frame():
    s = np.zeros((9, 3), np.int64)
    s[1:5] = [[1, -1, 0]]  # small deltas
    s[5:] = [[3000, -3000, 7]]
    body = encode_delta(s, 2, block_size=4)
    widths = [body[6], body[6 + 2 + (body[6] * 4 * 3 + 7) // 8]]
    assert widths == [2, 13]  # +-1 needs 2 bits, 2999 needs 13
    np.testing.assert_array_equal(decode_delta(body, 3, 2), s)


# ---------------------------------------------------------------- frame types


def test_raw_acc_frame_types_sign_and_scale():
    dec = decoder()
    b8 = dec.feed(header(ACC, 0, 0x00) + struct.pack("<3b", -5, 127, -128), 0.0)
    np.testing.assert_allclose(b8[0].values, [[-5, 127, -128]] * np.array(G / 1000))
    b16 = dec.feed(header(ACC, 0, 0x01) + struct.pack("<6h", 1000, -1000, 0, 1, -1, 32767), 0.0)
    np.testing.assert_allclose(
        b16[0].values, [[1000, -1000, 0], [1, -1, 32767]] * np.array(G / 1000)
    )
    i24 = [(-70000) & 0xFFFFFF, 70000, 1]
    body = b"".join(v.to_bytes(3, "little") for v in i24)
    b24 = dec.feed(header(ACC, 0, 0x02) + body, 0.0)
    np.testing.assert_allclose(b24[0].values, [[-70000, 70000, 1]] * np.array(G / 1000))
    assert dec.stats.dropped == 0


def test_acc_delta_type_1_is_millig():
    body = struct.pack("<3h", 1000, 0, -1000)
    b = by_kind(decoder().feed(header(ACC, 0, 0x81) + body, 0.0))
    np.testing.assert_allclose(b["acc"].values, [[G, 0, -G]])


def test_gyro_float_frames_round_trip():
    t, _, gyr = motion(100)
    frames = encode_frames("gyr", t, gyr, 52, frame_type=0x81)
    dec = decoder()
    b = by_kind(d for f in frames for d in dec.feed(f.data, f.t))
    np.testing.assert_allclose(b["gyr"].values, gyr, rtol=1e-6, atol=1e-7)
    assert dec.stats.dropped == 0


def test_gyro_delta_type_0_hand_built():
    body = struct.pack("<3h", 100, -100, 16384)
    b = by_kind(decoder().feed(header(GYRO, 0, 0x80) + body, 0.0))
    np.testing.assert_allclose(b["gyr"].values, [[100, -100, 16384]] * np.array(F_GYR * DEG))


def test_mag_frames_both_types():
    t = np.arange(20) / 50.0
    mag = np.stack([np.full(20, 20.0), np.linspace(-40, 40, 20), np.full(20, -35.0)], axis=1)
    for ftype, tol in ((0x80, 50 / 32768 * 100 / 2), (0x81, 0.1 / 2)):
        dec = decoder(mag={"rate_hz": 50.0, "resolution": 16, "range": 50})
        frames = encode_frames("mag", t, mag, 50, frame_type=ftype)
        b = by_kind(d for f in frames for d in dec.feed(f.data, f.t))
        assert np.abs(b["mag"].values - mag).max() <= tol + 1e-9
    # type 1 carries a 4th status channel that is not output
    body = struct.pack("<4h", 1000, -2000, 500, 3)
    b = decoder().feed(header(MAG, 0, 0x81) + body, 0.0)
    np.testing.assert_allclose(b[0].values, [[100.0, -200.0, 50.0]])


# ---------------------------------------------------------------- round trip, timestamps, loss


@pytest.mark.parametrize("compressed", [True, False])
def test_round_trip_acc_gyr(compressed):
    t, acc, gyr = motion(600)
    notes = encode_notifications(t, acc, gyr, 52.0, compressed=compressed)
    assert all(len(n.data) <= 229 for n in notes)
    dec = decoder()
    b = by_kind(dec.decode_many(np.array([n.t for n in notes]), [n.data for n in notes]))
    acc_q = (F_ACC * G if compressed else G / 1000) / 2
    assert np.abs(b["acc"].values - acc).max() <= acc_q + 1e-9
    assert np.abs(b["gyr"].values - gyr).max() <= F_GYR * DEG / 2 + 1e-9
    np.testing.assert_allclose(b["acc"].t, t, atol=1e-6)
    np.testing.assert_allclose(b["gyr"].t, t, atol=1e-6)
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0


def test_timestamps_first_frame_from_rate_then_split_evenly():
    dec = decoder()
    body = struct.pack("<3h", 0, 0, 0) + bytes([1, 3]) + bytes(2)  # 4 samples
    ts0 = 1_000_000_000
    b0 = dec.feed(header(ACC, ts0, 0x80) + body, 0.0)[0]
    period = 1e9 / 52
    np.testing.assert_allclose(b0.t * 1e9, ts0 - period * np.arange(3, -1, -1), atol=1)
    ts1 = ts0 + 80_000_000  # 4 samples over 80 ms -> 20 ms apart (rate 50, not 52)
    b1 = dec.feed(header(ACC, ts1, 0x80) + body, 0.0)[0]
    np.testing.assert_allclose(b1.t * 1e9, ts0 + 20e6 * np.arange(1, 5), atol=1)


def test_lost_frame_counted_and_later_times_stay_right():
    t, acc, gyr = motion(400)
    notes = [n for n in encode_notifications(t, acc, gyr, samples_per_frame=20)]
    acc_frames = [n for n in notes if n.data[0] == ACC]
    lost = acc_frames.pop(5)
    dec = decoder()
    b = by_kind(d for n in acc_frames for d in dec.feed(n.data, n.t))
    assert dec.stats.lost_samples == 20
    expect = np.delete(t, np.arange(100, 120))
    np.testing.assert_allclose(b["acc"].t, expect, atol=1e-6)
    assert lost.t == pytest.approx(t[119])


def test_factor_from_start_response_is_applied():
    body = struct.pack("<3h", 1000, 0, 0)
    dec = decoder()
    assert dec.feed(encode_start_response("acc", factor=0.001), 0.0, channel=1) == []
    b = by_kind(dec.feed(header(ACC, 0, 0x80) + body, 0.0))
    np.testing.assert_allclose(b["acc"].values, [[1.0 * G, 0, 0]], rtol=1e-6)
    assert dec.factors[ACC] == pytest.approx(0.001)
    # replay with the same notifications gives the same result
    again = decoder()
    out = again.decode_many(
        np.zeros(2),
        [encode_start_response("acc", 0.001), header(ACC, 0, 0x80) + body],
        np.array([1, 0]),
    )
    np.testing.assert_allclose(by_kind(out)["acc"].values, b["acc"].values)


def test_multi_part_cp_response_and_errors():
    dec = decoder()
    tlv = encode_settings({"factor": 0.5})
    first = bytes([0xF0, OP_START, GYRO, 0, 1]) + tlv[:3]
    second = bytes([0xF0, OP_START, GYRO, 0, 0]) + tlv[3:]
    dec.feed(first, 0.0, 1)
    dec.feed(second, 0.0, 1)
    assert dec.factors[GYRO] == 0.5
    dec.feed(encode_cp_response(OP_START, ACC, status=8), 0.0, 1)
    assert dec.cp_errors == [(OP_START, ACC, 8)]
    dec.feed(b"", 0.0, 1)
    dec.feed(b"\xf0\x02", 0.0, 1)
    assert dec.stats.reasons["bad_cp_response"] == 2


def test_device_stop_resets_timestamp_history():
    dec = decoder()
    body = struct.pack("<3h", 0, 0, 0)
    dec.feed(header(ACC, 10**9, 0x80) + body, 0.0)
    dec.feed(encode_stopped_notification([ACC]), 0.0, 1)
    assert dec.stopped_by_device == 1
    dec.feed(header(ACC, 5 * 10**9, 0x80) + body, 0.0)
    assert dec.stats.lost_samples == 0


# ---------------------------------------------------------------- malformed input


def test_malformed_frames_are_drops():
    dec = decoder()
    ok = header(ACC, 0, 0x80) + struct.pack("<3h", 1, 2, 3) + bytes([4, 2]) + bytes(3)
    assert dec.feed(ok, 0.0) != []
    cases = {
        "short_frame": ok[:9],
        "bad_delta_frame": ok[:-1],
        "unsupported_frame_type": header(GYRO, 0, 0x01) + bytes(6),
        "unsupported_measurement": header(1, 0, 0x80) + bytes(6),
        "bad_length": header(ACC, 0, 0x01) + bytes(7),
        "unknown_channel": ok,
    }
    for reason, data in cases.items():
        assert dec.feed(data, 0.0, 2 if reason == "unknown_channel" else 0) == []
        assert dec.stats.reasons[reason] == 1, reason
    assert dec.feed(header(ACC, 0, 0x80) + bytes(4), 0.0) == []  # reference cut short
    assert dec.feed(ok[:10] + ok[10:16] + bytes([33, 1]) + bytes(20), 0.0) == []  # width > 32
    assert dec.stats.reasons["bad_delta_frame"] == 3


def _mutations():
    t, acc, gyr = motion(30, seed=5)
    good = [n.data for n in encode_notifications(t, acc, gyr, samples_per_frame=10)]
    good.append(encode_start_response("gyr", 0.07))
    return good


_GOOD = _mutations()
_payload = st.one_of(
    st.binary(max_size=80),
    st.sampled_from(_GOOD),
    st.builds(lambda g, k: g[:k], st.sampled_from(_GOOD), st.integers(0, 80)),
    st.builds(
        lambda g, i, v: g[: i % len(g)] + bytes([v]) + g[i % len(g) + 1 :],
        st.sampled_from(_GOOD),
        st.integers(0, 500),
        st.integers(0, 255),
    ),
)


@given(st.lists(st.tuples(_payload, st.integers(-2, 4)), max_size=20))
@FUZZ
def test_fuzz_feed_never_raises_and_decode_many_equals_feed(items):
    payloads = [p for p, _ in items]
    channels = np.array([c if c in (0, 1) or c % 3 == 0 else 0 for _, c in items], int)
    th = np.arange(len(items), dtype=float)
    a, b = decoder(), decoder()
    seq = by_kind(blk for i, p in enumerate(payloads) for blk in a.feed(p, th[i], int(channels[i])))
    vec = by_kind(b.decode_many(th, payloads, channels))
    assert seq.keys() == vec.keys()
    for k in seq:
        np.testing.assert_array_equal(seq[k].t, vec[k].t)
        np.testing.assert_array_equal(seq[k].values, vec[k].values)
        assert np.isfinite(seq[k].values).all()
    assert a.stats == b.stats


@given(st.binary(max_size=300), st.integers(-(2**31), 2**31))
@FUZZ
def test_fuzz_arbitrary_bytes_and_channels(data, channel):
    dec = PolarPmdDecoder({"acc": "nonsense", "gyr": {"rate_hz": 0}})
    for ch in (channel, 0, 1):
        dec.feed(data, 0.0, ch)
    assert dec.stats.notifications == 3


# ---------------------------------------------------------------- profile and commands


def test_start_commands_match_documented_bytes():
    prof = get_profile("polar-pmd")
    assert prof.notify_uuids == PolarPmdDecoder.notify_uuids == (DATA_UUID, CP_UUID)
    steps = prof.start(52, {"mag": True})
    assert [s.data.hex(" ") for s in steps] == [
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03",
        "02 05 00 01 34 00 01 01 10 00 02 01 d0 07 04 01 03",
        "02 06 00 01 32 00 01 01 10 00 02 01 32 00 04 01 03",
    ]
    assert all(s.char_uuid == CP_UUID for s in steps)
    fast = prof.start(208, {})
    assert fast[0].data == b"\x02\x09"  # SDK mode first
    assert parse_command(fast[1].data).rate_hz == 208
    assert [s.data.hex() for s in prof.stop()] == ["0306", "0305", "0302", "0309"]
    cfg = prof.decoder_config(208, {})
    assert cfg["acc"]["rate_hz"] == 208 and cfg["sdk_mode"] is True
    assert get_decoder("polar-pmd", cfg).config == cfg


def test_parse_command_and_settings():
    cmd = parse_command(bytes.fromhex("02020001340001011000020108000401 03".replace(" ", "")))
    assert cmd.name == "start" and cmd.kind == "acc" and cmd.rate_hz == 52
    assert cmd.settings == {"sample_rate": [52], "resolution": [16], "range": [8], "channels": [3]}
    assert parse_command(b"\x03\x05").name == "stop" and parse_command(b"\x03\x05").kind == "gyr"
    assert parse_command(b"\x02\x82\x00").valid is False
    assert parse_command(b"\x02\x82\x00\x01\x34\x00").offline is True
    assert parse_command(b"") is None
    assert parse_settings(b"\x05\x01" + struct.pack("<f", 0.25)) == {"factor": [0.25]}
    assert parse_settings(b"\x09\x01\x00") is None


def test_range_milliunit_setting_is_signed():
    # vendor example: type 3 (RANGE_MILLIUNIT), two 32-bit values ffffffff and ff000000
    data = bytes.fromhex("0302ffffffffff000000")
    assert parse_settings(data) == {"range_milli": [-1, 255]}
    assert encode_setting_values({"range_milli": [-1, 255]}) == data
    assert encode_settings({"range_milli": -2_000_000}) == bytes.fromhex("0301807be1ff")
    # the other integer settings stay unsigned
    assert parse_settings(bytes.fromhex("0001ffff")) == {"sample_rate": [65535]}


def test_check_response():
    check = get_profile("polar-pmd").check_response
    assert check(encode_start_response("acc", 0.001)) is None
    msg = check(encode_cp_response(OP_START, GYRO, status=8))
    assert "invalid sample rate" in msg and "gyr" in msg
    assert check(encode_cp_response(3, ACC, status=6)) is None  # stop failures are harmless
    assert "stopped" in check(encode_stopped_notification([ACC, GYRO]))
    assert "charger" in check(encode_cp_response(OP_START, ACC, status=13))


def test_recognise():
    prof = get_profile("polar-pmd")
    assert prof.recognise(Advertisement("Polar Sense B5C4D123"))
    assert not prof.recognise(Advertisement("Polar H10 12345678"))
    assert not prof.recognise(Advertisement(None))
