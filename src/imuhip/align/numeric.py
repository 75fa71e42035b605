"""Small numpy filters: running minimum and maximum, a rank (median) filter and a grey closing
over 1-D arrays, and a streaming first-order recursive filter over the rows of chunks.

The window filters give exactly the numbers of their ``scipy.ndimage`` namesakes for finite
input, the recursion those of ``scipy.signal.lfilter`` to rounding (``tests/test_numeric.py``
checks them against scipy), without importing scipy, whose signal and image packages would
cost more memory than a long session's analysis holds. Unlike scipy, a NaN inside a window
makes its minimum or maximum NaN (scipy's result there depends on where in the window it is),
and a reflect-mode window over twice the input mirrors it again and again (scipy reads
uninitialised memory there). Windows follow scipy's conventions: a window of ``size`` samples
centred on each one (``size // 2`` before it), moved ``origin`` samples earlier; edges are
extended as scipy's ``mode`` says (``"nearest"``: the edge value repeated; ``"reflect"``:
mirrored about the edge, edge sample included). Pure functions, any units.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: scipy's edge modes -> numpy's padding modes.
_PAD = {"nearest": "edge", "reflect": "symmetric"}

#: A rank filter sorts this many windows at a time (its temporary memory is bounded).
RANK_CHUNK = 4096
#: A running minimum or maximum gives about this many outputs at a time.
RUN_CHUNK = 1 << 16
#: Odd median windows of at least this many samples are taken by blocks of shared windows.
SHARED_MIN_SIZE = 33
#: Medians by shared windows made at a time (bounds the temporaries: about ``size`` values
#: per block and ``2b - 1`` per output).
SHARED_CHUNK = 1 << 14


def _padded(x: np.ndarray, before: int, after: int, mode: str) -> np.ndarray:
    try:
        pad = _PAD[mode]
    except KeyError:
        raise ValueError(f"mode must be one of {sorted(_PAD)}, not {mode!r}") from None
    return np.pad(x, (before, after), mode=pad)


def _window(size: int, origin: int) -> tuple[int, int]:
    """Samples (before, after) each output's own in its window."""
    if size < 1:
        raise ValueError(f"the window size must be at least 1, not {size}")
    before = size // 2 + origin
    if not 0 <= before <= size - 1:
        raise ValueError(f"origin {origin} puts the window of {size} off its sample")
    return before, size - 1 - before


def _running(
    op: Callable[..., np.ndarray], x: np.ndarray, size: int, origin: int, mode: str
) -> np.ndarray:
    """``op`` (np.minimum or np.maximum) over each window, in O(n): van Herk / Gil-Werman
    (the extreme of a window is that of the suffix of one block of ``size`` and the prefix of
    the next; the blocks' prefix and suffix extremes are taken down the columns of a
    transposed view), ``RUN_CHUNK`` outputs at a time (its temporary memory is bounded)."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"a 1-D array is needed, not shape {x.shape}")
    before, after = _window(size, origin)
    n = len(x)
    if n == 0 or size == 1:
        return x.copy()
    if mode == "nearest":  # the edges repeated: each piece made, no padded copy of x

        def piece(a: int, b: int) -> np.ndarray:
            lo, hi = a - before, b - before  # x[lo:hi], edges repeated
            return np.concatenate(
                [
                    np.full(max(0, -lo), x[0]),
                    x[max(lo, 0) : min(hi, n)],
                    np.full(max(0, hi - n), x[-1]),
                ]
            )
    else:
        y = _padded(x, before, after, mode)

        def piece(a: int, b: int) -> np.ndarray:
            seg = y[a:b]  # padding the last block with its own edge leaves every extreme as is
            return np.concatenate([seg, np.full(b - a - len(seg), seg[-1], x.dtype)])

    out = np.empty(n, x.dtype)
    step = max(RUN_CHUNK // size, 1) * size
    for a in range(0, n, step):
        k = min(step, n - a)
        blocks = -(-(k + size - 1) // size)
        cols = piece(a, a + blocks * size).reshape(blocks, size).T  # column j: block j
        pre = op.accumulate(cols, axis=0).T.ravel()  # each block's prefix extremes
        suf = op.accumulate(cols[::-1], axis=0)[::-1].T.ravel()  # and its suffix extremes
        out[a : a + k] = op(suf[:k], pre[size - 1 : size - 1 + k])
    return out


def running_min(x: np.ndarray, size: int, origin: int = 0, mode: str = "nearest") -> np.ndarray:
    """Minimum over each sample's window of ``size`` (``scipy.ndimage.minimum_filter1d``)."""
    return _running(np.minimum, x, size, origin, mode)


