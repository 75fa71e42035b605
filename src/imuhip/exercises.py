"""Exercise names as people type them: the start poses of
:data:`~imuhip.calibration_protocol.START_POSE_SHANK_TILT_DEG` and the techniques they are the
start pose of. Every command parses ``--exercise`` here; files store the pose."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from imuhip.calibration_protocol import START_POSE_SHANK_TILT_DEG
from imuhip.errors import UnknownExerciseError

#: The start poses (what a session header's ``exercise`` holds): prone, seated, supine.
POSES: tuple[str, ...] = tuple(START_POSE_SHANK_TILT_DEG)

#: Technique name -> its start pose.
TECHNIQUES: dict[str, str] = {
    "knee-to-floor": "seated",
    "knee-inward-tilts": "supine",
    "prone-active-ir": "prone",
}

#: No exercise given (import, record, live): stored as is, no pose prior.
UNSPECIFIED = "unspecified"
#: A recording of table turns for ``imuhip sensor-cal`` (``record`` only; no leg prompts).
SENSOR_CAL = "sensor-cal"

#: Header ``extra`` key for the technique name the user gave (absent when a pose was given).
TECHNIQUE_KEY = "technique"


@dataclass(frozen=True)
class ExerciseName:
    """A parsed ``--exercise``.

    Attributes:
        pose: what the session stores as its exercise: a pose of :data:`POSES`, or
            :data:`UNSPECIFIED` / :data:`SENSOR_CAL` where the command allows them.
        technique: the technique name given (a key of :data:`TECHNIQUES`), "" for a pose.
    """

    pose: str
    technique: str = ""

    def __str__(self) -> str:
        return self.pose if not self.technique else f"{self.technique} ({self.pose})"


def _normalise(text: str) -> str:
    """``Knee inward tilts`` -> ``knee-inward-tilts``; ``prone_active_IR`` ->
    ``prone-active-ir``."""
    return re.sub(r"[\s_\-]+", "-", text.strip().lower()).strip("-")


def choices_text(extra: tuple[str, ...] = ()) -> str:
    """The accepted names, for help texts and errors."""
    techniques = ", ".join(f"{t} ({p})" for t, p in TECHNIQUES.items())
    more = "".join(f", {e}" for e in extra)
    return f"{', '.join(POSES)}{more}, or a technique: {techniques}"


def parse_exercise(text: str, extra: tuple[str, ...] = ()) -> ExerciseName:
    """``text`` as a pose, a technique (spaces, dashes, underscores and case do not matter), or
    one of ``extra`` (e.g. :data:`UNSPECIFIED`).

    Raises:
        UnknownExerciseError: any other name, with the closest known names.
    """
    key = _normalise(text)
    if key in POSES or key in extra:
        return ExerciseName(key)
    if key in TECHNIQUES:
        return ExerciseName(TECHNIQUES[key], key)
    known = [*POSES, *TECHNIQUES, *extra]
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise UnknownExerciseError(f"unknown exercise {text!r}: {hint}choose {choices_text(extra)}")
