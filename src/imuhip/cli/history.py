"""``imuhip history``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options
from imuhip.errors import ImuhipError


def run(args: argparse.Namespace) -> int:
    import time

    from imuhip.sinks import history
    from imuhip.sinks.progress import track

    root = Path(args.dir)
    if not root.is_dir():
        raise ImuhipError(f"{root} is not a folder; give the folder that holds the sessions")
    cache = None if args.no_cache else history.default_cache_path()
    t0 = time.perf_counter()
    res = history.scan(root, jobs=args.jobs, cache=cache, progress=track)
    print(history.history_text(root, res, time.perf_counter() - t0))
    if args.csv:
        print(f"wrote {history.write_csv(args.csv, res.rows)}")
    return 0


def add_parser(sub: options.Subcommands) -> None:
    his = sub.add_parser("history", help="every session in a folder, and left/right asymmetry")
    his.add_argument("dir", metavar="DIR", help="folder searched for *.imuhip files (recursively)")
    his.add_argument("--csv", metavar="OUT", help="also write the rows to this CSV file")
    his.add_argument("--jobs", type=int, metavar="N", help="processes (default: one per CPU)")
    his.add_argument("--no-cache", action="store_true", help="analyse every file again")
    his.set_defaults(func=run)
