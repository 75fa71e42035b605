"""Reading a session file for a command: damage is reported once, explicitly, not through
Python's process-wide ``warnings`` machinery."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from imuhip.files.session_file import read_session
from imuhip.session import ReadReport, Session


def note_read_report(
    path: str | os.PathLike[str], report: ReadReport, err: TextIO | None = None
) -> None:
    """Write each message of ``report`` (a cut-off or damaged file) once to ``err`` (default
    stderr) as ``imuhip: warning: NAME: message``."""
    for msg in report.messages():
        print(f"imuhip: warning: {Path(path).name}: {msg}", file=err or sys.stderr, flush=True)


def read_session_noting(path: str | os.PathLike[str], err: TextIO | None = None) -> Session:
    """The session at ``path``; its read report's messages written as :func:`note_read_report`
    does."""
    session = read_session(path, warn=False)
    note_read_report(path, session.report, err)
    return session
