"""``imuhip history``: every session in a folder, one row each, and left/right asymmetry.

Each session file is analysed with the same pipeline as ``imuhip analyze`` (so the figures agree
with it); a file that cannot be read or analysed gets a row saying why instead of stopping the
scan. Results are cached by file (its path and a hash of its bytes, so a damaged or replaced
file is analysed again even when its size and time are unchanged) and by the imuhip code that
produced them, so a second look at a folder is quick; uncached files are analysed in parallel.
Cache entries are checked on load: one that does not have the shape and types of a row is
ignored and its file analysed again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from imuhip import __version__
from imuhip.analysis.exercise import ExerciseResult
from imuhip.atomic import atomic_write
from imuhip.files.convert import Progress, quiet
from imuhip.session import Event
from imuhip.training.program import LastTime

SUFFIX = ".imuhip"
#: /2: rows carry the stretch figures (``stretches``, ``longest_stretch_s``,
#: ``longest_stretch_max_deg``); /4: the training sets (``program``, ``sets``…); entries of
#: older schemas are analysed again.
CACHE_SCHEMA = "imuhip.history-cache/4"


@dataclass(frozen=True)
class HistoryRow:
    """One session.

    Attributes:
        file: path relative to the scanned folder.
        date: ISO-8601 UTC time (``2026-03-01T14:05:00+00:00``): the header's ``created_utc``,
            else the file's modification time.
        date_source: "header" or "file time".
        side, exercise: from the header ("" when the file could not be read).
        simulated: the header says the session is simulated.
        duration_s: session length, seconds.
        reps, max_rotation_deg, mean_peak_deg, holds, longest_hold_s, total_hold_s: as in
            ``imuhip analyze`` (``summary``); None when the analysis failed or (for the
            extremes) there is nothing to measure.
        error: why the session could not be analysed ("" when it was).
        note: other remarks (a damaged file that was still analysed).
        stretches: stretches found (``summary.stretch_count``); longest_stretch_s: the
            longest one's duration, seconds; longest_stretch_max_deg: its end-range angle
            (``max_deg``, degrees, signed: negative for an external stretch). None when the
            analysis failed or (the last two) there were no stretches.
        program: the training program the session ran (``imuhip train``; "" for none).
        sets_planned: the sets the program planned for this leg and pose; sets: those
            recorded (begun); sets_met: those whose every target was reached (as ``imuhip
            analyze``'s ``sets``: timed from the signal). None without a program.
        set_results: each set as ``hold 2/3 12.3/10 s ✓`` (done/target, ✓ target met), "; "
            between them; best_set: the best set of each kind (the longest hold, the most
            reps), "; " between them. "" without a program.
    """

    file: str
    date: str
    date_source: str
    side: str = ""
    exercise: str = ""
    simulated: bool = False
    duration_s: float | None = None
    reps: int | None = None
    max_rotation_deg: float | None = None
    mean_peak_deg: float | None = None
    holds: int | None = None
    longest_hold_s: float | None = None
    total_hold_s: float | None = None
    error: str = ""
    note: str = ""
    stretches: int | None = None
    longest_stretch_s: float | None = None
    longest_stretch_max_deg: float | None = None
    program: str = ""
    sets_planned: int | None = None
    sets: int | None = None
    sets_met: int | None = None
    set_results: str = ""
    best_set: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @staticmethod
    def from_dict(d: object) -> HistoryRow:
        """A row from its :func:`dataclasses.asdict` form, every field type-checked
        (:class:`ValueError` naming the first wrong one): strings, a bool, whole counts and
        finite figures (or None)."""
        if not isinstance(d, dict) or set(d) != set(CSV_FIELDS):
            raise ValueError("not a history row: wrong fields")
        for k, v in d.items():
            if k in _INT_FIELDS:
                ok = v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
            elif k in _FLOAT_FIELDS:
                ok = v is None or (
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                )
            elif k == "simulated":
                ok = isinstance(v, bool)
            else:
                ok = isinstance(v, str) and len(v) <= 10_000
            if not ok:
                raise ValueError(f"history row field {k} has a wrong value: {str(v)[:40]!r}")
        if d["side"] not in ("", "left", "right"):
            raise ValueError(f"history row side must be left or right, got {d['side'][:40]!r}")
        if d["date"] or not d["error"]:  # an analysed row has a date, aware ISO-8601
            try:
                aware = datetime.fromisoformat(d["date"]).tzinfo is not None
            except ValueError:
                aware = False
            if not aware:
                raise ValueError(f"history row date is not an ISO-8601 time: {d['date'][:40]!r}")
        return HistoryRow(**d)

    @property
    def empty(self) -> bool:
        """A readable session file without any data (a live session that never started)."""
        return bool(self.error) and self.duration_s == 0.0


CSV_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(HistoryRow))
_INT_FIELDS = {"reps", "holds", "stretches", "sets_planned", "sets", "sets_met"}
_FLOAT_FIELDS = {
    "duration_s",
    "max_rotation_deg",
    "mean_peak_deg",
    "longest_hold_s",
    "total_hold_s",
    "longest_stretch_s",
    "longest_stretch_max_deg",
}


# ---------------------------------------------------------------- analysing one file


def _utc_iso(d: datetime) -> str:
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC).isoformat(timespec="seconds")


def session_date(created_utc: str, mtime: float) -> tuple[str, str]:
    """(ISO-8601 UTC date, source): the header's time if it parses, else ``mtime``."""
    if created_utc:
        with contextlib.suppress(ValueError):
            return _utc_iso(datetime.fromisoformat(created_utc)), "header"
    return _utc_iso(datetime.fromtimestamp(mtime, UTC)), "file time"


def analyze_file(path: str | os.PathLike[str], name: str | None = None) -> list[HistoryRow]:
    """Analyse one session file into a row per leg (one, or left and right for a session of
    both legs); never raises for a bad file (a single row says why)."""
    from imuhip.files.session_file import stream_session
    from imuhip.pipeline import Keep
    from imuhip.pipeline.analyze import analyze_stream

    path = Path(path)
    name = name if name is not None else path.name
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        return [HistoryRow(name, "", "", error=f"cannot open: {exc.strerror or exc}")]
    date, source = session_date("", mtime)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = stream_session(path)  # the header; the data is streamed below
    except Exception as exc:
        return [HistoryRow(name, date, source, error=_reason(exc))]
    h = stream.header
    date, source = session_date(h.created_utc, mtime)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analyze_stream(stream, keep=Keep.EVENTS)  # a row needs no samples
        error = None
    except Exception as exc:
        error = exc
    try:
        session = stream.summary()
    except RuntimeError:  # the analysis stopped before the end of the file
        session = None
    base = {
        "file": name,
        "date": date,
        "date_source": source,
        "side": h.side,
        "exercise": h.exercise,
        "simulated": bool(h.extra.get("simulated")),
        "duration_s": round(session.duration_s, 3) if session is not None else 0.0,
    }
    note = ""
    if session is not None and not session.report.ok:
        r = session.report
        lost = r.truncated_bytes + sum(d.length for d in r.damaged)
        parts = [f"{lost} bytes unreadable"] if lost else []
        if r.order:
            parts.append(f"{len(r.order)} records out of time order")
        note = "damaged file: " + ", ".join(parts)
    if error is not None or session is None:
        return [HistoryRow(**base, error=_reason(error), note=note)]
    t_end = session.time_range[1]
    if len(result.legs) + len(result.failed_legs) > 1:  # a failed leg: a row with its reason
        note = "; ".join(n for n in ("both legs in one session", note) if n)
        rows = [
            _leg_row({**base, "side": leg.side}, leg.exercise, note, session.events, t_end)
            for leg in result.legs
        ]
        rows += [
            HistoryRow(**{**base, "side": f.side}, error=" ".join(f.reason.split()), note=note)
            for f in result.failed_legs
        ]
        return sorted(rows, key=lambda r: r.side != "left")
    return [_leg_row(base, result.exercise, note, session.events, t_end)]


def _leg_row(
    base: dict, exercise: ExerciseResult, note: str, events: Sequence[Event], t_end: float
) -> HistoryRow:
    """The row of one leg's reps, holds, stretches and training sets."""
    s = exercise.summary()
    longest = max(exercise.stretches, key=lambda x: x.duration_s, default=None)
    return HistoryRow(
        **base,
        stretches=s["stretch_count"],
        longest_stretch_s=s["longest_stretch_s"],
        longest_stretch_max_deg=None if longest is None else round(longest.max_deg, 2),
        reps=s["rep_count"],
        max_rotation_deg=s["max_rotation_deg"],
        mean_peak_deg=s["mean_peak_deg"],
        holds=s["hold_count"],
        longest_hold_s=s["longest_hold_s"],
        total_hold_s=s["total_hold_s"],
        note=note,
        **_training_fields(events, exercise, t_end, base["side"]),
    )


def _training_fields(
    events: Sequence[Event], exercise: ExerciseResult, t_end: float, side: str
) -> dict:
    """The row's training fields (:class:`HistoryRow`) from the session's ``program`` and set
    events, the sets' results as ``imuhip analyze`` gives them; {} without a program."""
    from imuhip.sinks.training_sets import training_sets

    program = next((e for e in events if e.kind == "program"), None)
    if program is None or not isinstance(program.data, dict):
        return {}
    prog = program.data.get("program")
    name = prog.get("name") if isinstance(prog, dict) else None
    planned = program.data.get("sets")
    planned = [p for p in planned if isinstance(p, dict)] if isinstance(planned, list) else []
    sets, _ = training_sets(events, exercise, t_end)
    sets = [x for x in sets if x["side"] in (side, "both")]  # "both": its part of a together set
    best: dict[str, dict] = {}
    for x in sets:
        kind = "reps" if x["kind"] == "reps" else "hold"
        if kind not in best or _set_score(x) > _set_score(best[kind]):
            best[kind] = x
    return {
        "program": name[:200] if isinstance(name, str) and name else "program",
        "sets_planned": sum(p.get("side") in (side, "both") for p in planned),
        "sets": len(sets),
        "sets_met": sum(bool(x["result"]["met"]) for x in sets),
        "set_results": "; ".join(
            set_text(x) + (" (both legs)" if x["side"] == "both" else "") for x in sets
        ),
        "best_set": "; ".join(f"best {set_text(x)}" for x in best.values()),
    }


def _set_score(s: dict) -> tuple[float, float]:
    r = s["result"]
    if s["kind"] == "reps":
        return float(r["reps"]), r["best_deg"] if r["best_deg"] is not None else -math.inf
    held = r["longest_hold_s"]
    return (held if held is not None else -math.inf), 0.0


def set_text(s: dict) -> str:
    """One set of ``imuhip analyze``'s ``sets`` as ``hold 2/3 12.3/10 s ✓`` (what was done
    against the target; ✓ every target met, ✗ not)."""
    r, t = s["result"], s["targets"]
    if s["kind"] == "reps":
        got = f"{r['reps']}" + (f"/{t['reps']:g}" if "reps" in t else "") + " reps"
    else:
        held = r["longest_hold_s"]
        got = ("-" if held is None else f"{held:.1f}") + (
            f"/{t['hold_s']:g}" if "hold_s" in t else ""
        ) + " s"  # fmt: skip
    if "range_deg" in t or (r["best_deg"] is not None and s["kind"] == "reps"):
        best = "-" if r["best_deg"] is None else f"{r['best_deg']:.1f}"
        got += f" best {best}" + (f"/{t['range_deg']:g}" if "range_deg" in t else "") + "°"
    mark = "✓" if r["met"] else "✗"
    return f"{s['kind']} {s['set']}/{s['of']} {got} {mark}"


def _reason(exc: BaseException) -> str:
    from imuhip.errors import ImuhipError

    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ImuhipError) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------- cache


