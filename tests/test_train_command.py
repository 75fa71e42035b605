"""``imuhip train``: the coach over a recording (--replay) and on virtual sensors (--demo),
the recorded structure, and ``analyze --json``'s sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imuhip.cli import main

RECORDING = Path(__file__).parent.parent / "recordings" / "prone-left-mixed-simulated.imuhip"

PROGRAM = """
name = "short"
[[exercise]]
technique = "prone-active-ir"
side = "both"
[exercise.sets]
kind = "hold"
count = 2
hold_s = 8
rest_s = 5
[[exercise]]
technique = "prone-active-ir"
name = "prone swing"
side = "left"
[exercise.sets]
kind = "reps"
count = 1
reps = 4
range_deg = 25
"""


@pytest.fixture
def program(tmp_path):
    p = tmp_path / "short.toml"
    p.write_text(PROGRAM, encoding="utf-8")
    return p


def analyze_json(path, capsys):
    capsys.readouterr()
    assert main(["analyze", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_replay_runs_the_program_and_the_file_analyses_to_its_sets(program, tmp_path, capsys):
    out = tmp_path / "trained.imuhip"
    before = RECORDING.read_bytes()
    code = main(["train", str(program), "--replay", str(RECORDING), "--speed", "max",
                 "--sound", "none", "--plain", "-o", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "» push" in text and "» swing" in text and "» done" in text
    assert "short: 3 of 3 sets (left leg, prone)" in text
    doc = analyze_json(out, capsys)
    sets = doc["sets"]
    assert [(s["kind"], s["set"], s["of"]) for s in sets] == [
        ("hold", 1, 2), ("hold", 2, 2), ("reps", 1, 1),
    ]  # fmt: skip
    assert all(s["complete"] for s in sets)
    assert sets[0]["targets"] == {"hold_s": 8.0}
    assert sets[2]["targets"] == {"reps": 4.0, "range_deg": 25.0}
    # the holds are timed from the signal: the recording's holds, inside the windows
    holds = {round(h["start_s"], 3): h["duration_s"] for h in doc["holds"]}
    for s in sets[:2]:
        for h in s["result"]["holds"]:
            assert holds[h["start_s"]] == h["duration_s"]
    assert sets[2]["result"]["reps"] == 4 and sets[2]["result"]["met"]
    # the structure is in the file: the program, every set's boundaries, the rests, prompts
    from imuhip.files.session_file import read_session

    kinds = [e.kind for e in read_session(out).events]
    assert kinds.count("program") == 1 and kinds.count("set_start") == 3
    assert kinds.count("set_end") == 3 and kinds.count("rest_start") == 2
    assert kinds.count("prompt") > 10
    # the report shows each set against its target
    html = tmp_path / "trained.html"
    assert main(["report", str(out), "-o", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "<h2>Training sets (3, " in page
    assert page.count("<td class='t'>8 s</td>") == 2 and "<td class='t'>4 reps, 25°</td>" in page
    # the original recording is untouched
    assert RECORDING.read_bytes() == before


def test_program_without_exercise_for_the_recording_is_a_clear_error(tmp_path, capsys):
    p = tmp_path / "seated.toml"
    p.write_text(PROGRAM.replace("prone-active-ir", "knee-to-floor"), encoding="utf-8")
    code = main(["train", str(p), "--replay", str(RECORDING), "--sound", "none", "--plain"])
    assert code == 2
    err = capsys.readouterr().err
    assert "has no exercise for the left leg in the prone pose (its poses: seated)" in err


def test_malformed_program_is_refused_naming_the_field(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text(PROGRAM.replace("hold_s = 8", "hold_s = 0"), encoding="utf-8")
    assert main(["train", str(p), "--replay", str(RECORDING), "--sound", "none"]) == 2
    assert "exercise[1].sets.hold_s must be a number from 1" in capsys.readouterr().err


def test_show_default_prints_a_program_that_parses(capsys):
    from imuhip.training.program import default_program, parse_program

    assert main(["train", "--show-default"]) == 0
    assert parse_program(capsys.readouterr().out) == default_program()


DEMO_PROGRAM = """
[[exercise]]
technique = "prone-active-ir"
[exercise.sets]
kind = "hold"
count = 2
hold_s = 6
rest_s = 4
[[exercise]]
technique = "prone-active-ir"
[exercise.sets]
kind = "reps"
reps = 3
"""


def test_demo_person_follows_the_program_and_the_file_analyses_to_its_sets(tmp_path, capsys):
    program = tmp_path / "demo.toml"
    program.write_text(DEMO_PROGRAM, encoding="utf-8")
    out = tmp_path / "demo.imuhip"
    code = main(["train", str(program), "--demo", "--speed", "10", "--sound", "tones",
                 "--plain", "-o", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    # no audio library in CI: said once, then silent; the prompts are still shown
    assert text.count("sound: ") <= 1 and "» push" in text and "» swing" in text
    assert "demo: 3 of 3 sets (left leg, prone)" in text and "» done" in text
    doc = analyze_json(out, capsys)
    sets = doc["sets"]
    assert [(s["kind"], s["set"], s["of"]) for s in sets] == [
        ("hold", 1, 2), ("hold", 2, 2), ("reps", 1, 1),
    ]  # fmt: skip
    assert all(s["complete"] for s in sets)
    assert sets[0]["targets"] == {"hold_s": 6.0} and sets[2]["targets"] == {"reps": 3.0}
    # the virtual person pushed when told to push, for as long as asked, and swung 3 reps when
    # told to swing: one hold per hold set, the reps in the reps set, every target met
    signal_holds = {(h["start_s"], h["duration_s"]) for h in doc["holds"]}
    for s in sets[:2]:
        (hold,) = s["result"]["holds"]
        assert (hold["start_s"], hold["duration_s"]) in signal_holds  # timed from the signal
        assert s["start_s"] < hold["start_s"] < s["start_s"] + 4.0  # after the cue
        assert 6.0 <= hold["duration_s"] <= 9.0
    assert sets[2]["result"]["reps"] == 3 == doc["summary"]["rep_count"]
    assert len(doc["holds"]) == 2 and all(s["result"]["met"] for s in sets)
    # nothing in the rests: every hold and rep is inside a set
    assert all(any(s["start_s"] <= r["end_s"] <= s["end_s"] + 0.5 for s in sets)
               for r in doc["reps"])  # fmt: skip
    assert doc["calibration"]["phases"]["still_end"][1] < sets[0]["start_s"]


def test_demo_action_does_what_each_cue_asks():
    from imuhip.live.train import HOLD_MARGIN_S, REACTION_S, demo_action
    from imuhip.training.coach import Prompt, PromptKind
    from imuhip.training.program import parse_program, plan

    class Person:
        rest_deg = 1.0

        def __init__(self, busy=0.0):
            self.busy_until_s, self.did = busy, []

        def push(self, at, s):
            self.did.append(("push", at, s))

        def stretch(self, at, s):
            self.did.append(("stretch", at, s))

        def swing(self, at, n, peak):
            self.did.append(("swing", at, n, peak))

    prog = parse_program(PROGRAM + "\n[[exercise]]\ntechnique = 'knee-to-floor'\n"
                         "[exercise.sets]\nkind = 'stretch'\nhold_s = 30\n")  # fmt: skip
    hold, swing = plan(prog, "left", "prone")[0], plan(prog, "left", "prone")[-1]
    stretch = plan(prog, "left", "seated")[0]
    cue = Prompt(10.0, "push", PromptKind.SET_START)
    person = Person()
    for s in (hold, swing, stretch):
        demo_action(cue, s)(person, 10.0)
    assert person.did == [
        ("push", 10.0 + REACTION_S, 8.0 + HOLD_MARGIN_S),
        ("swing", 10.0 + REACTION_S, 4, 25.0 - 1.0 + 2.0),  # past the range target
        ("stretch", 10.0 + REACTION_S, 30.0 + HOLD_MARGIN_S),
    ]
    reminder = Prompt(18.0, "push: no hold yet", PromptKind.REMINDER)
    busy = Person(busy=20.0)
    demo_action(reminder, hold)(busy, 18.0)  # still pushing: the reminder changes nothing
    demo_action(reminder, hold)(person, 18.0)
    assert busy.did == [] and person.did[-1] == ("push", 18.0 + REACTION_S, 8.0 + HOLD_MARGIN_S)
    for kind in (PromptKind.RELAX, PromptKind.REST, PromptKind.NEXT, PromptKind.COUNTDOWN):
        assert demo_action(Prompt(1.0, "x", kind), hold) is None
