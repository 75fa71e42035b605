import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import get_decoder
from imuhip.decode._common import DEG, G, merge_blocks
from imuhip.decode.metamotion import (
    ACC_LSB_PER_G,
    COMMAND_UUID,
    GYR_LSB_PER_DPS,
    NOTIFY_UUID,
    MetaMotionDecoder,
    encode_module_info,
    encode_notifications,
    parse_command,
)
from imuhip.decode.profile import Advertisement, get_profile
from imuhip.decode.profile import recognise as recognise_any

FUZZ = settings(max_examples=150, derandomize=True, deadline=None)


def by_kind(blocks):
    return {b.kind: b for b in merge_blocks(blocks)}


def frame(module, reg, *words):
    return bytes([module, reg]) + struct.pack(f"<{len(words)}h", *words)


def motion(n, rate=100.0, seed=0, acc_sd=3.0, gyr_sd=2.0):
    rng = np.random.default_rng(seed)
    t = 5.0 + np.arange(n) / rate
    return t, rng.normal(0, acc_sd, (n, 3)) + [0, 0, G], rng.normal(0, gyr_sd, (n, 3))


def decode(dec, notes):
    return by_kind(dec.decode_many(np.array([n.t for n in notes]), [n.data for n in notes]))


# --------------------------------------------------------------------------- hand-built frames


@pytest.mark.parametrize("chip", ["bmi160", "bmi270"])
def test_hand_built_packed_magnetometer(chip):
    # BMM150 packed B-field: 15 09, then three samples of int16 LE x, y, z, 16 counts per µT
    data = bytes.fromhex(
        "1509"
        "1000"
        "f0ff"
        "2003"  # 16, -16, 800 counts -> 1, -1, 50 µT
        "0880"
        "ff7f"
        "0000"  # -32760, 32767, 0 -> -2047.5, 2047.9375, 0 µT
        "0100"
        "ffff"
        "60fc"  # 1, -1, -928 -> 0.0625, -0.0625, -58 µT
    )
    dec = get_decoder("metamotion", {"chip": chip, "mag_rate_hz": 20.0})
    (mag,) = dec.feed(data, 3.0)
    assert mag.kind == "mag" and not mag.sensor_clock
    np.testing.assert_array_equal(
        mag.values, [[1.0, -1.0, 50.0], [-2047.5, 2047.9375, 0.0], [0.0625, -0.0625, -58.0]]
    )
    np.testing.assert_allclose(mag.t, [2.9, 2.95, 3.0])  # spaced by the magnetometer's ODR
    assert dec.stats.samples == 3 and dec.stats.dropped == 0
    # default magnetometer rate: 10 Hz (the preset start() writes)
    (mag,) = get_decoder("metamotion", {"chip": chip}).feed(data, 3.0)
    np.testing.assert_allclose(mag.t, [2.8, 2.9, 3.0])


def test_packed_magnetometer_round_trip_and_decode_many():
    t, acc, gyr = motion(60, rate=200.0, seed=4)
    t_mag = 5.0 + np.arange(9) / 10.0
    mag = np.random.default_rng(2).normal(0, 40, (9, 3))
    opts = {"mag": True, "mag_packed": True}
    cfg = get_profile("metamotion").decoder_config(200, opts)
    assert cfg["mag_rate_hz"] == 10.0 and cfg["mag_packed"] is True and cfg["packed"] is True
    notes = encode_notifications(
        t, acc, gyr, 200, packed=True, mag=mag, t_mag=t_mag, mag_packed=True
    )
    mags = [n for n in notes if n.data[:2] == b"\x15\x09"]
    assert len(mags) == 3 and all(len(n.data) == 20 for n in mags)
    assert [n.t for n in mags] == [t_mag[2], t_mag[5], t_mag[8]]
    seq = get_decoder("metamotion", cfg)
    fed = by_kind([b for n in notes for b in seq.feed(n.data, n.t)])
    vec = decode(get_decoder("metamotion", cfg), notes)
    for b in (fed, vec):
        np.testing.assert_allclose(b["mag"].t, t_mag, atol=1e-12)
        assert np.abs(b["mag"].values - mag).max() <= 0.5 / 16 + 1e-12
    np.testing.assert_array_equal(fed["mag"].values, vec["mag"].values)
    assert "15 09 01" in hexes(get_profile("metamotion").start(200, opts))
    assert "15 09 00" in hexes(get_profile("metamotion").stop())


