"""How each outcome is provoked, and what the client must do about it.

    outcome       provoked by                      domain    step
    -----------   ------------------------------   -------   ----------------------
    SUCCESS       nothing                          -         -
    POST_FAILED   the client's own ``offline``     client    1 POST_REQUEST
    RETRYABLE     the server's ``update_fails``    server    4 UPDATE_SERVER_STATE
    FATAL         the server's ``reject``          server    3 VALIDATE_REQUEST
    UNKNOWN       the server's ``no_reply``        server    5 POST_REPLY

Each fault is aimed at one call (``action``, ``user``) and fires once (``count: 1``): the
first call of that kind the player makes. The client's faults go on its ``RemoteBoard``, the
server's through its ``/admin`` endpoint, as a facilitator switches them.

What the client does next is its retry policy's (``pacnet/client/retry.py``): POST_FAILED
and RETRYABLE are tried again, FATAL never, UNKNOWN again with the same requestId, which the
server answers from memory when the call is a mutation and runs again when it is a read.
"""

from dataclasses import dataclass
from typing import Any

from pacnet.faults.spec import Fault, FaultKind
from pacnet.protocol.actions import MUTATIONS
from pacnet.protocol.outcome import Outcome

PROVOKED_BY: dict[Outcome, FaultKind | None] = {
    Outcome.SUCCESS: None,
    Outcome.POST_FAILED: FaultKind.OFFLINE,
    Outcome.RETRYABLE: FaultKind.UPDATE_FAILS,
    Outcome.FATAL: FaultKind.REJECT,
    Outcome.UNKNOWN: FaultKind.NO_REPLY,
}


@dataclass(frozen=True)
class Provocation:
    """The fault that makes ``call`` end ``outcome`` (None for SUCCESS)."""

    outcome: Outcome
    fault: Fault | None

    @property
    def domain(self) -> str:
        return self.fault.domain.value if self.fault is not None else "-"

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


def provoke(call: str, outcome: Outcome, user: str) -> Provocation:
    """The fault that makes ``user``'s first ``call`` end ``outcome``."""
    kind = PROVOKED_BY[outcome]
    if kind is None:
        return Provocation(outcome, None)
    return Provocation(outcome, Fault(kind=kind, action=call, user=user, count=1))


@dataclass(frozen=True)
class Reaction:
    """What the client does after its call ended ``outcome``: the attempts it makes, and
    how many times the server runs the request."""

    attempts: tuple[Outcome, ...]
    server_runs: int
    says: str


def reaction(call: str, outcome: Outcome) -> Reaction:
    """What the retry policy does with ``call`` ending ``outcome`` (docs/resilience.md)."""
    ok = Outcome.SUCCESS
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
            if call in MUTATIONS:
                return Reaction(
                    (outcome, ok), 1, "sends it again, same requestId: answered from memory"
                )
            return Reaction((outcome, ok), 2, "sends it again, same requestId: a read, run again")
    raise AssertionError(outcome)  # every Outcome is matched above
