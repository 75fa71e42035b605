"""``imuhip report``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options
from imuhip.errors import ImuhipError


def run(args: argparse.Namespace) -> int:
    from imuhip.pipeline import Keep, PipelineOptions
    from imuhip.pipeline.analyze import analyze_file
    from imuhip.sinks.analysis_text import analysis_document
    from imuhip.sinks.file_warnings import note_read_report
    from imuhip.sinks.report import render_report, write_report

    opts = PipelineOptions(fusion_method=args.fusion)
    fa = analyze_file(
        args.session, opts, keep=Keep.TRACE,  # the bounded trace only
        on_read=lambda s: note_read_report(args.session, s.report),
    )  # fmt: skip
    session, result = fa.summary, fa.analysis
    doc = analysis_document(session, result)
    rows = None
    if args.history:
        from imuhip.sinks import history

        if not Path(args.history).is_dir():
            raise ImuhipError(f"--history {args.history}: not a folder")
        rows = history.scan(args.history, cache=history.default_cache_path()).rows
    other = _other_side(args.history, rows, session.header) if rows else None
    out = args.output or str(Path(args.session).with_suffix(".html"))
    html = render_report(
        Path(args.session), session, result, doc, rows, notes=args.notes, other_side=other
    )
    print(f"wrote {write_report(out, html)}")
    return 0


def _other_side(folder: str, rows: list, header) -> tuple[str, dict] | None:
    """(file, analysis document) of the newest analysed session of the other side and the same
    exercise under ``folder``; None when there is none or it no longer analyses."""
    from imuhip.errors import ImuhipError
    from imuhip.pipeline import Keep
    from imuhip.pipeline.analyze import analyze_file
    from imuhip.sinks.analysis_text import analysis_document

    other = "right" if header.side == "left" else "left"
    same = [r for r in rows if r.ok and r.side == other and r.exercise == header.exercise]
    if not same:
        return None
    newest = max(same, key=lambda r: r.date)
    try:
        fa = analyze_file(Path(folder) / newest.file, keep=Keep.EVENTS)
        return newest.file, analysis_document(fa.summary, fa.analysis)
    except ImuhipError:
        return None


def add_parser(sub: options.Subcommands) -> None:
    rep = sub.add_parser("report", help="one self-contained HTML page: trace, reps, holds, health")
    rep.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    rep.add_argument("-o", "--output", metavar="HTML", help="default: SESSION with .html")
    options.add_fusion(rep)
    rep.add_argument(
        "--history", metavar="DIR", help="add progress over time from the sessions in DIR"
    )
    rep.add_argument(
        "--notes", metavar="TEXT", help="your notes, shown on the page (e.g. how it felt)"
    )
    rep.set_defaults(func=run)
