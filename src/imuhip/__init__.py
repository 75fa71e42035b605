"""imuhip: hip internal/external rotation from two Bluetooth LE IMUs (thigh and shin).

Pipeline (one for live and replay)::

    sources (ble, file, sim) -> decode -> align -> fusion -> joint -> analysis -> sinks

Conventions: SI units inside (m/s², rad/s, µT, s), degrees only at the user-facing surface,
quaternions ``[w, x, y, z]`` sensor-to-world, world frame ENU (z up), timestamps float64 seconds.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imuhip")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
