"""Error codes of the wire protocol, and what each promises.

Every error reply is *definite*: it promises that the request changed nothing on the
server. Where the server cannot promise that, it sends no error (the client then sees
UNKNOWN). Hence RETRYABLE and FATAL always mean "not applied".
"""

from enum import StrEnum

from pacnet.protocol.outcome import Step


class ErrorCode(StrEnum):
    """The ``error.code`` of an error reply."""

    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    THROTTLED = "THROTTLED"
    OVERLOADED = "OVERLOADED"
    STATE_UPDATE_FAILED = "STATE_UPDATE_FAILED"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    INTERNAL = "INTERNAL"

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later, unchanged."""
        return self in _RETRYABLE

    @property
    def step(self) -> Step:
        """The step at which the server decides on this code: 3 for checks of the request
        and its sender (and admission), 4 for what only acting on the board reveals. Either
        way nothing changed: every refusal comes before the change."""
        return _STEP[self]

    @property
    def when(self) -> str:
        """When the server answers with this code (the contract's wording)."""
        return _WHEN[self]


_RETRYABLE = frozenset({ErrorCode.THROTTLED, ErrorCode.OVERLOADED, ErrorCode.STATE_UPDATE_FAILED})

_STEP: dict[ErrorCode, Step] = {
    ErrorCode.INVALID_MESSAGE: Step.VALIDATE_REQUEST,
    ErrorCode.UNSUPPORTED_VERSION: Step.VALIDATE_REQUEST,
    ErrorCode.USER_NOT_FOUND: Step.VALIDATE_REQUEST,
    ErrorCode.NOT_FOUND: Step.UPDATE_SERVER_STATE,
    ErrorCode.FORBIDDEN: Step.VALIDATE_REQUEST,
    ErrorCode.THROTTLED: Step.VALIDATE_REQUEST,
    ErrorCode.OVERLOADED: Step.VALIDATE_REQUEST,
    ErrorCode.STATE_UPDATE_FAILED: Step.UPDATE_SERVER_STATE,
    ErrorCode.REQUEST_ID_REUSED: Step.VALIDATE_REQUEST,
    ErrorCode.INTERNAL: Step.VALIDATE_REQUEST,  # from step 4 on, a bug gets no reply
}

_WHEN: dict[ErrorCode, str] = {
    ErrorCode.INVALID_MESSAGE: (
        "not JSON, not an object, unknown action, missing/extra/ill-typed field, binary frame"
    ),
    ErrorCode.UNSUPPORTED_VERSION: "`v` is not a version this server speaks",
    ErrorCode.USER_NOT_FOUND: (
        "the user never joined, left, or was expired by the keepalive table"
    ),
    ErrorCode.NOT_FOUND: "no entity of that name (or, for `findAll`, no such kind)",
    ErrorCode.FORBIDDEN: ("acting as another user, or moving/removing an entity that is not yours"),
    ErrorCode.THROTTLED: "the user's token bucket is empty (the reply carries `retryAfterMs`)",
    ErrorCode.OVERLOADED: (
        "the server sheds load: the request waited too long to be read (the reply carries "
        "`retryAfterMs`), a new player's `join` while it sheds, or the board is full"
    ),
    ErrorCode.STATE_UPDATE_FAILED: ("the state update did not happen (used by fault injection)"),
    ErrorCode.REQUEST_ID_REUSED: (
        "the user already sent a different request with this requestId (recent mutations are "
        "remembered: a repeat gets the first reply again, a different request gets this)"
    ),
    ErrorCode.INTERNAL: "a server bug; logged with the requestId",
}
