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


def keepalive_lines(view: KeepaliveView | None, me: str, *, others: int = 3) -> list[str]:
    """What the server's keepalive table says, in words, for the user ``me`` (who knows one
    thing the server does not: that they are here)."""
    if view is None:
        return ["keepalive: the server's table is out of reach"]
    lines = []
    mine = next((entry for entry in view.shown if entry.user_id == me), None)
    if mine is None:
        lines.append("the server hears from you (you are not among its most silent users)")
    elif mine.suspected:
        lines.append(
            f"the server suspects you after {mine.silent_s:.1f} s of silence, yet you are "
            f"here: your messages are not reaching it (it gives up in {mine.expires_in_s:.1f} s)"
        )
    else:
        lines.append(
            f"the server heard from you {mine.silent_s:.1f} s ago "
            f"(it gives up after {view.timeout_s:g} s of silence)"
        )
    suspects = [e for e in view.shown if e.suspected and e.user_id != me]
    if suspects:
        named = ", ".join(
            f"{e.user_id} {e.silent_s:.1f} s{'' if e.connected else ' (no connection)'}"
            for e in suspects[:others]
        )
        more = (
            view.suspected
            - (1 if mine is not None and mine.suspected else 0)
            - len(suspects[:others])
        )
        lines.append(f"it suspects: {named}" + (f" and {more} more" if more > 0 else ""))
    return lines
