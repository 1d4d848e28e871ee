"""Pydantic models of every message on the wire (version 1).

One JSON object per WebSocket text frame, camelCase field names. Requests form one
union discriminated on ``action``; replies are discriminated on ``status``. Every model
forbids extra fields and is frozen: a message either matches exactly or is refused.
"""

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from pacnet.protocol.errors import ErrorCode
from pacnet.protocol.outcome import Outcome

PROTOCOL_VERSION = 1
"""The only version of the wire contract this code speaks."""

# Not Literal[1]: pydantic's literal check accepts `true` and `1.0` as 1.
Version = Annotated[
    int, Field(ge=PROTOCOL_VERSION, le=PROTOCOL_VERSION, json_schema_extra={"const": 1})
]
Direction = Literal["up", "down", "left", "right"]
"""A joystick direction, as ``move`` takes it."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Kind = Annotated[str, StringConstraints(pattern=r"^:[a-z]{1,32}$")]
"""An entity kind as the article spells it: ``:ghost``, ``:pacman``, ``:pellet``, ..."""
Tile = Annotated[int, Field(ge=0, le=10_000)]
Clock = Annotated[int, Field(ge=0)]

OWN_PACMAN = "pacman"
"""The name that means "the caller's own pac-man" in ``find``, ``move`` and ``remove``."""


class WireModel(BaseModel):
    """Base of every wire message: camelCase aliases, no extras, immutable, strict types."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )


# --- requests --------------------------------------------------------------------------


class RequestBase(WireModel):
    """Fields every request carries."""

    v: Version = PROTOCOL_VERSION
    action: str
    request_id: Identifier = Field(description="Chosen by the client; echoed in the reply.")
    user_id: Identifier = Field(description="The user this request acts as.")


class JoinRequest(RequestBase):
    """Join the board as ``userId`` (or resume that user on a new connection with ``token``)."""

    action: Literal["join"] = "join"
    token: Identifier | None = Field(
        default=None, description="The `sessionToken` of an earlier join, to resume that user."
    )


class FindRequest(RequestBase):
    """Where is the entity called ``name``?"""

    action: Literal["find"] = "find"
    name: Identifier


class MoveRequest(RequestBase):
    """Steer the caller's pac-man toward ``direction``; it moves on the server's tick."""

    action: Literal["move"] = "move"
    name: Identifier
    direction: Direction
    seq: int | None = Field(
        default=None, ge=0, le=2**53,
        description="This move's number in the session's moves, counting up. The server "
        "acknowledges the highest it applied as `lastSeq`, and ignores a move numbered at or "
        "below it (a late copy of an input it already overtook).",
    )  # fmt: skip


class FindAllRequest(RequestBase):
    """List every entity of ``kind``."""

    action: Literal["findAll"] = "findAll"
    kind: Kind


class RemoveRequest(RequestBase):
    """Take the caller's pac-man off the board (the article's ``board.remove(pacman)``)."""

    action: Literal["remove"] = "remove"
    name: Identifier


class PingRequest(RequestBase):
    """Keep the user alive; changes nothing."""

    action: Literal["ping"] = "ping"


class LeaveRequest(RequestBase):
    """Leave the board: the user and their pac-man are removed."""

    action: Literal["leave"] = "leave"


ReportedAction = Literal["join", "find", "move", "findAll", "remove", "ping", "leave"]
"""The actions a ``report`` counts (``REPORTED_ACTIONS`` in ``actions``: every one but
``report``), spelled out for the type checker and pydantic."""


class CallCount(WireModel):
    """How many of a client's calls of one action ended in one outcome."""

    action: ReportedAction
    outcome: Outcome
    calls: int = Field(ge=0, le=2**53)


class ReportRequest(RequestBase):
    """Tell the server how this client's calls ended (only the client knows: UNKNOWN is its
    verdict), for the room's view. The counts are cumulative since ``exercise`` began, so a
    lost report is made good by the next one, and a late one (a lower ``seq``) is ignored."""

    action: Literal["report"] = "report"
    exercise: int = Field(
        ge=0, le=2**53, description="The exercise the counts are of (the `/faults` feed's)."
    )
    seq: int = Field(
        ge=0, le=2**53,
        description="This report's number, counting up: the server keeps the highest.",
    )  # fmt: skip
    counts: list[CallCount] = Field(max_length=64)


Request = Annotated[
    JoinRequest
    | FindRequest
    | MoveRequest
    | FindAllRequest
    | RemoveRequest
    | PingRequest
    | LeaveRequest
    | ReportRequest,
    Field(discriminator="action"),
]
"""Any request, discriminated on ``action``."""

Action = Literal["join", "find", "move", "findAll", "remove", "ping", "leave", "report"]


class RequestFields(TypedDict):
    """A valid request as a dict of its fields, by their Python names, as the server reads it
    (``pacnet.protocol.codec.read_request``): every field of its action's model, with that model's
    defaults filled in, and no other. The models say what each field may hold."""

    v: int
    action: Action
    request_id: str
    user_id: str
    token: NotRequired[str | None]
    """join"""
    name: NotRequired[str]
    """find, move, remove"""
    direction: NotRequired[Direction]
    """move"""
    seq: NotRequired[int | None]
    """move, report"""
    kind: NotRequired[str]
    """findAll"""
    exercise: NotRequired[int]
    """report"""
    counts: NotRequired[list[CallCount]]
    """report"""


