"""Dates shown to people: local wall-clock time (files keep ISO-8601 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(iso: str) -> datetime | None:
    """An ISO-8601 time as an aware datetime (naive times are taken as UTC); None if unparsable."""
    if not iso:
        return None
    try:
        d = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


def local_time(iso: str, *, zone: bool = False, missing: str = "?") -> str:
    """An ISO-8601 time as local ``2026-03-01 15:05`` (with the zone name, ``2026-03-01 15:05
    CET``, when ``zone``); ``missing`` when empty, the text as is when unparsable."""
    d = parse_iso(iso)
    if d is None:
        return iso or missing
    local = d.astimezone()
    text = local.strftime("%Y-%m-%d %H:%M")
    return f"{text} {local.tzname()}" if zone and local.tzname() else text


def local_zone_name() -> str:
    """The local time zone's abbreviation now (``CET``, ``UTC``)."""
    return datetime.now().astimezone().tzname() or "local time"
