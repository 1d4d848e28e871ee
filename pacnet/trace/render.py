"""One call's story in words, a line per thing a domain saw, and the checker's report."""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pacnet.protocol.outcome import Outcome, Step
from pacnet.protocol.rooms import DEFAULT_ROOM
from pacnet.trace.steps import strip_of
from pacnet.trace.verdict import Span, Story, Verdict


def describe_event(event: dict[str, Any]) -> str:
    """One event as one line of the story."""
    kind = event.get("event")
    if kind == "call_traced":
        where = f" at step {event['step']}" if event.get("step") else ""
        message = f" ({event['message']})" if event.get("message") else ""
        return f"{event['outcome']}{where}{message} after {event['latencyMs']:.1f} ms"
    if kind == "request_traced":
        stages = event.get("stages", {})
        path = " > ".join(f"{name} {ms:.3f}" for name, ms in stages.items())
        done = (
            "acted" if event.get("acted")
            else "a repeat: answered from memory" if event.get("repeated")
            else "did not act"
        )  # fmt: skip
        return f"{path} ms  [{done}; reply: {event.get('reply')}]"
    if kind == "store_call":
        where = f" at step {event['step']}" if event.get("step") else ""
        message = f" ({event['message']})" if event.get("message") else ""
        return (
            f"its own call to Redis, {event.get('call')}: {event.get('outcome')}{where}"
            f"{message} after {event.get('latencyMs', 0):.1f} ms"
        )
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
        held = f", held {event['delayMs']} ms" if event.get("delayMs") else ""
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
            sent = _when(event, "sentAt") or at - timedelta(milliseconds=event["latencyMs"])
            out.append((sent, domain, "sent"))
        if kind == "request_traced" and at is not None:
            at -= timedelta(milliseconds=event.get("totalMs", 0.0))
        if kind == "store_call" and at is not None:  # logged when it ends: placed at its start
            at -= timedelta(milliseconds=event.get("latencyMs", 0.0))
        out.append((at, domain, describe_event(event)))
    out.sort(key=lambda line: line[0] or datetime.min.replace(tzinfo=UTC))
    return out


def _when(event: dict[str, Any], key: str = "timestamp") -> datetime | None:
    try:
        return datetime.fromisoformat(str(event.get(key)))
    except ValueError:
        return None


def shown_room(story: Story) -> str | None:
    """The room a story names, to show (None: the default room, or none known): on a server
    of one room, the stories read as if rooms did not exist."""
    return story.room if story.room != DEFAULT_ROOM else None


def render_story(story: Story, traced: bool) -> list[str]:
    """The story of one request, as lines for a terminal."""
    call = story.call
    head = f"request {story.request_id}"
    whose = [f"user {call.get('userId')}"] if call is not None else []
    if (room := shown_room(story)) is not None:
        whose.append(f"room {room}")
    if call is not None:
        head += f"  {call.get('action')}"
    if whose:
        head += f"  ({', '.join(whose)})"
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


def render_check(
    all_stories: Iterable[Story], traced: bool, span: Span | None = None
) -> tuple[list[str], int]:
    """Every call's verdict, counted, and the violations listed; returns (lines, alarms).
    ``span``: what the server's records cover (calls outside it are pending or unjudged)."""
    counts: Counter[tuple[str, Verdict]] = Counter()
    alarms: list[Story] = []
    for story in all_stories:
        verdict = story.verdict(traced, span)
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
