"""Read-only feeds a server (or proxy) offers anyone, followed live: the faults switched on
behind an address (``/faults``) and the server's keepalive table (``/keepalive``).

Neither needs the admin token: players may see what is switched on and what the server thinks
of them; only the facilitator may switch.
"""

import asyncio
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.feeds import KEEPALIVE_PATH, KeepaliveView

RETRY_AFTER = 1.0
"""Seconds between attempts to reach a feed while it is unreachable."""

M = TypeVar("M", bound=BaseModel)


class FeedWatch(Generic[M]):
    """Keeps ``latest`` up to date from the feed at ``url`` + ``path`` while ``run()`` runs."""

    def __init__(self, url: str, path: str, model: type[M]) -> None:
        self.url = endpoint_url(url, path)
        self.model = model
        self.latest: M | None = None
        """The last snapshot; None while the feed is unreachable."""
        self.changed = asyncio.Event()
        """Set whenever ``latest`` changes; whoever waits on it clears it."""

    async def run(self) -> None:
        """Follow the feed until cancelled, reconnecting whenever it drops."""
        while True:
            try:
                async with connect(self.url, open_timeout=RETRY_AFTER * 2, proxy=None) as feed:
                    async for raw in feed:
                        self.latest = self.model.model_validate_json(raw)
                        self.changed.set()
            except (OSError, TimeoutError, InvalidURI, InvalidHandshake, WebSocketException):
                pass
            except ValidationError:
                pass  # a feed we do not understand: show nothing rather than nonsense
            if self.latest is not None:
                self.latest = None
                self.changed.set()
            await asyncio.sleep(RETRY_AFTER)


def keepalive_watch(url: str) -> FeedWatch[KeepaliveView]:
    """The server's keepalive table, as the server sees it."""
    return FeedWatch(url, KEEPALIVE_PATH, KeepaliveView)
