"""Exception types. Every message says what went wrong and what the user can do about it."""


class ImuhipError(Exception):
    """Base class of all errors imuhip raises on purpose."""


class SessionFileError(ImuhipError):
    """A session file cannot be opened or read (not a session file, unreadable header)."""


class SessionFormatVersionError(SessionFileError):
    """The session file was written by an incompatible (newer) format version."""


class CsvImportError(ImuhipError):
    """A CSV file cannot be imported; the message names the file, the line and the problem."""


class DecodeError(ImuhipError):
    """Raised only by strict helpers; streaming decoders count drops instead of raising."""


class UnknownProfileError(ImuhipError):
    """No decoder/profile is registered under the requested name."""


class CalibrationError(ImuhipError):
    """The calibration movements were not found or not good enough; the message says which."""


class FusionError(ImuhipError, ValueError):
    """Orientation fusion got unusable input or settings (shape, NaN, unknown method/parameter)."""


class ClockModelError(ImuhipError):
    """Sensor or host times cannot be aligned (mismatched, non-finite or missing input)."""


class BluetoothUnavailableError(ImuhipError):
    """No usable Bluetooth stack (no system Bluetooth service, no adapter, a bumble transport
    that cannot be opened); the message says what is missing and what to try instead."""


class UnknownExerciseError(ImuhipError, ValueError):
    """An ``--exercise`` name that is neither a start pose nor a technique imuhip knows; the
    message suggests the closest names."""
