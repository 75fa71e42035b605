"""Exception types. Every message says what went wrong and what the user can do about it."""


class ImuhipError(Exception):
    """Base class of all errors imuhip raises on purpose."""


class SessionFileError(ImuhipError):
    """A session file cannot be opened or read (not a session file, unreadable header)."""


class HeaderValueError(ImuhipError, ValueError):
    """A session header field has the wrong type or an impossible value; the message names the
    field and the value (raised while building a header, wrapped in :class:`SessionFileError`
    when read from a file)."""


class SessionFormatVersionError(SessionFileError):
    """The session file was written by an incompatible (newer) format version."""


class CsvImportError(ImuhipError):
    """A CSV file cannot be imported; the message names the file, the line and the problem."""


class UnknownProfileError(ImuhipError):
    """No decoder/profile is registered under the requested name."""


class CalibrationError(ImuhipError):
    """The calibration movements were not found or not good enough; the message says which."""


class FusionError(ImuhipError, ValueError):
    """Orientation fusion got unusable input or settings (shape, NaN, unknown method/parameter)."""


class LostCalibrationDataError(CalibrationError):
    """The calibration's movements overlap data the sensors lost, so they cannot be trusted as
    they are (a later attempt, a stored calibration or the intact parts may still serve)."""


class ClockModelError(ImuhipError):
    """Sensor or host times cannot be aligned (mismatched, non-finite or missing input)."""


class DecoderConfigError(ImuhipError, ValueError):
    """A decoder setting (from a session header or a pairing) is unusable, e.g. a sample rate
    that is not a positive number of Hz; the message names the profile, the field and the value."""


class UnknownFormatError(CsvImportError):
    """An import file's format is not recognised, or ``--format`` names no known format."""


class TimeAlignmentError(CsvImportError):
    """Two imported sensors cannot be put on one time base (offset found but not resolved)."""


class BluetoothUnavailableError(ImuhipError):
    """No usable Bluetooth stack (no system Bluetooth service, no adapter, a bumble transport
    that cannot be opened); the message says what is missing and what to try instead."""


class BluetoothTimeoutError(ImuhipError):
    """The Bluetooth side of a session (its own thread, :mod:`imuhip.sources.ble.edge`) did
    not answer within its time bound; the message says which step."""


class SensorAssignmentError(ImuhipError, ValueError):
    """The sensors given for a session cannot be recorded together (a role twice, or one
    sensor's address for two roles); raised before anything is connected or written."""


class UnknownExerciseError(ImuhipError, ValueError):
    """An ``--exercise`` name that is neither a start pose nor a technique imuhip knows; the
    message suggests the closest names."""


class ProgramError(ImuhipError, ValueError):
    """A training program that cannot be used (TOML syntax, a missing or wrong field); the
    message names the file, the line or the field (``exercise[2].sets.hold_s``)."""


class SoundUnavailableError(ImuhipError):
    """No speech engine or audio output for the training cues (the message says which is
    missing and how to install it); ``imuhip train`` then goes on silently."""


class LayoutError(ImuhipError, ValueError):
    """The sensors of a session do not form a usable layout (see :mod:`imuhip.layout`): the
    message names the roles and what is missing or contradictory."""
