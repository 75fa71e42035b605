"""Window rank filters over 1-D input: a median by blocks of shared windows, and the running
minimum, maximum and grey closing with the edges repeated.

:func:`window_min`, :func:`window_max` and :func:`closing` give exactly the numbers of
:func:`imuhip.align.numeric.running_min`, ``running_max`` and ``grey_closing`` in
``"nearest"`` mode, by the same van Herk / Gil-Werman blocks (the extreme of a window is
that of the suffix of one block of ``size`` and the prefix of the next), the blocks' prefix
and suffix extremes taken down the columns of a transposed view, a bounded piece at a time.

:func:`sliding_median` gives exactly the numbers of :func:`imuhip.align.numeric.median_filter`
(the same element of each window is selected; nothing is computed) with much less sorting
where the window is long: consecutive windows share all but a few samples. For ``b``
consecutive outputs the samples all their windows hold (the *core*, ``size - b + 1`` of them)
are sorted once; each window adds ``b - 1`` of its own (the *extras*). At most ``b - 1`` extras
can lie under a window's median, and at most ``b - 1`` over it, so the median is the element of
rank ``b - 1`` among the core's ``b`` middle elements (ranks ``r - b + 1 .. r``, ``r = size //
2``) and the window's extras; those ``2b - 1`` values are partitioned per window instead of
its ``size``. Pure functions, any units.
"""

from __future__ import annotations

import math

import numpy as np

from imuhip.align.numeric import median_filter, running_max, running_min

#: Windows shorter than this go to :func:`~imuhip.align.numeric.median_filter` as they are.
MIN_SIZE = 33
#: Outputs made at a time (bounds the temporaries: about ``size`` values per block and
#: ``2b - 1`` per output).
CHUNK = 1 << 14

_PAD = {"nearest": "edge", "reflect": "symmetric"}
#: A running minimum or maximum makes about this many outputs at a time.
RUN_CHUNK = 1 << 16


def sliding_median(x: np.ndarray, size: int, mode: str = "nearest") -> np.ndarray:
    """Each sample's window's median (:func:`imuhip.align.numeric.median_filter` of ``x``,
    ``size``, ``mode``: the same numbers), by blocks of shared windows for odd ``size`` of
    at least :data:`MIN_SIZE` and finite ``x`` (otherwise by ``median_filter`` itself)."""
    x = np.asarray(x)
    if (
        x.ndim != 1
        or size % 2 == 0
        or size < MIN_SIZE
        or mode not in _PAD
        or not len(x)
        or not np.isfinite(x).all()
    ):
        return median_filter(x, size, mode=mode)
    n = len(x)
    r = size // 2
    b = math.isqrt(size)  # outputs per block: at most (size + 1) / 2
    blocks = -(-n // b)
    # window i is y[i : i + size]; the last block's outputs past n read an edge repeated
    y = np.pad(x, (r, r), mode=_PAD[mode])
    y = np.concatenate([y, np.full(blocks * b - n, y[-1], y.dtype)])
    core = np.lib.stride_tricks.sliding_window_view(y, size - b + 1)
    side = np.r_[np.arange(b - 1), size + np.arange(b - 1)]  # a block's extras, both sides
    out = np.empty(blocks * b, x.dtype)
    per = max(1, CHUNK // b)
    for k0 in range(0, blocks, per):
        i0 = b * np.arange(k0, min(blocks, k0 + per))  # each block's first output
        mid = np.sort(core[i0 + b - 1], axis=1)[:, r - b + 1 : r + 1]  # (K, b)
        # window j of a block adds the b - 1 extras from the j-th on: a sliding window
        extras = np.lib.stride_tricks.sliding_window_view(y[i0[:, None] + side], b - 1, axis=1)
        cand = np.concatenate([np.broadcast_to(mid[:, None, :], (len(i0), b, b)), extras], axis=2)
        out[i0[0] : i0[-1] + b] = np.partition(cand, b - 1, axis=2)[:, :, b - 1].ravel()
    return out[:n]


def _extreme(op: np.ufunc, x: np.ndarray, size: int, origin: int) -> np.ndarray:
    """``op`` (np.minimum or np.maximum) over each sample's window (edges repeated)."""
    n = len(x)
    out = np.empty(n, x.dtype)
    before = size // 2 + origin
    step = max(RUN_CHUNK // size, 1) * size
    for a in range(0, n, step):
        k = min(step, n - a)
        blocks = -(-(k + size - 1) // size)
        lo, hi = a - before, a - before + blocks * size  # the piece's samples: x[lo:hi]
        piece = np.concatenate(
            [
                np.full(max(0, -lo), x[0]),
                x[max(lo, 0) : min(hi, n)],
                np.full(max(0, hi - n), x[-1]),
            ]
        )
        cols = piece.reshape(blocks, size).T  # column j: block j
        pre = op.accumulate(cols, axis=0).T.ravel()  # each block's prefix extremes
        suf = op.accumulate(cols[::-1], axis=0)[::-1].T.ravel()  # and suffix extremes
        out[a : a + k] = op(suf[:k], pre[size - 1 : size - 1 + k])
    return out


def _plain(x: np.ndarray, size: int, origin: int) -> bool:
    """Whether the window needs :mod:`imuhip.align.numeric` (its checks, errors, copies)."""
    return x.ndim != 1 or not len(x) or size <= 1 or not 0 <= size // 2 + origin <= size - 1


def window_min(x: np.ndarray, size: int, origin: int = 0) -> np.ndarray:
    """Minimum over each sample's window of ``size``, edges repeated
    (:func:`imuhip.align.numeric.running_min` in ``"nearest"`` mode: the same numbers)."""
    x = np.asarray(x)
    if _plain(x, size, origin):
        return running_min(x, size, origin, mode="nearest")
    return _extreme(np.minimum, x, size, origin)


def window_max(x: np.ndarray, size: int, origin: int = 0) -> np.ndarray:
    """Maximum over each sample's window of ``size``, edges repeated
    (:func:`imuhip.align.numeric.running_max` in ``"nearest"`` mode: the same numbers)."""
    x = np.asarray(x)
    if _plain(x, size, origin):
        return running_max(x, size, origin, mode="nearest")
    return _extreme(np.maximum, x, size, origin)


def closing(x: np.ndarray, size: int) -> np.ndarray:
    """Grey closing with a flat window of ``size``, edges repeated
    (:func:`imuhip.align.numeric.grey_closing` in ``"nearest"`` mode: the same numbers)."""
    return window_min(window_max(x, size, -1 if size % 2 == 0 else 0), size, 0)