def test_hand_built_single_samples_bmi160():
    dec = get_decoder("metamotion", {"acc_range_g": 8, "gyr_range_dps": 2000})
    acc = dec.feed(frame(0x03, 0x04, 4096, -4096, 2048), 1.25)
    gyr = dec.feed(frame(0x13, 0x05, 164, -1640, 0), 1.5)
    mag = dec.feed(frame(0x15, 0x05, 160, -16, 8), 1.75)
    np.testing.assert_allclose(acc[0].values, [[G, -G, G / 2]])
    np.testing.assert_allclose(gyr[0].values, [[10 * DEG, -100 * DEG, 0]])
    np.testing.assert_allclose(mag[0].values, [[10.0, -1.0, 0.5]])
    assert [acc[0].kind, gyr[0].kind, mag[0].kind] == ["acc", "gyr", "mag"]
    assert acc[0].t.tolist() == [1.25] and gyr[0].t.tolist() == [1.5]
    assert not acc[0].sensor_clock and not gyr[0].sensor_clock
    assert dec.stats.samples == 3 and dec.stats.dropped == 0


@pytest.mark.parametrize(("rng", "lsb"), sorted(ACC_LSB_PER_G.items()))
def test_acc_scale_per_range(rng, lsb):
    dec = get_decoder("metamotion", {"acc_range_g": rng})
    (b,) = dec.feed(frame(0x03, 0x04, int(lsb), -int(lsb), -32768), 0.0)
    np.testing.assert_allclose(b.values, [[G, -G, -32768 / lsb * G]])


@pytest.mark.parametrize(("rng", "lsb"), sorted(GYR_LSB_PER_DPS.items()))
def test_gyr_scale_per_range(rng, lsb):
    dec = get_decoder("metamotion", {"gyr_range_dps": rng})
    (b,) = dec.feed(frame(0x13, 0x05, round(10 * lsb), -round(10 * lsb), 32767), 0.0)
    np.testing.assert_allclose(b.values, [[10 * DEG, -10 * DEG, 32767 / lsb * DEG]])


def test_packed_samples_spaced_back_from_receive_time():
    dec = get_decoder("metamotion", {"rate_hz": 200, "acc_range_g": 2})
    (b,) = dec.feed(frame(0x03, 0x1C, 16384, 0, 0, 0, 16384, 0, 0, 0, -16384), 10.0)
    np.testing.assert_allclose(b.values, [[G, 0, 0], [0, G, 0], [0, 0, -G]])
    np.testing.assert_allclose(b.t, [10.0 - 0.01, 10.0 - 0.005, 10.0])
    (g,) = dec.feed(frame(0x13, 0x07, *([164] * 9)), 11.0)
    assert g.kind == "gyr" and len(g.t) == 3 and g.t[-1] == 11.0


def test_bmi270_register_map():
    d270 = get_decoder("metamotion", {"chip": "bmi270"})
    (g,) = d270.feed(frame(0x13, 0x04, 164, 0, 0), 0.0)  # BMI270 gyro single
    assert g.kind == "gyr" and len(g.t) == 1
    (gp,) = d270.feed(frame(0x13, 0x05, *([164] * 9)), 0.0)  # BMI270 gyro packed
    assert len(gp.t) == 3
    (ap,) = d270.feed(frame(0x03, 0x05, *([4096] * 9)), 0.0)  # BMI270 acc packed
    assert ap.kind == "acc" and len(ap.t) == 3
    assert d270.feed(frame(0x03, 0x1C, *([0] * 9)), 0.0) == []  # BMI160 packed acc
    d160 = get_decoder("metamotion")
    assert d160.feed(frame(0x13, 0x04, 164, 0, 0), 0.0) == []
    assert d160.feed(frame(0x13, 0x05, *([0] * 9)), 0.0) == []  # single register, packed size
    assert dict(d270.stats.reasons) == {"unknown_register": 1}
    assert dict(d160.stats.reasons) == {"unknown_register": 1, "bad_length": 1}


