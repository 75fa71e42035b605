"""Training programs: TOML parsing, errors naming the line or field, plans, the default."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imuhip.errors import ProgramError
from imuhip.exercises import TECHNIQUES
from imuhip.training.program import (
    DEFAULT_PROGRAM_TOML,
    LastTime,
    Measure,
    SetKind,
    default_program,
    load_program,
    parse_program,
    plan,
)

HOLDS = """
name = "holds"
[[exercise]]
technique = "prone-active-ir"
side = "both"
[exercise.sets]
kind = "hold"
count = 3
hold_s = 20
rest_s = 60
"""


def test_holds_program_plans_three_sets_per_side_with_rests():
    prog = parse_program(HOLDS)
    for side in ("left", "right"):
        sets = plan(prog, side, "prone")
        assert [s.number for s in sets] == [1, 2, 3]
        assert {s.side for s in sets} == {side}
        assert all(s.kind is SetKind.HOLD and s.hold_s == 20.0 for s in sets)
        assert [s.rest_after_s for s in sets] == [60.0, 60.0, 0.0]
    assert plan(prog, "left", "seated") == ()  # no exercise in that pose


def test_default_program_follows_the_source_techniques():
    prog = default_program()
    assert [e.technique for e in prog.exercises] == [
        "knee-to-floor", "knee-inward-tilts", "prone-active-ir", "prone-active-ir",
    ]  # fmt: skip
    kinds = [e.sets.kind for e in prog.exercises]
    assert kinds == [SetKind.STRETCH, SetKind.REPS, SetKind.HOLD, SetKind.REPS]
    assert prog.poses() == ("seated", "supine", "prone")
    assert all(e.sides == ("left", "right") for e in prog.exercises)
    assert prog.exercises[2].cue == "push" and prog.exercises[3].cue == "swing"
    assert set(TECHNIQUES) == {e.technique for e in prog.exercises}
    prone = plan(prog, "right", "prone")
    assert [s.kind for s in prone] == [SetKind.HOLD] * 3 + [SetKind.REPS] * 2
    # the band comes off between the isometrics and the swings: the longer rest
    assert [s.rest_after_s for s in prone] == [45.0, 45.0, 60.0, 30.0, 0.0]


def test_beat_last_time_targets_come_from_the_last_session():
    prog = default_program()
    first = plan(prog, "left", "prone")
    assert first[0].hold_s == 10.0 and first[0].from_last == ()  # no earlier session: first
    assert first[3].range_deg is None  # no range target without an earlier session
    last = LastTime(longest_hold_s=15.4, best_range_deg=31.26, reps=16)
    again = plan(prog, "left", "prone", last)
    assert again[0].hold_s == 17.0  # 15.4 + 2, whole seconds to say aloud
    assert again[0].from_last == (Measure.HOLD_S,)
    assert again[3].range_deg == 31.3 and again[3].reps == 8  # reps were fixed


def test_stretch_is_timed_like_a_hold():
    sets = plan(default_program(), "left", "seated")
    assert [s.kind for s in sets] == [SetKind.STRETCH, SetKind.STRETCH]
    assert sets[0].kind.timed and sets[0].hold_s == 30.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("hold_s = 20", 'hold_s = "long"'), "exercise[1].sets.hold_s must be a number"),
        (("hold_s = 20", "hold_s = -3"), "exercise[1].sets.hold_s must be a number from 1"),
        (("hold_s = 20", ""), "exercise[1].sets.hold_s is missing"),
        (('kind = "hold"', 'kind = "hop"'), "exercise[1].sets.kind must be reps, hold or"),
        (("count = 3", "count = 2.5"), "exercise[1].sets.count must be a whole number"),
        (("rest_s = 60", "rest = 60"), "exercise[1].sets.rest: unknown field"),
        (('side = "both"', 'side = "middle"'), "exercise[1].side must be left, right or both"),
        (('technique = "prone-active-ir"', 'technique = "squat"'), "exercise[1].technique"),
        (("hold_s = 20", "hold_s = { beat_last = 2 }"), "exercise[1].sets.hold_s needs first"),
        (("hold_s = 20", "hold_s = 20\nreps = 5"), "exercise[1].sets.reps: a hold set is timed"),
    ],
)
def test_schema_errors_name_the_field(change, message):
    old, new = change
    assert old in HOLDS
    with pytest.raises(ProgramError, match="^my.toml: " + message.replace("[", r"\[")
                       .replace("]", r"\]").replace(".", r"\.")):  # fmt: skip
        parse_program(HOLDS.replace(old, new), "my.toml")


def test_second_exercise_is_named_by_its_index():
    text = HOLDS + '\n[[exercise]]\ntechnique = "knee-to-floor"\n[exercise.sets]\nkind = "reps"\n'
    text += "reps = 0\n"
    with pytest.raises(ProgramError, match=r"exercise\[2\]\.sets\.reps must be a whole number"):
        parse_program(text)


def test_toml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(HOLDS.replace("count = 3", "count = = 3"), encoding="utf-8")
    with pytest.raises(ProgramError, match=r"bad\.toml: not a valid TOML program: .*line 8"):
        load_program(path)


def test_missing_file_and_empty_program_are_clear_errors(tmp_path):
    with pytest.raises(ProgramError, match="cannot read the program"):
        load_program(tmp_path / "none.toml")
    with pytest.raises(ProgramError, match=r"no exercises: add \[\[exercise\]\]"):
        parse_program('name = "x"\n')


def test_default_program_text_is_the_shipped_program():
    assert parse_program(DEFAULT_PROGRAM_TOML) == default_program()
    d = default_program().as_dict()
    assert d["exercises"][2]["hold_s"] == {"beat_last": 2.0, "first": 10.0}


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["beat_last", "first", "x"]), st.integers(-3, 50), max_size=3),
)  # fmt: skip
_FIELDS = ["kind", "count", "hold_s", "reps", "range_deg", "rest_s", "extra"]


@settings(max_examples=60, deadline=None)
@given(
    sets=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=5),
    technique=st.sampled_from(["prone-active-ir", "knee-to-floor", "bogus", 3]),
    side=st.sampled_from(["left", "both", "up", None]),
)
def test_any_program_data_is_a_program_or_a_program_error(sets, technique, side):
    """Whatever the fields hold, parsing gives a program or a ProgramError naming a field."""
    from imuhip.training.program import program_from_dict

    ex = {"technique": technique, "sets": {k: v for k, v in sets.items() if v is not None}}
    if side is not None:
        ex["side"] = side
    try:
        prog = program_from_dict({"exercise": [ex]}, "p.toml")
    except ProgramError as exc:
        assert str(exc).startswith("p.toml: exercise[1]")
    else:
        spec = prog.exercises[0]
        assert spec.sets.count >= 1 and spec.sets.rest_s >= 0
        assert spec.sets.kind.timed == (spec.sets.hold_s is not None)
        assert plan(prog, "left", spec.pose) or "left" not in spec.sides


def test_readme_shows_the_default_program_as_it_ships():
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"```toml\n(# imuhip default training program.*?)```", readme, re.S)
    assert shown is not None and shown.group(1) == DEFAULT_PROGRAM_TOML
