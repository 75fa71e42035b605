import numpy as np
import pytest

from imuhip.samples import ImuSamples


def _block(t0: float, n: int, mag: bool) -> ImuSamples:
    t = t0 + np.arange(n) * 0.01
    m = np.ones((n, 3)) if mag else None
    return ImuSamples(t, np.zeros((n, 3)), np.zeros((n, 3)), m)


def test_shape_checked():
    with pytest.raises(ValueError, match="acc must have shape"):
        ImuSamples(np.zeros(3), np.zeros((2, 3)), np.zeros((3, 3)))


def test_concatenate_drops_mag_unless_all_have_it():
    both = ImuSamples.concatenate([_block(0, 3, True), _block(1, 2, True)])
    assert len(both) == 5 and both.mag is not None
    mixed = ImuSamples.concatenate([_block(0, 3, True), _block(1, 2, False)])
    assert mixed.mag is None
    assert ImuSamples.concatenate([]).t.shape == (0,)


def test_slice_shares_memory_unless_copied():
    b = _block(0, 100, True)
    view, own = b.slice(90, 100), b.slice(90, 100, copy=True)
    for name in ("t", "acc", "gyr", "mag"):
        assert np.shares_memory(getattr(view, name), getattr(b, name))
        assert not np.shares_memory(getattr(own, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(own, name), getattr(view, name))
    assert own.quat is None
