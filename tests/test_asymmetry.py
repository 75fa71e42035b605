"""Left/right asymmetry: reps paired in time, differences and indices, the noise floor."""

from __future__ import annotations

import pytest

from imuhip.analysis.asymmetry import (
    RANGE_NOISE_DEG,
    asymmetry,
    asymmetry_index,
    pair_holds,
    pair_reps,
)
from imuhip.analysis.events import Hold, Rep


def _rep(peak_s: float, range_deg: float, half: float = 1.0) -> Rep:
    return Rep(peak_s - half, peak_s, peak_s + half, range_deg, range_deg)


def test_index_is_left_minus_right_over_the_larger():
    assert asymmetry_index(30.0, 20.0) == pytest.approx(100 / 3)
    assert asymmetry_index(20.0, 30.0) == pytest.approx(-100 / 3)
    assert asymmetry_index(0.0, 0.0) is None
    assert asymmetry_index(float("nan"), 3.0) is None


def test_reps_pair_with_the_nearest_partner_in_time_and_only_once():
    left = [_rep(2.0, 30), _rep(6.0, 32), _rep(10.0, 31)]
    right = [_rep(2.4, 25), _rep(6.1, 26), _rep(6.5, 20), _rep(20.0, 30)]
    pairs = pair_reps(left, right)
    assert [(a.peak_s, b.peak_s) for a, b in pairs] == [(2.0, 2.4), (6.0, 6.1)]
    a = asymmetry(left, right)
    assert [r.peak_s for r in a.unpaired_left] == [10.0]
    assert [r.peak_s for r in a.unpaired_right] == [6.5, 20.0]
    assert a.mean_range_diff_deg == pytest.approx(((30 - 25) + (32 - 26)) / 2)
    assert a.range_index_pct == pytest.approx(100 * (31 - 25.5) / 31)


def test_slow_reps_pair_over_a_wider_window():
    """Reps of 10 s pair with peaks 3 s apart (half the shorter rep); 1 s reps do not."""
    assert pair_reps([_rep(10, 30, 5)], [_rep(13, 30, 5)])
    assert not pair_reps([_rep(10, 30, 0.5)], [_rep(13, 30, 0.5)])


def test_small_differences_are_within_the_noise():
    a = asymmetry([_rep(2, 30.0)], [_rep(2.1, 30.0 - RANGE_NOISE_DEG / 2)])
    assert a.rep_pairs[0].within_noise
    b = asymmetry([_rep(2, 30.0)], [_rep(2.1, 22.0)])
    assert not b.rep_pairs[0].within_noise and b.rep_pairs[0].range_diff_deg == pytest.approx(8)


def test_holds_pair_by_overlap_and_compare_effort_as_power_above_rest():
    left = [Hold(10, 30, 5.0, 0.3, 20.0), Hold(50, 70, 5.0, 0.3, 10.0)]
    right = [Hold(11, 29, 3.0, 0.3, 17.0), Hold(80, 90, 3.0, 0.3, 9.0)]
    assert [(a.start_s, b.start_s) for a, b in pair_holds(left, right)] == [(10, 11)]
    a = asymmetry([], [], left, right)
    (p,) = a.hold_pairs
    assert p.effort_diff_db == pytest.approx(3.0)
    # 20 dB is 99 rest powers above rest, 17 dB about 49: the left leg worked twice as hard
    assert p.effort_index_pct == pytest.approx(100 * (99 - (10**1.7 - 1)) / 99)
    assert p.duration_diff_s == pytest.approx(2.0) and p.mean_diff_deg == pytest.approx(2.0)
    assert a.as_dict()["noise_floor"] == {"range_deg": 2.1, "effort_db": 3.0}


def test_holds_without_an_effort_figure_compare_only_time_and_angle():
    a = asymmetry([], [], [Hold(0, 10, 4.0, 0.2, None)], [Hold(1, 9, 4.0, 0.2, 12.0)])
    assert a.hold_pairs[0].effort_diff_db is None and a.mean_effort_diff_db is None
    assert a.effort_index_pct is None
