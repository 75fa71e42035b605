"""The numpy filters of ``imuhip.align.numeric`` give scipy's numbers (scipy is installed for
the tests only as the reference), on random inputs including short arrays, edges, even and odd
windows and shifted origins."""

from __future__ import annotations

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
    mode = data.draw(st.sampled_from(["nearest", "reflect"]))
    want = ndimage.median_filter(x, size=size, mode=mode)
    assert numeric.median_filter(x, size, mode).tobytes() == want.tobytes()


def test_median_filter_over_more_windows_than_one_chunk():
    x = np.random.default_rng(3).normal(size=3 * numeric.RANK_CHUNK + 17)
    want = ndimage.median_filter(x, size=61, mode="reflect")
    assert numeric.median_filter(x, 61, "reflect").tobytes() == want.tobytes()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 200), rows=st.integers(1, 5))
def test_decaying_sum_equals_lfilter_bit_for_bit(data, n, rows):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    lam = data.draw(st.sampled_from([0.0, 0.5, 0.9, 0.999, 0.99995, 1.0]))
    x = rng.normal(size=(rows, n)) * 10.0 ** rng.integers(-3, 4, (rows, 1))
    zi = rng.normal(size=rows)
    y, zf = numeric.decaying_sum(x, lam, zi)
    want, wzf = signal.lfilter([1.0], [1.0, -lam], x, axis=1, zi=zi[:, None])
    assert y.tobytes() == want.tobytes()
    assert zf.tobytes() == wzf[:, 0].tobytes()


def test_an_empty_chunk_keeps_the_state():
    """(scipy's lfilter gives an uninitialised state for an empty chunk.)"""
    y, zf = numeric.decaying_sum(np.empty((2, 0)), 0.9, np.array([1.5, -2.0]))
    assert y.shape == (2, 0) and zf.tolist() == [1.5, -2.0]


def test_chunks_of_a_decaying_sum_continue_exactly():
    x = np.random.default_rng(5).normal(size=(3, 500))
    whole, _ = numeric.decaying_sum(x, 0.99, np.zeros(3))
    a, z = numeric.decaying_sum(x[:, :123], 0.99, np.zeros(3))
    b, _ = numeric.decaying_sum(x[:, 123:], 0.99, z)
    assert np.concatenate([a, b], axis=1).tobytes() == whole.tobytes()


def test_bad_windows_are_refused():
    with pytest.raises(ValueError, match="size"):
        numeric.running_min(np.zeros(3), 0)
    with pytest.raises(ValueError, match="origin"):
        numeric.running_min(np.zeros(3), 3, origin=2)
    with pytest.raises(ValueError, match="mode"):
        numeric.median_filter(np.zeros(3), 3, mode="wrap")
    with pytest.raises(ValueError, match="1-D"):
        numeric.running_max(np.zeros((2, 2)), 2)