def running_max(x: np.ndarray, size: int, origin: int = 0, mode: str = "nearest") -> np.ndarray:
    """Maximum over each sample's window of ``size`` (``scipy.ndimage.maximum_filter1d``)."""
    return _running(np.maximum, x, size, origin, mode)


def grey_closing(x: np.ndarray, size: int, mode: str = "nearest") -> np.ndarray:
    """Grey closing with a flat window of ``size`` (``scipy.ndimage.grey_closing``): a
    running maximum, then a running minimum, with scipy's placement of even windows."""
    return running_min(running_max(x, size, -1 if size % 2 == 0 else 0, mode), size, 0, mode)


def median_filter(x: np.ndarray, size: int, mode: str = "nearest") -> np.ndarray:
    """Each sample's window's element of rank ``size // 2`` (the median of an odd window, the
    upper one of an even window: ``scipy.ndimage.median_filter``), a bounded number of
    windows at a time; long odd windows over finite input by blocks of shared windows
    (:func:`_shared_median`: the same values; where 0.0 and -0.0 tie, either)."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"a 1-D array is needed, not shape {x.shape}")
    before, after = _window(size, 0)
    if len(x) == 0:
        return x.copy()
    y = _padded(x, before, after, mode)
    if size % 2 and size >= SHARED_MIN_SIZE and np.isfinite(x).all():
        return _shared_median(y, len(x), size)
    win = np.lib.stride_tricks.sliding_window_view(y, size)
    out = np.empty(len(x), x.dtype)
    r = size // 2
    for a in range(0, len(x), RANK_CHUNK):
        out[a : a + RANK_CHUNK] = np.partition(win[a : a + RANK_CHUNK], r, axis=1)[:, r]
    return out


def _shared_median(y: np.ndarray, n: int, size: int) -> np.ndarray:
    """The medians of the ``n`` windows of odd ``size`` of the padded ``y`` (window ``i`` is
    ``y[i : i + size]``), selecting exactly what a partition of each window would.

    For ``b`` consecutive outputs the samples all their windows hold (the *core*,
    ``size - b + 1`` of them) are sorted once; each window adds ``b - 1`` of its own (the
    *extras*). At most ``b - 1`` extras lie under a window's median and at most ``b - 1`` over
    it, so the median is the element of rank ``b - 1`` among the core's ``b`` middle elements
    (ranks ``r - b + 1 .. r``, ``r = size // 2``) and the window's extras: ``2b - 1`` values
    are partitioned per window instead of ``size``."""
    r = size // 2
    b = math.isqrt(size)  # outputs per block: at most (size + 1) / 2
    blocks = -(-n // b)
    # the last block's outputs past n read an edge repeated
    y = np.concatenate([y, np.full(blocks * b - n, y[-1], y.dtype)])
    core = np.lib.stride_tricks.sliding_window_view(y, size - b + 1)
    side = np.r_[np.arange(b - 1), size + np.arange(b - 1)]  # a block's extras, both sides
    out = np.empty(blocks * b, y.dtype)
    per = max(1, SHARED_CHUNK // b)
    for k0 in range(0, blocks, per):
        i0 = b * np.arange(k0, min(blocks, k0 + per))  # each block's first output
        mid = np.sort(core[i0 + b - 1], axis=1)[:, r - b + 1 : r + 1]  # (K, b)
        # window j of a block adds the b - 1 extras from the j-th on: a sliding window
        extras = np.lib.stride_tricks.sliding_window_view(y[i0[:, None] + side], b - 1, axis=1)
        cand = np.concatenate([np.broadcast_to(mid[:, None, :], (len(i0), b, b)), extras], axis=2)
        out[i0[0] : i0[-1] + b] = np.partition(cand, b - 1, axis=2)[:, :, b - 1].ravel()
    return out[:n]


class DecayingSum:
    """Streaming ``y[:, n] = x[:, n] + lam * y[:, n - 1]`` along the rows of chunks (R, N),
    from the state ``lam * y[:, -1] = zi`` (R,): ``scipy.signal.lfilter([1], [1, -lam], x,
    axis=1, zi=zi[:, None])`` to within 1e-12 of the summed magnitudes behind each value, for
    ``0.5 <= lam <= 1``.

    The samples fall in blocks of ``BLOCK`` counted from the first one: inside a block ``y`` is
    ``lam**r * (z + S_r)`` with ``z`` the state at the block's start and ``S_r`` the running
    sum of ``x * lam**-r`` (one sequential ``cumsum``), and each block's end gives the next
    block's ``z``. The operations are the same however the input is cut, so the output is
    identical bit for bit for any chunking.
    """

    BLOCK = 64

    def __init__(self, lam: float, zi: np.ndarray) -> None:
        lam = float(lam)
        if not 0.5 <= lam <= 1.0:
            raise ValueError(f"the decay factor must be within 0.5..1, not {lam}")
        self.lam = lam
        k = np.arange(self.BLOCK)
        self._p = lam**k  # lam**r
        self._inv = lam ** (-k)  # lam**-r
        self._z = np.array(zi, np.float64)  # the state at the current block's start
        self._s = np.zeros_like(self._z)  # the running sum inside the current block
        self._r = 0  # samples of the current block seen

    def zeros(self, rows: int) -> DecayingSum:
        """A sum of ``rows`` rows of zeros so far, at the same place in its blocks as this one:
        from here on it gives what rows added to this one from its start would have given."""
        z = DecayingSum(self.lam, np.zeros(rows))
        z._r = self._r
        return z

    def grown(self, rows: int) -> DecayingSum:
        """This sum with ``rows`` rows of zeros so far below its own: its own rows go on giving
        the same numbers (the rows are summed independently), the new ones what :meth:`zeros`
        would give."""
        g = DecayingSum(self.lam, np.r_[self._z, np.zeros(rows)])
        g._s = np.r_[self._s, np.zeros(rows)]
        g._r = self._r
        return g

    def scale(self, keep: float) -> None:
        """Multiply the state (the weight of everything summed so far) by ``keep``."""
        self._z = self._z * float(keep)
        self._s = self._s * float(keep)

    def run(self, x: np.ndarray) -> np.ndarray:
        """``y`` (R, N) of the next chunk ``x`` (R, N)."""
        x = np.asarray(x, np.float64)
        rows, n = x.shape
        if n == 0:
            return np.empty_like(x)
        b, r = self.BLOCK, self._r
        k = -(-(r + n) // b)  # the blocks the chunk reaches into (the first may be begun)
        # the chunk laid out in its blocks, each sample times lam**-r at its place r; before
        # the current block's next sample, its running sum so far (0.0 + s: the same sum)
        s = np.zeros((rows, k * b))
        s[:, r : r + n] = x
        s = s.reshape(rows, k, b)
        s *= self._inv
        s[:, :, 0] += 0.0  # as a sum from 0 does: -0.0 becomes 0.0
        if r:
            s[:, 0, r - 1] = self._s
        np.cumsum(s, axis=2, out=s)
        self._r = (r + n) % b
        # the running sum inside the block left begun (none: 0)
        self._s = s[:, -1, self._r - 1].copy() if self._r else np.zeros(rows)
        # the blocks' starts, one after the other: in Python floats (the same IEEE arithmetic
        # as on arrays of R values, without the per-block array calls); the last block's end
        # only if it is complete
        full = (r + n) // b
        lam, last = self.lam, float(self._p[-1])
        starts = []
        z_rows = []
        for z, ends in zip(self._z.tolist(), s[:, :full, -1].tolist(), strict=True):
            row = []
            for e in ends:
                row.append(z)
                z = lam * (last * (z + e))
            if full < k:
                row.append(z)
            starts.append(row)
            z_rows.append(z)
        self._z = np.array(z_rows)
        s += np.array(starts)[:, :, None]
        s *= self._p
        return s.reshape(rows, -1)[:, r : r + n]
