"""The live view: what ``imuhip live``, ``record``, ``demo`` and ``replay`` show while running.

Two renderings of the same :class:`Snapshot`:

- :class:`RichView` (a terminal): per-sensor connection state, effective rate, drops and battery
  (when the profile reports it); the hip rotation in large digits with the session's best rep;
  the rep counter with the last rep's peak (and how many went into external rotation); the
  hold timer against ``--hold-target`` (the bar turns green and the terminal bell rings when
  reached); the stretch timer (:class:`LiveState`'s ``stretch_*``, kept by the pipeline from
  the detector's stretch_started to its stretch_ended: the time so far, the time at end range
  and the overpressure's gain once it began); calibration prompts with progress; the keys.
- :class:`PlainView` (no terminal, logs, tests): plain status lines at a fixed interval, plus
  one line per prompt, rep, hold, stretch and connection change.

:class:`KeyReader` reads single keys (``m`` mark, ``p`` pause, ``q`` end) from a terminal in
cbreak mode, only when stdin is a TTY; otherwise it reads nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

from imuhip.analysis.events import (
    AnalysisEvent,
    Compensation,
    Direction,
    EventKind,
    Hold,
    PartialRep,
    Rep,
    Stretch,
)
from imuhip.calibration_protocol import GuidanceStatus
from imuhip.pipeline import UNCHECKED_HEADING_S
from imuhip.pipeline.state import LiveState

KEYS_HELP = "m mark   p pause   q end"
#: Samples found missing (lost on the link or in the sensor: counter or time jumps).
MISSING = "missing"
#: Notifications the decoder rejected (malformed, wrong length or header).
REJECTED = "rejected"


@dataclass(frozen=True)
class SensorLine:
    """One sensor's line: link state (from the connection manager, or "file" in replay),
    effective sample rate, ``dropped``: notifications the decoder rejected (shown as
    "rejected"), ``lost``: samples found missing (shown as "missing"; the words of
    :data:`MISSING` and :data:`REJECTED`, in the summary and ``info`` too), battery % if
    known, the BLE connection interval (s) if known, and whether that interval is too slow
    for a sensor timed from arrivals (:func:`imuhip.pipeline.slow_link`)."""

    role: str
    state: str
    rate_hz: float | None = None
    dropped: int = 0
    lost: int = 0
    battery: int | None = None
    address: str = ""
    interval_s: float | None = None
    slow_link: bool = False


def _interval_text(interval_s: float | None) -> str:
    return "-" if interval_s is None else f"{1e3 * interval_s:g} ms"


@dataclass(frozen=True)
class Snapshot:
    """Everything on screen at one moment.

    Times are session times (the file's time base, the one ``analyze``, the report and the
    exports print): ``elapsed_s`` is the session time now, ``started_s`` the session time the
    recording's progress counts from (the bar against ``duration_s``).
    """

    title: str
    elapsed_s: float
    live: LiveState
    sensors: tuple[SensorLine, ...] = ()
    guidance: GuidanceStatus | None = None
    duration_s: float | None = None
    hold_target_s: float | None = None
    paused: bool = False
    recording: str | None = None
    notice: str = ""
    keys: bool = False
    searching_left_s: float | None = None
    prompt: str = ""  # the training coach's latest cue (``imuhip train``), shown large
    started_s: float = 0.0
    legs: tuple[tuple[str, LiveState], ...] = ()  # both legs: (side, state) each, left first


def legs_text(legs: tuple[tuple[str, LiveState], ...]) -> str:
    """Both legs' angles side by side and their difference as it happens (left minus right),
    with each leg's reps: "L 23.4° R 18.1° L-R +5.3° | reps L 3 R 3"."""
    by = dict(legs)
    left, right = by.get("left"), by.get("right")
    if left is None or right is None:
        return ""
    diff = (
        "-"
        if left.angle_deg is None or right.angle_deg is None
        else f"{left.angle_deg - right.angle_deg:+.1f}°"
    )
    return (
        f"L {fmt_deg(left.angle_deg)} R {fmt_deg(right.angle_deg)} L-R {diff} | "
        f"reps L {left.reps} R {right.reps}"
    )


