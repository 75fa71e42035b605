"""Reading a session file for a command: damage is reported once, explicitly, not through
Python's process-wide ``warnings`` machinery."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from imuhip.files.session_file import read_session
from imuhip.session import Session


def read_session_noting(path: str | os.PathLike[str], err: TextIO | None = None) -> Session:
    """The session at ``path``; each message of its read report (a cut-off or damaged file) is
    written once to ``err`` (default stderr) as ``imuhip: warning: NAME: message``."""
    session = read_session(path, warn=False)
    for msg in session.report.messages():
        print(f"imuhip: warning: {Path(path).name}: {msg}", file=err or sys.stderr, flush=True)
    return session
