"""Building event counts: sum repeated events, drop zeros."""

from __future__ import annotations

from typing import Iterable

from simlow.events import Event


def tally(items: Iterable[tuple[Event, int]]) -> dict[Event, int]:
    """A counts dict from ``(event, n)`` pairs; an event listed twice is summed, zeros dropped."""
    out: dict[Event, int] = {}
    for event, n in items:
        out[event] = out.get(event, 0) + int(n)
    return {e: n for e, n in out.items() if n}
