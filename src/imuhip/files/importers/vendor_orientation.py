"""A sensor imported from an orientation-only file (the Movella DOT "Extended" modes).

Such a sensor has no gyroscope or raw accelerometer: its data are the vendor's orientation
(quaternions, sensor to local earth, ENU) and free acceleration. For the import's checks and
time alignment (which use the gyroscopes) it is presented as samples with the angular rate and
specific force derived from the orientation (:func:`imuhip.fusion.vendor.vendor_samples`, the
quaternions kept as ``quat``); the session file stores the orientation itself
(:func:`imuhip.files.session_file.write_session`).
"""

from __future__ import annotations

import numpy as np

from imuhip.errors import CsvImportError
from imuhip.files.importers.base import FileContents, OrientationKind
from imuhip.files.importers.sanity import MAX_RATE_HZ, MIN_RATE_HZ
from imuhip.files.importers.sensor import SensorData
from imuhip.fusion.vendor import clean_orientation, vendor_samples
from imuhip.samples import OrientationSamples


def is_orientation_only(files: list[FileContents]) -> bool:
    """Whether a sensor's files hold an orientation and no inertial channels."""
    return bool(files) and all(not f.channels and f.orientation is not None for f in files)


def vendor_sensor(role: str, files: list[FileContents]) -> SensorData:
    """The sensor of an orientation-only file: samples derived from its orientation (with the
    quaternions as ``quat``) on the file's clock."""
    if len(files) != 1:
        names = ", ".join(f.path.name for f in files)
        raise CsvImportError(
            f"{role} ({names}): an orientation-only export is a sensor's whole recording; "
            "give one file for it"
        )
    f = files[0]
    o = f.orientation
    assert o is not None and o.kind is OrientationKind.QUATERNION
    clean, dropped = clean_orientation(OrientationSamples(o.t, o.values, o.free_acc))
    if len(clean) < 2:
        raise CsvImportError(f"{f.path}: fewer than two samples with a usable orientation")
    rate = 1.0 / float(np.median(np.diff(clean.t)))
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise CsvImportError(
            f"{f.path}: the times give a sample rate of {rate:.4g} Hz, outside the "
            f"{MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz of body-worn sensors"
        )
    notes = (f"{role}: {dropped} unusable orientation sample(s) left out",) if dropped else ()
    return SensorData(role, vendor_samples(clean), f.origin, (f,), rate, f.gaps, notes)
