"""Property tests over every decoder family: bad bytes and bad configs never crash a decoder.

Each case is a profile with a valid decoder config (from the profile's own ``decoder_config``)
and the notifications its module's encoder produces for a few samples. The properties:

- arbitrary bytes on arbitrary channels: ``feed`` never raises, every returned sample (time and
  value) is finite, every notification is counted, drops are counted per reason, notifications
  on a channel the profile does not have are dropped, and ``decode_many`` equals ``feed``;
- valid notifications with one bit flipped or cut short: never raises, finite output;
- absurd configured rates: construction raises a clear ``DecoderConfigError`` (naming the
  profile, the field and the value) or gives a decoder that works.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.decode import (
    get_decoder,
    metamotion,
    movella_dot,
    movesense,
    polar_pmd,
    profiles,
    thingy52,
    witmotion,
)
from imuhip.decode._common import EncodedNotification, merge_blocks
from imuhip.decode.profile import get_profile
from imuhip.errors import DecoderConfigError

FUZZ = settings(max_examples=60, deadline=None, derandomize=True)
N = 12


def _motion(rate: float, n: int = N, seed: int = 3):
    rng = np.random.default_rng(seed)
    t = 1.0 + np.arange(n) / rate
    acc = rng.normal(0, 1.0, (n, 3)) + [0, 0, 9.81]
    gyr = rng.normal(0, 0.5, (n, 3))
    mag = rng.normal(0, 5.0, (n, 3)) + [20, 0, -40]
    return t, acc, gyr, mag


def _wit(rate, opts):
    t, acc, gyr, _ = _motion(rate)
    return [
        EncodedNotification(float(ti), 0, p)
        for ti, p in zip(t, witmotion.encode_notifications(t, acc, gyr), strict=True)
    ]


def _dot(rate, opts):
    t, acc, gyr, mag = _motion(rate)
    return movella_dot.encode_notifications(
        t, acc, gyr, rate, mag=mag if opts.get("mag") else None, mode=opts.get("mode")
    )


def _movesense(rate, opts):
    t, acc, gyr, mag = _motion(rate, n=16)
    return movesense.encode_notifications(t, acc, gyr, rate, mag=mag if opts.get("mag") else None)


def _metamotion(rate, opts):
    t, acc, gyr, mag = _motion(rate)
    return metamotion.encode_notifications(
        t,
        acc,
        gyr,
        rate,
        chip=opts.get("chip", "bmi160"),
        packed=bool(opts.get("packed", False)),
        mag=mag if opts.get("mag") else None,
        mag_packed=bool(opts.get("mag_packed", False)),
    )


def _polar(rate, opts):
    t, acc, gyr, mag = _motion(rate, n=24)
    return polar_pmd.encode_notifications(
        t,
        acc,
        gyr,
        rate,
        mag=mag[:6] if opts.get("mag") else None,
        t_mag=1.0 + np.arange(6) / 50.0 if opts.get("mag") else None,
        compressed=bool(opts.get("compressed", True)),
    )


def _thingy(rate, opts):
    t, acc, gyr, mag = _motion(rate)
    return thingy52.encode_notifications(t, acc, gyr, mag=mag)


@dataclass(frozen=True)
class Case:
    profile: str
    rate_hz: float
    options: dict[str, Any]
    encode: Callable[[float, dict[str, Any]], list[EncodedNotification]]

    @property
    def config(self) -> dict[str, Any]:
        return get_profile(self.profile).decoder_config(self.rate_hz, self.options)

    def __repr__(self) -> str:
        return f"{self.profile}{self.options or ''}"


CASES = [
    Case("witmotion-ble5", 100.0, {}, _wit),
    Case("movella-dot", 60.0, {}, _dot),
    Case("movella-dot", 60.0, {"mag": True}, _dot),
    Case("movella-dot", 60.0, {"mode": 26}, _dot),
    Case("movesense", 104.0, {}, _movesense),
    Case("movesense", 104.0, {"mag": True}, _movesense),
    Case("metamotion", 100.0, {}, _metamotion),
    Case("metamotion", 200.0, {"packed": True, "mag": True}, _metamotion),
    Case("metamotion", 200.0, {"chip": "bmi270", "packed": True, "mag": True}, _metamotion),
    Case("metamotion", 100.0, {"mag": True, "mag_packed": True}, _metamotion),
    Case("polar-pmd", 52.0, {"mag": True}, _polar),
    Case("polar-pmd", 52.0, {"compressed": False}, _polar),
    Case("thingy52", 100.0, {}, _thingy),
]
_NOTES = {repr(c): c.encode(c.rate_hz, c.options) for c in CASES}


def test_cases_cover_every_family_and_decode():
    # every vendor module of imuhip.decode (other tests register extra profiles of their own)
    import importlib
    import pkgutil

    import imuhip.decode as pkg

    modules = [
        importlib.import_module(f"imuhip.decode.{m.name}")
        for m in pkgutil.iter_modules(pkg.__path__)
    ]
    builtin = {m.PROFILE for m in modules if hasattr(m, "PROFILE")}
    assert len(builtin) == 6 and builtin <= set(profiles())
    assert {c.profile for c in CASES} == builtin
    for c in CASES:
        dec = get_decoder(c.profile, c.config)
        blocks = [b for n in _NOTES[repr(c)] for b in dec.feed(n.data, n.t, n.channel)]
        assert blocks and dec.stats.dropped == 0, c


def _assert_finite(blocks) -> None:
    for b in blocks:
        assert np.isfinite(b.t).all(), b.kind
        assert np.isfinite(b.values).all(), b.kind


def _same_blocks(a, b) -> None:
    a, b = merge_blocks(a), merge_blocks(b)
    assert [(x.kind, x.sensor_clock) for x in a] == [(x.kind, x.sensor_clock) for x in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.t, y.t)
        np.testing.assert_array_equal(x.values, y.values)


# --------------------------------------------------------------------------- arbitrary bytes


def _payloads(case: Case) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and valid packets' first bytes (headers, timestamps) with arbitrary
    tails, so the deeper parsing paths see junk too."""
    valid = [n.data for n in _NOTES[repr(case)]]
    spliced = st.builds(
        lambda p, k, tail: p[:k] + tail,
        st.sampled_from(valid),
        st.integers(1, 12),
        st.binary(max_size=120),
    )
    return st.one_of(st.binary(max_size=120), spliced)


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(st.data())
@FUZZ
def test_arbitrary_bytes_never_raise(case, data):
    notes = data.draw(
        st.lists(
            st.tuples(_payloads(case), st.one_of(st.integers(0, 1), st.integers(-2, 300))),
            min_size=1,
            max_size=8,
        ),
        "notes",
    )
    dec = get_decoder(case.profile, case.config)
    n_channels = len(dec.notify_uuids)
    out = []
    for i, (data, ch) in enumerate(notes):
        dropped = dec.stats.dropped
        blocks = dec.feed(data, float(i), ch)
        _assert_finite(blocks)
        if not 0 <= ch < n_channels:  # a channel the profile does not have
            assert blocks == [] and dec.stats.dropped == dropped + 1
        out += blocks
    assert dec.stats.notifications == len(notes)
    assert dec.stats.dropped == sum(dec.stats.reasons.values()) <= len(notes)
    # the vectorised path gives the same samples and the same counts
    vec = get_decoder(case.profile, case.config)
    t = np.arange(len(notes), dtype=np.float64)
    many = vec.decode_many(t, [d for d, _ in notes], np.array([c for _, c in notes]))
    _same_blocks(out, many)
    assert vec.stats == dec.stats


