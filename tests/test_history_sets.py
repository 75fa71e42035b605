"""``imuhip history`` of trained sessions: each session's sets against their targets and its
best set; "beat last time" targets taken from the history, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.sinks.history import history_text, last_time, scan

RECORDING = Path(__file__).parent.parent / "recordings" / "prone-left-mixed-simulated.imuhip"

PROGRAM = """
name = "band holds"
[[exercise]]
technique = "prone-active-ir"
side = "left"
[exercise.sets]
kind = "hold"
count = 2
hold_s = {}
rest_s = 5
[[exercise]]
technique = "prone-active-ir"
side = "left"
[exercise.sets]
kind = "reps"
count = 1
reps = 4
"""


def _train(tmp_path: Path, hold: str, out: Path, history: Path) -> None:
    prog = tmp_path / f"{out.stem}.toml"
    prog.write_text(PROGRAM.replace("{}", hold), encoding="utf-8")
    assert main(["train", str(prog), "--replay", str(RECORDING), "--speed", "max", "--sound",
                 "none", "--plain", "-o", str(out), "--history", str(history)]) == 0  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with the recording as a trained session: the program's events as ``imuhip
    train`` writes them, its sets' windows round the recording's holds (23 s from 29.7 s,
    6 s from 58.1 s) and its first three reps (of 11, ending 75.2 s to 131.4 s)."""
    from imuhip.files.session_file import write_session
    from imuhip.session import Event
    from imuhip.training.program import parse_program, plan

    tmp = tmp_path_factory.mktemp("trained")
    folder = tmp / "sessions"
    folder.mkdir()
    program = parse_program(PROGRAM.replace("{}", "20"))
    sets = [p.as_dict() for p in plan(program, "left", "prone")]
    events = [Event(25.0, "program", None, {"program": program.as_dict(), "sets": sets})]
    for d, (a, z) in zip(sets, ((29.0, 54.0), (57.0, 66.0), (70.0, 88.0)), strict=True):
        events += [Event(a, "set_start", None, d), Event(z, "set_end", None, d)]
    session = read_session(RECORDING)
    out = folder / "first.imuhip"
    write_session(out, session.header, session.samples, session.notifications,
                  sorted([*session.events, *events], key=lambda e: e.t))  # fmt: skip
    return tmp, folder, out


def _analysis(path: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["analyze", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_history_shows_each_trained_sessions_sets_against_their_targets(trained, capsys):
    _, folder, out = trained
    sets = _analysis(out, capsys)["sets"]
    (row,) = scan(folder, jobs=1).rows
    assert row.program == "band holds"
    assert (row.sets_planned, row.sets, row.sets_met) == (3, 3, 1)
    best = f"{sets[2]['result']['best_deg']:.1f}"
    assert (
        row.set_results
        == f"hold 1/2 23.0/20 s ✓; hold 2/2 6.0/20 s ✗; reps 1/1 3/4 reps best {best}° ✗"
    )
    assert [s["result"]["met"] for s in sets] == [True, False, False]  # as analyze has it
    assert row.best_set.startswith("best hold 1/2 23.0/20 s ✓; best reps 1/1 3/4 reps")
    text = history_text(folder, scan(folder, jobs=1))
    assert "training sets (done/target per set" in text
    assert "band holds: 3 of 3 sets, 1 on target  (first.imuhip)" in text
    assert row.set_results in text and row.best_set in text


def test_sessions_without_a_program_have_no_training_fields(trained, tmp_path):
    import shutil

    shutil.copy(RECORDING, tmp_path / "plain.imuhip")
    (row,) = scan(tmp_path, jobs=1).rows
    assert (row.program, row.sets, row.sets_met, row.set_results) == ("", None, None, "")
    assert "training sets" not in history_text(tmp_path, scan(tmp_path, jobs=1))


def test_beat_last_time_takes_the_target_from_the_previous_sessions_result(trained, capsys):
    tmp, folder, _ = trained
    last = last_time(scan(folder, jobs=1).rows, "left", "prone")
    assert last is not None and last.longest_hold_s == pytest.approx(23.0, abs=0.05)  # the first
    second = tmp / "second.imuhip"
    _train(tmp, "{ beat_last = 5, first = 8 }", second, history=folder)
    starts = [e.data for e in read_session(second).events if e.kind == "set_start"]
    holds = [d for d in starts if d["kind"] == "hold"]
    assert [d["targets"] for d in holds] == [{"hold_s": 28.0}] * 2  # 23 s + 5 s
    assert all(d["from_last"] == ["hold_s"] for d in holds)
    sets = _analysis(second, capsys)["sets"]
    assert [s["targets"].get("hold_s") for s in sets[:2]] == [28.0, 28.0]
    # and the second session, in the folder, is the next one's last time
    second.rename(folder / "second.imuhip")
    rows = scan(folder, jobs=1).rows
    assert [r.file for r in rows if r.program] == ["first.imuhip", "second.imuhip"]
