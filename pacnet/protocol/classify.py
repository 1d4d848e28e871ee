"""The five-way classification of a remote call: one place decides the outcome.

The I/O layer of a client reports *what it observed* about one attempt; ``classify``
turns that into the article's outcome. Nothing else in pacnet decides an outcome.

    observed                                   outcome       may have changed state?
    ---------------------------------------    -----------   -----------------------
    NOT_SENT     (refused, closed, no route)   POST_FAILED   no
    NO_REPLY     (deadline, connection lost)   UNKNOWN       maybe
    BAD_REPLY    (corrupt, wrong version)      UNKNOWN       maybe
    NOT_APPLIED  (valid reply, client failed)  UNKNOWN       maybe (it did)
    error reply, retryable                     RETRYABLE     no (errors are definite)
    error reply, not retryable                 FATAL         no
    ok reply                                   SUCCESS       yes
"""

from enum import Enum
from typing import Any

from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.models import ErrorReply, OkReply
from pacnet.protocol.outcome import Outcome, Step


class Observed(Enum):
    """What a client saw of an attempt that produced no valid reply."""

    NOT_SENT = "not_sent"
    """The request frame was never written: the server cannot have seen it."""
    NO_REPLY = "no_reply"
    """The frame was written, then nothing usable came back before the deadline."""
    BAD_REPLY = "bad_reply"
    """A reply came back but could not be decoded or validated: what it said is unknown."""
    NOT_APPLIED = "not_applied"
    """A valid reply came back and the client failed to apply it (step 8). The server did
    act, but what its reply said is lost to the caller as surely as a corrupt reply's."""


_OUTCOME_OF: dict[Observed, Outcome] = {
    Observed.NOT_SENT: Outcome.POST_FAILED,
    Observed.NO_REPLY: Outcome.UNKNOWN,
    Observed.BAD_REPLY: Outcome.UNKNOWN,
    Observed.NOT_APPLIED: Outcome.UNKNOWN,
}


def classify(observed: Observed | OkReply | ErrorReply) -> Outcome:
    """The outcome of one attempt, from what its client observed.

    Pass the validated reply when one arrived, else what was observed instead. The caller
    must treat RETRYABLE and FATAL as "not applied", POST_FAILED as "never sent", and
    UNKNOWN as "maybe applied": only a retry with the same requestId, or a read of the
    state, can settle it.
    """
    if isinstance(observed, Observed):
        return _OUTCOME_OF[observed]
    if isinstance(observed, ErrorReply):
        return Outcome.RETRYABLE if observed.error.retryable else Outcome.FATAL
    return Outcome.SUCCESS


def classification() -> dict[str, Any]:
    """The table ``classify`` follows, as JSON for clients in other languages (the browser
    page reads it from ``/static/classify.json``): the outcome of each observation, of an error
    reply by its ``retryable`` flag and of an ok reply, the step each error code fails at, and
    the eight steps by name in order (the page's request inspector numbers and words them).
    Made from the same definitions ``classify`` uses, so no other client can drift from it."""
    return {
        "observed": {observed.value: outcome.value for observed, outcome in _OUTCOME_OF.items()},
        "errorReply": {"retryable": Outcome.RETRYABLE.value, "final": Outcome.FATAL.value},
        "okReply": Outcome.SUCCESS.value,
        "errorSteps": {code.value: code.step.name for code in ErrorCode},
        "outcomes": [outcome.value for outcome in Outcome],
        "steps": [step.name for step in Step],
    }
