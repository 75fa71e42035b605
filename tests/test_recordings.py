"""The shipped recordings open intact and say they are simulated."""

from pathlib import Path

import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session

RECORDINGS = sorted((Path(__file__).resolve().parents[1] / "recordings").glob("*.imuhip"))


def test_there_are_shipped_recordings():
    assert RECORDINGS


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.name)
def test_shipped_recording_is_intact_and_simulated(path, capsys):
    s = read_session(path)
    assert s.report.ok
    assert "simulated" in path.name
    assert s.header.extra.get("simulated") is True
    assert main(["info", str(path)]) == 0
    assert "intact" in capsys.readouterr().out
