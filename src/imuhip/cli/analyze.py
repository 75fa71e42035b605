"""``imuhip analyze``."""

from __future__ import annotations

import argparse
from pathlib import Path

from imuhip.cli import options


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from imuhip.pipeline import Keep, PipelineOptions
    from imuhip.pipeline.analyze import analyze_file
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from imuhip.sinks.file_warnings import note_read_report

    # the file is streamed into the analysis; the document needs no per-sample arrays: none
    # are kept (flat memory on long sessions)
    opts = PipelineOptions(fusion_method=args.fusion)
    fa = analyze_file(
        args.session, opts, keep=Keep.EVENTS,
        on_read=lambda s: note_read_report(args.session, s.report),
    )  # fmt: skip
    result = fa.analysis
    doc = analysis_document(fa.summary, result)
    if args.json:
        for f in result.failed_legs:  # the text says it in its warnings
            print(f"warning: the {f.side} leg could not be analysed: {f.reason}", file=sys.stderr)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(analysis_text(Path(args.session), doc))
    return 0


def add_parser(sub: options.Subcommands) -> None:
    ana = sub.add_parser("analyze", help="calibrate, compute the hip angle, count reps, time holds")
    ana.add_argument("session", metavar="SESSION", help=options.SESSION_HELP)
    ana.add_argument(
        "--json", action="store_true", help="print one JSON object (imuhip.analysis/2)"
    )
    options.add_fusion(ana)
    ana.set_defaults(func=run)
