"""A call's outcome held against what the server did: the checker behind ``pacnet trace
--check`` and the window's PROTOCOL VIOLATION banner.

Pure: the client's outcome and the server's records (whether it acted, each time the request
reached it) in, a ``Verdict`` out. Reading the records from logs is ``pacnet.trace.logs``'s job;
the window reads them from the server's ``/truth`` feed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.outcome import Outcome


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
    PENDING = "pending: the call ended as the server's log ends (its line may be on its way)"
    BEFORE_SERVER_LOG = "the server's log begins after this call (restarted, its log new?)"

    @property
    def alarm(self) -> bool:
        return self in (Verdict.VIOLATION, Verdict.FALSE_SUCCESS, Verdict.APPLIED_TWICE)


class Coverage(Enum):
    """Whether the server's records can be expected to hold a call, by when it was made."""

    COVERED = "covered"
    TOO_RECENT = "too recent"
    """The call ended as the server's records end: its line may not be written yet."""
    BEFORE = "before"
    """The call was made before the server's records begin (a restart, a new log)."""


SETTLE_S = 0.5
"""Seconds before the end of the server's records within which a call still counts as in
flight: its server line may not be written yet."""


@dataclass(frozen=True)
class Span:
    """The first and last moment the server's records cover (its traced requests)."""

    first: datetime
    last: datetime

    def coverage(self, began: datetime, ended: datetime) -> Coverage:
        if ended > self.last - timedelta(seconds=SETTLE_S):
            return Coverage.TOO_RECENT
        if began < self.first:
            return Coverage.BEFORE
        return Coverage.COVERED


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
    def room(self) -> str | None:
        """The room the request was made in, as the server's and the proxy's lines name it
        (None: no line names one, as a client's alone do not)."""
        return next((str(e["room"]) for e in self.events if e.get("room")), None)

    @property
    def served(self) -> list[dict[str, Any]]:
        """The server's records of the request: one per time it arrived."""
        return [e for e in self.events if e.get("event") == "request_traced"]

    def verdict(self, server_traces: bool, span: Span | None = None) -> Verdict:
        """Hold the client's outcome against the server's records.

        Args:
            server_traces: whether the server was tracing at all (else "never seen" means
                nothing).
            span: what the server's records cover (None: all of time), so a call still in
                flight, or made before the server's log began, is not taken for one the
                server never saw.
        """
        call = self.call
        coverage = Coverage.COVERED
        if call is not None and span is not None:
            ended = _when(call.get("timestamp"))
            began = _when(call.get("sentAt")) or ended
            if began is not None and ended is not None:
                coverage = span.coverage(began, ended)
        return judge(
            Outcome(call["outcome"]) if call else None,
            call.get("action") if call else None,
            [bool(e.get("acted")) for e in self.served],
            server_traces,
            coverage,
        )


def judge(
    outcome: Outcome | None,
    action: str | None,
    served: list[bool],
    server_traces: bool,
    coverage: Coverage = Coverage.COVERED,
) -> Verdict:
    """A call's outcome held against the server's records of its request.

    Args:
        outcome: what the client concluded (None: the client did not say).
        action: the call's action.
        served: one entry per time the request reached the server: whether it acted.
        server_traces: whether the server's records are there at all.
        coverage: whether those records can be expected to hold this call: without a
            record, a call too recent is pending, and one older than the records is no
            evidence either way.
    """
    acted = sum(served)
    if acted > 1 and action in MUTATIONS:
        return Verdict.APPLIED_TWICE
    if outcome is None:
        return Verdict.CLIENT_NOT_TRACED
    if not server_traces:
        return Verdict.NOT_TRACED
    if not served and coverage is Coverage.TOO_RECENT:
        return Verdict.PENDING
    if not served and coverage is Coverage.BEFORE:
        return Verdict.BEFORE_SERVER_LOG
    if outcome is Outcome.UNKNOWN:
        if acted:
            return Verdict.UNKNOWN_APPLIED
        return Verdict.UNKNOWN_NOT_APPLIED if served else Verdict.UNKNOWN_NEVER_SEEN
    if outcome is Outcome.SUCCESS:
        return Verdict.AGREE if acted else Verdict.FALSE_SUCCESS
    return Verdict.VIOLATION if acted else Verdict.AGREE


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
