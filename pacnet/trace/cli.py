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
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from pacnet.cmdline.args import fail
from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.outcome import Outcome, Step
from pacnet.trace.steps import strip_of

SETTLE = 0.5
"""Seconds ``--follow`` waits after a call ends for the other domains' lines to arrive."""
FORGET = 60.0
"""Seconds ``--follow`` keeps lines of a request no client has reported (yet)."""


class Verdict(Enum):
    """A call's outcome held against what the server did."""

    AGREE = "agree"
    UNKNOWN_APPLIED = "UNKNOWN, and the server acted"
    UNKNOWN_NOT_APPLIED = "UNKNOWN, and the server saw it but did not act"
    UNKNOWN_NEVER_SEEN = "UNKNOWN, and the server never saw it"
    CLIENT_NOT_TRACED = "the client's outcome is not in the logs (pacnet play --trace FILE)"
    NOT_TRACED = "the server's side is not in the logs (pacnet serve --trace)"
    VIOLATION = "VIOLATION: the outcome promised nothing happened, but the server acted"
    FALSE_SUCCESS = "VIOLATION: SUCCESS, but the server did not act"
    APPLIED_TWICE = "VIOLATION: a mutation applied more than once"

    @property
    def alarm(self) -> bool:
        return self in (Verdict.VIOLATION, Verdict.FALSE_SUCCESS, Verdict.APPLIED_TWICE)


@dataclass
class Story:
    """Everything every domain logged about one requestId, in time order."""

    request_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def call(self) -> dict[str, Any] | None:
        """The client's record of the call (its outcome), if the client traced it."""
        return next((e for e in self.events if e.get("event") == "call_traced"), None)

    @property
    def served(self) -> list[dict[str, Any]]:
        """The server's records of the request: one per time it arrived."""
        return [e for e in self.events if e.get("event") == "request_traced"]

    def verdict(self, server_traces: bool) -> Verdict:
        """Hold the client's outcome against the server's records.

        Args:
            server_traces: whether the server was tracing at all (else "never seen" means
                nothing).
        """
        call = self.call
        return judge(
            Outcome(call["outcome"]) if call else None,
            call.get("action") if call else None,
            [bool(e.get("acted")) for e in self.served],
            server_traces,
        )


def judge(
    outcome: Outcome | None, action: str | None, served: list[bool], server_traces: bool
) -> Verdict:
    """A call's outcome held against the server's records of its request.

    Args:
        outcome: what the client concluded (None: the client did not say).
        action: the call's action.
        served: one entry per time the request reached the server: whether it acted.
        server_traces: whether the server's records are there at all.
    """
    acted = sum(served)
    if acted > 1 and action in MUTATIONS:
        return Verdict.APPLIED_TWICE
    if outcome is None:
        return Verdict.CLIENT_NOT_TRACED
    if not server_traces:
        return Verdict.NOT_TRACED
    if outcome is Outcome.UNKNOWN:
        if acted:
            return Verdict.UNKNOWN_APPLIED
        return Verdict.UNKNOWN_NOT_APPLIED if served else Verdict.UNKNOWN_NEVER_SEEN
    if outcome is Outcome.SUCCESS:
        return Verdict.AGREE if acted else Verdict.FALSE_SUCCESS
    return Verdict.VIOLATION if acted else Verdict.AGREE


