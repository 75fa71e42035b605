"""Sensor layouts by role: what makes a valid set of sensors, and what is refused."""

from __future__ import annotations

import pytest

from imuhip.errors import HeaderValueError, LayoutError
from imuhip.layout import BOTH, Leg, Segment, layout_of, sided_role
from imuhip.session import SensorInfo, SessionHeader


def test_plain_one_leg_layout_takes_the_headers_side():
    lay = layout_of(("thigh", "shin", "pelvis"), "right")
    assert lay.legs == (Leg("right", "thigh", "shin"),)
    assert lay.pelvis == "pelvis" and lay.trunk is None
    assert lay.side == "right" and not lay.shin_only
    assert lay.roles == ("thigh", "shin", "pelvis")


def test_both_legs_with_pelvis_and_trunk():
    roles = ("right_shin", "left_thigh", "trunk", "left_shin", "right_thigh", "pelvis")
    lay = layout_of(roles, BOTH)
    assert [leg.side for leg in lay.legs] == ["left", "right"]
    assert lay.leg("right") == Leg("right", "right_thigh", "right_shin")
    assert lay.roles == ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis", "trunk")
    assert lay.describe() == "both legs (thigh + shin) with pelvis and trunk"


def test_shin_only_layouts():
    both = layout_of(("left_shin", "right_shin"), BOTH)
    assert both.shin_only and both.describe() == "both legs (shin only)"
    one = layout_of(("shin",), "left")
    assert one.legs == (Leg("left", None, "shin"),) and one.shin_only
    assert layout_of(("right_shin",), "right").leg("right").roles == ("right_shin",)


@pytest.mark.parametrize(
    ("roles", "side", "words"),
    [
        (("thigh", "left_shin"), "left", "cannot be mixed"),
        (("left_thigh",), "left", "no shin sensor"),
        (("thigh",), "left", "no shin sensor"),
        (("pelvis",), "left", "no leg sensors"),
        (("left_thigh", "left_shin"), "right", "instrument the left leg"),
        (("left_shin", "right_shin"), "left", "instrument both legs"),
        (("thigh", "shin"), BOTH, "must be 'left' or 'right'"),
        (("knee", "shin"), "left", "unknown sensor role"),
        (("shin", "shin"), "left", "appear once"),
    ],
)
def test_invalid_layouts_are_refused_with_a_reason(roles, side, words):
    with pytest.raises(LayoutError, match=words):
        layout_of(roles, side)


def test_leg_that_is_not_there_is_named():
    with pytest.raises(LayoutError, match="right leg has no sensors"):
        layout_of(("thigh", "shin"), "left").leg("right")


def test_sided_role_names():
    assert sided_role("left", Segment.THIGH) == "left_thigh"
    assert sided_role("right", Segment.SHIN) == "right_shin"
    with pytest.raises(LayoutError):
        sided_role("left", Segment.PELVIS)
    with pytest.raises(LayoutError):
        sided_role("both", Segment.SHIN)


def test_header_carries_its_layout_and_accepts_both_sides():
    h = SessionHeader(
        side=BOTH,
        exercise="prone",
        sensors=tuple(SensorInfo(role=r) for r in ("left_shin", "right_shin", "pelvis")),
    )
    assert h.layout.shin_only and h.layout.pelvis == "pelvis"
    with pytest.raises(HeaderValueError, match="side must be"):
        SessionHeader(side="middle", exercise="prone", sensors=())
    with pytest.raises(HeaderValueError, match="role must be one of"):
        SensorInfo(role="knee")
