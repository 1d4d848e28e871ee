"""What ``pacnet proxy`` is told: where to listen, where to relay to, the seed and the token."""

from dataclasses import dataclass

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from pacnet.cmdline.defaults import HOST, PROXY_PORT, SERVER_URL


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """Everything ``pacnet proxy`` needs to start a relay."""

    host: str = HOST
    """Loopback by default: a workshop opens the proxy to the room on purpose."""
    port: int = PROXY_PORT
    """The server's default port plus one; 0 picks a free port (tests)."""
    upstream: str = SERVER_URL
    """The board server. Its path is ignored: each client's own path is relayed."""
    seed: int | None = None
    """Seed of every random choice of the faults; None picks one (logged, for replay)."""
    admin_token: str | None = None
    """The token ``/admin`` requires; None generates one and logs it."""
    max_message_bytes: int = 1024 * 1024
    """Largest frame relayed, either way. Above the server's own 64 KiB limit on purpose:
    the proxy should not be the one to refuse a frame the server would judge."""
    trace: bool = False
    """Log every message relayed (``message_relayed``), for ``pacnet trace``."""
    max_connections: int | None = None
    """Client connections open at once; None: as the server's (``pacnet.feeds.doors``)."""
    max_connections_per_peer: int | None = None
    """Client connections open at once from one address; None: as the server's."""
    connect_timeout: float = 3.0
    """Seconds to open the upstream connection during a client's handshake (the client's
    own connect timeout is 3 s by default, and the server's handshake takes 10 s)."""

    def __post_init__(self) -> None:
        try:
            parse_uri(self.upstream)
        except (InvalidURI, ValueError) as exc:
            raise ValueError(f"upstream {self.upstream!r} is not a ws:// URL: {exc}") from None
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not a port number (0-65535)")
        if self.max_message_bytes < 1:
            raise ValueError("max message bytes must be at least 1")
        for limit in (self.max_connections, self.max_connections_per_peer):
            if limit is not None and limit < 1:
                raise ValueError("a connection limit must be at least 1")
        if self.connect_timeout <= 0:
            raise ValueError("connect timeout must be > 0 seconds")