def test_module_info_recorded_not_dropped():
    dec = get_decoder("metamotion")
    assert dec.detected_chip is None
    assert dec.feed(encode_module_info(0x03, 4, 0), 0.0) == []
    assert dec.feed(encode_module_info(0x13, 1, 0), 0.0) == []
    assert dec.detected_chip == "bmi270" and dec.module_info[0x13] == b"\x01\x00"
    assert dec.feed(encode_module_info(0x03, 1, 2), 0.0) == []
    assert dec.detected_chip == "bmi160"
    assert dec.stats.dropped == 0 and dec.info_replies == 3 and dec.stats.notifications == 3


def test_malformed_are_drops():
    dec = get_decoder("metamotion")
    good = frame(0x03, 0x04, 1, 2, 3)
    assert dec.feed(good[:-1], 0.0) == []  # truncated single
    assert dec.feed(good + b"\x00", 0.0) == []  # too long
    assert dec.feed(frame(0x03, 0x1C, *range(9))[:-2], 0.0) == []  # truncated packed
    assert dec.feed(b"", 0.0) == [] and dec.feed(b"\x03", 0.0) == []
    assert dec.feed(frame(0x04, 0x01, 1, 2, 3), 0.0) == []  # temperature module
    assert dec.feed(frame(0x15, 0x09, *range(9))[:-1], 0.0) == []  # truncated packed mag
    assert dec.feed(frame(0x15, 0x09, *range(3)), 0.0) == []  # packed mag with one sample
    assert dec.feed(good, 0.0, 1) == []
    assert dict(dec.stats.reasons) == {
        "bad_length": 5,
        "too_short": 2,
        "unknown_register": 1,
        "unknown_channel": 1,
    }
    assert dec.stats.samples == 0 and dec.stats.lost_samples == 0


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("chip", ["bmi160", "bmi270"])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize(("acc_rng", "gyr_rng"), [(2, 125), (4, 250), (8, 500), (16, 1000)])
def test_round_trip_each_range(chip, packed, acc_rng, gyr_rng):
    rate = 200.0 if packed else 100.0
    # stay inside the smallest ranges: |acc| < 2 g, |gyr| < 125 °/s
    t, acc, gyr = motion(60, rate, acc_sd=1.0, gyr_sd=0.5)
    opts = {"chip": chip, "packed": packed, "acc_range_g": acc_rng, "gyr_range_dps": gyr_rng}
    cfg = get_profile("metamotion").decoder_config(rate, opts)
    notes = encode_notifications(
        t, acc, gyr, rate, acc_range_g=acc_rng, gyr_range_dps=gyr_rng, chip=chip, packed=packed
    )
    assert len(notes) == (40 if packed else 120)
    assert {len(n.data) for n in notes} == {20 if packed else 8}
    b = decode(get_decoder("metamotion", cfg), notes)
    assert np.abs(b["acc"].values - acc).max() <= 0.5 * G / ACC_LSB_PER_G[acc_rng] + 1e-12
    assert np.abs(b["gyr"].values - gyr).max() <= 0.5 * DEG / GYR_LSB_PER_DPS[gyr_rng] + 1e-12
    np.testing.assert_allclose(b["acc"].t, t, atol=1e-9)
    np.testing.assert_allclose(b["gyr"].t, t, atol=1e-9)