def searching_text(left_s: float) -> str:
    """The countdown while the sensors are searched for and connected at the start."""
    return f"searching for the sensors… {left_s:.0f} s left"


def rest_hint(unrested_s: float) -> str:
    """Asks for a rest when the thigh's heading has gone unchecked too long."""
    return (
        f"rest a moment between movements: no rest for {unrested_s:.0f} s, so the angle may "
        "start to drift"
    )


def fmt_deg(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}°"


def summary_line(summary: dict) -> str:
    """The final figures, as :meth:`ExerciseResult.summary` gives them (the same numbers as
    ``imuhip analyze --json``'s ``summary``); stretches and external reps only when there
    were any."""
    mx = summary.get("max_rotation_deg")
    longest = summary.get("longest_hold_s")
    external = summary.get("external_rep_count") or 0
    line = (
        f"reps {summary['rep_count']}" + (f" ({external} external)" if external else "")
        + f"   max rotation {'-' if mx is None else f'{mx:.2f}°'}   "
        f"holds {summary['hold_count']}   total hold {summary['total_hold_s']:.2f} s   "
        f"longest hold {'-' if longest is None else f'{longest:.2f} s'}"
    )  # fmt: skip
    if summary.get("stretch_count"):
        line += (
            f"   stretches {summary['stretch_count']}   longest stretch "
            f"{summary['longest_stretch_s']:.2f} s   farthest {summary['max_stretch_deg']:.2f}°"
        )
    return line


def hold_target_text(snap: Snapshot) -> str:
    """The event line when the hold in progress reaches ``--hold-target``."""
    return f"hold target {snap.hold_target_s:g} s reached at {snap.elapsed_s:.1f} s"


def _external(direction: Direction) -> str:
    return " (external)" if direction is Direction.EXTERNAL else ""


def stretch_text(x: Stretch) -> str:
    """The event line of a finished stretch: duration, farthest angle, time at end range and
    the overpressure's gain if there was one."""
    over = (
        "" if x.overpressure_gain_deg is None else f", overpressure +{x.overpressure_gain_deg:.1f}°"
    )
    return (
        f"stretch ended{_external(x.direction)}: {x.duration_s:.1f} s, max {x.max_deg:.1f}°, "
        f"{x.time_at_end_range_s:.1f} s at end range{over}"
    )


def compensation_cue(c: Compensation) -> str:
    """What to tell the user about a rep's or stretch's flagged compensations (degrees)."""
    parts = []
    for name in c.flags():
        v = getattr(c, name)
        if name == "pelvis_obliquity_deg":
            which = "the hip" if v > 0 else "the other hip"
            parts.append(f"{which} lifted {abs(v):.0f}°: keep it on the floor")
        elif name == "pelvis_rotation_deg":
            parts.append(f"the pelvis turned {abs(v):.0f}°: keep it square")
        else:
            parts.append(f"the trunk leaned {abs(v):.0f}°: keep it upright")
    return "; ".join(parts)


def event_text(e: AnalysisEvent, origin: float = 0.0) -> str | None:
    """One line for a detector event (None for events not worth a line); times are shown
    from ``origin``."""
    t = e.t - origin
    if e.kind == EventKind.REP_COUNTED and isinstance(e.item, Rep):
        return f"rep counted{_external(e.item.direction)} at {t:.1f} s: peak {e.item.peak_deg:.1f}°"
    if e.kind == EventKind.PARTIAL_REP and isinstance(e.item, PartialRep):
        return f"partial rep at {t:.1f} s ({e.item.reason}, {e.item.range_deg:.1f}°)"
    if (
        e.kind == EventKind.COMPENSATION
        and isinstance(e.item, Rep | Stretch)
        and e.item.compensation
    ):
        return f"at {t:.1f} s: {compensation_cue(e.item.compensation)}"
    if e.kind == EventKind.HOLD_STARTED:
        return f"hold started at {t:.1f} s"
    if e.kind == EventKind.HOLD_ENDED and isinstance(e.item, Hold):
        h = e.item
        return f"hold ended: {h.duration_s:.1f} s at {h.mean_deg:.1f}°"
    if e.kind == EventKind.STRETCH_STARTED:
        return f"stretch started at {t:.1f} s"
    if e.kind == EventKind.OVERPRESSURE_STARTED:
        return f"overpressure at {t:.1f} s"
    if e.kind == EventKind.STRETCH_ENDED and isinstance(e.item, Stretch):
        return stretch_text(e.item)
    return None


