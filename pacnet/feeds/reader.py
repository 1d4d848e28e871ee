"""Read-only feeds a server (or proxy) offers anyone, followed live: the faults switched on
behind an address (``/faults``), a room's keepalive table (``/keepalive``) and a user's truth
(``/truth``); and the rooms a server holds (``GET /lobby``), read once.

None needs the admin token: players may see what is switched on and what the server thinks
of them; only the facilitator may switch.

A feed belongs either to the whole server (``/faults``; a proxy's ``/traffic``) or to one
room (``/keepalive``, ``/truth``): a room's feed is read under the path of the room the game's
URL plays in (``pacnet.protocol.rooms.feed_url``), so a client in ``/rooms/alpha`` watches
alpha's keepalive table, not the default room's.
"""

import asyncio
import urllib.request
from typing import Generic, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from pacnet.feeds.addresses import endpoint_url
from pacnet.protocol.feeds import KEEPALIVE_PATH, TRUTH_PATH, KeepaliveView, TruthView
from pacnet.protocol.lobby import LobbyView
from pacnet.protocol.rooms import LOBBY_PATH, feed_url

RETRY_AFTER = 1.0
"""Seconds between attempts to reach a feed while it is unreachable."""
LOBBY_TIMEOUT = 2.0
"""Seconds ``read_lobby`` waits for the server's answer."""
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Straight to the server, as the feeds go (``proxy=None``): never through an HTTP proxy the
environment names, which cannot reach a server on the room's own network."""

M = TypeVar("M", bound=BaseModel)


class FeedWatch(Generic[M]):
    """Keeps ``latest`` up to date from the feed ``path`` while ``run()`` runs: the whole
    server's at ``url``'s address, or (``of_room``) the feed of the room ``url`` plays in."""

    def __init__(self, url: str, path: str, model: type[M], *, of_room: bool = False) -> None:
        self.url = feed_url(url, path) if of_room else endpoint_url(url, path)
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
    """The keepalive table of the room the game URL ``url`` plays in, as the server sees it."""
    return FeedWatch(url, KEEPALIVE_PATH, KeepaliveView, of_room=True)


def truth_watch(url: str, user_id: str) -> FeedWatch[TruthView]:
    """What the server really did with ``user_id``'s requests in the room ``url`` plays in."""
    return FeedWatch(url, f"{TRUTH_PATH}?user={quote(user_id)}", TruthView, of_room=True)


def read_lobby(url: str) -> LobbyView | None:
    """The rooms the server at ``url``'s address holds (``GET /lobby``); None if it cannot say
    (out of reach, or a server without rooms). Blocking: a loop runs it in a thread."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "wss" else "http"
    address = urlunsplit((scheme, parts.netloc, LOBBY_PATH, "", ""))
    try:
        with _DIRECT.open(address, timeout=LOBBY_TIMEOUT) as answer:
            return LobbyView.model_validate_json(answer.read())
    except (OSError, ValueError):  # URLError is an OSError, ValidationError a ValueError
        return None


class LobbyWatch:
    """Keeps ``latest`` up to date from the server's lobby while ``run()`` runs, as a
    ``FeedWatch`` does from a feed: the lobby is a plain ``GET``, asked every ``every`` s."""

    def __init__(self, url: str, every: float = RETRY_AFTER) -> None:
        self.url = url
        self.every = every
        self.latest: LobbyView | None = None
        """The last answer; None while the server cannot say."""
        self.asked = False
        """Whether the server has been asked at least once (``latest`` is its word)."""
        self.changed = asyncio.Event()
        """Set whenever an answer comes; whoever waits on it clears it."""

    async def run(self) -> None:
        """Ask until cancelled."""
        while True:
            self.latest = await asyncio.to_thread(read_lobby, self.url)
            self.asked = True
            self.changed.set()
            await asyncio.sleep(self.every)