def test_round_trip_default_ranges_with_mag_and_2000dps():
    t, acc, gyr = motion(90, seed=3, acc_sd=20.0, gyr_sd=15.0)  # up to ~8 g, ~3000 °/s
    mag = np.random.default_rng(1).normal(0, 40, (90, 3))
    cfg = get_profile("metamotion").decoder_config(100, {"mag": True})
    assert (cfg["acc_range_g"], cfg["gyr_range_dps"], cfg["packed"]) == (8.0, 2000.0, False)
    dec = get_decoder("metamotion", cfg)
    b = decode(dec, encode_notifications(t, acc, gyr, 100, mag=mag))
    acc_clip = np.clip(acc, -32768 / 4096 * G, 32767 / 4096 * G)  # the sensor saturates
    gyr_clip = np.clip(gyr, -32768 / 16.4 * DEG, 32767 / 16.4 * DEG)
    assert np.abs(b["acc"].values - acc_clip).max() <= 0.5 * G / 4096 + 1e-12
    assert np.abs(b["gyr"].values - gyr_clip).max() <= 0.5 * DEG / 16.4 + 1e-12
    assert np.abs(b["mag"].values - mag).max() <= 0.5 / 16 + 1e-12
    assert dec.stats.samples == 270 and dec.stats.dropped == 0


def test_packed_encoder_sends_full_packs_only():
    t, acc, gyr = motion(10, 200)
    notes = encode_notifications(t, acc, gyr, 200, packed=True)
    assert len(notes) == 6 and [n.t for n in notes[::2]] == [t[2], t[5], t[8]]


def test_virtual_sensor_honours_start_commands():
    """A toy virtual sensor configured only from the bytes of start() matches the decoder."""
    opts = {"chip": "bmi270", "acc_range_g": 4, "gyr_range_dps": 500}
    prof = get_profile("metamotion")
    state = {"packed": False}
    for w in prof.start(200, opts):
        cmd = parse_command(w.data, "bmi270")
        if cmd.kind == "config":
            state[cmd.sensor] = (cmd.rate_hz, cmd.range)
        if cmd.kind == "subscribe" and cmd.sensor == "acc":
            state["packed"] = cmd.packed
    assert state == {"acc": (200.0, 4.0), "gyr": (200.0, 500.0), "packed": True}
    t, acc, gyr = motion(30, 200, acc_sd=1.0, gyr_sd=0.5)
    notes = encode_notifications(
        t,
        acc,
        gyr,
        200,
        acc_range_g=state["acc"][1],
        gyr_range_dps=state["gyr"][1],
        chip="bmi270",
        packed=state["packed"],
    )
    b = decode(get_decoder("metamotion", prof.decoder_config(200, opts)), notes)
    assert np.abs(b["acc"].values - acc).max() <= 0.5 * G / 8192 + 1e-12
    np.testing.assert_allclose(b["gyr"].t, t, atol=1e-9)


# --------------------------------------------------------------------------- fuzzing

_GOOD = [n.data for n in encode_notifications(*motion(6, seed=2), 100)]
_GOOD += [n.data for n in encode_notifications(*motion(6, seed=2), 200, packed=True)]
_GOOD += [encode_module_info(3, 1), frame(0x15, 0x05, 1, 2, 3)]
_HEADS = [bytes(h) for h in ((3, 4), (3, 0x1C), (0x13, 5), (0x13, 7), (0x15, 5), (3, 0x80))]
_payload = st.one_of(
    st.binary(max_size=24),
    st.sampled_from(_GOOD),
    st.builds(lambda g, k: g[:k], st.sampled_from(_GOOD), st.integers(0, 20)),
    st.builds(lambda h, b: h + b, st.sampled_from(_HEADS), st.binary(max_size=20)),
)


@given(
    st.lists(st.tuples(_payload, st.integers(-1, 1)), max_size=25),
    st.sampled_from(["bmi160", "bmi270"]),
)
@FUZZ
def test_fuzz_decode_many_equals_feed(items, chip):
    payloads = [p for p, _ in items]
    ch = np.array([c for _, c in items], int)
    th = np.arange(len(items), dtype=float) * 0.013
    cfg = {"chip": chip, "rate_hz": 200}
    a, b = get_decoder("metamotion", cfg), get_decoder("metamotion", cfg)
    seq = merge_blocks(x for i, p in enumerate(payloads) for x in a.feed(p, th[i], int(ch[i])))
    vec = b.decode_many(th, payloads, ch)
    assert [x.kind for x in seq] == [x.kind for x in vec]
    for s, v in zip(seq, vec, strict=True):
        np.testing.assert_array_equal(s.t, v.t)
        np.testing.assert_array_equal(s.values, v.values)
        assert s.sensor_clock == v.sensor_clock is False
    assert a.stats == b.stats
    assert a.module_info == b.module_info


