"""The words of the command line (issue #18): every option explains itself and its default,
exercise names as people say them, warnings printed once and without monkeypatching."""

from __future__ import annotations

import argparse
import warnings

import pytest

from imuhip.cli import build_parser, main
from imuhip.errors import UnknownExerciseError
from imuhip.exercises import TECHNIQUES, ExerciseName, parse_exercise


def _subparsers(p: argparse.ArgumentParser):
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            yield from a.choices.items()


def test_every_option_has_help_showing_its_default():
    problems = []
    commands = dict(_subparsers(build_parser()))
    assert {"import", "analyze", "report", "scan", "pair", "record", "live", "replay"} <= set(
        commands
    )
    for name, sub in commands.items():
        for a in sub._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            flag = a.option_strings[-1] if a.option_strings else a.dest
            text = (a.help or "") % {"default": a.default}  # as argparse fills it in
            if not text.strip() or a.help == argparse.SUPPRESS:
                problems.append(f"{name} {flag}: no help")
            takes_value = a.nargs != 0 and a.option_strings
            if takes_value and a.default is not None and not a.required and "default" not in text:
                problems.append(f"{name} {flag}: default {a.default!r} not shown")
    assert not problems, "\n".join(problems)


def test_choice_options_list_their_choices():
    commands = dict(_subparsers(build_parser()))
    for name in ("analyze", "report"):
        fusion = next(a for a in commands[name]._actions if "--fusion" in a.option_strings)
        assert "vqf, madgwick, mahony, ekf" in fusion.help and "default: vqf" in fusion.help
    speed = next(a for a in commands["replay"]._actions if "--speed" in a.option_strings)
    assert "positive number" in speed.help and "max" in speed.help
    help_text = " ".join(commands["import"].format_help().split())
    assert "(default: m/s2)" in help_text and "(default: rad/s)" in help_text


@pytest.mark.parametrize(
    ("text", "pose", "technique"),
    [
        ("knee-to-floor", "seated", "knee-to-floor"),
        ("Knee to floor", "seated", "knee-to-floor"),
        ("knee inward tilts", "supine", "knee-inward-tilts"),
        ("knee-inward-tilts", "supine", "knee-inward-tilts"),
        ("prone active IR", "prone", "prone-active-ir"),
        ("prone-active-ir", "prone", "prone-active-ir"),
        ("Supine", "supine", ""),
    ],
)
def test_technique_names_are_aliases_of_their_pose(text, pose, technique):
    assert parse_exercise(text) == ExerciseName(pose, technique)
    assert set(TECHNIQUES.values()) == {"prone", "seated", "supine"}


def test_unknown_exercise_names_are_refused_with_a_suggestion():
    with pytest.raises(UnknownExerciseError, match="did you mean 'knee-to-floor'"):
        parse_exercise("knee-to-flor")
    with pytest.raises(UnknownExerciseError, match="choose prone, seated, supine"):
        parse_exercise("jumping jacks")
    with pytest.raises(UnknownExerciseError):
        parse_exercise("unspecified")  # only where a command allows it
    assert parse_exercise("unspecified", ("unspecified",)).pose == "unspecified"


@pytest.mark.parametrize("command", ["import", "record", "live", "simulate", "demo"])
def test_every_command_parses_exercise_the_same_way(command, capsys):
    p = build_parser()
    base = {"import": ["import", "--thigh", "a", "--shin", "b", "--side", "left", "-o", "x"],
            "simulate": ["simulate", "-o", "x"]}.get(command, [command])  # fmt: skip
    args = p.parse_args([*base, "--exercise", "knee to floor"])
    assert args.exercise == ExerciseName("seated", "knee-to-floor")
    with pytest.raises(SystemExit):
        p.parse_args([*base, "--exercise", "knee-to-flor"])
    assert "did you mean 'knee-to-floor'?" in capsys.readouterr().err


def test_import_stores_the_pose_of_a_technique(tmp_path, capsys):
    import numpy as np

    from imuhip.files.session_file import read_session

    t = np.arange(200) / 100.0
    for role, az in (("thigh", 9.81), ("shin", 9.8)):  # two different recordings
        rows = "\n".join(f"{x:.2f},0,0,{az},0,0,0" for x in t)
        (tmp_path / f"{role}.csv").write_text("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n" + rows)
    out = tmp_path / "s.imuhip"
    argv = ["import", "--thigh", str(tmp_path / "thigh.csv"), "--shin", str(tmp_path / "shin.csv"),
            "--side", "left", "--exercise", "knee-to-floor", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert read_session(out).header.exercise == "seated"


def test_a_damaged_file_warns_once_and_warnings_are_not_monkeypatched(tmp_path, capsys):
    from imuhip.sim.simulate import SimConfig, simulate, write_simulation

    path = tmp_path / "s.imuhip"
    write_simulation(simulate(SimConfig(content="reps", duration_s=60, seed=3)), path)
    path.write_bytes(path.read_bytes()[:-7])  # cut off: the last record is incomplete
    before = warnings.showwarning
    assert main(["analyze", str(path)]) == 0
    assert warnings.showwarning is before  # no process-wide replacement
    cap = capsys.readouterr()
    assert cap.err.count("incomplete record") == 1, cap.err
    assert cap.err.startswith("imuhip: warning: s.imuhip: file ends in an incomplete record")
    assert "incomplete record" not in cap.out
