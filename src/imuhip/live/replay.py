"""Drive the live pipeline from a session file, in time order, optionally paced."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip.analysis.events import AnalysisEvent
from imuhip.live.pipeline import LivePipeline
from imuhip.session import Event, Session

#: Stored samples are fed in blocks of this many seconds.
SAMPLE_BLOCK_S = 0.05


@dataclass(frozen=True)
class Item:
    """One input of the live pipeline: ``kind`` "n" (notification: role, channel, bytes),
    "s" (samples: role, ImuSamples) or "e" (event), available at time ``t``."""

    t: float
    kind: str
    role: str | None
    payload: Any
    channel: int = 0


def session_items(session: Session) -> list[Item]:
    """Everything a recording fed (or would have fed) the live pipeline, in arrival order:
    notifications at their receive times, stored samples in short blocks at the time of their
    last sample, events at their times."""
    items: list[Item] = []
    for role, notes in session.notifications.items():
        payloads = notes.payloads()
        t = notes.t.tolist()
        ch = notes.channel.tolist()
        items += [Item(t[i], "n", role, payloads[i], int(ch[i])) for i in range(len(t))]
    for role, s in session.samples.items():
        if len(s) == 0:
            continue
        edges = np.searchsorted(s.t, np.arange(s.t[0], s.t[-1], SAMPLE_BLOCK_S)[1:], "right")
        bounds = [0, *sorted(set(edges.tolist()) - {0, len(s)}), len(s)]
        for a, b in itertools.pairwise(bounds):
            items.append(Item(float(s.t[b - 1]), "s", role, s.slice(a, b)))
    for e in session.events:
        items.append(Item(e.t, "e", e.sensor, e))
    t = np.array([it.t for it in items])
    order = np.argsort(t, kind="stable")
    return [items[i] for i in order.tolist()]


def feed(pipeline: LivePipeline, item: Item) -> None:
    """Give one item to the pipeline without advancing it."""
    if item.kind == "n":
        pipeline.notification(item.role, item.channel, item.t, item.payload, advance=False)
    elif item.kind == "s":
        pipeline.samples(item.role, item.payload, advance=False)
    elif item.kind == "e":
        pipeline.event(item.payload, advance=False)


def replay(
    items: list[Item],
    pipeline: LivePipeline,
    *,
    speed: float | None = None,
    step_s: float = 0.1,
    on_step: Callable[[float, list[AnalysisEvent], list[Event]], bool | None] | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Feed ``items`` to ``pipeline`` in steps of ``step_s`` of session time.

    ``speed`` paces the steps against ``clock`` (1 = real time, 10 = ten times faster, None =
    as fast as possible). After each step ``on_step(t, analysis events, session events)`` is
    called (``t`` the session time reached); it may return True to stop early. The pipeline is
    not finished here.
    """
    if not items:
        return
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    t0 = items[0].t
    wall0 = clock()
    i = 0
    n = len(items)
    step_end = t0 + step_s
    while i < n:
        events: list[Event] = []
        while i < n and items[i].t < step_end:
            it = items[i]
            feed(pipeline, it)
            if it.kind == "e":
                events.append(it.payload)
            i += 1
        if speed:
            wait = (step_end - t0) / speed - (clock() - wall0)
            if wait > 0:
                sleep(wait)
        evs = pipeline.advance()
        if on_step is not None and on_step(min(step_end, items[-1].t), evs, events):
            return
        step_end += step_s
