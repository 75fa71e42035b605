"""The streaming grid: independent of how samples are cut, and holding only what the next
grid point needs."""

import gc
import weakref

import numpy as np

from imuhip.align.grid import StreamingGrid
from imuhip.samples import ImuSamples


def _samples(t0: float, n: int, rate: float, seed: int) -> ImuSamples:
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate + rng.uniform(0, 0.2 / rate, n)
    return ImuSamples(t, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)))


def test_chunking_does_not_change_the_grid():
    a, b = _samples(0.003, 3000, 100.0, 1), _samples(0.007, 3000, 100.0, 2)
    whole = StreamingGrid(("thigh", "shin"), 100.0)
    whole.add("thigh", a)
    whole.add("shin", b)
    ref = whole.emit()
    assert ref is not None
    parts = StreamingGrid(("thigh", "shin"), 100.0)
    got = []
    for k in range(0, 3000, 250):  # the shin's pieces in two parts each
        parts.add("thigh", a.slice(k, k + 250))
        parts.add("shin", b.slice(k, k + 100))
        parts.add("shin", b.slice(k + 100, k + 250))
        c = parts.emit()
        if c is not None:
            got.append(c)
    np.testing.assert_array_equal(np.concatenate([c.t for c in got]), ref.t)
    for role in ("thigh", "shin"):
        for name in ("acc", "gyr"):
            joined = np.concatenate([getattr(c.samples[role], name) for c in got])
            np.testing.assert_array_equal(joined, getattr(ref.samples[role], name))


def test_the_grid_does_not_keep_a_whole_block_for_its_tail():
    # a released block is let go once emitted: the grid keeps its last samples in their own
    # memory (a view would keep the whole block, e.g. a 10-minute round, alive)
    g = StreamingGrid(("thigh", "shin"), 100.0)
    a, b = _samples(0.0, 60_000, 100.0, 3), _samples(0.0, 60_000, 100.0, 4)
    refs = [weakref.ref(x) for x in (a.t, a.acc, a.gyr, b.t, b.acc, b.gyr)]
    g.add("thigh", a)
    g.add("shin", b)
    chunk = g.emit()
    assert chunk is not None and len(chunk) > 59_000
    del a, b, chunk
    gc.collect()
    assert all(r() is None for r in refs)
    # and the grid goes on from the tail it kept
    g.add("thigh", _samples(600.0, 100, 100.0, 5))
    g.add("shin", _samples(600.0, 100, 100.0, 6))
    nxt = g.emit()
    assert nxt is not None and np.all(np.diff(nxt.t) > 0)