@given(
    st.binary(max_size=40),
    st.integers(-(2**31), 2**31),
    st.sampled_from([None, "x", -1, 1e9, 10**400, float("nan")]),
)
@FUZZ
def test_fuzz_never_raises(data, channel, junk):
    # junk chips and ranges fall back to the defaults (a junk rate is refused: test_fuzz_decoders)
    dec = MetaMotionDecoder({"chip": junk, "acc_range_g": junk, "gyr_range_dps": "x"})
    dec.feed(data, 0.0, channel)
    dec.decode_many(np.zeros(2), [data, data], np.array([channel, 0]))
    assert dec.stats.notifications == 3
    assert parse_command(data) is None or parse_command(data).module == data[0]


# --------------------------------------------------------------------------- profile


def hexes(steps):
    return [s.data.hex(" ") for s in steps]


def test_the_profile_waits_for_no_answer_to_writes_the_board_does_not_answer():
    """MetaWear answers reads only (module info ``[id, 80]``); its configuration, subscribe,
    interrupt and power writes get no notification (protocols.md section 5). A profile that
    names a response characteristic makes the BLE layer wait for an answer to every command
    write, so a real board never started streaming: found by the independent peripheral of
    ``tests/peripherals/metamotion.py`` ("no answer to command 03032808")."""
    prof = get_profile("metamotion")
    unanswered = [s for s in prof.start(100, {}) if not s.data[1] & 0x80]
    assert unanswered  # config, subscribe, interrupt and power writes
    assert prof.response_uuid is None and prof.check_response is None
    # the answers to the reads still arrive on the recorded data channel
    assert prof.notify_uuids == (NOTIFY_UUID,)


def test_start_bytes_default_bmi160_100hz():
    steps = get_profile("metamotion").start(100, {})
    assert all(s.char_uuid == COMMAND_UUID and s.response is False for s in steps)
    assert hexes(steps) == [
        "03 80",  # module info reads
        "13 80",
        "03 03 28 08",  # acc: 100 Hz (odr 8 | bwp 2 << 4), ±8 g (BMI160 code 0x08)
        "13 03 28 00",  # gyro: 100 Hz, ±2000 °/s
        "03 04 01",  # subscribe acc data
        "13 05 01",  # subscribe gyro data (BMI160)
        "03 02 01 00",  # data interrupts on
        "13 02 01 00",
        "03 01 01",  # power on
        "13 01 01",
    ]


def test_start_bytes_bmi270_packed_with_mag():
    opts = {"chip": "bmi270", "acc_range_g": 16, "gyr_range_dps": 250, "mag": True}
    steps = get_profile("metamotion").start(200, {**opts, "read_info": False})
    assert hexes(steps) == [
        "03 03 a9 03",  # 200 Hz with the under-sampling bit (BMI270), ±16 g = 3
        "13 03 29 03",  # 200 Hz, ±250 °/s = 3
        "15 04 04 0e",  # magnetometer "regular" preset: 9 xy, 15 z repetitions
        "15 03 00",  # ... at 10 Hz
        "03 05 01",  # packed acc (BMI270)
        "13 05 01",  # packed gyro (BMI270)
        "15 05 01",  # magnetometer single samples
        "03 02 01 00",
        "13 02 01 00",
        "15 02 01 00",
        "03 01 01",  # us bit set -> 01
        "13 01 01",
        "15 01 01",
    ]


