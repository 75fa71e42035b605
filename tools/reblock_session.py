"""Rewrite session files in bounded records, keeping every byte of their contents.

    python tools/reblock_session.py recordings/*.imuhip

Each file is read and written back (atomically, in place) with the same header, samples,
notifications and events, in records that cover less than a second of one sensor each
(:data:`imuhip.files.session_file.MAX_RECORD_S`). Files written before records were bounded
lost a whole sensor to one damaged record; rewritten, a damaged record costs its second. A file
that is not intact is refused: rewriting it would hide its damage.
"""

from __future__ import annotations

import sys

from imuhip.files.session_file import read_session, write_session


def reblock(path: str) -> int:
    """Rewrite ``path`` in bounded records; returns the number of records before."""
    session = read_session(path)
    if not session.report.ok:
        raise SystemExit(f"{path}: not intact, left as it is ({session.report.messages()[0]})")
    write_session(
        path,
        session.header,
        samples=session.samples,
        notifications=session.notifications,
        events=session.events,
        overwrite=True,
    )
    return session.report.records


def main(paths: list[str]) -> None:
    for p in paths:
        before = reblock(p)
        after = read_session(p).report.records
        print(f"{p}: {before} records -> {after}")


if __name__ == "__main__":
    main(sys.argv[1:])
