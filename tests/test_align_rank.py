"""The blocked median filter gives the numbers of the plain one."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip.align.numeric import grey_closing, median_filter, running_max, running_min
from imuhip.align.rank import closing, sliding_median, window_max, window_min


@pytest.mark.parametrize("mode", ["nearest", "reflect"])
def test_sliding_median_selects_what_the_median_filter_selects(mode):
    rng = np.random.default_rng(7)
    for n in (1, 7, 40, 241, 242, 1000, 2161):
        for size in (33, 35, 241, 481):
            x = rng.normal(size=n)
            if n % 2:  # ties: a quantised signal
                x = np.round(x, 1)
            want = median_filter(x, size, mode)
            np.testing.assert_array_equal(sliding_median(x, size, mode), want)


def test_sliding_median_leaves_short_even_and_non_finite_windows_to_the_median_filter():
    rng = np.random.default_rng(8)
    x = rng.normal(size=300)
    for size in (5, 34):
        np.testing.assert_array_equal(sliding_median(x, size), median_filter(x, size))
    x[100] = np.nan
    np.testing.assert_array_equal(sliding_median(x, 41), median_filter(x, 41))
    with pytest.raises(ValueError, match="mode"):
        sliding_median(x[:50], 41, "wrap")


def test_window_extremes_and_closing_are_the_running_filters():
    rng = np.random.default_rng(9)
    for n in (1, 3, 99, 100, 101, 5000, 70_001):
        for size in (1, 2, 5, 68, 100):
            for origin in {0, -(size // 2), size - 1 - size // 2}:
                for x in (rng.normal(size=n), rng.integers(-50, 50, n)):
                    for ours, theirs in ((window_min, running_min), (window_max, running_max)):
                        got, want = ours(x, size, origin), theirs(x, size, origin, mode="nearest")
                        assert got.dtype == want.dtype
                        np.testing.assert_array_equal(got, want)
            x = rng.integers(-50, 50, n)
            np.testing.assert_array_equal(closing(x, size), grey_closing(x, size, mode="nearest"))
    x = rng.normal(size=500)
    x[[0, 250]] = np.nan  # a NaN in a window makes its extreme NaN, as there
    np.testing.assert_array_equal(window_min(x, 9), running_min(x, 9, mode="nearest"))
    with pytest.raises(ValueError, match="origin"):
        window_max(x, 5, 3)