# --- replies ---------------------------------------------------------------------------


GhostState = Literal["normal", "frightened", "flashing", "eyes"]
"""A ghost's state: chasing or scattering; frightened (blue, edible); frightened and about to
recover (flashing); or eaten, its eyes on the way home."""


def _absent_if_none(value: Any) -> bool:
    return value is None


Heading = Annotated[
    Direction | None,
    Field(default=None, exclude_if=_absent_if_none, description="Moving pieces: where they head."),
]
State = Annotated[
    GhostState | None,
    Field(default=None, exclude_if=_absent_if_none, description="Ghosts: their state."),
]
Count = Annotated[
    int | None,
    Field(default=None, ge=0, exclude_if=_absent_if_none, description="Pac-men only."),
]
LastSeq = Annotated[
    int | None,
    Field(
        default=None, ge=0, exclude_if=_absent_if_none,
        description="The highest move `seq` the server applied to this pac-man: inputs up to "
        "it are in the state shown, later ones are not yet (pac-men steered by numbered moves).",
    ),
]  # fmt: skip
Offset = Annotated[
    float | None,
    Field(
        default=None, ge=-0.5, le=0.5, exclude_if=_absent_if_none,
        description="Pac-men: how far past the centre of their tile they are along `heading`, "
        "in tiles (negative: still coming up to it). With `moving`, what a client needs to "
        "predict its own pac-man exactly (pacnet/protocol/motion.py).",
    ),
]  # fmt: skip
Moving = Annotated[
    bool | None,
    Field(
        default=None, exclude_if=_absent_if_none,
        description="Pac-men: whether they are on the move (false: stopped against a wall).",
    ),
]  # fmt: skip


class Entity(WireModel):
    """One thing on the board, at integer tile coordinates (column, row from the top-left).

    Moving pieces also say where they head; ghosts their state; pac-men their score and lives.
    """

    name: Identifier
    kind: Kind
    x_pos: Tile
    y_pos: Tile
    heading: Heading = None
    state: State = None
    score: Count = None
    lives: Count = None
    last_seq: LastSeq = None
    offset: Offset = None
    moving: Moving = None


class ReplyBase(WireModel):
    """Fields every reply carries."""

    v: Version = PROTOCOL_VERSION
    request_id: Identifier | None = Field(
        description="The request's id; null when the server could not read one."
    )
    clock: Clock = Field(description="The board's monotonic clock (ticks since it started).")


class OkReply(ReplyBase):
    """A success with no payload (``ping``, ``leave``)."""

    request_id: Identifier = Field(description="The request's id, echoed.")
    status: Literal["ok"] = "ok"


MazeRow = Annotated[str, StringConstraints(pattern=r"^[# -]*$", max_length=10_000)]
"""One row of the maze as a client draws it: ``#`` wall, ``-`` ghost-house door, space open."""


class JoinReply(OkReply):
    """You are on the board: your pac-man's name, your session token, the board's size, and
    the maze's walls so you can draw it."""

    name: Identifier
    session_token: Identifier
    width: Tile
    height: Tile
    maze: tuple[MazeRow, ...] = Field(
        description="`height` rows of `width` characters: `#` wall, `-` door, space open."
    )
    resumed: bool = Field(
        default=False,
        description="The user was already on the board: the same pac-man, score and lives.",
    )
    score: Count = Field(default=None, description="Your pac-man's score.")
    lives: Count = Field(default=None, description="Your pac-man's lives left.")
    tick_rate: float | None = Field(
        default=None, gt=0, exclude_if=_absent_if_none,
        description="The board's ticks per second (its `clock` counts them).",
    )  # fmt: skip
    pacman_speed: float | None = Field(
        default=None, gt=0, exclude_if=_absent_if_none,
        description="How far a pac-man moves, in tiles per second: with `tickRate`, `maze` "
        "and the rules of motion, a client can predict its own pac-man between replies.",
    )  # fmt: skip


class FindReply(OkReply):
    """Where the entity is (with the same extra fields as an ``Entity``)."""

    name: Identifier
    kind: Kind
    x_pos: Tile
    y_pos: Tile
    heading: Heading = None
    state: State = None
    score: Count = None
    lives: Count = None
    last_seq: LastSeq = None
    offset: Offset = None
    moving: Moving = None


class MoveReply(OkReply):
    """Where the pac-man is now (the steering takes effect on the next ticks)."""

    x_pos: Tile
    y_pos: Tile
    last_seq: LastSeq = None


class FindAllReply(OkReply):
    """Every entity of the kind asked for, and the level the board is on."""

    entities: tuple[Entity, ...]
    level: int | None = Field(
        default=None, ge=1, exclude_if=_absent_if_none, description="The board's level (1, 2, ...)."
    )


class RemoveReply(OkReply):
    """Whether this request took the pac-man off the board (false: it was already gone)."""

    removed: bool


class ErrorBody(WireModel):
    """What went wrong, and whether sending the same request later may succeed."""

    code: ErrorCode
    retryable: bool
    message: str


class ErrorReply(ReplyBase):
    """The server refused the request. Definite: the request changed nothing."""

    status: Literal["error"] = "error"
    error: ErrorBody
    retry_after_ms: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        exclude_if=_absent_if_none,
        description="With THROTTLED and OVERLOADED: how long to wait before trying again.",
    )


Reply = OkReply | ErrorReply
