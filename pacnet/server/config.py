"""The server's settings: small frozen objects whose defaults say why they are what they are."""

from dataclasses import dataclass, field
from math import inf
from pathlib import Path

from pacnet.cmdline.defaults import HOST, SERVER_PORT


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """Limits the server enforces on every user and connection."""

    keepalive_timeout: float = 10.0
    """Seconds of silence after which a user is dropped and their pac-man removed.
    10 s is what game stacks use to call a peer gone (Photon ClientTimeout, Nakama's
    heartbeat, Valve GameNetworkingSockets' TimeoutConnected are all 10 s)."""

    rate: float = 50.0
    """Requests per second a user may sustain. The article loop at the window's 20 Hz
    input rate needs about 40 (find, move, findAll, a ping); 50 leaves headroom."""

    burst: int = 100
    """Requests a user may send at once after a quiet spell (two seconds at ``rate``)."""

    max_users: int = 10_000
    """Users one board holds; a join past it is refused with OVERLOADED (retryable: someone
    may leave). Sized for the thousands of bots later issues bring to one server."""

    max_rooms: int = 32
    """Rooms one server holds open at once, the default room included; a connection to a
    room past it is refused at its handshake with HTTP 503. An empty room costs little (its
    board ticks: 32 classic boards take about 2% of a core at 60 Hz); the limit is there so
    that a client cannot open rooms without end. A workshop of a hundred at tables of five
    needs twenty."""

    max_connections: int | None = None
    """Connections open at once, of every kind (the game's, the feeds', the admin's); one more
    is refused at its handshake with HTTP 503. None: the open-file limit less 64 for the
    server's own files (``pacnet.feeds.doors``; ``pacnet serve`` first raises its limit to the
    most the system allows it, as Go programs do)."""

    max_connections_per_peer: int | None = None
    """Connections open at once from one address. None: three quarters of
    ``max_connections``, so a bot fleet from one machine, or a room behind one proxy, may take
    most of the server but never all of it."""

    send_timeout: float = 10.0
    """Seconds a reply may wait to be written to a client that has stopped reading (its
    buffers full: the server holds at most websockets' 32 KiB write buffer for it, and stops
    reading its requests meanwhile). Past it the connection is cut with close code 1008 (policy
    violation), logged ``connection_cut``; its user stays until the keepalive timeout, as
    after any lost connection. Ten seconds: a player on a slow network drains a few KiB in far
    less; only a client that reads nothing waits this long."""

    handshake_timeout: float = 10.0
    """Seconds a new connection has to complete its WebSocket handshake (websockets' own
    ``open_timeout``): a silent TCP connection is closed after it."""

    max_wait: float = 0.25
    """Seconds a request may wait to be read, in a burst, before it is refused OVERLOADED
    (``pacnet.server.admission``); 0 serves every request however late. Half the half second
    a player's call has before it ends UNKNOWN: served later, the reply would mostly be work
    wasted. CoDel's and Facebook's 0.1 s shed a fifth of the calls of a server at three
    quarters of its core, whose loop stalls past 0.1 s now and then (docs/limits.md)."""

    overload_wait: float = 0.05
    """Seconds a request may wait to be read once requests queue (the loop's lag above this
    for a whole ``max_wait``): what is served then is served soon, and the queue drains by
    refusals. Fifty milliseconds: an asyncio server's loop is this late only when it is
    behind; CoDel's 5 ms is a single request's service time in this server's busiest loop."""

    max_message_bytes: int = 64 * 1024
    """Largest frame accepted. Requests are a few hundred bytes; websockets' default of
    1 MiB would let one client make the server parse a megabyte per message."""

    def __post_init__(self) -> None:
        if self.keepalive_timeout <= 0:
            raise ValueError("keepalive timeout must be > 0 seconds")
        if self.rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        if self.burst < 1:
            raise ValueError("burst must be at least 1 request")
        if self.max_users < 1:
            raise ValueError("max users must be at least 1")
        if self.max_rooms < 1:
            raise ValueError("max rooms must be at least 1")
        if self.max_wait < 0 or not 0 <= self.overload_wait <= (self.max_wait or inf):
            raise ValueError("the waits must be >= 0 s, the overload wait at most the longest")
        if self.send_timeout <= 0 or self.handshake_timeout <= 0:
            raise ValueError("the send and handshake timeouts must be > 0 seconds")
        for name in ("max_connections", "max_connections_per_peer"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be at least 1")


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything ``pacnet serve`` needs to start a board server."""

    host: str = HOST
    """Loopback by default: a workshop opens the server to the room on purpose."""
    port: int = SERVER_PORT
    """0 picks a free port (tests, the embedded server)."""
    layout: str = "classic"
    """A shipped layout name or a path to a layout file."""
    tick_rate: float = 60.0
    """Board ticks per second: the arcade's 60 Hz frame, so the board clock counts frames."""
    seed: int | None = None
    """Seed for the board's random choices; None picks one (logged, so a run can be replayed)."""
    ping_interval: float | None = 20.0
    """Seconds between WebSocket pings the server sends (websockets' default)."""
    limits: ServerLimits = field(default_factory=ServerLimits)
    admin_token: str | None = None
    """The token ``/admin`` requires (fault injection); None generates one and logs it."""
    state: Path | None = None
    """Where the game is kept so a restart resumes it (``pacnet/server/store.py``); None: nowhere,
    as for an embedded server (``pacnet serve`` defaults to a file in the data directory)."""
    snapshot_interval: float = 1.0
    """Seconds between snapshots: the most play a crash can lose."""
    calm: bool = False
    """Ghosts cannot catch anyone: in an exercise, every death and every NOT_FOUND on screen
    is then a fault's doing, never the ghosts'."""
    trace: bool = False
    """Log when each stage of every request began (``request_traced``), for ``pacnet trace``.
    Off by default: one more log line per request."""
    crash_exits: bool = False
    """What a ``crash`` fault in ``exit`` mode does: end the process on the spot (``pacnet
    serve``), or, in an embedded server that shares its process, drop every connection and
    stop listening, which is what the rest of the world sees of a crash."""
