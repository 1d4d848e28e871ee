"""The article's vocabulary: the five outcomes of a remote call and the eight steps of a trip.

Use these names everywhere (code, logs, HUD, docs, CLI) so a facilitator can point at the
screen and at the code in one breath.
"""

from enum import IntEnum, StrEnum


class Outcome(StrEnum):
    """How one remote call ended, as far as the caller can know.

    Only SUCCESS and UNKNOWN may have changed the board: the server promises that every
    error reply (RETRYABLE or FATAL) left its state untouched, and POST_FAILED means the
    request never left the client.
    """

    SUCCESS = "SUCCESS"
    """A valid ``ok`` reply arrived."""
    POST_FAILED = "POST_FAILED"
    """Nothing was sent: the server certainly never saw the request."""
    RETRYABLE = "RETRYABLE"
    """The server got it and reported a transient failure; nothing changed."""
    FATAL = "FATAL"
    """The server got it and refused it for good; nothing changed."""
    UNKNOWN = "UNKNOWN"
    """The request may or may not have been applied: no usable reply came in time."""

    @property
    def colour(self) -> str:
        """The one colour this outcome has everywhere in pacnet (terminal, window, plots)."""
        return OUTCOME_COLOURS[self]

    @property
    def may_have_changed_state(self) -> bool:
        """Whether the server's state may differ because of this call."""
        return self in (Outcome.SUCCESS, Outcome.UNKNOWN)


OUTCOME_COLOURS: dict[Outcome, str] = {
    Outcome.SUCCESS: "#3ddc84",
    Outcome.POST_FAILED: "#4aa3ff",
    Outcome.RETRYABLE: "#ffb020",
    Outcome.FATAL: "#ff4d4d",
    Outcome.UNKNOWN: "#c77dff",
}


class Step(IntEnum):
    """The eight steps of one request/reply round trip, numbered as in the article."""

    POST_REQUEST = 1
    DELIVER_REQUEST = 2
    VALIDATE_REQUEST = 3
    UPDATE_SERVER_STATE = 4
    POST_REPLY = 5
    DELIVER_REPLY = 6
    VALIDATE_REPLY = 7
    UPDATE_CLIENT_STATE = 8

    def __str__(self) -> str:
        return f"{self.value}:{self.name}"
