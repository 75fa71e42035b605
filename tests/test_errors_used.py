"""Every error type in ``imuhip.errors`` is raised (or caught by name) somewhere in the code:
a type nothing raises is a promise to users that no code keeps (``OrientationOnlyError`` was
one once orientation-only files became importable)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import imuhip.errors as errors

SRC = Path(errors.__file__).resolve().parent


def _error_types() -> list[str]:
    return [
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]


def test_every_error_type_is_used_outside_errors_py():
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in SRC.rglob("*.py") if p.name != "errors.py"
    )
    unused = [n for n in _error_types() if not re.search(rf"\b{n}\b", text)]
    assert _error_types(), "no error types found"
    assert unused == []
