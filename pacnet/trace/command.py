"""What ``pacnet trace`` does once its command line is parsed: one call's story, every call
checked, the latest a fault hit, or each call live as it settles."""

import argparse
import time
from pathlib import Path
from typing import TextIO

from pacnet.trace.logs import parse, read_events, server_span, server_traces, stories
from pacnet.trace.render import render_check, render_story, shown_room
from pacnet.trace.verdict import Story, Verdict

SETTLE = 0.5
"""Seconds ``--follow`` waits after a call ends for the other domains' lines to arrive."""
FORGET = 60.0
"""Seconds ``--follow`` keeps lines of a request no client has reported (yet)."""


def run_trace(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``pacnet trace``; returns the exit status. Raises OSError for an unreadable log."""
    paths: list[Path] = args.log
    if args.follow:
        return _follow(paths, out)
    events = read_events(paths)
    traced = server_traces(events)
    grouped = stories(events)
    if args.check:
        lines, alarms = render_check(grouped.values(), traced, server_span(events))
        print("\n".join(lines), file=out)
        return 1 if alarms else 0
    if args.faulted:
        hit = [
            s
            for s in grouped.values()
            if any(e.get("event") == "fault_injected" and not e.get("link") for e in s.events)
        ]
        if not hit:
            raise ValueError("no fault hit any request in these logs")
        for faulted in hit[-max(1, args.last) :]:
            print("\n".join(render_story(faulted, traced)), file=out)
        return 0
    if args.request_id is None:
        raise ValueError("name a REQUEST_ID, or use --check, --faulted or --follow")
    story = grouped.get(args.request_id)
    if story is None:
        raise ValueError(f"no log line mentions request {args.request_id!r}")
    print("\n".join(render_story(story, traced)), file=out)
    return 0


def _follow(paths: list[Path], out: TextIO) -> int:
    """Tail the logs; print each call's story (a line for a SUCCESS) once it settles."""
    handles = [path.open() for path in paths]
    for handle in handles:
        handle.seek(0, 2)  # only what happens from now on
    names = ", ".join(path.name for path in paths)
    print(f"following {names}: each call once it settles (Ctrl-C stops)", file=out, flush=True)
    pending: dict[str, Story] = {}
    first_seen: dict[str, float] = {}
    ended: dict[str, float] = {}
    traced = False
    try:
        while True:
            now = time.monotonic()
            for handle, path in zip(handles, paths, strict=True):
                for event in parse(handle.readlines(), path):
                    request_id = str(event["requestId"])
                    pending.setdefault(request_id, Story(request_id)).events.append(event)
                    first_seen.setdefault(request_id, now)
                    traced = traced or event.get("event") == "request_traced"
                    if event.get("event") == "call_traced":
                        ended[request_id] = now
            for request_id in [r for r, at in ended.items() if now - at >= SETTLE]:
                del ended[request_id], first_seen[request_id]
                story = pending.pop(request_id)
                story.events.sort(key=lambda e: str(e.get("timestamp", "")))
                call = story.call or {}
                if story.verdict(traced) is Verdict.AGREE and call.get("outcome") == "SUCCESS":
                    room = shown_room(story)
                    where = f"  room {room}" if room is not None else ""
                    print(f"{request_id}  {call.get('action')}  SUCCESS{where}", file=out)
                else:
                    print("\n".join(render_story(story, traced)), file=out)
                out.flush()
            for request_id in [r for r, at in first_seen.items() if now - at > FORGET]:
                if request_id not in ended:  # no client will ever report it: forget it
                    del first_seen[request_id], pending[request_id]
            time.sleep(0.1)
    except KeyboardInterrupt:
        return 0
    finally:
        for handle in handles:
            handle.close()
