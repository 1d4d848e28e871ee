"""Serving a read-only feed: a snapshot sent on connect and again whenever it changes.

The server serves its keepalive table (``/keepalive``) and what it did with each user's
requests (``/truth``) this way, the proxy its traffic (``/traffic``), and both the faults
switched on behind them (``/faults``). No admin token: anyone may watch; only the facilitator
may switch.
"""

import asyncio
import time
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

FEED_POLL = 0.2
"""Seconds between looks at a feed's snapshot (its changes are rare, and cheap to miss by this
much)."""


class Snapshot:
    """A feed's snapshot, made at most once a ``period`` for all its watchers (each looks every
    ``FEED_POLL``): call it for the text to send, as ``serve_feed`` does.

    Args:
        make: the snapshot's text at ``now`` (``time.monotonic()``).
        period: seconds a snapshot stands for.
    """

    def __init__(self, make: Callable[[float], str], period: float = FEED_POLL) -> None:
        self._make = make
        self._period = period
        self._made_at = float("-inf")
        self._text = ""

    def __call__(self) -> str:
        now = time.monotonic()
        if now - self._made_at >= self._period:
            self._made_at, self._text = now, self._make(now)
        return self._text


async def serve_feed(websocket: ServerConnection, snapshot: Callable[[], str]) -> None:
    """A read-only feed: send ``snapshot()`` now and whenever it changes, until the peer
    leaves. Anything the peer sends is ignored."""
    last: str | None = None
    try:
        while True:
            feed = snapshot()
            if feed != last:
                await websocket.send(feed, text=True)
                last = feed
            try:
                async with asyncio.timeout(FEED_POLL):
                    await websocket.recv()  # nothing is expected; notices a close
            except TimeoutError:
                pass
    except ConnectionClosed:
        pass
