"""Reading the domains' JSON logs: every line that names a requestId, grouped into stories."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pacnet.trace.verdict import Span, Story


def read_events(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every JSON log line of ``paths`` that names a requestId, in time order."""
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
        if isinstance(event, dict) and event.get("requestId"):
            event.setdefault("source", path.name)
            yield event


def stories(events: Iterable[dict[str, Any]]) -> dict[str, Story]:
    """The events grouped by requestId, in the order the requests first appear."""
    grouped: dict[str, Story] = {}
    for event in events:
        request_id = str(event["requestId"])
        grouped.setdefault(request_id, Story(request_id)).events.append(event)
    return grouped


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