def _code_fingerprint() -> str:
    """Changes whenever any module of the installed imuhip changes (so do the results)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha1(__version__.encode())
    for p in sorted(root.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def default_cache_path() -> Path:
    """``$IMUHIP_CACHE_DIR/history.json``, else the user's cache folder."""
    env = os.environ.get("IMUHIP_CACHE_DIR")
    if env:
        return Path(env) / "history.json"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("imuhip")) / "history.json"


def file_key(path: Path) -> str:
    """What a cached result is valid for: the file's size and a BLAKE2b hash of its bytes
    (read in a stream; bit rot changes neither size nor modification time, but this)."""
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=20)).hexdigest()
    return f"{path.stat().st_size}:blake2b:{digest}"


class _Cache:
    """Analysis rows by absolute file path, valid for one file version and one code version."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.code = _code_fingerprint()
        self.entries: dict[str, dict] = {}
        self.keys: dict[Path, str] = {}  # file keys computed in this scan
        self.dirty = False
        if path is None:
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if (
            isinstance(doc, dict)
            and doc.get("schema") == CACHE_SCHEMA
            and doc.get("code") == self.code
            and isinstance(doc.get("entries"), dict)
        ):
            self.entries = doc["entries"]

    def get(self, path: Path, name: str) -> list[HistoryRow] | None:
        """The cached rows of ``path`` if its entry is well-formed and for these bytes."""
        if self.path is None:
            return None
        try:
            key = self.keys[path] = file_key(path)
            e = self.entries.get(str(path.resolve()))
            if not isinstance(e, dict) or e.get("key") != key:
                return None
            rows = e.get("rows")
            if not isinstance(rows, list) or not 1 <= len(rows) <= 2:
                return None
            return [HistoryRow.from_dict({**r, "file": name}) for r in rows]
        except (OSError, ValueError, TypeError):
            return None

    def put(self, path: Path, rows: list[HistoryRow]) -> None:
        if self.path is None or any(r.error.startswith("cannot open") for r in rows):
            return
        with contextlib.suppress(OSError):
            key = self.keys.get(path) or file_key(path)
            self.entries[str(path.resolve())] = {"key": key, "rows": [asdict(r) for r in rows]}
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        live = {k: v for k, v in self.entries.items() if Path(k).exists()}
        doc = {"schema": CACHE_SCHEMA, "code": self.code, "entries": live}
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path) as f:
                f.write(json.dumps(doc))


# ---------------------------------------------------------------- scanning a folder


def find_sessions(root: str | os.PathLike[str]) -> list[Path]:
    """Session files (``*.imuhip``) under ``root``, recursively, in path order."""
    root = Path(root)
    return sorted(p for p in root.rglob(f"*{SUFFIX}") if p.is_file())


def _analyze_job(args: tuple[str, str]) -> list[HistoryRow]:
    return analyze_file(args[0], args[1])


@dataclass(frozen=True)
class ScanResult:
    """Rows (oldest first) and how they were obtained."""

    rows: list[HistoryRow]
    analysed: int
    cached: int


#: What the progress bar says while uncached files are analysed.
PROGRESS_TEXT = "analysing sessions"


def scan(
    root: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    cache: Path | None = None,
    progress: Progress = quiet,
) -> ScanResult:
    """Analyse every session under ``root`` (see :func:`analyze_file`).

    Args:
        jobs: worker processes for uncached files (None: one per CPU; 1: in this process).
        cache: cache file to read and update (None: no cache).
        progress: ``progress(items, description, total)`` yields the uncached files' rows as
            they finish (:func:`imuhip.sinks.progress.track` shows a bar; default: nothing).
    """
    root = Path(root)
    files = find_sessions(root)
    store = _Cache(cache)
    rows: dict[Path, list[HistoryRow]] = {}
    todo: list[Path] = []
    for p in files:
        hit = store.get(p, p.relative_to(root).as_posix())
        if hit is None:
            todo.append(p)
        else:
            rows[p] = hit
    work = [(str(p), p.relative_to(root).as_posix()) for p in todo]
    n_jobs = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    if n_jobs == 1:
        results: Iterable[list[HistoryRow]] = map(_analyze_job, work)
        for p, row in zip(todo, progress(results, PROGRESS_TEXT, len(todo)), strict=True):
            rows[p] = row
            store.put(p, row)
    else:
        import imuhip.pipeline  # noqa: F401  (imported once here, inherited by forked workers)

        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            results = pool.map(_analyze_job, work, chunksize=1)
            for p, row in zip(todo, progress(results, PROGRESS_TEXT, len(todo)), strict=True):
                rows[p] = row
                store.put(p, row)
    store.save()
    ordered = sorted((r for rs in rows.values() for r in rs), key=lambda r: (r.date, r.file))
    return ScanResult(ordered, len(todo), len(files) - len(todo))


# ---------------------------------------------------------------- left/right asymmetry

#: (label, HistoryRow attribute, unit)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("max rotation", "max_rotation_deg", "°"),
    ("mean peak", "mean_peak_deg", "°"),
    ("longest hold", "longest_hold_s", " s"),
)


def percent_difference(left: float | None, right: float | None) -> float | None:
    """``100·(L−R)/max(L,R)``: positive when the left is larger; None unless both are > 0."""
    if left is None or right is None or left <= 0 or right <= 0:
        return None
    return 100.0 * (left - right) / max(left, right)


@dataclass(frozen=True)
class Comparison:
    """One metric of the latest left and right sessions of one exercise."""

    metric: str
    unit: str
    left: float | None
    right: float | None
    percent: float | None
    left_file: str = ""
    right_file: str = ""

    def sentence(self) -> str:
        """E.g. ``left 38.2° vs right 31.0°: right 19 % less``."""

        def v(x: float | None) -> str:
            return "\u2013" if x is None else f"{x:.1f}{self.unit}"

        head = f"left {v(self.left)} vs right {v(self.right)}"
        if self.left is None or self.right is None:
            what = "reps" if self.unit == "°" else "holds"
            sides = [s for s, x in (("left", self.left), ("right", self.right)) if x is None]
            where = "either side" if len(sides) == 2 else f"the {sides[0]} side"
            return f"{head}: no {what} on {where}"
        if self.percent is None:
            return f"{head}: not comparable"
        p = round(abs(self.percent))
        if p == 0:
            return f"{head}: no difference"
        return f"{head}: {'right' if self.percent > 0 else 'left'} {p} % less"


@dataclass(frozen=True)
class Asymmetry:
    """Left against right for one exercise: the latest session of each side."""

    exercise: str
    left: HistoryRow | None
    right: HistoryRow | None
    comparisons: tuple[Comparison, ...]


def _latest_with(rows: list[HistoryRow], attr: str) -> HistoryRow:
    """The latest of ``rows`` (sorted by date) with a value for ``attr``, else the latest."""
    have = [r for r in rows if getattr(r, attr) is not None]
    return have[-1] if have else rows[-1]


def asymmetry(rows: Iterable[HistoryRow]) -> list[Asymmetry]:
    """Per exercise (alphabetical), left against right: for each metric the latest session of
    each side that has it (a holds-only session does not hide the latest reps session)."""
    by_ex: dict[str, dict[str, list[HistoryRow]]] = {}
    for r in rows:
        if not r.ok or r.side not in ("left", "right"):
            continue
        by_ex.setdefault(r.exercise, {}).setdefault(r.side, []).append(r)
    out = []
    for ex in sorted(by_ex):
        sides = {k: sorted(v, key=lambda r: (r.date, r.file)) for k, v in by_ex[ex].items()}
        left = sides["left"][-1] if "left" in sides else None
        right = sides["right"][-1] if "right" in sides else None
        comps: list[Comparison] = []
        if left and right:
            for label, attr, unit in METRICS:
                lr, rr = (_latest_with(sides[side], attr) for side in ("left", "right"))
                lv, rv = getattr(lr, attr), getattr(rr, attr)
                comps.append(
                    Comparison(label, unit, lv, rv, percent_difference(lv, rv), lr.file, rr.file)
                )
        out.append(Asymmetry(ex, left, right, tuple(comps)))
    return out


# ---------------------------------------------------------------- output


def _v(x: float | int | None, digits: int = 1) -> str:
    if x is None:
        return "-"
    return str(x) if isinstance(x, int) else f"{x:.{digits}f}"


def _minsec(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def _short_date(iso: str) -> str:
    from imuhip.sinks.dates import local_time

    return local_time(iso)


def _text_table(header: list[str], rows: list[list[str]], left: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        cells = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(r) for r in rows)]


def history_text(root: Path, result: ScanResult, seconds: float | None = None) -> str:
    """The table and the asymmetry sentences ``imuhip history`` prints (plain text)."""
    empty = [r for r in result.rows if r.empty]
    rows = [r for r in result.rows if not r.empty]
    failed = sum(not r.ok for r in rows)
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    out = [
        f"{root}: {len({r.file for r in rows})} session(s)"
        + (f" ({len(rows)} legs)" if len(rows) > len({r.file for r in rows}) else "")
        + (f", {failed} not analysed" if failed else "")
        + f" ({result.analysed} analysed{took}, {result.cached} from cache)",
        "",
    ]
    if empty:
        out.insert(
            1,
            f"not listed: {len(empty)} file(s) without any data (sessions that never "
            "received data; safe to delete): " + ", ".join(r.file for r in empty),
        )
    if not rows:
        return "\n".join(out[:2] if empty else out[:1])
    from imuhip.sinks.dates import local_zone_name

    header = [
        f"date ({local_zone_name()})", "side", "exercise", "length", "reps", "max °",
        "mean peak °", "holds", "longest s", "total hold s", "stretch s", "stretch °", "file",
        "note",
    ]  # fmt: skip
    body = []
    for r in rows:
        notes = [n for n in (r.error and f"not analysed: {r.error}", r.note) if n]
        if r.simulated:
            notes.insert(0, "SIMULATED")
        date = _short_date(r.date) + ("*" if r.date_source == "file time" else "")
        body.append(
            [
                date,
                r.side or "?",
                r.exercise or "?",
                _minsec(r.duration_s),
                _v(r.reps),
                _v(r.max_rotation_deg),
                _v(r.mean_peak_deg),
                _v(r.holds),
                _v(r.longest_hold_s),
                _v(r.total_hold_s),
                _v(r.longest_stretch_s),
                _v(r.longest_stretch_max_deg),
                r.file,
                "; ".join(notes),
            ]
        )
    out += _text_table(header, body, {0, 1, 2, 12, 13})
    if any(r.date_source == "file time" for r in rows):
        out.append("* date from the file's modification time (no creation time in the header)")
    out += training_lines(rows)
    out += [
        "",
        "left/right asymmetry (latest session of each side with the measure; 100·(L-R)/max(L,R))",
    ]
    asym = asymmetry(rows)
    if not asym:
        out.append("  no analysed sessions to compare")
    for a in asym:
        if not (a.left and a.right):
            have = "left" if a.left else "right"
            out.append(f"  {a.exercise}: only {have} sessions, nothing to compare")
            continue
        out.append(f"  {a.exercise}:")
        width = max(len(c.metric) for c in a.comparisons)
        for c in a.comparisons:
            files = f"  ({c.left_file} vs {c.right_file})" if c.left_file else ""
            out.append(f"    {c.metric.ljust(width)}  {c.sentence()}{files}")
    return "\n".join(out)


def training_lines(rows: Iterable[HistoryRow]) -> list[str]:
    """The sessions that ran a training program, each with its sets against their targets
    and its best set (nothing when none did)."""
    trained = [r for r in rows if r.ok and r.program]
    if not trained:
        return []
    out = ["", "training sets (done/target per set, ✓ every target met)"]
    for r in trained:
        planned = "?" if r.sets_planned is None else r.sets_planned
        out.append(
            f"  {_short_date(r.date)}  {r.side} {r.exercise}  {r.program}: {r.sets} of "
            f"{planned} sets, {r.sets_met} on target  ({r.file})"
        )
        if r.set_results:
            out.append(f"    {r.set_results}")
        if r.best_set:
            out.append(f"    {r.best_set}")
    return out


def write_csv(out: str | os.PathLike[str], rows: Iterable[HistoryRow]) -> Path:
    """The rows as CSV (header :data:`CSV_FIELDS`; empty cells for missing figures)."""
    out = Path(out)
    with atomic_write(out, newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        for r in rows:
            d = asdict(r)
            w.writerow(["" if d[k] is None else d[k] for k in CSV_FIELDS])
    return out


def read_csv(path: str | os.PathLike[str]) -> list[HistoryRow]:
    """Rows written by :func:`write_csv`."""
    rows = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for d in csv.DictReader(f):
            vals: dict = {}
            for k in CSV_FIELDS:
                s = d.get(k, "")
                if k in _INT_FIELDS:
                    vals[k] = int(s) if s else None
                elif k in _FLOAT_FIELDS:
                    vals[k] = float(s) if s else None
                elif k == "simulated":
                    vals[k] = s == "True"
                else:
                    vals[k] = s
            rows.append(HistoryRow(**vals))
    return rows


def last_time(
    rows: Iterable[HistoryRow], side: str, exercise: str, *, exclude: Iterable[str] = ()
) -> LastTime | None:
    """Figures of the newest analysed session of ``side`` and ``exercise`` (the start pose)
    among ``rows`` (:func:`scan`'s, oldest first), skipping files named in ``exclude``; None
    when there is none (the "beat last time" targets of a training program)."""
    skip = set(exclude)
    for r in reversed(list(rows)):
        if r.ok and r.side == side and r.exercise == exercise and r.file not in skip:
            return LastTime(
                longest_hold_s=r.longest_hold_s,
                best_range_deg=r.max_rotation_deg,
                reps=r.reps,
                file=r.file,
                date=r.date,
            )
    return None
