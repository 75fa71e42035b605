"""What compiled kernels (numba) would give the analysis: the evidence for issue #15's speed target.

Not a dependency of imuhip: run it in an environment that has numba (``pip install numba``); it
says so and stops otherwise. It measures, in this process:

- what importing numba adds to a command's start (numpy already imported);
- two of the analysis's per-sample computations as numba kernels against imuhip's own code on
  one hour of one sensor at 100 Hz (360,000 samples): the quaternion rotation of vectors
  (:func:`imuhip.quaternion.rotate`, numpy) and an exponential running average stepped in
  Python floats (the detector's rest angle, :meth:`ExerciseDetector._quiet_rest`), each with
  its first call's compile time and whether the results are bit-identical;
- the installed size of numba and llvmlite.

    python bench/compiled_kernels.py
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from imuhip.quaternion import rotate


def _best(f, runs: int = 5) -> float:
    best = np.inf
    for _ in range(runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def _size_mib(package: str) -> float:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return float("nan")
    root = Path(spec.origin).parent
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def _ema_python(x: np.ndarray, rest: float, alpha: float) -> list[float]:
    """The detector's form: the running value after each sample, in Python floats."""
    out = []
    keep = out.append
    for v in x.tolist():
        rest += alpha * (v - rest)
        keep(rest)
    return out


def main() -> None:
    if importlib.util.find_spec("numba") is None:
        print("numba is not installed here (pip install numba): nothing to measure")
        sys.exit(0)
    t = time.perf_counter()
    import numba

    imported = time.perf_counter() - t

    @numba.njit
    def rotate_kernel(q, v, out):
        for i in range(q.shape[0]):
            w, x, y, z = q[i, 0], q[i, 1], q[i, 2], q[i, 3]
            v0, v1, v2 = v[i, 0], v[i, 1], v[i, 2]
            t0 = 2.0 * (y * v2 - z * v1)
            t1 = 2.0 * (z * v0 - x * v2)
            t2 = 2.0 * (x * v1 - y * v0)
            out[i, 0] = v0 + w * t0 + (y * t2 - z * t1)
            out[i, 1] = v1 + w * t1 + (z * t0 - x * t2)
            out[i, 2] = v2 + w * t2 + (x * t1 - y * t0)
        return out

    @numba.njit
    def ema_kernel(x, rest, alpha, out):
        for i in range(x.shape[0]):
            rest += alpha * (x[i] - rest)
            out[i] = rest
        return out

    print(f"numba {numba.__version__}, numpy {np.__version__}")
    print(f"import numba: +{imported:.3f} s on top of numpy (every command's start)")
    rng = np.random.default_rng(0)
    n = 360_000  # one hour of one sensor at 100 Hz
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    v = rng.normal(size=(n, 3))
    out = np.empty((n, 3))
    t = time.perf_counter()
    rotate_kernel(q[:8], v[:8], out[:8])
    compiled = time.perf_counter() - t
    a, b = _best(lambda: rotate(q, v)), _best(lambda: rotate_kernel(q, v, out))
    same = np.array_equal(rotate(q, v), rotate_kernel(q, v, out))
    print(f"rotate, 360,000 vectors: numpy {a * 1e3:.1f} ms, kernel {b * 1e3:.2f} ms "
          f"({a / b:.0f}x); first call compiles {compiled:.2f} s; identical: {same}")  # fmt: skip
    x = rng.normal(size=n)
    e = np.empty(n)
    t = time.perf_counter()
    ema_kernel(x[:8], 0.0, 0.01, e[:8])
    compiled = time.perf_counter() - t
    a = _best(lambda: _ema_python(x, 0.0, 0.01), 3)
    b = _best(lambda: ema_kernel(x, 0.0, 0.01, e))
    same = np.array_equal(np.array(_ema_python(x, 0.0, 0.01)), ema_kernel(x, 0.0, 0.01, e))
    print(f"running average, 360,000 samples: Python {a * 1e3:.1f} ms, kernel {b * 1e3:.2f} ms "
          f"({a / b:.0f}x); first call compiles {compiled:.2f} s; identical: {same}")  # fmt: skip
    sizes = ", ".join(f"{m} {_size_mib(m):.0f} MiB" for m in ("numba", "llvmlite"))
    print(f"installed: {sizes}")


if __name__ == "__main__":
    main()
