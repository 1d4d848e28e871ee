"""The request inspector: what the client knows of each step of one call's round trip.

The article's eight steps, lit as far as the client can tell from what came back::

    outcome                     1 2 3 4 5 6 7 8
    SUCCESS                     + + + + + + + +
    POST_FAILED                 x . . . . . . .    nothing left the client
    RETRYABLE / FATAL at 3      + + x . + + + +    the server refused; its reply came back
    UNKNOWN, no reply           + ? ? ? ? ? ? ?    sent, then silence: anything may be true
    UNKNOWN, unreadable reply   + + ? ? + + x .    a reply came, so the server got it, but
                                                   whether it acted is unreadable
    UNKNOWN, not applied        + + + + + + + x    the server acted; the client failed

(+ passed, x failed here, ? unknown, . never reached). No pygame: the window draws it, and
``pacnet trace`` prints it beside what the other domains saw.
"""

from enum import Enum
from typing import Protocol

from pacnet.protocol.outcome import Outcome, Step


class Known(Enum):
    """What the client knows of one step."""

    PASSED = "+"
    FAILED = "x"
    UNKNOWN = "?"
    NOT_REACHED = "."


STEP_DOMAINS: dict[Step, str] = {
    Step.POST_REQUEST: "cli",
    Step.DELIVER_REQUEST: "net",
    Step.VALIDATE_REQUEST: "srv",
    Step.UPDATE_SERVER_STATE: "srv",
    Step.POST_REPLY: "srv",
    Step.DELIVER_REPLY: "net",
    Step.VALIDATE_REPLY: "cli",
    Step.UPDATE_CLIENT_STATE: "cli",
}
"""Where each step happens: client, network, server (they fail independently)."""

_P, _X, _Q, _N = Known.PASSED, Known.FAILED, Known.UNKNOWN, Known.NOT_REACHED


class Ended(Protocol):
    """A call that has ended: a client's ``CallResult``, or a line of a trace."""

    @property
    def outcome(self) -> Outcome: ...
    @property
    def step(self) -> Step | None: ...


def strip(call: Ended) -> tuple[Known, ...]:
    """The eight steps of ``call``'s round trip, as the client knows them."""
    return strip_of(call.outcome, call.step)


def strip_of(outcome: Outcome, step: Step | None) -> tuple[Known, ...]:
    """The eight steps of a call that ended in ``outcome``, failing at ``step`` if known."""
    match outcome:
        case Outcome.SUCCESS:
            return (_P,) * 8
        case Outcome.POST_FAILED:
            return (_X,) + (_N,) * 7
        case Outcome.RETRYABLE | Outcome.FATAL:
            at = step or Step.VALIDATE_REQUEST
            server = [_P if s < at else _X if s == at else _N for s in (2, 3, 4)]
            return (_P, *server, _P, _P, _P, _P)
        case Outcome.UNKNOWN if step is Step.VALIDATE_REPLY:
            return (_P, _P, _Q, _Q, _P, _P, _X, _N)
        case Outcome.UNKNOWN if step is Step.UPDATE_CLIENT_STATE:
            return (_P,) * 7 + (_X,)
        case _:
            return (_P,) + (_Q,) * 7
