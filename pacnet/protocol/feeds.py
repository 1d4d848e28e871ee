"""What a server shows anyone about its keepalive table (the read-only ``/keepalive`` feed).

The article's server step 4: the server keeps a table of when it last heard from each user,
and gives up on those silent too long. It cannot tell a user who is gone from one who is
paused, partitioned, or alive and slow: it only sees silence. The feed shows the table as the
server sees it; the window and ``pacnet status`` put it beside what they know.
"""

from pydantic import Field

from pacnet.protocol.models import CallCount, Entity, Identifier, WireModel

HEALTH_PATH = "/healthz"
"""Where a server answers plain HTTP ``GET``: 200 when it serves, 503 with the reason when it
cannot (``{"status": "ok" | "unavailable", "reason": ..., "users": ..., ...}``): for load
balancers, container health checks and people with curl. ``?store=1`` also reads the store the
lobby reads, and is unavailable when that read fails."""
KEEPALIVE_PATH = "/keepalive"
"""Where a server serves its keepalive view (a read-only WebSocket feed, no token)."""


class KeepaliveEntry(WireModel):
    """One user, as the server's keepalive table sees them."""

    user_id: Identifier
    silent_s: float = Field(ge=0, description="Seconds since the server last heard from them.")
    expires_in_s: float = Field(description="Seconds until the server gives up on them.")
    suspected: bool = Field(description="Silent long enough that the server suspects them.")
    connected: bool = Field(description="A connection is acting as them right now.")


class KeepaliveView(WireModel):
    """The server's keepalive table, the most silent users first."""

    timeout_s: float = Field(description="Silence after which the server gives up on a user.")
    suspect_after_s: float = Field(description="Silence after which a user is suspected.")
    users: int = Field(ge=0, description="Users in the table.")
    suspected: int = Field(ge=0, description="Of them, suspected.")
    shown: list[KeepaliveEntry] = Field(description="The most silent users (at most 50).")


TRUTH_PATH = "/truth"
"""Where a tracing server tells a user what it really did with their requests (``?user=ID``)."""


class TruthEntry(WireModel):
    """What the server really did with one request."""

    request_id: Identifier
    action: str
    acted: bool = Field(description="The request got past UPDATE_STATE: the server ran it.")
    reply: str = Field(description="What it sent back: `ok`, `error CODE`, or `none`.")


class TruthView(WireModel):
    """A user's latest requests as the server saw them, oldest first (read-only feed)."""

    user_id: Identifier
    tracing: bool = Field(description="Whether the server keeps this record at all.")
    entries: list[TruthEntry]


TRAFFIC_PATH = "/traffic"
"""Where a proxy tells what it sees of each user's requests (a read-only feed, no token)."""


class TrafficEntry(WireModel):
    """One user's requests, as the network (the proxy) sees them."""

    user_id: Identifier
    heard_s: float = Field(ge=0, description="Seconds since a request came from the client.")
    passed_s: float | None = Field(
        description="Seconds since a request went on to the server (None: none ever did)."
    )
    held: int = Field(ge=0, description="Requests held on the way now (a delay fault).")


class TrafficView(WireModel):
    """The users whose requests a proxy carries, the most recently heard first."""

    users: list[TrafficEntry]


REPORT_EVERY = 1.0
"""Seconds between a client's ``report`` requests: a projector's picture at most this old, for
one request a second per player (a fiftieth of the throttle's 50)."""
ROOM_PATH = "/room"
"""Where a server serves how the room's calls ended, as its clients report them (a read-only
WebSocket feed, no token): what the projector shows."""


class PlayerReport(WireModel):
    """One player's latest report of how their calls ended."""

    user_id: Identifier
    exercise: int = Field(ge=0, description="The exercise the counts are of.")
    seq: int = Field(ge=0, description="The report's number: the highest the server was sent.")
    counts: list[CallCount]
    age_s: float = Field(ge=0, description="Seconds since the server received it.")
    late: bool = Field(
        description="Older than three report periods: the player's reports are not arriving "
        "(lost on the way, held up, or the player is gone), so their counts are stale."
    )


RATE_BIN = 1.0
"""Seconds of calls each bin of the room's outcome rates holds."""
RATE_BINS = 180
"""Bins of outcome rates the room's view carries: the last three minutes, long enough to see
an exercise's fault rise and fall beside the calm before it."""


class RateBin(WireModel):
    """The room's article calls that ended in each outcome during one ``RATE_BIN``, as the
    reports that arrived in it say."""

    exercise: int = Field(ge=0, description="The newest exercise reported by then.")
    calls: list[int] = Field(
        min_length=5, max_length=5,
        description="Calls that ended in each outcome, in the order SUCCESS, POST_FAILED, "
        "RETRYABLE, FATAL, UNKNOWN (the reports' growth: a call is counted when the report "
        "that first includes it arrives).",
    )  # fmt: skip


class RoomView(WireModel):
    """How the room's calls ended: each player's latest report, and the room's totals."""

    exercise: int = Field(ge=0, description="The newest exercise any player reported.")
    report_every_s: float = Field(description="How often each client reports.")
    players: list[PlayerReport] = Field(description="Every player who reported, by name.")
    totals: list[CallCount] = Field(
        description="The sum of the reports of the players in the newest exercise."
    )
    rate_bin_s: float = Field(description="Seconds each of ``rates`` covers.")
    rates: list[RateBin] = Field(
        description="The outcome rates of the last few minutes, oldest first; the last bin is "
        "the current one, still filling."
    )


BOARD_PATH = "/board"
"""Where a server serves the whole board to anyone who watches without playing (the
projector): a read-only WebSocket feed, no token, a snapshot every few tenths of a second."""


class BoardView(WireModel):
    """The whole board, for a spectator: the maze and every piece on it."""

    clock: int = Field(ge=0, description="The board's tick count when the snapshot was taken.")
    level: int = Field(ge=1)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    maze: list[str] = Field(description="As `join` gives it: `#` wall, `-` door, space open.")
    entities: list[Entity] = Field(description="Every piece: pac-men, ghosts, pellets, energizers.")
