"""How each outcome is provoked, and what the client must do about it.

    outcome       way                 fault                      domain    step
    -----------   -----------------   ------------------------   -------   -------------------
    SUCCESS       -                   none                       -         -
    POST_FAILED   offline             ``offline``                client    1 POST_REQUEST
    RETRYABLE     update-fails        ``update_fails``           server    4 UPDATE_SERVER_STATE
    FATAL         request-corrupted   ``corrupt`` request, flip  network   2 DELIVER_REQUEST
    FATAL         rejected            ``reject``                 server    3 VALIDATE_REQUEST
    UNKNOWN       request-dropped     ``drop`` request           network   2 DELIVER_REQUEST
    UNKNOWN       no-reply            ``no_reply``               server    5 POST_REPLY
    UNKNOWN       reply-dropped       ``drop`` reply             network   6 DELIVER_REPLY

Each is a row of docs/failure-modes.md's table, with the outcome and "the server acted" the
table gives it. Each fault is aimed at one call (``action``, ``user``) and fires once
(``count: 1``): the first call of that kind the player makes. The client's faults go on its
``RemoteBoard``, the server's through the server's ``/admin``, the network's through the
chaos proxy's ``/admin``, as a facilitator switches them.

What the client does next is its retry policy's (``pacnet/client/retry.py``): POST_FAILED
and RETRYABLE are tried again, FATAL never, UNKNOWN again with the same requestId. The
server then runs it once if the first never reached UPDATE_SERVER_STATE (step 2); if it
did (steps 5 and 6), it answers a mutation from memory and runs a read again.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pacnet.faults.spec import Fault
from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.outcome import Outcome, Step


@dataclass(frozen=True)
class Way:
    """One way to make a call end ``outcome``: a fault, not yet aimed at a call.

    ``name`` ends a case's id (``pellet-move-UNKNOWN-reply-dropped``); ``spec`` is the fault
    as ``pacnet chaos add`` takes it (None: no fault, SUCCESS)."""

    outcome: Outcome
    name: str
    spec: Mapping[str, str] | None

    @cached_property
    def fault(self) -> Fault | None:
        """The fault, aimed at nothing: its domain and step."""
        return Fault.model_validate(self.spec) if self.spec is not None else None

    @property
    def domain(self) -> str:
        fault = self.fault
        return fault.domain.value if fault is not None else "-"

    @property
    def step(self) -> Step | None:
        fault = self.fault
        return fault.step if fault is not None else None

    @property
    def server_acted(self) -> bool:
        """Whether the server ran the call before the fault struck: once past
        UPDATE_SERVER_STATE, it has (docs/failure-modes.md, "the server acted")."""
        step = self.step
        return step is None or step > Step.UPDATE_SERVER_STATE


WAYS: tuple[Way, ...] = (
    Way(Outcome.SUCCESS, "", None),
    Way(Outcome.POST_FAILED, "offline", {"kind": "offline"}),
    Way(Outcome.RETRYABLE, "update-fails", {"kind": "update_fails"}),
    Way(
        Outcome.FATAL,
        "request-corrupted",
        {"kind": "corrupt", "direction": "request", "corruption": "flip"},
    ),
    Way(Outcome.FATAL, "rejected", {"kind": "reject"}),
    Way(Outcome.UNKNOWN, "request-dropped", {"kind": "drop", "direction": "request"}),
    Way(Outcome.UNKNOWN, "no-reply", {"kind": "no_reply"}),
    Way(Outcome.UNKNOWN, "reply-dropped", {"kind": "drop", "direction": "reply"}),
)
"""Every way a case is provoked, by outcome, then by step: the grid's rows."""


@dataclass(frozen=True)
class Provocation:
    """The fault that makes ``call`` end ``way.outcome``, aimed at it (None for SUCCESS)."""

    way: Way
    fault: Fault | None

    @property
    def outcome(self) -> Outcome:
        return self.way.outcome

    @property
    def domain(self) -> str:
        return self.way.domain

    @property
    def step(self) -> int | None:
        return self.fault.step.value if self.fault is not None else None

    @property
    def step_name(self) -> str | None:
        return self.fault.step.name if self.fault is not None else None

    def as_json(self) -> dict[str, Any] | None:
        if self.fault is None:
            return None
        return self.fault.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def provoke(call: str, way: Way, user: str) -> Provocation:
    """``way``'s fault, aimed at ``user``'s first ``call``."""
    if way.spec is None:
        return Provocation(way, None)
    fault = Fault.model_validate({**way.spec, "action": call, "user": user, "count": 1})
    return Provocation(way, fault)


@dataclass(frozen=True)
class Reaction:
    """What the client does after its call ended ``outcome``: the attempts it makes, and
    how many times the server runs the request."""

    attempts: tuple[Outcome, ...]
    server_runs: int
    says: str


def reaction(call: str, way: Way) -> Reaction:
    """What the retry policy does with ``call`` provoked ``way`` (docs/resilience.md)."""
    ok, outcome = Outcome.SUCCESS, way.outcome
    match outcome:
        case Outcome.SUCCESS:
            return Reaction((ok,), 1, "goes on")
        case Outcome.POST_FAILED:
            return Reaction((outcome, ok), 1, "sends it again: the server never saw it")
        case Outcome.RETRYABLE:
            return Reaction((outcome, ok), 1, "sends it again after a jittered backoff")
        case Outcome.FATAL:
            then = "cannot play" if call == "join" else "the loop goes on to its next turn"
            return Reaction((outcome,), 0, f"does not send it again; {then}")
        case Outcome.UNKNOWN:
            again = "sends it again, same requestId"
            if not way.server_acted:
                return Reaction((outcome, ok), 1, f"{again}: the first never got there, run once")
            if call in MUTATIONS:
                return Reaction((outcome, ok), 1, f"{again}: answered from memory")
            return Reaction((outcome, ok), 2, f"{again}: a read, run again")
    raise AssertionError(outcome)  # every Outcome is matched above