def stretch_status(live: LiveState) -> str:
    """``stretch 12.3 s, 4.0 s at end range, overpressure +3.1°`` for the stretch in progress
    (empty without one)."""
    if live.stretch_start_s is None:
        return ""
    over = ""
    if live.overpressure_start_s is not None:
        gain = live.overpressure_deg
        over = ", overpressure" + ("" if gain is None else f" {gain:+.1f}°")
    return f"stretch {live.stretch_s:.1f} s, {live.stretch_at_end_range_s:.1f} s at end range{over}"


@dataclass
class _Cues:
    """Edge detection shared by the views: prompt changes, link changes, hold target."""

    last_prompt: tuple | None = None
    links: dict[str, str] = field(default_factory=dict)
    cued_hold: float | None = None
    last_status: str = ""
    asked_rest: bool = False

    def rest_needed(self, snap: Snapshot) -> bool:
        """True once each time the leg has gone ``UNCHECKED_HEADING_S`` without a rest."""
        due = snap.live.unrested_s >= UNCHECKED_HEADING_S
        cue = due and not self.asked_rest
        self.asked_rest = due
        return cue

    def hold_target_reached(self, snap: Snapshot) -> bool:
        live = snap.live
        if snap.hold_target_s is None or live.hold_start_s is None:
            return False
        if live.hold_s >= snap.hold_target_s and self.cued_hold != live.hold_start_s:
            self.cued_hold = live.hold_start_s
            return True
        return False


class PlainView:
    """Plain status lines (see module docstring).

    Args:
        out: where to print.
        every_s: seconds (of the caller's clock) between status lines.
        angles: show angle, reps and holds (``record`` shows the recording only).
        bell: ring the terminal bell at the hold target (only if ``out`` is a TTY).
    """

    def __init__(
        self, out: TextIO | None = None, every_s: float = 5.0, angles: bool = True
    ) -> None:
        self.out = out or sys.stdout
        self.every_s = every_s
        self.angles = angles
        self._cues = _Cues()
        self._next = 0.0
        self._next_search: float | None = None  # countdown value of the next search line
        self.origin = 0.0  # session time shown as 0 in event lines

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def start(self, title: str) -> None:
        self._print(title)

    def note(self, text: str) -> None:
        self._print(text)

    def analysis(self, events: list[AnalysisEvent]) -> None:
        if not self.angles:
            return
        for e in events:
            line = event_text(e, self.origin)
            if line:
                self._print(line)

    def update(self, snap: Snapshot) -> None:
        c = self._cues
        left = snap.searching_left_s
        if left is not None and (self._next_search is None or left <= self._next_search):
            self._print(searching_text(left))
            self._next_search = left - self.every_s
        g = snap.guidance
        if g is not None:
            key = (g.index, g.done, g.abandoned)
            if key != c.last_prompt:
                c.last_prompt = key
                if g.abandoned:
                    self._print(f"calibration: {g.detail}")
                elif g.done:
                    self._print("calibration: done" + (f" ({g.detail})" if g.detail else ""))
                else:
                    self._print(f"calibration {g.index + 1}/{g.steps}: {g.prompt}")
        for s in snap.sensors:
            if c.links.get(s.role) != s.state:
                if s.role in c.links:
                    self._print(f"{s.role}: {s.state}")
                c.links[s.role] = s.state
        live = snap.live
        if live.status != c.last_status and self.angles:
            if live.status == "ready":
                self._print(
                    "calibrated: hip rotation live"
                    + (f" (warning: {live.message})" if live.message else "")
                )
            elif live.status == "failed":
                self._print(f"calibration failed: {live.message}")
            c.last_status = live.status
        if self.angles and c.rest_needed(snap):
            self._print(rest_hint(snap.live.unrested_s))
        if c.hold_target_reached(snap):
            bell = "\a" if getattr(self.out, "isatty", lambda: False)() else ""
            self._print(f"{bell}{hold_target_text(snap)}")
        if snap.elapsed_s >= self._next:
            self._next = snap.elapsed_s + self.every_s
            self._print(self.status_line(snap))

    def status_line(self, snap: Snapshot) -> str:
        parts = [f"{snap.elapsed_s:6.1f} s"]
        if snap.paused:
            parts.append("PAUSED")
        for s in snap.sensors:
            rate = "" if s.rate_hz is None else f" {s.rate_hz:.0f} Hz"
            drops = f" {MISSING} {s.lost}" if s.lost else ""
            drops += f" {REJECTED} {s.dropped}" if s.dropped else ""
            slow = f" slow link {_interval_text(s.interval_s)}" if s.slow_link else ""
            parts.append(f"{s.role} {s.state}{rate}{drops}{slow}")
        live = snap.live
        if self.angles and snap.legs:
            parts.append(legs_text(snap.legs))
        elif self.angles and live.status == "ready":
            ext = live.external_reps
            parts.append(
                f"angle {fmt_deg(live.angle_deg)} max {fmt_deg(live.best_rep_deg)} reps {live.reps}"
                + (f" ({ext} external)" if ext else "")
            )
            if live.hold_start_s is not None:
                parts.append(f"hold {live.hold_s:.1f} s")
            if live.stretch_start_s is not None:
                parts.append(stretch_status(live))
        return " | ".join(parts)

    def close(self) -> None:
        return None


