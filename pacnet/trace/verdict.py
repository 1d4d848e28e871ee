"""A call's outcome held against what the server did: the checker behind ``pacnet trace
--check`` and the window's PROTOCOL VIOLATION banner.

Pure: the client's outcome and the server's records (whether it acted, each time the request
reached it) in, a ``Verdict`` out. Reading the records from logs is ``pacnet.trace.logs``'s job;
the window reads them from the server's ``/truth`` feed.
"""

from dataclasses import dataclass, field
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
