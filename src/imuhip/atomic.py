"""Files that appear complete or not at all, written through safely created temporary files.

A temporary file is created in the target's folder with a random name (``tempfile.mkstemp``:
``O_CREAT | O_EXCL``, so nothing planted at a guessable name, symlink or not, is opened or
followed) and renamed over the target when complete (``os.replace``, which replaces a symlink at
the target rather than writing through it). On any error the temporary file is removed and the
target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_UMASK = os.umask(0)
os.umask(_UMASK)
#: Permissions of finished files: what ``open()`` would give (0666 less the umask).
FILE_MODE = 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    overwrite: bool = True,
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a safely created temporary file beside ``path`` for writing (``mode`` ``"w"`` or
    ``"wb"``, or ``"w+"`` to read back what was written); when the block ends without an
    error it becomes ``path``.

    ``overwrite=False`` refuses (:class:`FileExistsError`) a ``path`` that exists, also one
    created while writing. Raises :class:`OSError` when the folder cannot be written.
    """
    if mode not in ("w", "wb", "w+"):
        raise ValueError(f"atomic_write writes text ('w', 'w+') or bytes ('wb'), not {mode!r}")
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} exists; choose another name or allow overwriting")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:  # the folder: named as the target, not the temporary name
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with contextlib.suppress(OSError, AttributeError):  # Windows has no fchmod
            os.fchmod(fd, FILE_MODE)
        text = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_no_clobber(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _link_no_clobber(tmp: str, path: Path) -> None:
    """Give ``tmp`` the name ``path`` unless ``path`` exists (atomically where links work)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; choose another name or allow overwriting") from None
    except OSError:  # no hard links on this file system: check, then rename
        if os.path.lexists(path):
            raise FileExistsError(
                f"{path} exists; choose another name or allow overwriting"
            ) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)
