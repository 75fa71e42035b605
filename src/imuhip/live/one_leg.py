"""The live analysis of a session whose layout the session pipeline does not analyse whole.

A live session records every sensor of its layout (up to six). When the pipeline refuses the
session's header (two legs, sided roles, shin only), the live analysis falls back to what it
can do: the first leg with a thigh and a shin sensor is analysed live (its sensors' inputs
renamed to the plain ``thigh``/``shin`` roles the pipeline takes); the other sensors are
recorded only. With no such leg (shin only) nothing is analysed live. :func:`live_pipeline`
says which part is not analysed live, in plain words; ``imuhip analyze`` works on the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from imuhip.errors import ImuhipError, LayoutError
from imuhip.layout import Leg
from imuhip.pipeline import LiveState, SessionPipeline
from imuhip.session import (
    Event,
    Notification,
    NotificationBlock,
    SampleBlock,
    SessionHeader,
    SessionInput,
)

#: Builds the live pipeline of a header (the caller's aligner and options).
PipelineBuilder = Callable[[SessionHeader], SessionPipeline]


def live_pipeline(header: SessionHeader, build: PipelineBuilder) -> tuple[Any, str | None]:
    """The live analysis of ``header``'s session and, when part of it is not analysed live, a
    note saying which part. The pipeline ``build`` makes is used whenever it takes the
    header; otherwise one leg (:class:`OneLegPipeline`) or nothing (:class:`NoLivePipeline`).

    Raises:
        LayoutError: the header's sensors form no valid layout.
        ImuhipError: the pipeline refuses a plain one-leg header (its own reason).
    """
    layout = header.layout
    try:
        return build(header), None
    except ImuhipError:
        if layout.legs[0].thigh == "thigh":  # the layout the pipeline takes: its own error
            raise
    leg = next((g for g in layout.legs if g.thigh is not None), None)
    recorded = ", ".join(r for r in layout.roles if leg is None or r not in leg.roles)
    if leg is None:
        note = (
            f"{layout.describe()}: not analysed live (the live analysis needs a thigh and a "
            f"shin sensor); every sensor is recorded ({recorded})"
        )
        return NoLivePipeline(header), note
    note = (
        f"{layout.describe()}: the live analysis follows the {leg.side} leg only; "
        f"{recorded} recorded, not analysed live"
    )
    return OneLegPipeline(header, leg, build), note


def check_analysable(header: SessionHeader, command: str) -> None:
    """Refuse, in plain words, a session whose layout the session pipeline does not take yet
    (``command`` names what was asked: "analyze", "replay"...). Asks the pipeline itself, so
    every layout it takes passes.

    Raises:
        LayoutError: the sensors form no valid layout, or one the pipeline does not analyse.
    """
    layout = header.layout
    try:
        SessionPipeline(header)
    except LayoutError:
        raise
    except ImuhipError as exc:
        if layout.legs[0].thigh == "thigh":  # the layout it takes: its own error, when it runs
            return
        raise LayoutError(
            f"{command} cannot analyse this session yet: it instruments "
            f"{layout.describe()} ({', '.join(layout.roles)}), and the analysis takes one "
            f"leg with thigh and shin sensors ({exc}). The file holds every sensor: "
            "'imuhip info' shows them, 'imuhip export --samples DIR' writes their data"
        ) from None


def leg_header(header: SessionHeader, leg: Leg) -> SessionHeader:
    """The one-leg header of ``leg`` (plain ``thigh``/``shin`` roles, its side)."""
    assert leg.thigh is not None
    sensors = (
        replace(header.sensor(leg.thigh), role="thigh"),
        replace(header.sensor(leg.shin), role="shin"),
    )
    return replace(header, side=leg.side, sensors=sensors)


class OneLegPipeline:
    """One leg of a larger layout analysed by a :class:`SessionPipeline` of its own.

    The inputs of the leg's sensors are given to the inner pipeline under the plain roles,
    other sensors' inputs are left out; the state names the sensors by their session roles.
    The inner pipeline's calibration records are not written to the file (they would stand
    for the whole session): ``outbox`` stays empty. Everything else is the inner pipeline's.
    """

    def __init__(self, header: SessionHeader, leg: Leg, build: PipelineBuilder) -> None:
        assert leg.thigh is not None
        self.header = header
        self.leg = leg
        self._plain = {leg.thigh: "thigh", leg.shin: "shin"}
        self._sided = {v: k for k, v in self._plain.items()}
        self.inner = build(leg_header(header, leg))
        self.outbox: list[Event] = []

    def feed(self, item: SessionInput) -> None:
        """Give one input to the leg's pipeline (inputs of the other sensors are left out)."""
        if isinstance(item, Notification | NotificationBlock | SampleBlock):
            if item.role in self._plain:
                self.inner.feed(replace(item, role=self._plain[item.role]))
        elif isinstance(item, Event):
            if item.sensor is None or item.sensor in self._plain:
                sensor = None if item.sensor is None else self._plain[item.sensor]
                self.inner.feed(replace(item, sensor=sensor))
        else:
            self.inner.feed(item)

    def advance(self) -> list[Any]:
        out = self.inner.advance()
        self.inner.outbox.clear()
        return out

    @property
    def state(self) -> LiveState:
        """The leg's live state, its sensors named by their session roles."""
        st = self.inner.state
        return replace(st, sensors={self._sided.get(r, r): h for r, h in st.sensors.items()})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class NoLivePipeline:
    """No live analysis (a layout without a thigh and shin on one leg): inputs are taken and
    left out, the state stays "waiting" with the reason as its message."""

    def __init__(self, header: SessionHeader) -> None:
        self.header = header
        self.state = LiveState(message="not analysed live: no leg with thigh and shin sensors")
        self.events: list[Any] = []
        self.outbox: list[Event] = []
        self.rate = 0.0

    def feed(self, item: SessionInput) -> None:
        return None

    def advance(self) -> list[Any]:
        return []

    def finish(self) -> None:
        return None

    def new_angles(self) -> list[Any]:
        return []
