"""Reading the domains' JSON logs: every line that names a requestId, grouped into stories,
and the server's own calls to its store that followed a request (the recursion, one level
down: a player's ``move`` whose snapshot write then went UNKNOWN shows both)."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pacnet.protocol.actions import MUTATIONS
from pacnet.trace.verdict import Span, Story

FOLLOWED_WITHIN = timedelta(seconds=2)
"""How long after a request the server's calls to its store are looked for: its next snapshot
(every second by default) within its deadline."""


def read_events(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every JSON log line of ``paths`` that names a requestId, or is about a server's own
    calls to its store (``link``), in time order."""
    events: list[dict[str, Any]] = []
    for path in paths:
        with path.open() as lines:
            events.extend(parse(lines, path))
    events.sort(key=lambda e: str(e.get("timestamp", "")))
    return events


def parse(lines: Iterable[str], path: Path) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash: the rest of the log still counts
        if isinstance(event, dict) and (event.get("requestId") or event.get("link")):
            event.setdefault("source", path.name)
            yield event


def stories(events: Iterable[dict[str, Any]]) -> dict[str, Story]:
    """The events grouped by requestId, in the order the requests first appear; a mutation
    the server acted on gets the server's calls to its store that followed it in its room, up
    to the snapshot write that carried it (``FOLLOWED_WITHIN``)."""
    grouped: dict[str, Story] = {}
    store: list[dict[str, Any]] = []
    for event in events:
        if not event.get("requestId"):
            store.append(event)
            continue
        request_id = str(event["requestId"])
        grouped.setdefault(request_id, Story(request_id)).events.append(event)
    if store:
        for story in grouped.values():
            story.events.extend(_followed_by(story, store))
    return grouped


def _followed_by(story: Story, store: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The store's lines of ``story``'s room after the server acted on it, up to and with the
    first snapshot write."""
    acted = next((e for e in story.served if e.get("acted") and e.get("action") in MUTATIONS), None)
    if acted is None or (start := _timestamp(acted)) is None:
        return []
    followed = []
    for event in store:
        at = _timestamp(event)
        if at is None or not start <= at <= start + FOLLOWED_WITHIN:
            continue
        if event.get("room") != acted.get("room"):
            continue
        followed.append(event)
        if event.get("event") == "store_call" and event.get("call") == "snapshot.save":
            break
    return followed


def server_traces(events: Iterable[dict[str, Any]]) -> bool:
    return any(e.get("event") == "request_traced" for e in events)


def server_span(events: Iterable[dict[str, Any]]) -> Span | None:
    """From the first to the last request the server traced, in these logs (None: none)."""
    times = sorted(
        when
        for e in events
        if e.get("event") == "request_traced"
        for when in [_timestamp(e)]
        if when is not None
    )
    return Span(times[0], times[-1]) if times else None


def _timestamp(event: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get("timestamp")))
    except ValueError:
        return None
