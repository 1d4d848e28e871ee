"""How long a client waits, per phase of a call: one small frozen object."""

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Deadlines for the phases of a remote call, in seconds. No phase waits forever.

    The defaults are for a game on a LAN or localhost; tests and workshops shorten them.
    """

    connect: float = 3.0
    """Opening the WebSocket (TCP and handshake). websockets waits 10 s by default and
    gRPC 20 s, sized for fleets; a game would rather report POST_FAILED quickly."""

    reply: float = 0.5
    """From writing the request to a usable reply; past it the call is UNKNOWN. Localhost
    round trips take well under 5 ms (docs/performance.md), so 0.5 s is far above the
    p99.9 a timeout should sit at (Brooker, "Timeouts, retries and backoff with jitter"),
    and still short enough that a stalled server shows within half a second."""

    close: float = 2.0
    """Closing the connection politely before dropping it (websockets default: 10 s)."""

    def __post_init__(self) -> None:
        for name in ("connect", "reply", "close"):
            if getattr(self, name) <= 0:
                raise ValueError(f"timeout {name!r} must be > 0 seconds")