@pytest.mark.parametrize(
    ("rate", "chip", "acc_conf"),
    [(25, "bmi160", 0x26), (50, "bmi160", 0x27), (200, "bmi160", 0x29), (50, "bmi270", 0xA7)],
)
def test_rate_codes(rate, chip, acc_conf):
    steps = get_profile("metamotion").start(rate, {"chip": chip, "read_info": False})
    assert steps[0].data[2] == acc_conf
    assert steps[1].data[2] == 0x20 | {25: 6, 50: 7, 200: 9}[rate]
    sub = steps[2].data
    assert sub[1] == (0x04 if rate <= 100 else {"bmi160": 0x1C, "bmi270": 0x05}[chip])


@pytest.mark.parametrize(("g", "c160", "c270"), [(2, 3, 0), (4, 5, 1), (8, 8, 2), (16, 12, 3)])
def test_acc_range_codes_and_parse(g, c160, c270):
    prof = get_profile("metamotion")
    for chip, code in (("bmi160", c160), ("bmi270", c270)):
        cfg = prof.start(100, {"chip": chip, "acc_range_g": g, "read_info": False})[0].data
        assert cfg[3] == code
        cmd = parse_command(cfg, chip)
        assert (cmd.kind, cmd.sensor, cmd.rate_hz, cmd.range) == ("config", "acc", 100.0, g)


def test_parse_command_kinds():
    assert parse_command(b"\x03") is None
    assert parse_command(b"\x03\x80").kind == "info"
    assert parse_command(b"\x13\x03\x28\x04").range == 125.0
    assert parse_command(b"\x13\x03\x2d\x00").rate_hz == 3200.0
    on, off = parse_command(b"\x03\x01\x01"), parse_command(b"\x03\x01\x00")
    assert (on.kind, on.enable, off.enable) == ("power", True, False)
    assert parse_command(b"\x13\x02\x00\x01").enable is False
    sub = parse_command(b"\x13\x07\x01")
    assert (sub.kind, sub.sensor, sub.packed, sub.enable) == ("subscribe", "gyr", True, True)
    assert parse_command(b"\x13\x05\x01", "bmi270").packed is True
    assert parse_command(b"\x13\x05\x01", "bmi160").packed is False
    assert parse_command(b"\x02\x03\x01").kind == "other"
    rate = parse_command(b"\x15\x03\x05")  # BMM150 data rate code 5 = 20 Hz
    assert (rate.kind, rate.sensor, rate.rate_hz) == ("config", "mag", 20.0)
    packed_mag = parse_command(b"\x15\x09\x01", "bmi270")
    assert (packed_mag.kind, packed_mag.sensor, packed_mag.packed) == ("subscribe", "mag", True)


def test_stop_and_decoder_config():
    prof = get_profile("metamotion")
    stop = hexes(prof.stop())
    assert stop[:2] == ["13 01 00", "03 01 00"]
    assert "03 02 00 01" in stop and "13 02 00 01" in stop and "03 04 00" in stop
    assert all(s.response is False for s in prof.stop())
    cfg = prof.decoder_config(90, {"acc_range_g": 5, "gyr_range_dps": 900})
    assert cfg == {
        "rate_hz": 100.0,
        "chip": "bmi160",
        "acc_range_g": 4.0,
        "gyr_range_dps": 1000.0,
        "packed": False,
        "mag": False,
    }
    assert prof.decoder_config(200, {})["packed"] is True
    assert prof.decoder_config(200, {"packed": False})["packed"] is False
    with pytest.raises(ValueError, match="bmi270"):
        prof.start(100, {"chip": "bmx055"})


def test_recognise():
    prof = get_profile("metamotion")
    svc = "326a9000-85cb-9195-d9dd-464cfbbae75a"
    assert prof.recognise(Advertisement("MetaWear"))
    assert prof.recognise(Advertisement("MetaMotion S"))
    assert prof.recognise(Advertisement(None, (svc,)))
    assert not prof.recognise(Advertisement("MetaBoot", (svc,)))
    assert not prof.recognise(Advertisement("Movesense 1234"))
    assert not prof.recognise(Advertisement(None))
    assert recognise_any(Advertisement("MetaWear")) is prof
