"""Which faults are on behind a server (or proxy) address: its read-only ``/faults`` feed.

Needs no admin token: players may see what is switched on, only the facilitator may switch.
"""

import asyncio

from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from faults.admin import FEED_PATH, FaultFeed, endpoint_url
from faults.spec import FaultStatus

RETRY_AFTER = 1.0
"""Seconds between attempts to reach the feed while it is unreachable."""


class FaultWatch:
    """Keeps ``faults`` up to date from the feed at ``url`` while ``run()`` runs."""

    def __init__(self, url: str) -> None:
        self.url = endpoint_url(url, FEED_PATH)
        self.faults: list[FaultStatus] = []
        self.reachable = False
        """Whether the feed is connected; while it is not, ``faults`` is empty."""

    async def run(self) -> None:
        """Follow the feed until cancelled, reconnecting whenever it drops."""
        while True:
            try:
                async with connect(self.url, open_timeout=RETRY_AFTER * 2) as feed:
                    self.reachable = True
                    async for raw in feed:
                        self.faults = FaultFeed.model_validate_json(raw).faults
            except (OSError, TimeoutError, InvalidURI, InvalidHandshake, WebSocketException):
                pass
            except ValidationError:
                pass  # a feed we do not understand: show nothing rather than nonsense
            self.reachable, self.faults = False, []
            await asyncio.sleep(RETRY_AFTER)
