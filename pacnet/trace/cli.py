"""``pacnet trace``: the truth behind an outcome, from every domain's structured logs.

The client knows only its outcome; the server knows whether it acted; the network (the proxy)
knows what it did to the messages. Each logs what it saw with the requestId (``call_traced``,
``request_traced``, ``fault_injected``, ``message_relayed``, ``request_failed``), so joining the
logs by requestId tells the whole story of one call::

    pacnet trace c7-42 --log client.log --log proxy.log --log server.log
    pacnet trace --check --log ...     # every call's belief against the server's truth
    pacnet trace --follow --log ...    # the latest calls, live

The logs must be JSON lines (``--log-format json``, ``pacnet play --trace FILE``), and the
server must trace (``pacnet serve --trace``) for its side to be known. Times come from each
process's wall clock: on one machine they line up; across machines, read them with care.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from pacnet.cmdline.args import fail
from pacnet.trace.logs import parse, read_events, server_span, server_traces, stories
from pacnet.trace.render import render_check, render_story
from pacnet.trace.verdict import Story, Verdict

SETTLE = 0.5
"""Seconds ``--follow`` waits after a call ends for the other domains' lines to arrive."""
FORGET = 60.0
"""Seconds ``--follow`` keeps lines of a request no client has reported (yet)."""


PROG = "pacnet trace"
DESCRIPTION = (
    "Join the JSON logs of clients, proxies and servers by requestId: what each domain saw of "
    "one call, where the time went, and whether the server really acted (the client may say "
    "UNKNOWN while the server applied the move). Servers trace with pacnet serve --trace "
    "--log-format json; the window with --trace FILE."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``pacnet trace``."""
    parser.add_argument("request_id", nargs="?", metavar="REQUEST_ID", help="the call to explain")
    parser.add_argument(
        "--log", type=Path, action="append", required=True, metavar="FILE",
        help="a JSON log of a client, proxy or server (repeat for each)",
    )  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true",
        help="hold every call's outcome against the server's truth; exit 1 on a violation",
    )  # fmt: skip
    mode.add_argument(
        "--follow", action="store_true", help="print each call as it ends, live (Ctrl-C stops)"
    )
    mode.add_argument(
        "--faulted", action="store_true",
        help="the stories of the latest requests a fault hit (see --last)",
    )  # fmt: skip
    parser.add_argument(
        "--last", type=int, default=5, metavar="N", help="with --faulted: how many (%(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``pacnet trace`` on stdout; returns the exit status."""
    try:
        return run_trace(args, sys.stdout)
    except ValueError as exc:
        return fail(PROG, str(exc))
    except OSError as exc:
        return fail(PROG, f"cannot read {exc.filename}: {exc.strerror}")


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
            s for s in grouped.values() if any(e.get("event") == "fault_injected" for e in s.events)
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
                    print(f"{request_id}  {call.get('action')}  SUCCESS", file=out)
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
