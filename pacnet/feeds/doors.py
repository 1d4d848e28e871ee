"""How many connections a server holds, in all and from each peer address, and whether one
more may open: the limits that keep one address (or a crowd) from taking every socket.

Every kind of connection counts (the game's, the feeds', the admin's), for each is an open file.
A connection past a limit is refused at its handshake, with HTTP 503 and the reason, before it
holds anything: the client sees the handshake rejected (POST_FAILED: nothing was sent).
"""

import resource
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Response

from pacnet.cmdline.logs import LineQuota

log = structlog.get_logger("pacnet.doors")

REFUSAL_LINES = (200.0, 1000)
"""Lines a second, and in a burst, for refused handshakes; the rest are only counted."""

FILE_HEADROOM = 64
"""Open files the server keeps for itself (its log, the saved game, the listening socket,
Python's own) out of the process's limit when it sizes ``max_connections``."""


def raise_file_limit() -> int:
    """Raise this process's open-file limit (the soft one) to what the system allows it (the
    hard one), as Go programs have done at start since Go 1.19: the soft limit of 1,024 dates
    from ``select()``, which a server on epoll does not use. Returns the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # not allowed here (a container's seccomp, a sandbox)
            return soft
        return hard
    return soft


def default_max_connections() -> int:
    """The open-file limit (the soft one: what this process may open now) less
    ``FILE_HEADROOM``: past it, a connection would fail in the middle of an ``accept`` or a
    save, for everyone; refused at the handshake, it fails alone. 1,024, a common limit, gives
    960."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(FILE_HEADROOM, soft - FILE_HEADROOM)


def default_per_peer(total: int) -> int:
    """Three quarters of ``total``: a bot fleet run from one machine (or a room behind one
    proxy, whose connections all come from its address) may take most of the server, never
    all of it; a quarter stays for everyone else."""
    return max(1, total * 3 // 4)


@dataclass
class Doors:
    """The connections open now, and the limits on them."""

    total: int
    per_peer: int

    def __post_init__(self) -> None:
        self.open = 0
        self.by_peer: Counter[str] = Counter()
        self.lines = LineQuota(*REFUSAL_LINES)
        self.refused = 0
        """Handshakes refused for a limit, since the start."""
        self.cut = 0
        """Connections cut because their client stopped reading its replies."""

    def refusal(self, peer: str) -> str | None:
        """Why one more connection from ``peer`` may not open, or None."""
        if self.open >= self.total:
            return f"too many connections: the server holds at most {self.total}"
        if self.by_peer[peer] >= self.per_peer:
            return f"too many connections from {peer}: at most {self.per_peer} from one address"
        return None

    def turn_away(self, connection: ServerConnection, now: float) -> Response | None:
        """The answer to a handshake past a limit: HTTP 503 with the reason, logged within
        ``REFUSAL_LINES`` (the rest counted, in ``refused``); None to let it open."""
        host = _host(connection)
        reason = self.refusal(host)
        if reason is None:
            return None
        self.refused += 1
        if self.lines.allow(now, "connection_refused"):
            log.warning("connection_refused", peer=host, reason=reason)
        return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, reason + "\n")

    @asynccontextmanager
    async def holding(self, connection: ServerConnection) -> AsyncIterator[None]:
        """Count ``connection`` as open for the duration of the block."""
        host = _host(connection)
        self.open += 1
        self.by_peer[host] += 1
        try:
            yield
        finally:
            self.open -= 1
            self.by_peer[host] -= 1
            if self.by_peer[host] <= 0:
                del self.by_peer[host]


def _host(connection: ServerConnection) -> str:
    """The peer's address, without its port: one machine is one peer."""
    return str(connection.remote_address[0]) if connection.remote_address else "?"
