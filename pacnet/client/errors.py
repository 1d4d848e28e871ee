"""What can go wrong with one attempt on the client's side, as a small exception tree.

The transport raises only these; each leaf knows what it observed (and so, through
``pacnet.protocol.classify``, its outcome) and the step it failed at when the client can tell::

    CallError
    ├── NotSent                    observed NOT_SENT  -> POST_FAILED   (step 1)
    │   ├── ConnectFailed          refused, unreachable, handshake rejected, connect timeout
    │   ├── ClosedBeforeSend       the connection was already known closed
    │   └── Offline                the client's own network is down (a client fault)
    └── Indefinite                                     -> UNKNOWN
        ├── ReplyTimeout           observed NO_REPLY: nothing came before the deadline
        ├── ConnectionLost         observed NO_REPLY: the connection died after sending
        ├── UnreadableReply        observed BAD_REPLY: corrupt or another version (step 7)
        └── ApplyFailed            observed NOT_APPLIED: valid, but not applied (step 8)

Error *replies* are not exceptions: they are valid replies, and classify as RETRYABLE or
FATAL by their ``retryable`` flag.
"""

from typing import ClassVar

from pacnet.protocol.classify import Observed
from pacnet.protocol.outcome import Step


class CallError(Exception):
    """An attempt that produced no valid reply."""

    observed: ClassVar[Observed]
    step: ClassVar[Step | None] = None
    """The step the attempt failed at, or None when the client cannot tell."""


class NotSent(CallError):
    """The request frame was never written: the server cannot have seen it."""

    observed = Observed.NOT_SENT
    step = Step.POST_REQUEST


class ConnectFailed(NotSent):
    """The connection could not be opened (refused, unreachable, rejected, timed out)."""


class ClosedBeforeSend(NotSent):
    """The connection was already closed (or closing) when the request was to be sent."""


class Offline(NotSent):
    """The client's own network is down: nothing could leave (an injected client fault)."""


class Indefinite(CallError):
    """The request was written, but what became of it is unknown."""

    observed = Observed.NO_REPLY


class ReplyTimeout(Indefinite):
    """No reply before the deadline: lost on the way there, lost on the way back, or slow."""


class ConnectionLost(Indefinite):
    """The connection closed after the request was written and before its reply came."""


class UnreadableReply(Indefinite):
    """A reply came but is not valid JSON, not version 1, or not this action's shape."""

    observed = Observed.BAD_REPLY
    step = Step.VALIDATE_REPLY


class ApplyFailed(Indefinite):
    """A valid reply came and the client failed to apply it (an injected client fault)."""

    observed = Observed.NOT_APPLIED
    step = Step.UPDATE_CLIENT_STATE
