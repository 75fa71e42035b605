"""The numpy filters of ``imuhip.align.numeric`` give scipy's numbers (scipy is installed for
the tests only as the reference), on random inputs including short arrays, edges, even and odd
windows and shifted origins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, signal

from imuhip.align import numeric

SIZES = st.integers(1, 40)


def _data(draw, n, ints):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if ints:
        return rng.integers(-50, 50, n).astype(np.int64)
    x = rng.normal(size=n)
    if n > 3:  # ties and flat runs
        x[rng.integers(0, n, n // 3)] = 0.5
    return x


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n=st.integers(0, 300), size=SIZES, ints=st.booleans())
def test_running_min_and_max_equal_scipys(data, n, size, ints):
    x = _data(data.draw, n, ints)
    origin = data.draw(st.integers(-(size // 2), (size - 1) // 2))
    mode = data.draw(st.sampled_from(["nearest", "reflect"]))
    got = numeric.running_min(x, size, origin, mode)
    assert got.dtype == x.dtype
    if n:
        want = ndimage.minimum_filter1d(x, size, origin=origin, mode=mode)
        assert got.tobytes() == want.tobytes()
        want = ndimage.maximum_filter1d(x, size, origin=origin, mode=mode)
        assert numeric.running_max(x, size, origin, mode).tobytes() == want.tobytes()


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n=st.integers(1, 300), size=SIZES, ints=st.booleans())
def test_grey_closing_equals_scipys(data, n, size, ints):
    x = _data(data.draw, n, ints)
    want = ndimage.grey_closing(x, size=size, mode="nearest")
    assert numeric.grey_closing(x, size).tobytes() == want.tobytes()


@settings(max_examples=120, deadline=None)
@given(data=st.data(), n=st.integers(1, 300), size=st.integers(1, 70), ints=st.booleans())
def test_median_filter_equals_scipys(data, n, size, ints):
    x = _data(data.draw, n, ints)
    # scipy's reflect mode gives uninitialised values for windows over about twice the input
    mode = data.draw(st.sampled_from(["nearest", "reflect"] if size <= n else ["nearest"]))
    want = ndimage.median_filter(x, size=size, mode=mode)
    assert numeric.median_filter(x, size, mode).tobytes() == want.tobytes()


def test_a_median_window_wider_than_the_data_mirrors_it_again_and_again():
    """(Where scipy's reflect mode reads past its buffer.) [1, 5, 2] mirrored is
    ... 2 5 1 | 1 5 2 | 2 5 1 ...: every window of 15 around it holds five 1s, 2s and 5s."""
    got = numeric.median_filter(np.array([1.0, 5.0, 2.0]), 15, "reflect")
    assert got.tolist() == [2.0, 2.0, 2.0]
    got = numeric.median_filter(np.array([1.0, 5.0]), 16, "reflect")
    assert got.tolist() == [5.0, 5.0]  # eight of each: the upper median


def test_median_filter_over_more_windows_than_one_chunk():
    x = np.random.default_rng(3).normal(size=3 * numeric.RANK_CHUNK + 17)
    want = ndimage.median_filter(x, size=61, mode="reflect")
    assert numeric.median_filter(x, 61, "reflect").tobytes() == want.tobytes()


@pytest.mark.parametrize("mode", ["nearest", "reflect"])
def test_long_median_windows_by_shared_blocks_equal_scipys(mode):
    """Odd windows of 33 or more over finite input go by blocks of shared windows: the same
    values, with ties (a quantised signal), over several chunks of blocks (where 0.0 and -0.0
    tie, either may be selected)."""
    rng = np.random.default_rng(7)
    for n, size in ((7, 33), (241, 241), (2161, 35), (5000, 481), (70_001, 241)):
        x = rng.normal(size=n)
        if n % 2:
            x = np.round(x, 1)
        if size <= n or mode == "nearest":
            want = ndimage.median_filter(x, size=size, mode=mode)
            np.testing.assert_array_equal(numeric.median_filter(x, size, mode), want)
    x = rng.normal(size=500)
    x[100] = np.nan  # not finite: the plain partition (NaN sorts last)
    want = np.partition(np.lib.stride_tricks.sliding_window_view(np.pad(x, 20, "edge"), 41), 20)
    np.testing.assert_array_equal(numeric.median_filter(x, 41), want[:, 20])


def test_running_extremes_over_several_pieces_equal_scipys():
    rng = np.random.default_rng(9)
    n = 3 * numeric.RUN_CHUNK + 5
    for size in (2, 5, 68, 100):
        for origin in {0, -(size // 2), size - 1 - size // 2}:
            for x in (rng.normal(size=n), rng.integers(-50, 50, n)):
                for mode in ("nearest", "reflect"):
                    got = numeric.running_min(x, size, origin, mode)
                    want = ndimage.minimum_filter1d(x, size, origin=origin, mode=mode)
                    assert got.dtype == x.dtype and got.tobytes() == want.tobytes()
                    got = numeric.running_max(x, size, origin, mode)
                    want = ndimage.maximum_filter1d(x, size, origin=origin, mode=mode)
                    assert got.tobytes() == want.tobytes()
    x = rng.normal(size=500)
    x[[0, 250]] = np.nan  # a NaN in a window makes its extreme NaN
    got = numeric.running_min(x, 9)
    assert (
        np.isnan(got[:5]).all() and np.isnan(got[246:255]).all() and np.isfinite(got[5:246]).all()
    )


def _lfilter(x, lam, zi):
    return signal.lfilter([1.0], [1.0, -lam], x, axis=1, zi=zi[:, None])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 700), rows=st.integers(1, 5))
def test_a_decaying_sum_is_lfilter_to_rounding(data, n, rows):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    lam = data.draw(st.sampled_from([0.5, 0.9, 0.999, 0.99995, 1.0]))
    x = rng.normal(size=(rows, n)) * 10.0 ** rng.integers(-3, 4, (rows, 1))
    zi = rng.normal(size=rows)
    y = numeric.DecayingSum(lam, zi).run(x)
    want, _ = _lfilter(x, lam, zi)
    # to 1e-12 of the sum of the magnitudes that make each value
    scale, _ = _lfilter(np.abs(x), lam, np.abs(zi))
    assert np.all(np.abs(y - want) <= 1e-12 * scale)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_a_decaying_sum_gives_the_same_bits_however_its_input_is_cut(data, cuts):
    """The tracker streaming it must not depend on how the session was cut into chunks."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(3, 400))
    zi = rng.normal(size=3)
    whole = numeric.DecayingSum(0.999, zi).run(x)
    f = numeric.DecayingSum(0.999, zi)
    edges = [0, *sorted(cuts), 400]
    parts = [f.run(x[:, a:b]) for a, b in itertools.pairwise(edges)]
    assert np.concatenate(parts, axis=1).tobytes() == whole.tobytes()


@settings(max_examples=30, deadline=None)
@given(data=st.data(), first=st.integers(0, 200), cut=st.integers(0, 300))
def test_a_grown_decaying_sum_keeps_its_rows_and_adds_those_of_a_zeros_sum(data, first, cut):
    """Rows joining a sum part way (the heading tracker's rate observations) give, bit for
    bit, what a sum of their own begun as zeros gives, and the old rows go on unchanged."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(5, first + 300))
    zi = rng.normal(size=3)
    alone = numeric.DecayingSum(0.999, zi)
    alone.run(x[:3, :first])
    extra = alone.zeros(2)
    grown = numeric.DecayingSum(0.999, zi)
    grown.run(x[:3, :first])
    grown = grown.grown(2)
    for a, b in ((first, first + cut), (first + cut, first + 300)):
        got = grown.run(x[:, a:b])
        assert got[:3].tobytes() == alone.run(x[:3, a:b]).tobytes()
        assert got[3:].tobytes() == extra.run(x[3:, a:b]).tobytes()


def test_scaling_a_decaying_sum_scales_the_weight_of_the_past():
    x = np.random.default_rng(5).normal(size=(2, 300))
    zi = np.array([1.0, -2.0])
    f = numeric.DecayingSum(0.99, zi)
    a = f.run(x[:, :100])
    f.scale(0.25)
    b = f.run(x[:, 100:])
    want_a, zf = _lfilter(x[:, :100], 0.99, zi)
    want_b, _ = _lfilter(x[:, 100:], 0.99, 0.25 * zf[:, 0])
    assert np.allclose(a, want_a, rtol=0, atol=1e-12) and np.allclose(b, want_b, atol=1e-12)


def test_a_decay_factor_outside_its_range_is_refused():
    with pytest.raises(ValueError, match="decay factor"):
        numeric.DecayingSum(0.2, np.zeros(1))


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match="size"):
        numeric.running_min(np.zeros(3), 0)
    with pytest.raises(ValueError, match="origin"):
        numeric.running_min(np.zeros(3), 3, origin=2)
    with pytest.raises(ValueError, match="mode"):
        numeric.median_filter(np.zeros(3), 3, mode="wrap")
    with pytest.raises(ValueError, match="1-D"):
        numeric.running_max(np.zeros((2, 2)), 2)


def test_a_running_extreme_over_several_chunks(monkeypatch):
    monkeypatch.setattr(numeric, "RUN_CHUNK", 50)
    x = np.random.default_rng(9).integers(-1000, 1000, 2000)
    for size, origin in ((7, 0), (8, -1), (61, 30), (200, 0)):
        want = ndimage.minimum_filter1d(x, size, origin=origin, mode="nearest")
        assert numeric.running_min(x, size, origin).tobytes() == want.tobytes()
    assert numeric.grey_closing(x, 12).tobytes() == ndimage.grey_closing(x, size=12).tobytes()
