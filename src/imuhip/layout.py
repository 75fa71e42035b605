"""Sensor layouts: which body segments carry a sensor, and which legs that instruments.

A sensor's *role* names its segment and, for leg segments, its side: ``left_thigh``,
``left_shin``, ``right_thigh``, ``right_shin``, ``pelvis`` (sacrum) and ``trunk`` (sternum).
One-leg sessions may also use the plain roles ``thigh`` and ``shin`` with the header's side
(every file written before both legs were supported, and one-leg files still): plain and sided
leg roles are never mixed in one session.

Valid layouts: one leg (thigh + shin), both legs (four sensors), shin-only (one or both shins;
the hip angle then comes from the shin alone, which holds only prone, with the femur lying on
the floor), each optionally with ``pelvis`` and ``trunk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from imuhip.errors import LayoutError

SIDES: tuple[str, ...] = ("left", "right")

#: Header side of a session that instruments both legs.
BOTH = "both"

PELVIS = "pelvis"
TRUNK = "trunk"

#: Plain leg roles of a one-leg session (side from the header).
PLAIN_LEG_ROLES: tuple[str, ...] = ("thigh", "shin")

#: Every role a sensor may have.
ROLES: tuple[str, ...] = (
    "thigh",
    "shin",
    PELVIS,
    "left_thigh",
    "left_shin",
    "right_thigh",
    "right_shin",
    TRUNK,
)


class Segment(StrEnum):
    """The body segment a sensor is strapped to."""

    THIGH = "thigh"
    SHIN = "shin"
    PELVIS = "pelvis"
    TRUNK = "trunk"


def sided_role(side: str, segment: Segment) -> str:
    """The role of ``segment`` (thigh or shin) on ``side``: ``sided_role("left", THIGH)`` is
    ``"left_thigh"``."""
    if side not in SIDES:
        raise LayoutError(f"side must be 'left' or 'right', got {side!r}")
    if segment not in (Segment.THIGH, Segment.SHIN):
        raise LayoutError(f"only thigh and shin roles have a side, got {segment!r}")
    return f"{side}_{segment}"


@dataclass(frozen=True)
class Leg:
    """The sensors of one instrumented leg.

    Attributes:
        side: "left" or "right".
        thigh: role of its thigh sensor; None for a shin-only leg.
        shin: role of its shin sensor.
    """

    side: str
    thigh: str | None
    shin: str

    @property
    def shin_only(self) -> bool:
        return self.thigh is None

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.shin,) if self.thigh is None else (self.thigh, self.shin)


@dataclass(frozen=True)
class Layout:
    """The instrumented legs (in left, right order) and the optional pelvis and trunk roles."""

    legs: tuple[Leg, ...]
    pelvis: str | None = None
    trunk: str | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """Every role of the layout: legs first (thigh before shin), then pelvis, trunk."""
        extra = tuple(r for r in (self.pelvis, self.trunk) if r is not None)
        return tuple(r for leg in self.legs for r in leg.roles) + extra

    @property
    def side(self) -> str:
        """The header side this layout goes with: the leg's side, or ``"both"``."""
        return self.legs[0].side if len(self.legs) == 1 else BOTH

    @property
    def shin_only(self) -> bool:
        return all(leg.shin_only for leg in self.legs)

    def leg(self, side: str) -> Leg:
        """The leg on ``side`` (:class:`LayoutError` when that leg is not instrumented)."""
        for leg in self.legs:
            if leg.side == side:
                return leg
        raise LayoutError(f"the {side} leg has no sensors in this session")

    def describe(self) -> str:
        """Plain words, e.g. "both legs (thigh + shin) with pelvis"."""
        what = "both legs" if len(self.legs) == 2 else f"{self.legs[0].side} leg"
        what += " (shin only)" if self.shin_only else " (thigh + shin)"
        extra = [r for r in (self.pelvis, self.trunk) if r is not None]
        return what + (f" with {' and '.join(extra)}" if extra else "")


def layout_of(roles: tuple[str, ...] | list[str], side: str) -> Layout:
    """The layout of a session whose sensors have ``roles``; ``side`` is the header's side
    (used by plain ``thigh``/``shin`` roles; ``"both"`` needs sided roles on both sides).

    Raises :class:`LayoutError` naming what is wrong: an unknown or repeated role, plain and
    sided leg roles mixed, a side without a shin, a side that disagrees with the roles.
    """
    roles = list(roles)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise LayoutError(f"unknown sensor role(s) {unknown}: roles are {', '.join(ROLES)}")
    if len(set(roles)) != len(roles):
        raise LayoutError(f"each sensor role may appear once, got {roles}")
    plain = [r for r in roles if r in PLAIN_LEG_ROLES]
    sided = [r for r in roles if "_" in r]
    if plain and sided:
        raise LayoutError(
            f"plain leg roles ({', '.join(plain)}) and sided ones ({', '.join(sided)}) cannot be "
            "mixed: name every leg sensor with its side (left_thigh, right_shin, ...)"
        )
    if plain:
        if side not in SIDES:
            raise LayoutError(
                f"a session with plain thigh/shin roles instruments one leg: its side must be "
                f"'left' or 'right', got {side!r}"
            )
        legs = [_leg(side, "thigh" in plain, "shin" in plain, "thigh", "shin")]
    else:
        legs = []
        for s in SIDES:
            thigh, shin = f"{s}_thigh", f"{s}_shin"
            if thigh in sided or shin in sided:
                legs.append(_leg(s, thigh in sided, shin in sided, thigh, shin))
        if not legs:
            raise LayoutError(
                "no leg sensors: a session needs a shin sensor (and usually a thigh sensor) on "
                "at least one leg"
            )
        want = legs[0].side if len(legs) == 1 else BOTH
        if side != want:
            raise LayoutError(
                f"the header says side {side!r} but the sensors instrument "
                f"{'both legs' if want == BOTH else f'the {want} leg'}"
            )
    return Layout(
        tuple(legs),
        PELVIS if PELVIS in roles else None,
        TRUNK if TRUNK in roles else None,
    )


def _leg(side: str, has_thigh: bool, has_shin: bool, thigh: str, shin: str) -> Leg:
    if not has_shin:
        raise LayoutError(
            f"the {side} leg has a thigh sensor but no shin sensor: the hip angle needs the shin"
        )
    return Leg(side, thigh if has_thigh else None, shin)