# --------------------------------------------------------------------------- damaged packets


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(st.data())
@FUZZ
def test_flipped_or_cut_packets_never_raise(case, data):
    notes = list(_NOTES[repr(case)])
    k = data.draw(st.integers(0, len(notes) - 1), "notification")
    payload = bytearray(notes[k].data)
    if data.draw(st.booleans(), "flip"):
        bit = data.draw(st.integers(0, 8 * len(payload) - 1), "bit")
        payload[bit // 8] ^= 1 << (bit % 8)
    else:
        del payload[data.draw(st.integers(0, len(payload) - 1), "cut") :]
    notes[k] = notes[k]._replace(data=bytes(payload))
    dec = get_decoder(case.profile, case.config)
    for n in notes:
        _assert_finite(dec.feed(n.data, n.t, n.channel))
    assert dec.stats.notifications == len(notes)
    assert dec.stats.dropped == sum(dec.stats.reasons.values())


# --------------------------------------------------------------------------- absurd rates

ABSURD_RATES = [1e9, 1e-9, float("nan"), float("inf"), -float("inf"), -100.0, "100", "x", True]
ABSURD_RATES += [10**400, [100]]


@pytest.mark.parametrize("case", [c for c in CASES if not c.options], ids=repr)
@pytest.mark.parametrize("rate", ABSURD_RATES, ids=repr)
def test_absurd_rate_is_refused_clearly(case, rate):
    with pytest.raises(DecoderConfigError) as err:
        get_decoder(case.profile, {**case.config, "rate_hz": rate})
    msg = str(err.value)
    assert case.profile in msg and "rate_hz=" in msg and repr(rate)[:20] in msg


@pytest.mark.parametrize("rate", [1e9, float("nan"), -1.0, "52"], ids=repr)
@pytest.mark.parametrize("kind", ["acc", "gyr", "mag"])
def test_polar_absurd_rate_per_measurement_is_refused(kind, rate):
    with pytest.raises(DecoderConfigError, match=rf"{kind}\.rate_hz="):
        get_decoder("polar-pmd", {kind: {"rate_hz": rate}})


@pytest.mark.parametrize("setting", ["factor", "range", "resolution"])
def test_polar_junk_scale_settings_are_refused(setting):
    # these are read on every frame: junk must be refused up front, not crash feed()
    for junk in ("x", float("nan"), 10**400):
        with pytest.raises(DecoderConfigError, match=rf"acc\.{setting}="):
            get_decoder("polar-pmd", {"acc": {setting: junk}})


@pytest.mark.parametrize("case", [c for c in CASES if not c.options], ids=repr)
@pytest.mark.parametrize("rate", [None, 0, 0.0, 0.5, 400.0, np.float32(100.0), np.int64(50)])
def test_missing_or_plausible_rates_work(case, rate):
    """None / 0 are the header's "not known" and give the profile's default."""
    dec = get_decoder(case.profile, {**case.config, "rate_hz": rate})
    blocks = [b for n in _NOTES[repr(case)] for b in dec.feed(n.data, n.t, n.channel)]
    assert blocks and dec.stats.dropped == 0
    _assert_finite(blocks)