def read_events(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every JSON log line of ``paths`` that names a requestId, in time order."""
    events: list[dict[str, Any]] = []
    for path in paths:
        with path.open() as lines:
            events.extend(_parse(lines, path))
    events.sort(key=lambda e: str(e.get("timestamp", "")))
    return events


def _parse(lines: Iterable[str], path: Path) -> Iterator[dict[str, Any]]:
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


# --- rendering ---


def describe_event(event: dict[str, Any]) -> str:
    """One event as one line of the story."""
    kind = event.get("event")
    if kind == "call_traced":
        where = f" at step {event['step']}" if event.get("step") else ""
        message = f" ({event['message']})" if event.get("message") else ""
        return f"{event['outcome']}{where}{message} after {event['latency_ms']:.1f} ms"
    if kind == "request_traced":
        stages = event.get("stages", {})
        path = " > ".join(f"{name} {ms:.3f}" for name, ms in stages.items())
        done = (
            "acted" if event.get("acted")
            else "a repeat: answered from memory" if event.get("repeated")
            else "did not act"
        )  # fmt: skip
        return f"{path} ms  [{done}; reply: {event.get('reply')}]"
    if kind == "fault_injected":
        direction = f" {event['direction']}" if event.get("direction") else ""
        return f"FAULT {event.get('fault')}: {event.get('kind')}{direction} ({event.get('step')})"
    if kind == "request_failed":
        if event.get("code") == "NO_REPLY":
            return f"no reply sent (stage {event.get('stage')})"
        return f"refused: {event.get('code')} at {event.get('stage')}"
    if kind == "message_relayed":
        what = f"{event.get('direction')} on connection {event.get('connection')}"
        if event.get("reset"):
            return f"{what}: lost, and the connection cut"
        copies = event.get("copies", 1)
        if copies == 0:
            return f"{what}: lost"
        held = f", held {event['delay_ms']} ms" if event.get("delay_ms") else ""
        twice = f", {copies} copies" if copies > 1 else ""
        return f"{what}: relayed{held}{twice}"
    return str(kind)


def timeline(story: Story) -> list[tuple[datetime | None, str, str]]:
    """What each domain saw, in the order it happened: (when, domain, what).

    Where the time went: a client logs a call when it ends and a server a request when it is
    done, so each is placed at its start (its time minus its duration): the client's send,
    the server's receive. The gaps between lines are the hops.
    """
    out: list[tuple[datetime | None, str, str]] = []
    for event in story.events:
        at = _when(event)
        domain = str(event.get("domain", "?"))
        kind = event.get("event")
        if kind == "call_traced" and at is not None:
            # When the call began, as the client read its clock then; older logs without it:
            # its end less its duration (a line logged late then places the send late).
            sent = _when(event, "sentAt") or at - timedelta(milliseconds=event["latency_ms"])
            out.append((sent, domain, "sent"))
        if kind == "request_traced" and at is not None:
            at -= timedelta(milliseconds=event.get("total_ms", 0.0))
        out.append((at, domain, describe_event(event)))
    out.sort(key=lambda line: line[0] or datetime.min.replace(tzinfo=UTC))
    return out


def _when(event: dict[str, Any], key: str = "timestamp") -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get(key)))
    except ValueError:
        return None


def render_story(story: Story, traced: bool) -> list[str]:
    """The story of one request, as lines for a terminal."""
    call = story.call
    head = f"request {story.request_id}"
    if call is not None:
        head += f"  {call.get('action')}  (user {call.get('userId')})"
    lines = [head]
    previous: datetime | None = None
    for at, domain, text in timeline(story):
        stamp = at.strftime("%H:%M:%S.%f") if at else "?"
        gap = f"+{(at - previous).total_seconds() * 1000:7.1f} ms" if at and previous else " " * 11
        lines.append(f"  {stamp:<15} {gap}  {domain:<8} {text}")
        previous = at or previous
    if call is not None:
        step = Step[call["step"]] if call.get("step") else None
        cells = strip_of(Outcome(call["outcome"]), step)
        lit = " ".join(f"{s.value}{k.value}" for s, k in zip(Step, cells, strict=True))
        lines.append(f"  the client knew: {lit}   (+ passed, x failed, ? unknown, . not reached)")
    if traced:
        served = story.served
        acted = sum(1 for e in served if e.get("acted"))
        did = (
            f"acted{' ' + str(acted) + ' times' if acted > 1 else ''}" if acted
            else "saw it and did not act" if served
            else "never logged it"
        )  # fmt: skip
        lines.append(f"  the server: {did}")
    lines.append(f"  verdict: {story.verdict(traced).value}")
    return lines


def render_check(all_stories: Iterable[Story], traced: bool) -> tuple[list[str], int]:
    """Every call's verdict, counted, and the violations listed; returns (lines, alarms)."""
    counts: Counter[tuple[str, Verdict]] = Counter()
    alarms: list[Story] = []
    for story in all_stories:
        verdict = story.verdict(traced)
        call = story.call
        counts[call["outcome"] if call else "(no client record)", verdict] += 1
        if verdict.alarm:
            alarms.append(story)
    rows = sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
    wide = max([len(verdict.value) for (_, verdict), _ in rows] + [20])
    lines = [f"{'client outcome':<18} {'what the server did':<{wide}} {'calls':>6}"]
    for (outcome, verdict), n in rows:
        lines.append(f"{outcome:<18} {verdict.value:<{wide}} {n:>6}")
    for story in alarms:
        lines.append("")
        lines.extend(render_story(story, traced))
    lines.append("")
    lines.append(f"{len(alarms)} violation(s) of the protocol's promise")
    return lines, len(alarms)


# --- the command ---


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
        lines, alarms = render_check(grouped.values(), traced)
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
                for event in _parse(handle.readlines(), path):
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