# --------------------------------------------------------------------------- rich

_DIGITS = {
    "0": ("███", "█ █", "█ █", "█ █", "███"),
    "1": (" ██", "  █", "  █", "  █", "  █"),
    "2": ("███", "  █", "███", "█  ", "███"),
    "3": ("███", "  █", "███", "  █", "███"),
    "4": ("█ █", "█ █", "███", "  █", "  █"),
    "5": ("███", "█  ", "███", "  █", "███"),
    "6": ("███", "█  ", "███", "█ █", "███"),
    "7": ("███", "  █", "  █", "  █", "  █"),
    "8": ("███", "█ █", "███", "█ █", "███"),
    "9": ("███", "█ █", "███", "  █", "███"),
    "-": ("   ", "   ", "███", "   ", "   "),
    ".": ("   ", "   ", "   ", "   ", " █ "),
    "°": ("██ ", "██ ", "   ", "   ", "   "),
    " ": ("   ", "   ", "   ", "   ", "   "),
}


def big_text(text: str) -> str:
    """``text`` (digits, '-', '.', '°') in a 5-line block font."""
    rows = ["", "", "", "", ""]
    for ch in text:
        glyph = _DIGITS.get(ch, _DIGITS[" "])
        for i in range(5):
            rows[i] += glyph[i] + " "
    return "\n".join(rows)


