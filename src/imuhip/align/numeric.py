"""Small numpy filters: running minimum and maximum, a rank (median) filter, a grey closing and
a first-order recursive filter over 1-D arrays.

They give exactly the numbers of their ``scipy.ndimage`` / ``scipy.signal`` namesakes for the
arguments used here (``tests/test_numeric.py`` checks them against scipy) without importing
scipy, whose signal and image packages would cost more memory than a long session's analysis
holds. Windows follow scipy's conventions: a window of ``size`` samples centred on each one
(``size // 2`` before it), moved ``origin`` samples earlier; edges are extended as scipy's
``mode`` says (``"nearest"``: the edge value repeated; ``"reflect"``: mirrored about the edge,
edge sample included). Pure functions, any units.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: scipy's edge modes -> numpy's padding modes.
_PAD = {"nearest": "edge", "reflect": "symmetric"}

#: A rank filter sorts this many windows at a time (its temporary memory is bounded).
RANK_CHUNK = 4096


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
    the next)."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"a 1-D array is needed, not shape {x.shape}")
    before, after = _window(size, origin)
    n = len(x)
    if n == 0 or size == 1:
        return x.copy()
    y = _padded(x, before, after, mode)
    m = -(-len(y) // size) * size
    fill = y[-1]  # padding the last block with its own edge leaves every extreme unchanged
    blocks = np.concatenate([y, np.full(m - len(y), fill, y.dtype)]).reshape(-1, size)
    pre = op.accumulate(blocks, axis=1).ravel()
    suf = op.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return op(suf[:n], pre[size - 1 : size - 1 + n])


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
    upper one of an even window: ``scipy.ndimage.median_filter``), sorted a bounded number of
    windows at a time."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"a 1-D array is needed, not shape {x.shape}")
    before, after = _window(size, 0)
    if len(x) == 0:
        return x.copy()
    y = _padded(x, before, after, mode)
    win = np.lib.stride_tricks.sliding_window_view(y, size)
    out = np.empty(len(x), x.dtype)
    r = size // 2
    for a in range(0, len(x), RANK_CHUNK):
        out[a : a + RANK_CHUNK] = np.partition(win[a : a + RANK_CHUNK], r, axis=1)[:, r]
    return out


def decaying_sum(x: np.ndarray, lam: float, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y[:, n] = x[:, n] + lam * y[:, n - 1]`` along the rows of ``x`` (R, N), starting from
    ``lam * y[:, -1] = zi`` (R,); returns ``(y, zf)`` with ``zf = lam * y[:, -1]``, the state
    for the next chunk. For finite ``x``: the same operations in the same order as
    ``scipy.signal.lfilter([1], [1, -lam], x, axis=1, zi=zi[:, None])``, so the same bits
    (a recursion: one pass per row over plain floats)."""
    x = np.asarray(x, np.float64)
    lam = float(lam)
    y = np.empty_like(x)
    zf = np.empty(len(x))
    for i, row in enumerate(x):
        z = float(zi[i])
        out: list[float] = []
        put = out.append
        for v in row.tolist():
            yn = z + v
            put(yn)
            z = yn * lam
        y[i] = out
        zf[i] = z
    return y, zf
