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
hold_s = 6
rest_s = 4
[[exercise]]
technique = "prone-active-ir"
[exercise.sets]
kind = "reps"
reps = 3
"""


def test_demo_runs_a_program_end_to_end_on_virtual_sensors(tmp_path, capsys):
    program = tmp_path / "demo.toml"
    program.write_text(DEMO_PROGRAM, encoding="utf-8")
    out = tmp_path / "demo.imuhip"
    code = main(["train", str(program), "--demo", "--speed", "10", "--sound", "tones",
                 "--plain", "-o", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    # no audio library in CI: said once, then silent; the prompts are still shown
    assert text.count("sound: ") <= 1 and "» push" in text
    doc = analyze_json(out, capsys)
    sets = doc["sets"]
    assert [(s["kind"], s["set"]) for s in sets] == [("hold", 1), ("reps", 1)]
    assert all(s["complete"] for s in sets)
    assert sets[0]["targets"] == {"hold_s": 6.0} and sets[1]["targets"] == {"reps": 3.0}
    # the simulated person follows its script, not the cues: what falls in each window is
    # incidental, but it is what the analysis timed from the signal
    signal_holds = {(h["start_s"], h["duration_s"]) for h in doc["holds"]}
    for s in sets:
        assert {(h["start_s"], h["duration_s"]) for h in s["result"]["holds"]} <= signal_holds
        assert s["end_s"] > s["start_s"] >= doc["calibration"]["phases"]["still_end"][1] - 1.0
