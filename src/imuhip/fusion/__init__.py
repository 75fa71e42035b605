"""Orientation per sensor from gyro + accelerometer (+ magnetometer): see :mod:`.orientation`."""

from imuhip.fusion.orientation import (
    DEFAULT_METHOD,
    METHODS,
    OrientationFilter,
    estimate_orientation,
    initial_orientation,
)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "OrientationFilter",
    "estimate_orientation",
    "initial_orientation",
]
