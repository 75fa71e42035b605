"""The blocked median filter gives the numbers of the plain one."""

from __future__ import annotations

import numpy as np
import pytest

from imuhip.align.numeric import median_filter
from imuhip.align.rank import sliding_median


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
