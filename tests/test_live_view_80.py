"""The live screen at 80 columns (issue #18): the session bar and the sensor table each have
their line, the two maximum figures say what they are, the hold target is logged."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from imuhip.pipeline import LiveState
from imuhip.sinks.live_view import RichView, SensorLine, Snapshot

SENSORS = (
    SensorLine("thigh", "streaming", 100.0, 0, 0, 80, "AA", 0.0075),
    SensorLine("shin", "streaming", 99.0, 0, 10, None, "BB", 0.05, True),
)
HOLDING = LiveState(t=40.0, status="ready", angle_deg=5.9, highest_deg=6.0, best_rep_deg=None,
                    hold_start_s=30.0, hold_s=9.0)  # fmt: skip


def snapshot(live: LiveState, elapsed: float) -> Snapshot:
    return Snapshot("imuhip — left leg, prone", elapsed, live, SENSORS, duration_s=90.0,
                    hold_target_s=10.0, recording="2026-12-06_left_prone.imuhip")  # fmt: skip


def screen(view: RichView, snap: Snapshot) -> list[str]:
    view.update(snap)
    view.console.print(view.render(snap))
    return view.console.export_text(clear=True).splitlines()


def new_view() -> RichView:
    return RichView(Console(width=80, record=True, force_terminal=False, color_system=None))


def test_progress_bar_and_sensor_table_header_have_their_own_lines():
    lines = screen(new_view(), snapshot(HOLDING, 40.0))
    assert all(len(ln) <= 80 for ln in lines)
    header = next(ln for ln in lines if "sensor" in ln)
    assert "━" not in header
    for col in ("sensor", "link", "interval", "rate", "missing", "rejected", "battery"):
        assert col in header, header
    bar = next(ln for ln in lines if "━" in ln)
    assert "session 44 %" in bar


def test_the_two_maximum_figures_are_explained():
    text = "\n".join(screen(new_view(), snapshot(HOLDING, 40.0)))
    assert "max rotation - (best rep)" in text
    assert "highest angle 6.0° (at any moment)" in text
    assert "max -   highest" not in text


def test_reaching_the_hold_target_is_written_in_the_event_log_once():
    view = new_view()
    assert "reached" not in "\n".join(screen(view, snapshot(HOLDING, 39.0)))
    after = replace(HOLDING, hold_s=10.2)
    first = "\n".join(screen(view, snapshot(after, 41.2)))
    assert first.count("hold target 10 s reached at 41.2 s") == 1
    later = "\n".join(screen(view, snapshot(replace(after, hold_s=12.0), 43.0)))
    assert later.count("hold target 10 s reached") == 1  # logged once per hold