def _own_line(bar, label: str):
    """A progress bar with its label on a line of its own (a bare ``ProgressBar`` ends no line:
    what follows it would be drawn on the same line)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_row(bar, Text(label, style="dim"))
    return grid


class RichView:
    """Full-screen-ish live view with ``rich`` (see module docstring)."""

    def __init__(self, console=None, refresh_per_second: float = 10.0) -> None:
        from rich.console import Console

        self.console = console or Console()
        self._live = None
        self._cues = _Cues()
        self._notes: list[str] = []
        self._rps = refresh_per_second
        self.origin = 0.0

    def start(self, title: str) -> None:
        from rich.live import Live

        self._title = title
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        self._live.start()

    def note(self, text: str) -> None:
        self._notes = [*self._notes[-4:], text]

    def analysis(self, events: list[AnalysisEvent]) -> None:
        for e in events:
            line = event_text(e, self.origin)
            if line:
                self.note(line)

    def update(self, snap: Snapshot) -> None:
        if self._cues.hold_target_reached(snap):
            self.console.bell()
            self.note(hold_target_text(snap))
        if self._live is not None:
            self._live.update(self.render(snap), refresh=True)

    def render(self, snap: Snapshot):
        """The whole screen for ``snap``: header, sensors, coach cue, calibration, the angle
        block (or the calibration's state), the event notes and the footer lines."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        parts: list = [*self._header(snap), self._sensor_table(snap)]
        if snap.prompt:  # training cue, for whoever can see the screen
            cue = big_text(snap.prompt) if snap.prompt.isdigit() else snap.prompt.upper()
            parts.append(Panel(Text(cue, style="bold magenta"), title="coach",
                               border_style="magenta", expand=False))  # fmt: skip
        parts += self._guidance(snap)
        live = snap.live
        if live.status == "ready":
            parts += self._angle_block(snap)
        elif live.status == "failed":
            parts.append(Text(f"calibration failed: {live.message}", style="bold red"))
        else:
            parts.append(Text("waiting for the calibration…", style="dim"))
        parts.extend(Text(n, style="dim") for n in self._notes)
        if snap.searching_left_s is not None:
            parts.append(Text(searching_text(snap.searching_left_s), style="yellow"))
        elif snap.notice:
            parts.append(Text(snap.notice, style="yellow"))
        if snap.keys:
            parts.append(Text(KEYS_HELP, style="dim"))
        return Panel(Group(*parts), border_style="cyan")

    def _header(self, snap: Snapshot) -> list:
        """Title, session clock, recording and pause marks; the session's progress bar."""
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        head = Text(snap.title, style="bold")
        clock = f"  {snap.elapsed_s:5.0f} s"
        if snap.duration_s:
            clock += f" / {snap.started_s + snap.duration_s:.0f} s"
        head.append(clock)
        if snap.recording:
            head.append(f"  ● {snap.recording}", style="red")
        if snap.paused:
            head.append("  PAUSED", style="bold yellow")
        out: list = [head]
        if snap.duration_s:  # replays and timed sessions: how far along
            done = min(max(snap.elapsed_s - snap.started_s, 0.0), snap.duration_s)
            bar = ProgressBar(total=snap.duration_s, completed=done, width=40)
            out.append(_own_line(bar, f"session {100 * done / snap.duration_s:.0f} %"))
        return out

    @staticmethod
    def _sensor_table(snap: Snapshot):
        """One row per sensor: link, interval, rate, missing, rejected, battery."""
        from rich.table import Table
        from rich.text import Text

        tab = Table(box=None, padding=(0, 1), show_edge=False)
        for col in ("sensor", "link", "interval", "rate", MISSING, REJECTED, "battery"):
            tab.add_column(col, style="dim" if col == "sensor" else None)
        for s in snap.sensors:
            style = {"streaming": "green", "file": "cyan"}.get(s.state, "yellow")
            interval = _interval_text(s.interval_s)
            tab.add_row(
                s.role,
                Text(s.state, style=style),
                Text(f"{interval} slow", style="yellow") if s.slow_link else interval,
                "-" if s.rate_hz is None else f"{s.rate_hz:.0f} Hz",
                str(s.lost),
                str(s.dropped),
                "-" if s.battery is None else f"{s.battery} %",
            )
        return tab

    @staticmethod
    def _guidance(snap: Snapshot) -> list:
        """The calibration step under way (or why it was abandoned), with its progress."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        g = snap.guidance
        if g is None or not (g.active or g.abandoned):
            return []
        body = Group(
            Text(g.prompt, style="bold"),
            ProgressBar(total=1.0, completed=g.progress, width=40),
            Text(g.detail, style="dim"),
        )
        title = f"calibration {min(g.index + 1, g.steps)}/{g.steps}"
        return [Panel(body, title=title, border_style="yellow", expand=False)]

    def _angle_block(self, snap: Snapshot) -> list:
        """The angle in large digits beside the figures; the hold target bar; notes."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        live = snap.live
        angle = "-" if live.angle_deg is None else f"{live.angle_deg:.1f}°"
        grid = Table.grid(padding=(0, 4))
        grid.add_row(Text(big_text(angle), style="bold cyan"), self._figures(snap))
        out: list = [grid]
        if snap.legs:  # the first leg is the big angle; both side by side and their difference
            out.append(Text(legs_text(snap.legs), style="bold"))
        if live.hold_start_s is not None and snap.hold_target_s:
            bar = ProgressBar(
                total=snap.hold_target_s,
                completed=min(live.hold_s, snap.hold_target_s),
                width=50,
                complete_style="green",
            )
            out.append(_own_line(bar, f"hold target {snap.hold_target_s:g} s"))
        if live.message:
            out.append(Text(f"note: {live.message}", style="yellow"))
        if live.unrested_s >= UNCHECKED_HEADING_S:
            out.append(Text(rest_hint(live.unrested_s), style="yellow"))
        return out

    def _figures(self, snap: Snapshot):
        """The text beside the big angle: maxima, reps, the hold and the stretch."""
        from rich.text import Text

        live = snap.live
        side = Text()
        side.append("hip rotation (internal +)\n")
        side.append(f"max rotation {fmt_deg(live.best_rep_deg)}")
        side.append(" (best rep)\n", style="dim")
        side.append(f"highest angle {fmt_deg(live.highest_deg)}")
        side.append(" (at any moment)\n", style="dim")
        side.append(f"reps {live.reps}", style="bold")
        ext = live.external_reps
        side.append((f" ({ext} external)" if ext else "") + "   ")
        side.append(f"last peak {fmt_deg(live.last_rep_peak_deg)}\n")
        if live.hold_start_s is not None:
            target = snap.hold_target_s
            done = target is not None and live.hold_s >= target
            side.append(
                f"hold {live.hold_s:5.1f} s" + (f" / {target:g} s" if target else ""),
                style="bold green" if done else "bold",
            )
            if done:
                side.append("  TARGET ✓", style="bold green")
        else:
            last = "" if live.last_hold_s is None else f"   last {live.last_hold_s:.1f} s"
            side.append(f"holds {live.holds}{last}")
        if live.stretch_start_s is not None:
            side.append(f"\nstretch {live.stretch_s:5.1f} s", style="bold")
            side.append(f"   end range {live.stretch_at_end_range_s:.1f} s")
            if live.overpressure_start_s is not None:
                gain = live.overpressure_deg
                side.append(
                    "\nOVERPRESSURE" + ("" if gain is None else f" {gain:+.1f}°"),
                    style="bold magenta",
                )
        elif live.last_stretch_s is not None:
            over = live.last_overpressure_deg
            side.append(
                f"\nstretches {live.stretches}   last {live.last_stretch_s:.1f} s, "
                f"{live.last_stretch_at_end_range_s or 0.0:.1f} s at end range"
                + ("" if over is None else f"\nlast overpressure {over:+.1f}°")
            )
        return side

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


# --------------------------------------------------------------------------- keys


class KeyReader:
    """Single keys from a terminal (cbreak mode, restored on exit); inert without a TTY.

    ``with KeyReader() as keys: keys.read()`` returns the characters typed since the last call.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.enabled = False
        self._saved = None

    def __enter__(self) -> KeyReader:
        try:
            isatty = self.stream.isatty()
        except (AttributeError, ValueError):
            isatty = False
        if not isatty or os.name != "posix":
            return self
        import termios
        import tty

        fd = self.stream.fileno()
        with contextlib.suppress(termios.error):
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self.enabled = True
        return self

    def read(self) -> str:
        if not self.enabled:
            return ""
        import select

        fd = self.stream.fileno()
        out = ""
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 32)
            if not data:
                break
            out += data.decode(errors="ignore")
        return out

    def __exit__(self, *exc: object) -> None:
        if self.enabled and self._saved is not None:
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
        self.enabled = False


def make_view(plain: bool | None = None, angles: bool = True, every_s: float = 5.0):
    """A :class:`RichView` on a terminal, else a :class:`PlainView` (``plain`` forces)."""
    if plain is None:
        plain = not sys.stdout.isatty()
    if plain:
        return PlainView(every_s=every_s, angles=angles)
    return RichView()
