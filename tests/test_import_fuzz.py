"""Damaged import files give a clear ImuhipError, never another exception (bounded fuzzing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imuhip.errors import ImuhipError
from imuhip.files.importers import read_file
from imuhip.files.importers.base import ImportOptions
from imuhip.files.importers.witmotion_sd import encode_frames

DOT = (
    "sep=,\nDeviceTag:,a\nFirmwareVersion:,1.6.0\nStartTime: ,2021-08-30_17:05:05_000 GMT+8\n\n"
    "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z\n"
    + "".join(f"{i},{1000 + 8333 * i},0.1,0.2,9.8,1.5,-2.5,0.5\n" for i in range(30))
)
POLAR = "Phone timestamp;sensor timestamp [ns];X [dps];Y [dps];Z [dps]\n" + "".join(
    f"2022-04-25T11:39:37.357;{704201974831222483 + 19340000 * i};0.35;0.14;1.19\n"
    for i in range(30)
)
META = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n" + "".join(
    f"{1573549524000 + 40 * i},2019-11-12T10.05.24.178,{0.04 * i:.3f},0.01,0.02,0.99\n"
    for i in range(30)
)
WIT = "Time\tChipTime\tax(g)\tay(g)\taz(g)\twx(deg/s)\twy(deg/s)\twz(deg/s)\n" + "".join(
    f"x\t10:00:{i // 10:02d}.{(i % 10) * 100:03d}\t0,01\t0,02\t0,99\t1,5\t2,5\t0,5\n"
    for i in range(30)
)
SD = encode_frames(np.tile([0.0, 0.0, 1.0], (30, 1)), np.zeros((30, 3)))
SEEDS = [s.encode() for s in (DOT, POLAR, META, WIT)] + [SD]


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(0, len(SEEDS) - 1),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 255), st.sampled_from(["set", "cut", "ins"])),
        min_size=1,
        max_size=6,
    ),
)
def test_damaged_vendor_files_raise_clear_errors(tmp_path: Path, which, edits):
    data = bytearray(SEEDS[which])
    for where, byte, how in edits:
        i = int(where * (len(data) - 1))
        if how == "set":
            data[i] = byte
        elif how == "cut":
            del data[i:]
            if not data:
                data = bytearray(b"x")
        else:
            data[i:i] = bytes([byte])
    p = tmp_path / "f.dat"
    p.write_bytes(bytes(data))
    try:
        read_file(p, ImportOptions(rate_hz=100.0))
    except ImuhipError as exc:
        assert str(exc) and "np.float64" not in str(exc)


def test_a_polar_timestamp_beyond_int64_is_a_clear_error(tmp_path):
    """Found by the fuzz test: digits inserted into a sensor timestamp overflowed int64."""
    text = POLAR.replace(";704201974831222483;", ";70420197483122248300000;", 1)
    assert text != POLAR
    p = tmp_path / "x_GYRO.txt"
    p.write_text(text)
    with pytest.raises(ImuhipError, match="not a whole number of nanoseconds"):
        read_file(p, ImportOptions())
