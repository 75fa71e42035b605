"""What the person sees and what "last time" is: the cue on the live screen, the view wrapper
of ``imuhip train``, last time's figures from the history rows."""

from __future__ import annotations

from rich.console import Console

from imuhip.live.train import PromptView, make_trainer
from imuhip.pipeline import LiveState, Status
from imuhip.sinks.history import HistoryRow, last_time
from imuhip.sinks.live_view import RichView, Snapshot, big_text
from imuhip.training.program import LastTime, parse_program

PROGRAM = """
[[exercise]]
technique = "prone-active-ir"
[exercise.sets]
kind = "hold"
hold_s = 20
"""


def rendered(snap: Snapshot) -> str:
    view = RichView(Console(width=80, record=True, force_terminal=False, color_system=None))
    view.console.print(view.render(snap))
    return view.console.export_text()


def test_the_cue_is_shown_large():
    live = LiveState(t=1.0, status=Status.READY, angle_deg=3.0)
    assert "PUSH" in rendered(Snapshot("t", 1.0, live, prompt="push"))
    assert "PUSH" not in rendered(Snapshot("t", 1.0, live))
    # a countdown second in the block font (five more rows of blocks than without it)
    block = big_text("3").splitlines()[1].strip()
    with_cue = rendered(Snapshot("t", 1.0, live, prompt="3")).count(block)
    assert with_cue >= rendered(Snapshot("t", 1.0, live)).count(block) + 1


class Recorder:
    def __init__(self) -> None:
        self.snaps: list[Snapshot] = []
        self.notes: list[str] = []
        self.origin = 0.0

    def update(self, snap):
        self.snaps.append(snap)

    def note(self, text):
        self.notes.append(text)


def test_prompt_view_adds_the_cue_and_the_set_hold_target():
    inner = Recorder()
    trainer = make_trainer(parse_program(PROGRAM), "left", "prone", sound="none", note=inner.note)
    view = PromptView(inner, trainer)
    view.origin = 100.0  # the runner sets it at the session's start
    assert trainer.origin == 100.0 and inner.origin == 100.0
    trainer.step(110.0, LiveState(t=110.0, status=Status.READY), [])  # "first: …"
    trainer.step(115.0, LiveState(t=115.0, status=Status.READY), [])  # the set's cue
    view.update(Snapshot("t", 15.0, LiveState(t=115.0, status=Status.READY)))
    snap = inner.snaps[-1]
    assert snap.prompt == "push" and snap.hold_target_s == 20.0
    assert inner.notes[-1] == "   15.0 s  » push"  # times from the session's start
    trainer.sound.close()


def row(file, date, side="left", exercise="prone", hold=None, peak=None, reps=None, error=""):
    return HistoryRow(file, date, "header", side, exercise, duration_s=60.0, reps=reps,
                      max_rotation_deg=peak, holds=0, longest_hold_s=hold, error=error)  # fmt: skip


def test_last_time_is_the_newest_session_of_the_side_and_pose():
    rows = [
        row("a.imuhip", "2026-01-01T10:00:00+00:00", hold=12.0, peak=30.0, reps=8),
        row("b.imuhip", "2026-01-02T10:00:00+00:00", hold=15.0, peak=33.0, reps=10),
        row("c.imuhip", "2026-01-03T10:00:00+00:00", side="right", hold=40.0),
        row("d.imuhip", "2026-01-04T10:00:00+00:00", exercise="seated", hold=40.0),
        row("e.imuhip", "2026-01-05T10:00:00+00:00", error="damaged header"),
        row("f.imuhip", "2026-01-06T10:00:00+00:00", hold=99.0),
    ]
    got = last_time(rows, "left", "prone", exclude=["f.imuhip"])  # f: the session itself
    assert got == LastTime(15.0, 33.0, 10, "b.imuhip", "2026-01-02T10:00:00+00:00")
    assert last_time(rows, "right", "supine") is None
